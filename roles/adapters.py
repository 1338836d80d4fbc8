from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.forms import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from hipaa_training import audit
from hipaa_training.net import client_ip

from .models import SecurityPolicy, User
from .oidc import mapping as oidc_mapping
from .oidc import mfa as oidc_mfa
from .oidc import policy, sso
from .oidc import session as oidc_session

LOCKED_MESSAGE = (
    "Too many failed sign-in attempts for this account. Sign-in is locked for 15 minutes; try again later, "
    "or reset your password."
)


# Log-in throttling, first tier: after SLOW_AFTER failures for one account, each further attempt must wait a
# growing pause (refused, not slept through, so no web worker is held). The second tier is allauth's
# ACCOUNT_RATE_LIMITS "login_failed" (5 per account per 15 minutes): the account is locked.
# Per address there is only a slow-down, capped: after ADDRESS_SLOW_AFTER failures from one address in 15
# minutes, each further attempt from it waits ADDRESS_SLOW_STEP_SECONDS more, never over ADDRESS_MAX_PAUSE. A
# guesser behind the same address as the workforce (an office, a proxy) delays their sign-ins by at most a
# minute and locks nobody out.
SLOW_AFTER = 3
SLOW_STEP_SECONDS = 15
ADDRESS_SLOW_AFTER = 10
ADDRESS_SLOW_STEP_SECONDS = 5
ADDRESS_MAX_PAUSE = 60
FAILURES_KEY = "login-failures:{}"
ADDRESS_FAILURES_KEY = "login-failures-ip:{}"
WINDOW = 15 * 60


def _failure_key(login: str) -> str:
    return FAILURES_KEY.format(hashlib.sha256(login.strip().lower().encode()).hexdigest())


def _address_key(ip: str) -> str:
    return ADDRESS_FAILURES_KEY.format(ip or "unknown")


def _append(key: str, now: float) -> None:
    failures = [t for t in cache.get(key, []) if now - t < WINDOW][-50:]
    cache.set(key, [*failures, now], timeout=WINDOW)


def record_login_failure(login: str, now: float | None = None, ip: str | None = None) -> None:
    now = now or time.time()
    _append(_failure_key(login), now)
    if ip is not None:
        _append(_address_key(ip), now)


def _wait(key: str, now: float, after: int, step: int, cap: int | None = None) -> int:
    failures = [t for t in cache.get(key, []) if now - t < WINDOW]
    if len(failures) < after:
        return 0
    pause = step * (len(failures) - after + 1)
    if cap is not None:
        pause = min(pause, cap)
    return max(0, math.ceil(failures[-1] + pause - now))


def seconds_to_wait(login: str, now: float | None = None) -> int:
    """How long this account must wait before its next attempt (0: go ahead)."""
    return _wait(_failure_key(login), now or time.time(), SLOW_AFTER, SLOW_STEP_SECONDS)


