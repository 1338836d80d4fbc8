"""Trusting the identity provider's second factor (per provider, off by default).

With "trust_idp_mfa" on in a provider's settings, an id_token whose amr (RFC 8176) or acr shows a second factor
stands in for the product's own code at that sign-in; without it, privileged people are asked for the product's
code as always. Only the signed id_token counts, never userinfo.
"""

from __future__ import annotations

from typing import Any

from allauth.account.authentication import get_authentication_records
from django.http import HttpRequest

IDP_MFA_KEY = "sso_idp_mfa"  # {"provider": ..., "uid": ...}: this session's SSO sign-in carried the IdP's MFA
DEFAULT_MFA_AMR = ["mfa"]


def idp_vouches_for_mfa(app_settings: dict[str, Any], id_token: dict[str, Any]) -> bool:
    if not app_settings.get("trust_idp_mfa"):
        return False
    amr = id_token.get("amr") or []
    amr = [amr] if isinstance(amr, str) else list(amr)
    wanted_amr = set(app_settings.get("mfa_amr_values") or DEFAULT_MFA_AMR)
    wanted_acr = set(app_settings.get("mfa_acr_values") or [])
    return bool(wanted_amr & set(amr)) or (bool(wanted_acr) and str(id_token.get("acr", "")) in wanted_acr)


def note_sign_in(request: HttpRequest, provider: str, uid: str, vouched: bool) -> None:
    if vouched:
        request.session[IDP_MFA_KEY] = {"provider": provider, "uid": uid}
    else:
        request.session.pop(IDP_MFA_KEY, None)


def session_has_idp_mfa(request: HttpRequest, user: Any) -> bool:
    """Whether this session's latest sign-in was by SSO with the provider's (trusted) second factor."""
    noted = request.session.get(IDP_MFA_KEY) if hasattr(request, "session") else None
    if not noted:
        return False
    records = get_authentication_records(request, user)
    last = records[-1] if records else {}
    return (
        last.get("method") == "socialaccount"
        and last.get("provider") == noted.get("provider")
        and str(last.get("uid")) == str(noted.get("uid"))
    )
