from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
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

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
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


def verified_emails(sociallogin: SocialLogin) -> list[str]:
    """The addresses the identity provider vouches for; an unverified one never matches an account."""
    return [address.email.strip().lower() for address in sociallogin.email_addresses if address.verified]


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on: a person signs in as the account with the same VERIFIED e-mail, and only then."""

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        if sociallogin.is_existing:
            return
        emails = verified_emails(sociallogin)
        person = User.objects.filter(email__in=emails).first() if emails else None
        if person is not None:
            with transaction.atomic():
                audit.record(
                    "auth.sso_connected",
                    actor=person,
                    subject=person,
                    data={"provider": sociallogin.account.provider, "person": person.email},
                )
            sociallogin.connect(request, person)
            return
        if not self.is_open_for_signup(request, sociallogin):
            claimed = sociallogin.email_addresses[0].email if sociallogin.email_addresses else ""
            with transaction.atomic():
                audit.record(
                    "auth.sso_refused",
                    data={
                        "provider": sociallogin.account.provider,
                        "person": claimed[:254].lower(),
                        "verified": bool(emails),
                        "ip": client_ip(request),
                    },
                )
            messages.error(
                request,
                "Single sign-on worked, but no account here has that verified e-mail address. "
                "Ask the compliance officer to add you.",
            )
            raise ImmediateHttpResponse(redirect("account_login"))

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        """Only when the compliance officer allows SSO to create people, and only with a verified address."""
        return bool(verified_emails(sociallogin)) and SecurityPolicy.current().sso_may_create_accounts
