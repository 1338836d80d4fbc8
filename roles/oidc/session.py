"""Where single sign-on meets the product's session: re-authentication at the IdP, and RP-initiated logout."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

from allauth.account.authentication import get_authentication_records
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from .config import configured_apps

logger = logging.getLogger(__name__)
ID_TOKEN_KEY = "sso_id_token"
RESUBMIT_KEY = "resubmit"  # in the provider state's data: the re-authentication interrupted a form's POST
RESUBMIT_MESSAGE = "You signed in again with {provider}. Nothing was submitted yet: press the button again to confirm."


def suspended_post_landing(request: HttpRequest, next_url: str | None) -> str | None:
    """Where to come back after an IdP re-authentication that interrupted a POST (export, import, role change).

    allauth keeps the suspended POST in the session and replays it after a password re-authentication; an SSO
    re-authentication signs the person in anew, which empties the session, so the POST would come back as a
    GET of its URL (a 405 for a POST-only action). Instead: the page the form was on (the POST's same-site
    Referer), where the person presses the button again; None when no POST was suspended for `next_url`.
    """
    import json

    from allauth.account.internal.flows.reauthentication import STATE_SESSION_KEY
    from django.utils.http import url_has_allowed_host_and_scheme

    state = request.session.get(STATE_SESSION_KEY) or {}
    try:
        suspended = json.loads(state["request"]) if isinstance(state, dict) and "request" in state else None
    except (TypeError, ValueError):
        suspended = None
    if not suspended or suspended.get("method") != "POST":
        return None
    path = urlsplit(next_url or "").path
    if path != suspended.get("path"):
        return None
    referer = str((suspended.get("META") or {}).get("HTTP_REFERER") or "")
    parts = urlsplit(referer)
    same_site = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if referer and same_site and parts.path.startswith("/") and not parts.path.startswith("//"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return reverse("home")


def sso_provider_of_session(request: HttpRequest, user: Any) -> str | None:
    """The provider this session was signed in with, or None for a password (or passkey) sign-in."""
    social = [r for r in get_authentication_records(request, user) if r.get("method") == "socialaccount"]
    return str(social[-1].get("provider")) if social else None


def _provider(request: HttpRequest, provider_id: str) -> Any:
    return get_adapter().get_provider(request, provider=provider_id)


def reauthentication_method(request: HttpRequest | None, user: Any) -> dict[str, str] | None:
    """allauth's re-authentication entry that sends an SSO person back to their provider (prompt=login, max_age=0)."""
    if request is None or not getattr(user, "is_authenticated", False):
        return None
    ids = {str(app.get("provider_id")) for app in configured_apps()}
    provider_id = sso_provider_of_session(request, user)
    if provider_id not in ids:
        provider_id = next((a.provider for a in SocialAccount.objects.filter(user=user) if a.provider in ids), None)
    if provider_id is None:
        return None
    provider = _provider(request, provider_id)
    return {
        "id": "sso_reauthenticate",
        "description": f"Sign in again with {provider.name}",
        "url": reverse("sso_reauthenticate", kwargs={"provider_id": provider_id}),
    }


def end_session_url(request: HttpRequest, user: Any) -> str | None:
    """The provider's end_session_endpoint for this SSO session (OpenID Connect RP-Initiated Logout), if it has one."""
    provider_id = sso_provider_of_session(request, user)
    if provider_id is None or provider_id not in {str(a.get("provider_id")) for a in configured_apps()}:
        return None
    provider = _provider(request, provider_id)
    try:
        endpoint = provider.get_oauth2_adapter(request).openid_config.get("end_session_endpoint")
    except Exception:  # the provider is unreachable: the product's own session still ends
        logger.warning("single sign-on: no end_session_endpoint from %s", provider_id, exc_info=True)
        return None
    if not endpoint:
        return None
    params = {
        "client_id": provider.app.client_id,
        "post_logout_redirect_uri": f"{settings.SITE_URL}{reverse(settings.ACCOUNT_LOGOUT_REDIRECT_URL)}",
    }
    id_token = request.session.get(ID_TOKEN_KEY)
    if id_token:
        params["id_token_hint"] = id_token
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