def address_seconds_to_wait(ip: str, now: float | None = None) -> int:
    """How long attempts from this address must wait (0: go ahead); never more than ADDRESS_MAX_PAUSE."""
    return _wait(_address_key(ip), now or time.time(), ADDRESS_SLOW_AFTER, ADDRESS_SLOW_STEP_SECONDS, ADDRESS_MAX_PAUSE)


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {**DefaultAccountAdapter.error_messages, "too_many_login_attempts": LOCKED_MESSAGE}

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """No self-signup: people are added by the compliance officer and invited."""
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """A refused attempt (slowed or locked) never reaches the password check; audit it (log-in monitoring)."""
        login = str(credentials.get("email") or credentials.get("username") or "")
        if policy.password_refused(login):  # before any password check: the same answer for every address
            with transaction.atomic():
                audit.record("auth.login_refused", data={"why": "sso only", "person": login[:254].lower()})
            raise ValidationError(policy.password_refused_message())
        try:
            wait = seconds_to_wait(login)
            if wait:  # checked first: an attempt made too soon does not reach allauth's counters either
                raise ValidationError(
                    f"Several sign-in attempts for this account have failed. Wait {wait} seconds before trying "
                    "again; after more failures, sign-in is locked for 15 minutes."
                )
            wait = address_seconds_to_wait(client_ip(request))
            if wait:
                raise ValidationError(
                    f"Many sign-in attempts from your network have failed. Wait {wait} seconds before trying again."
                )
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            with transaction.atomic():
                audit.record("auth.login_locked", data={"person": login[:254].lower(), "ip": client_ip(request)})
            raise

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        super().authentication_failed(request, **credentials)
        record_login_failure(str(credentials.get("email") or credentials.get("username") or ""), ip=client_ip(request))

    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's rate limits and session list use the product's one reading of the client address."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client's address.")
        return ip

    def get_login_stages(self) -> list[str]:
        """allauth's stages, with an MFA stage that can trust the identity provider's second factor."""
        mfa_stage = "allauth.mfa.stages.AuthenticateStage"
        return ["roles.oidc.stages.AuthenticateStage" if s == mfa_stage else s for s in super().get_login_stages()]

    def get_reauthentication_methods(self, user: Any) -> list[dict]:
        """An SSO person re-authenticates at their identity provider (prompt=login), not with a password."""
        methods = super().get_reauthentication_methods(user)
        request = getattr(self, "request", None)
        sso_method = oidc_session.reauthentication_method(request, user)
        if sso_method is None:
            return methods
        if request is not None and (
            oidc_session.sso_provider_of_session(request, user) or policy.password_refused(user)
        ):
            methods = [m for m in methods if m["id"] != "reauthenticate"]
        return [sso_method, *methods]

    def post_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse:
        """After an IdP re-authentication that interrupted a form: say that nothing was submitted yet."""
        sociallogin = (kwargs.get("signal_kwargs") or {}).get("sociallogin")
        data = (getattr(sociallogin, "state", None) or {}).get("data") or {}
        if isinstance(data, dict) and data.get(oidc_session.RESUBMIT_KEY):
            provider = sociallogin.account.get_provider(request) if sociallogin is not None else None
            name = getattr(provider, "name", None) or "your identity provider"
            messages.info(request, oidc_session.RESUBMIT_MESSAGE.format(provider=name))
        return super().post_login(request, user, **kwargs)

    def get_logout_redirect_url(self, request: HttpRequest) -> str:
        """After an SSO session: the provider's end_session_endpoint, so the IdP session ends too.

        allauth asks for this URL while the person is still signed in, just before it signs them out.
        """
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            end_session = oidc_session.end_session_url(request, user)
            if end_session:
                return end_session
        return super().get_logout_redirect_url(request)

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        methods = {r.get("method") for r in get_authentication_records(request, user)}
        if "socialaccount" not in methods and policy.password_refused(user):  # passkeys, codes: not SSO either
            with transaction.atomic():
                audit.record(
                    "auth.login_refused", actor=user, subject=user, data={"why": "sso only", "person": user.email}
                )
            messages.error(request, policy.password_refused_message())
            return redirect("account_login")
        expires = getattr(user, "access_expires_on", None)
        if expires is not None and expires < timezone.localdate():
            with transaction.atomic():
                audit.record("auth.login_refused", actor=user, subject=user, data={"why": "access expired"})
            messages.error(
                request,
                f"Your access ended on {expires:%B %-d, %Y}. Ask the compliance officer to extend it.",
            )
            return redirect("account_login")
        return super().pre_login(request, user, **kwargs)


def _app_settings(sociallogin: SocialLogin) -> dict[str, Any]:
    try:
        return dict(sociallogin.account.get_provider().app.settings or {})
    except Exception:  # a provider no longer configured: none of its switches apply
        return {}


