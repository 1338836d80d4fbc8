"""Single sign-on through the real provider (tests/sso/provider.mjs), driven with the test client."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

pytestmark = pytest.mark.usefixtures("catalog")

LOGIN_URL = "/accounts/oidc/sso/login/"


def start(client) -> str:
    """Press "Sign in with Test IdP": the authorisation URL the product sends the browser to."""
    response = client.post(LOGIN_URL)
    assert response.status_code == 302, response.content.decode()[:500]
    return response.url


def sso_sign_in(client, idp, login: str):
    """The whole round trip as a browser makes it; the product's answer to the callback (followed)."""
    callback = idp.sign_in(start(client), login)
    parts = urlsplit(callback)
    return client.get(
        parts.path, parse_qs(parts.query) and {k: v[0] for k, v in parse_qs(parts.query).items()}, follow=True
    )


def test_the_sign_in_page_offers_the_provider_and_the_csp_lets_its_form_reach_only_that_origin(client, sso):
    response = client.get(reverse("account_login"))
    page = response.content.decode()
    assert "Sign in with Test IdP" in page
    directives = dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
    assert directives["form-action"] == f"'self' {sso.issuer}"


def test_the_authorisation_request_carries_a_nonce_pkce_and_state(client, sso):
    query = parse_qs(urlsplit(start(client)).query)
    assert query["nonce"][0] and query["state"][0] and query["code_challenge_method"] == ["S256"]
    assert set(query["scope"][0].split()) >= {"openid", "email", "profile"}


def test_a_known_person_signs_in_through_the_provider(client, sso, employee):
    response = sso_sign_in(client, sso, "billie")
    assert response.redirect_chain[-1][0] == reverse("records:training")
    assert client.session["_auth_user_id"] == str(employee.pk)
