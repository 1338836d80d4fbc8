"""The OpenID Connect provider class the product uses in place of allauth's (see roles/oidc/__init__.py)."""

from __future__ import annotations

from allauth.socialaccount.providers.oauth2.utils import generate_code_challenge
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider

from .tokens import nonce_for
from .views import OIDCAdapter


class OIDCProvider(OpenIDConnectProvider):
    oauth2_adapter_class = OIDCAdapter

    def get_pkce_params(self) -> dict:
        """PKCE always (the nonce hangs on it), and the nonce joins the authorisation request's parameters."""
        params = super().get_pkce_params() or generate_code_challenge()
        params["nonce"] = nonce_for(params["code_verifier"])
        return params


provider_classes = [OIDCProvider]
