"""`manage.py check` (and so `check --deploy`) refuses an identity provider that production must not trust."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from .config import configured_apps, plain_http_refused


def refuse_to_start() -> None:
    """Called when the app loads (web, worker, every manage.py command): production does not start at all."""
    errors = plain_http_issuer()
    if errors:
        raise ImproperlyConfigured(f"{errors[0].msg} {errors[0].hint} ({errors[0].id})")


@register("security")
def plain_http_issuer(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    for app in configured_apps():
        url = app.get("settings", {}).get("server_url", "")
        if plain_http_refused(url):
            errors.append(
                Error(
                    f"The single sign-on provider {app.get('provider_id', '')!r} has a plain-http issuer ({url}).",
                    hint="With PRODUCTION=1 the issuer (OIDC_SERVER_URL) must be https: its discovery document, "
                    "keys and tokens would otherwise cross the network unprotected and a forged id_token could be "
                    "accepted. Only the loopback is excepted, for tests.",
                    id="roles.E101",
                )
            )
    return errors
