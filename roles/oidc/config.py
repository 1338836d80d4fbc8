"""What the configured OpenID Connect providers are, read from settings only (no network)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


def configured_apps() -> list[dict[str, Any]]:
    """The OpenID Connect apps of SOCIALACCOUNT_PROVIDERS (the environment's OIDC_* variables fill them)."""
    return list(getattr(settings, "SOCIALACCOUNT_PROVIDERS", {}).get("openid_connect", {}).get("APPS", []))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_refused(url: str) -> bool:
    """In production an issuer must be https (the loopback excepted, for tests and a local IdP)."""
    return bool(settings.PRODUCTION) and urlsplit(url).scheme != "https" and not is_loopback(url)


def authorization_origins() -> list[str]:
    """Where the sign-in form may send the browser: each provider's authorisation origin, nothing wider.

    The issuer's origin by default; "authorization_origin" in the app's settings when the provider's
    authorization_endpoint is on another host than its issuer (its discovery document says).
    """
    origins: list[str] = []
    for app in configured_apps():
        app_settings = app.get("settings", {})
        for url in (app_settings.get("authorization_origin") or app_settings.get("server_url", ""),):
            found = origin(url)
            if found and found not in origins:
                origins.append(found)
    return origins