def verified_emails(sociallogin: SocialLogin) -> list[str]:
    """The addresses the identity provider vouches for; an unverified one never matches an account.

    A provider that sends no email_verified at all (Microsoft Entra ID, for one) vouches for its addresses only
    when its "emails_verified_by_organisation" setting says so (off by default); an explicit false never counts.
    """
    claims = sso.claims_of(sociallogin)
    by_organisation = bool(_app_settings(sociallogin).get("emails_verified_by_organisation"))
    return [
        address.email.strip().lower()
        for address in sociallogin.email_addresses
        if address.verified or (by_organisation and "email_verified" not in claims)
    ]


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on: a person signs in as the account with the same VERIFIED e-mail, and only then."""

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        provider = sociallogin.account.provider
        id_token = (sociallogin.account.extra_data or {}).get("id_token") or {}
        oidc_mfa.note_sign_in(
            request,
            provider,
            sociallogin.account.uid,
            oidc_mfa.idp_vouches_for_mfa(_app_settings(sociallogin), id_token),
        )
        groups_claim = _app_settings(sociallogin).get("groups_claim") or oidc_mapping.DEFAULT_GROUPS_CLAIM
        if sociallogin.is_existing:
            if not sociallogin.user.is_active:
                self._refuse(request, provider, "deactivated", person=sociallogin.user.email)
            oidc_mapping.sso_claims_apply(
                person=sociallogin.user,
                provider_id=provider,
                claims=sso.claims_of(sociallogin),
                groups_claim=groups_claim,
            )
            return
        emails = verified_emails(sociallogin)
        person = User.objects.filter(email__in=emails).first() if emails else None
        if person is not None:
            if not person.is_active:
                self._refuse(request, provider, "deactivated", person=person.email)
            with transaction.atomic():
                audit.record(
                    "auth.sso_connected",
                    actor=person,
                    subject=person,
                    data={"person": person.email, "provider": provider},
                )
            sociallogin.connect(request, person)
            oidc_mapping.sso_claims_apply(
                person=person, provider_id=provider, claims=sso.claims_of(sociallogin), groups_claim=groups_claim
            )
            return
        if not self.is_open_for_signup(request, sociallogin):
            claimed = (sociallogin.email_addresses[0].email if sociallogin.email_addresses else "")[:254].lower()
            known = User.objects.filter(email=claimed).exists() if claimed else False
            self._refuse(
                request,
                provider,
                "unverified e-mail" if claimed and not emails else "unknown e-mail",
                person=claimed,  # the address claimed; "known" says whether someone here has it
                known=known,
                verified=bool(emails),
            )

    def _refuse(self, request: HttpRequest, provider: str, reason: str, person: str | None = None, **data: Any) -> None:
        sso.audit_refusal(request, provider, reason, person=person, **data)
        request.session.pop(oidc_session.ID_TOKEN_KEY, None)
        request.session.pop(oidc_mfa.IDP_MFA_KEY, None)
        messages.error(request, sso.REFUSAL_MESSAGES.get(reason, sso.REFUSAL_MESSAGES["unknown e-mail"]))
        raise ImmediateHttpResponse(redirect("account_login"))

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: Any = None,
        extra_context: Any = None,
    ) -> None:
        """Every refused callback is an audit event, and the person sees what to do next."""
        reason = sso.callback_refusal_reason(error, exception, extra_context or {})
        sso.audit_refusal(
            request, getattr(provider, "sub_id", str(provider)), reason, detail=str(exception or "")[:300]
        )
        messages.error(request, sso.REFUSAL_MESSAGES.get(reason, sso.REFUSAL_MESSAGES["refused"]))
        raise ImmediateHttpResponse(redirect("account_login"))

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> User:
        """A person SSO may create (the policy allows it): through person_create, with the mapped role."""
        settings_ = _app_settings(sociallogin)
        person = oidc_mapping.sso_person_create(
            email=verified_emails(sociallogin)[0],
            provider_id=sociallogin.account.provider,
            claims=sso.claims_of(sociallogin),
            groups_claim=settings_.get("groups_claim") or oidc_mapping.DEFAULT_GROUPS_CLAIM,
        )
        sociallogin.user = person
        sociallogin.save(request)
        return person

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        """Only when the compliance officer allows SSO to create people, and only with a verified address."""
        return bool(verified_emails(sociallogin)) and SecurityPolicy.current().sso_may_create_accounts
