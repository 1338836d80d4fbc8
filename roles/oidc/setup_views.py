"""/accounts/sso/: what an administrator pastes into the identity provider, and what the product will ask of it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse

from .. import access
from ..http import AuthenticatedHttpRequest
from ..models import SecurityPolicy, SSOClaimMapping
from .config import authorization_origins, configured_apps


def _row(app: dict[str, Any]) -> dict[str, Any]:
    app_settings = app.get("settings", {})
    provider_id = str(app.get("provider_id", ""))
    method = app_settings.get("token_auth_method") or (
        "client_secret_post (client_secret_basic when that is all the provider offers)"
    )
    return {
        "name": app.get("name", ""),
        "provider_id": provider_id,
        "issuer": app_settings.get("server_url", ""),
        "client_id": app.get("client_id", ""),
        "redirect_uri": settings.SITE_URL + reverse("openid_connect_callback", kwargs={"provider_id": provider_id}),
        "post_logout_redirect_uri": settings.SITE_URL + reverse(settings.ACCOUNT_LOGOUT_REDIRECT_URL),
        "login_uri": settings.SITE_URL + reverse("openid_connect_login", kwargs={"provider_id": provider_id}),
        "scopes": " ".join(app_settings.get("scope") or ["openid", "profile", "email"]),
        "token_auth_method": method,
        "groups_claim": app_settings.get("groups_claim") or "groups",
        "emails_verified_by_organisation": bool(app_settings.get("emails_verified_by_organisation")),
        "trust_idp_mfa": bool(app_settings.get("trust_idp_mfa")),
        "mfa_amr_values": ", ".join(app_settings.get("mfa_amr_values") or ["mfa"]),
        "mfa_acr_values": ", ".join(app_settings.get("mfa_acr_values") or []) or "none",
    }


@access.access_required(access.ADMINISTRATOR)
def sso_setup(request: AuthenticatedHttpRequest) -> Any:
    policy = SecurityPolicy.current()
    return render(
        request,
        "roles/sso_setup.html",
        {
            "providers": [_row(app) for app in configured_apps()],
            "form_action_origins": authorization_origins(),
            "policy": policy,
            "mappings": SSOClaimMapping.objects.select_related("workforce_role", "department"),
        },
    )
