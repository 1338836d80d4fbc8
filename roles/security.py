"""Sign-in rules that depend on who a person is: the second factor, idle limits, ending every session, and
the security policy the compliance officer sets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.account.decorators import secure_admin_login
from allauth.account.signals import password_changed, password_reset, password_set
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_reset
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from hipaa_training import audit

from .access import (
    COMPLIANCE_OFFICER,
    forget_facts,
    is_client_auditor,
    is_privileged,
    recently_authenticated,
    request_facts,
)
from .models import Organization, SecurityPolicy, User
from .oidc.mfa import session_has_idp_mfa

# The Django admin's own login form would skip the second factor: send it through allauth's login instead.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]


def idle_timeout_for(user: Any) -> int:
    """Seconds of inactivity before automatic logoff (164.312(a)(2)(iii)): shorter for privileged accounts."""
    if is_privileged(user) or is_client_auditor(user):
        return settings.SESSION_IDLE_TIMEOUT_PRIVILEGED
    return settings.SESSION_IDLE_TIMEOUT


def mfa_required(user: Any) -> bool:
    """Privileged accounts always need a second factor; everyone else when the policy says so."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_privileged(user) or is_client_auditor(user) or bool(request_facts(user)["mfa_for_everyone"])


def has_second_factor(user: Any) -> bool:
    """An authenticator app or a passkey (recovery codes alone are not one); the request's cached facts."""
    return bool(request_facts(user)["second_factor"])


# Pages a person without a second factor may still reach: enrolment itself, re-authentication, logout, static.
ENROLMENT_URL_NAMES = (
    "mfa_index",
    "mfa_activate_totp",
    "mfa_add_webauthn",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "mfa_reauthenticate",
    "account_reauthenticate",
    "account_logout",
)


# MFA pages that change (or reveal) a second factor: a sign-in or re-authentication in the last 5 minutes first.
# allauth's own check (MFA_REAUTHENTICATION_REQUIRED) is off because it ignores the sign-in itself, so a person
# sent to enrol straight after signing in would be asked for the password twice; this is the same 5-minute rule
# as roles.access.reauth_required.
MFA_CHANGE_URL_NAMES = (
    "mfa_activate_totp",
    "mfa_deactivate_totp",
    "mfa_add_webauthn",
    "mfa_list_webauthn",
    "mfa_generate_recovery_codes",
    "mfa_view_recovery_codes",
    "mfa_download_recovery_codes",
)
ALWAYS_ASK_URL_NAMES = ("mfa_view_recovery_codes", "mfa_download_recovery_codes")


