"""The login and callback views of allauth's OpenID Connect provider, with our adapter (see tokens.py)."""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp, SocialToken
from allauth.socialaccount.providers.base.constants import AuthAction
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.contrib.auth.decorators import login_not_required, login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from .config import plain_http_refused
from .session import ID_TOKEN_KEY
from .tokens import REAUTH_AT_KEY, Refused, check_fresh_sign_in, nonce_for, verify_id_token


class OIDCAdapter(OpenIDConnectOAuth2Adapter):
    expected_nonce: str | None = None

    @property
    def openid_config(self) -> dict[str, Any]:
        provider = self.get_provider()
        if plain_http_refused(provider.server_url):
            raise Refused("plain-http issuer", "PRODUCTION=1 accepts only an https issuer")
        config = super().openid_config
        for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
            if plain_http_refused(str(config.get(key, ""))):
                raise Refused("plain-http issuer", f"the discovery document's {key} is plain http")
        return config

    def get_access_token_data(self, request: HttpRequest, app: SocialApp, client: Any, pkce_code_verifier: Any = None):
        self.expected_nonce = nonce_for(pkce_code_verifier) if pkce_code_verifier else None
        return super().get_access_token_data(request, app, client, pkce_code_verifier=pkce_code_verifier)

    def complete_login(self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any):
        id_token = kwargs["response"].get("id_token")
        if not id_token:
            raise Refused("no id_token", "the token endpoint sent no id_token")
        data: dict[str, Any] = {
            "id_token": verify_id_token(
                id_token,
                jwks_uri=self.openid_config["jwks_uri"],
                issuer=self.openid_config["issuer"],
                client_id=app.client_id,
                nonce=self.expected_nonce,
            )
        }
        check_fresh_sign_in(data["id_token"], request.session.pop(REAUTH_AT_KEY, None))
        request.session[ID_TOKEN_KEY] = id_token  # the id_token_hint of RP-initiated logout (session.py)
        if app.settings.get("fetch_userinfo", True) and self.openid_config.get("userinfo_endpoint"):
            with get_adapter().get_requests_session() as session:
                response = session.get(self.profile_url, headers={"Authorization": f"Bearer {token.token}"})
                response.raise_for_status()
                userinfo = response.json()
            if str(userinfo.get("sub")) != str(data["id_token"]["sub"]):  # Core 5.3.2
                raise Refused("userinfo mismatch", "the userinfo's sub is not the id_token's")
            data["userinfo"] = userinfo
        return self.get_provider().sociallogin_from_response(request, data)


@login_not_required
def login(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        return OAuth2LoginView.adapter_view(OIDCAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist as e:
        raise Http404 from e


@login_not_required
def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        return OAuth2CallbackView.adapter_view(OIDCAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist as e:
        raise Http404 from e


@login_required
def reauthenticate(request: HttpRequest, provider_id: str) -> HttpResponse:
    """allauth's re-authentication choice for SSO people: the provider's login with action=reauthenticate.

    (A URL without a query of its own: allauth appends "?next=..." to the choices it lists.)
    """
    try:
        provider = get_adapter().get_provider(request, provider=provider_id)
    except SocialApp.DoesNotExist as e:
        raise Http404 from e
    params = {"process": "login", "action": AuthAction.REAUTHENTICATE}
    next_url = request.GET.get("next")
    if next_url:
        params["next"] = next_url
    return redirect(provider.get_login_url(request, **params))
