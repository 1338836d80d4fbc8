"""What single sign-on refuses and says: the audit events and the messages people see."""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base.constants import AuthError
from django.db import transaction
from django.http import HttpRequest

from hipaa_training import audit
from hipaa_training.signals import client_ip

from .tokens import Refused

REFUSAL_MESSAGES = {
    "unknown e-mail": "Single sign-on worked, but no account here has that verified e-mail address. "
    "Ask the compliance officer to add you.",
    "unverified e-mail": "Single sign-on worked, but your identity provider did not confirm your e-mail address, "
    "so it cannot be matched to an account here. Ask your IT administrator.",
    "deactivated": "Your account here has been deactivated. Ask the compliance officer if this is a mistake.",
    "cancelled": "Single sign-on was cancelled. You can try again, or sign in another way if you have one.",
    "bad state": "That single sign-on attempt had expired or did not start here. Please try again.",
    "code refused": "Your identity provider refused to complete that sign-in (it was already used or expired). "
    "Please try again.",
    "refused": "Single sign-on could not be completed safely, so you were not signed in. Please try again; "
    "if it keeps failing, tell your IT administrator.",
}


def claims_of(sociallogin: SocialLogin) -> dict[str, Any]:
    """The claims the provider sent (userinfo over the id_token, as allauth prefers), merged."""
    extra = sociallogin.account.extra_data or {}
    if "id_token" in extra or "userinfo" in extra:
        return {**(extra.get("id_token") or {}), **(extra.get("userinfo") or {})}
    return dict(extra)


def callback_refusal_reason(error: Any, exception: Any, extra_context: dict[str, Any]) -> str:
    if isinstance(exception, Refused):
        return exception.reason
    if error == AuthError.CANCELLED:
        return "cancelled"
    if exception is None and "state_id" in extra_context and extra_context.get("state") is None:
        return "bad state"
    text = str(exception or "")
    if "invalid_grant" in text or "access token" in text.lower():
        return "code refused"  # the token endpoint refused the code: replayed, expired or not ours
    return "refused"


def audit_refusal(request: HttpRequest, provider: str, reason: str, person: str | None = None, **data: Any) -> None:
    payload: dict[str, Any] = {"provider": provider, "why": reason, "ip": client_ip(request), **data}
    if person:
        payload["person"] = person
    with transaction.atomic():
        audit.record("auth.sso_refused", data=payload)
