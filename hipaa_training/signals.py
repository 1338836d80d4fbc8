"""Sign-in evidence: log-in monitoring (45 CFR 164.308(a)(5)(ii)(C)) and admin changes, to the audit trail."""

from __future__ import annotations

from typing import Any, cast

from allauth.account.authentication import get_authentication_records
from allauth.account.signals import password_changed, password_reset, password_set
from django.contrib.admin.models import LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest

from . import audit
from .net import client_ip

__all__ = ["client_ip"]


def _user_agent(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return request.META.get("HTTP_USER_AGENT", "")[:300]


def _how(request: HttpRequest | None, user: Any) -> dict[str, str]:
    """How this sign-in was made, from allauth's authentication records: by SSO (and which provider) or not."""
    if request is None or not hasattr(request, "session"):
        return {}
    records = get_authentication_records(request, user)
    social = [r for r in records if r.get("method") == "socialaccount"]
    if social:
        how = {"method": "sso", "provider": str(social[-1].get("provider", ""))}
        if request.session.get("sso_idp_mfa"):  # roles.oidc.mfa: the provider's second factor was trusted
            how["mfa"] = "identity provider"
        return how
    return {"method": str(records[0].get("method", ""))} if records else {}


@receiver(user_logged_in, dispatch_uid="audit_login")
def _on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    with transaction.atomic():
        audit.record(
            "auth.login",
            actor=user,
            subject=user,
            data={
                "person": getattr(user, "email", ""),
                **_how(request, user),
                "ip": client_ip(request),
                "ua": _user_agent(request),
            },
        )


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _on_login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kw: Any) -> None:
    login = str(credentials.get("email") or credentials.get("username") or credentials.get("login") or "")
    with transaction.atomic():
        audit.record(
            "auth.login_failed",
            data={"person": login[:254].lower(), "ip": client_ip(request), "ua": _user_agent(request)},
        )


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _on_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    with transaction.atomic():
        audit.record("auth.logout", actor=user, subject=user, data={"ip": client_ip(request)})


@receiver(password_reset, dispatch_uid="audit_password_reset")
def _on_password_reset(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    with transaction.atomic():
        audit.record("auth.password_reset", actor=user, subject=user, data={"ip": client_ip(request)})


@receiver(password_changed, dispatch_uid="audit_password_changed")
@receiver(password_set, dispatch_uid="audit_password_set")
def _on_password_changed(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    with transaction.atomic():
        audit.record("auth.password_changed", actor=user, subject=user, data={"ip": client_ip(request)})


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin_change")
def _on_admin_change(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    action = {1: "admin.added", 2: "admin.changed", 3: "admin.deleted"}.get(instance.action_flag, "admin.action")
    # django-stubs declare LogEntry's foreign keys without their model.
    content_type = cast("ContentType | None", instance.content_type)
    audit.record(
        action,
        actor=instance.user,
        subject=(content_type.model if content_type else "", instance.object_id or ""),
        data={"object": instance.object_repr, "change": instance.get_change_message()},
    )
