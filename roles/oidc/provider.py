"""The OpenID Connect provider class the product uses in place of allauth's (see roles/oidc/__init__.py)."""

from __future__ import annotations

import time
from typing import Any

from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.base.constants import AuthAction
from allauth.socialaccount.providers.oauth2.utils import generate_code_challenge
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.http import HttpRequest

from .session import RESUBMIT_KEY, suspended_post_landing
from .tokens import REAUTH_AT_KEY, Refused, nonce_for
from .views import OIDCAdapter


class OIDCProvider(OpenIDConnectProvider):
    oauth2_adapter_class = OIDCAdapter

    def redirect(self, request: HttpRequest, process: Any, next_url: Any = None, data: Any = None, **kwargs: Any):
        """A provider refused before the person leaves (plain http in production) is audited like a callback."""
        if (kwargs.get("auth_params") or {}).get("max_age") == "0":
            request.session[REAUTH_AT_KEY] = int(time.time())  # the callback wants an auth_time from now on
            landing = suspended_post_landing(request, next_url)
            if landing is not None:  # a form's POST cannot survive the new sign-in: back to the form, told so
                next_url, data = landing, {**(data or {}), RESUBMIT_KEY: True}
        else:
            request.session.pop(REAUTH_AT_KEY, None)
        try:
            return super().redirect(request, process, next_url=next_url, data=data, **kwargs)
        except Refused as e:
            return render_authentication_error(request, self, exception=e)

    def get_auth_params_from_request(self, request: HttpRequest, action: Any) -> dict:
        """Re-authentication asks the provider for a fresh sign-in, not its remembered session."""
        params = super().get_auth_params_from_request(request, action)
        if action == AuthAction.REAUTHENTICATE:
            params.update({"prompt": "login", "max_age": "0"})
        return params

    def get_pkce_params(self) -> dict:
        """PKCE always (the nonce hangs on it), and the nonce joins the authorisation request's parameters."""
        params = super().get_pkce_params() or generate_code_challenge()
        params["nonce"] = nonce_for(params["code_verifier"])
        return params


provider_classes = [OIDCProvider]