class MFARequiredMiddleware:
    """A signed-in account that must use a second factor and has none is sent to enrol before anything else;
    a change to a second factor needs a recent sign-in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._allowed: tuple[str, ...] | None = None
        self._change_paths: dict[str, str] | None = None

    def allowed_paths(self) -> tuple[str, ...]:
        if self._allowed is None:
            self._allowed = (*(reverse(name) for name in ENROLMENT_URL_NAMES), settings.STATIC_URL)
        return self._allowed

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and mfa_required(user)
            and not any(request.path.startswith("/" + p.lstrip("/")) for p in self.allowed_paths())
            and not has_second_factor(user)
            and not session_has_idp_mfa(request, user)  # the identity provider's, where trusted (roles/oidc)
        ):
            messages.warning(
                request,
                "Your account must use a second factor. Set up an authenticator app (or a passkey) to continue.",
            )
            return redirect("mfa_activate_totp")
        if user is not None and user.is_authenticated and self.changes_mfa(request):
            from allauth.account.adapter import get_adapter

            # allauth's one internal the product uses: its public route (ReauthenticationRequired, caught by
            # AccountMiddleware.process_exception) works only for exceptions raised by a view, not a middleware.
            from allauth.account.internal.flows.reauthentication import suspend_request

            if not recently_authenticated(request):
                return suspend_request(request, get_adapter().get_reauthentication_methods(user)[0]["url"])
        return self.get_response(request)

    def changes_mfa(self, request: HttpRequest) -> bool:
        if self._change_paths is None:
            self._change_paths = {reverse(name): name for name in MFA_CHANGE_URL_NAMES}
        name = self._change_paths.get(request.path)
        if name is None:
            return request.method == "POST" and request.path.startswith(reverse("mfa_list_webauthn"))
        return request.method == "POST" or name in ALWAYS_ASK_URL_NAMES


def sessions_end(*, user: Any, why: str, actor: User | None = None, record_none: bool = False) -> int:
    """End every session of `user` on every device (164.312(a)(2)(iii)); returns how many ended.

    `record_none`: audit the request even when no session was open (an officer asked for it)."""
    sessions = list(UserSession.objects.filter(user_id=user.pk))
    for session in sessions:
        session.end()
    if sessions or record_none:
        audit.record(
            "auth.sessions_ended",
            actor=actor or user,
            subject=user,
            data={"person": user.email, "why": why, "count": len(sessions)},
        )
    return len(sessions)


@receiver(user_logged_out, dispatch_uid="end_every_session_on_logout")
def _on_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        with transaction.atomic():
            sessions_end(user=user, why="logout")


@receiver(password_changed, dispatch_uid="end_every_session_on_password_change")
@receiver(password_set, dispatch_uid="end_every_session_on_password_set")
@receiver(password_reset, dispatch_uid="end_every_session_on_password_reset")
def _on_password_change(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    with transaction.atomic():
        sessions_end(user=user, why="password changed")


@receiver(post_save, sender=User, dispatch_uid="end_every_session_on_deactivation")
def _on_deactivation(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        sessions_end(user=instance, why="deactivated")


# The cached request facts (roles.access.request_facts) go the moment what they say changes.
@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="forget_facts_on_group_membership")
def _forget_on_membership(sender: Any, instance: Any, action: str, reverse: bool, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        if reverse:  # group.user_set.add(...) and friends: which people changed is not always known
            forget_facts(everyone=True)
        else:
            forget_facts(instance.pk)


@receiver(post_save, sender=Group, dispatch_uid="forget_facts_on_group_save")
@receiver(post_delete, sender=Group, dispatch_uid="forget_facts_on_group_delete")
@receiver(post_save, sender=SecurityPolicy, dispatch_uid="forget_facts_on_policy_save")
@receiver(post_save, sender=Organization, dispatch_uid="forget_facts_on_organization_save")
def _forget_everyone(sender: Any, **kwargs: Any) -> None:
    forget_facts(everyone=True)


@receiver(post_save, sender=Authenticator, dispatch_uid="forget_facts_on_authenticator_save")
@receiver(post_delete, sender=Authenticator, dispatch_uid="forget_facts_on_authenticator_delete")
def _forget_on_second_factor(sender: Any, instance: Any, **kwargs: Any) -> None:
    forget_facts(instance.user_id)


@receiver(post_save, sender=User, dispatch_uid="forget_facts_on_deactivation")
def _forget_on_deactivation(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        forget_facts(instance.pk)


@receiver(authenticator_added, dispatch_uid="audit_mfa_added")
@receiver(authenticator_removed, dispatch_uid="audit_mfa_removed")
@receiver(authenticator_reset, dispatch_uid="audit_mfa_reset")
def _audit_mfa_change(sender: Any, request: HttpRequest | None, user: Any, authenticator: Any, **kwargs: Any) -> None:
    signal = kwargs.get("signal")
    verb = {authenticator_added: "added", authenticator_removed: "removed"}.get(signal, "reset")
    with transaction.atomic():
        audit.record(f"auth.mfa_{verb}", actor=user, subject=user, data={"type": authenticator.type})


def security_policy_update(*, actor: User | None, **changes: Any) -> SecurityPolicy:
    """Change the sign-in policy (person or entity authentication, 45 CFR 164.312(d)); audited."""
    allowed = {"require_mfa_for_everyone", "sso_may_create_accounts", "sso_only", "break_glass_account"}
    if set(changes) - allowed:
        raise ValueError(f"unknown fields: {sorted(set(changes) - allowed)}")
    with transaction.atomic():
        policy = SecurityPolicy.objects.select_for_update().get_or_create(pk=1)[0]
        before = {name: getattr(policy, name) for name in changes}
        for name, value in changes.items():
            setattr(policy, name, value)
        policy.full_clean()
        policy.save()

        def label(value: Any) -> Any:  # the break-glass account is named by its e-mail
            return getattr(value, "email", value)

        changed = {k: {"from": label(before[k]), "to": label(v)} for k, v in changes.items() if before[k] != v}
        if changed:
            audit.record("security.policy_changed", actor=actor, subject=policy, data=changed)
    return policy


@receiver(post_migrate, dispatch_uid="officer_edits_security_policy")
def _officer_edits_the_policy(sender: Any, **kwargs: Any) -> None:
    if sender.name != "records":
        return
    officer, _ = Group.objects.get_or_create(name=COMPLIANCE_OFFICER)
    officer.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="roles",
            codename__in=[
                "view_securitypolicy",
                "change_securitypolicy",
                *(f"{verb}_ssoclaimmapping" for verb in ("view", "add", "change", "delete")),
            ],
        )
    )
