"""Single sign-on through the real provider (tests/sso/provider.mjs), driven with the test client."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles import services
from roles.oidc.tokens import Refused, verify_id_token

from .conftest import CLIENT_ID, CLIENT_SECRET, FOREIGN_KEY, ROOT, app_config

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


def refusals():
    return list(AuditEvent.objects.filter(action="auth.sso_refused").order_by("seq"))


def test_the_sign_in_is_audited_as_by_sso_with_its_provider(client, sso, employee):
    sso_sign_in(client, sso, "billie")
    event = AuditEvent.objects.filter(action="auth.login").latest("seq")
    assert event.data["method"] == "sso" and event.data["provider"] == "sso"
    assert event.data["person"] == employee.email
    assert AuditEvent.objects.filter(action="auth.sso_connected", data__person=employee.email).exists()


def test_an_unknown_email_is_refused_and_audited(client, sso, employee):
    response = sso_sign_in(client, sso, "stranger")
    assert "no account here has that verified e-mail address" in response.content.decode()
    assert "_auth_user_id" not in client.session
    (event,) = refusals()
    assert event.data["why"] == "unknown e-mail" and event.data["person"] == "stranger@example.test"
    assert event.data["known"] is False  # nobody here has that address


def test_an_unverified_email_never_matches_the_person(client, sso, employee):
    response = sso_sign_in(client, sso, "unverified")
    assert "did not confirm your e-mail address" in response.content.decode()
    assert "_auth_user_id" not in client.session
    (event,) = refusals()
    assert event.data["why"] == "unverified e-mail" and event.data["person"] == employee.email
    assert event.data["known"] is True


def test_a_missing_email_verified_counts_only_when_the_provider_setting_says_so(client, settings, sso, employee):
    sso_sign_in(client, sso, "no-verified-claim")
    assert "_auth_user_id" not in client.session
    assert refusals()[-1].data["why"] == "unverified e-mail"

    settings.SOCIALACCOUNT_PROVIDERS = app_config(sso.issuer, emails_verified_by_organisation=True)
    sso_sign_in(client, sso, "no-verified-claim")
    assert client.session["_auth_user_id"] == str(employee.pk)


def test_an_explicit_unverified_email_stays_refused_even_when_the_organisation_vouches(client, settings, sso, employee):
    settings.SOCIALACCOUNT_PROVIDERS = app_config(sso.issuer, emails_verified_by_organisation=True)
    sso_sign_in(client, sso, "unverified")
    assert "_auth_user_id" not in client.session


def test_a_deactivated_person_is_refused_and_audited(client, sso, outsider):
    services.person_deactivate(person=outsider, actor=None)
    response = sso_sign_in(client, sso, "deactivated")
    assert "has been deactivated" in response.content.decode()
    assert "_auth_user_id" not in client.session
    (event,) = refusals()
    assert event.data["why"] == "deactivated" and event.data["person"] == outsider.email


def test_a_deactivated_person_with_a_connected_account_is_refused_too(client, sso, outsider):
    sso_sign_in(client, sso, "deactivated")  # connects the SSO account while still active
    client.logout()
    services.person_deactivate(person=outsider, actor=None)
    sso_sign_in(client, sso, "deactivated")
    assert "_auth_user_id" not in client.session
    assert refusals()[-1].data == refusals()[-1].data | {"why": "deactivated", "person": outsider.email}


def test_a_callback_with_a_state_this_browser_never_started_is_refused(client, sso, employee):
    callback = sso.sign_in(start(client), "billie")
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"state": "forged-state"}
    response = client.get(parts.path, query, follow=True)
    assert "did not start here" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert refusals()[-1].data["why"] == "bad state"


def test_a_replayed_code_is_refused_by_the_provider_and_audited(client, sso, employee):
    callback = sso.sign_in(start(client), "billie")
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    client.get(parts.path, query)
    assert client.session["_auth_user_id"] == str(employee.pk)
    client.logout()
    # The attacker replays the captured code inside a sign-in of their own (a state the browser did start).
    fresh_state = parse_qs(urlsplit(start(client)).query)["state"][0]
    response = client.get(parts.path, query | {"state": fresh_state}, follow=True)
    assert "already used or expired" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert refusals()[-1].data["why"] == "code refused"


def test_a_genuine_id_token_checked_against_someone_elses_keys_is_refused(client, settings, sso, employee):
    settings.SOCIALACCOUNT_PROVIDERS = app_config(
        sso.issuer, openid_configuration_overrides={"jwks_uri": f"{sso.issuer}/test/foreign-jwks"}
    )
    response = sso_sign_in(client, sso, "billie")
    assert "could not be completed safely" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert refusals()[-1].data["why"] == "foreign signature"


def test_a_genuine_id_token_issued_to_another_client_is_refused(client, sso, employee):
    response = sso_sign_in(client, sso, "wrong-audience")
    assert "could not be completed safely" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert refusals()[-1].data["why"] == "wrong audience"


# --- the id_token checks themselves, with tokens we sign (FOREIGN_KEY, published at /test/foreign-jwks) ---


def token(sso, **claims) -> str:
    now = int(time.time())
    body = {"iss": sso.issuer, "sub": "billie", "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": "n-1"}
    return jwt.encode({**body, **claims}, FOREIGN_KEY, algorithm="RS256", headers={"kid": "test-key"})


def check(sso, credential: str, nonce: str | None = "n-1"):
    return verify_id_token(
        credential, jwks_uri=f"{sso.issuer}/test/foreign-jwks", issuer=sso.issuer, client_id=CLIENT_ID, nonce=nonce
    )


def test_a_well_formed_id_token_passes(sso):
    assert check(sso, token(sso))["sub"] == "billie"


@pytest.mark.parametrize(
    ("claims", "nonce", "reason"),
    [
        ({"aud": "another-client"}, "n-1", "wrong audience"),
        ({"aud": [CLIENT_ID, "another-client"]}, "n-1", "wrong audience"),  # several audiences, no azp
        ({"iss": "https://idp.example.test"}, "n-1", "wrong issuer"),
        ({"exp": int(time.time()) - 3600}, "n-1", "expired id_token"),
        ({"nonce": "someone-elses"}, "n-1", "nonce mismatch"),
        ({}, None, "nonce mismatch"),  # no nonce was sent for this sign-in
    ],
)
def test_id_token_refusals(sso, claims, nonce, reason):
    with pytest.raises(Refused) as refused:
        check(sso, token(sso, **claims), nonce=nonce)
    assert refused.value.reason == reason


def test_an_unsigned_or_secret_keyed_id_token_is_refused(sso):
    unsigned = jwt.encode({"iss": sso.issuer, "aud": CLIENT_ID}, key=None, algorithm="none")
    hs256 = jwt.encode({"iss": sso.issuer, "aud": CLIENT_ID}, key="x" * 32, algorithm="HS256")
    for credential in (unsigned, hs256):
        with pytest.raises(Refused, match="foreign signature"):
            check(sso, credential)


def test_a_token_signed_by_another_key_than_the_providers_is_refused(sso):
    with pytest.raises(Refused, match="foreign signature"):
        verify_id_token(token(sso), jwks_uri=f"{sso.issuer}/jwks", issuer=sso.issuer, client_id=CLIENT_ID, nonce="n-1")


# --- production refuses a plain-http issuer ---


def test_production_refuses_a_plain_http_issuer_and_check_deploy_says_why(settings):
    settings.PRODUCTION = True
    settings.SOCIALACCOUNT_PROVIDERS = app_config("http://idp.example.test")
    with pytest.raises(SystemCheckError, match=r"(?s)roles.E101.*plain-http issuer.*must be https"):
        call_command("check", "--deploy", stdout=io.StringIO(), stderr=io.StringIO())
    settings.SOCIALACCOUNT_PROVIDERS = app_config("https://idp.example.test")
    assert "roles.E101" not in _check_output()
    settings.SOCIALACCOUNT_PROVIDERS = app_config("http://127.0.0.1:9")  # the loopback, for tests
    assert "roles.E101" not in _check_output()


def test_production_with_a_plain_http_issuer_does_not_start_at_all(settings):
    from django.core.exceptions import ImproperlyConfigured

    from roles.oidc.checks import refuse_to_start

    settings.PRODUCTION = True
    settings.SOCIALACCOUNT_PROVIDERS = app_config("http://idp.example.test")
    with pytest.raises(ImproperlyConfigured, match="must be https"):
        refuse_to_start()
    settings.PRODUCTION = False
    refuse_to_start()  # development: http is allowed


def test_manage_py_in_production_with_a_plain_http_issuer_refuses_and_says_why(tmp_path):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hipaa_training.settings",
        "PRODUCTION": "1",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "training.example.test",
        "VAR_DIR": str(tmp_path),
        "OIDC_SERVER_URL": "http://idp.example.test",
        "OIDC_CLIENT_ID": "c",
        "OIDC_CLIENT_SECRET": "s",
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "plain-http issuer (http://idp.example.test)" in done.stderr and "must be https" in done.stderr


def _check_output() -> str:
    out = io.StringIO()
    try:
        call_command("check", stdout=out, stderr=out)
    except SystemCheckError as e:
        return str(e)
    return out.getvalue()


def test_production_refuses_a_plain_http_issuer_at_sign_in_too(client, settings, employee):
    settings.PRODUCTION = True
    settings.SOCIALACCOUNT_PROVIDERS = app_config("http://idp.example.test")
    response = client.post(LOGIN_URL, follow=True)
    assert "could not be completed safely" in response.content.decode()
    assert refusals()[-1].data["why"] == "plain-http issuer"


# --- the administrator's setup page ---


def test_the_setup_page_shows_the_values_to_paste_into_the_provider(login, sso, administrator):
    page = login(administrator).get(reverse("roles:sso_setup")).content.decode()
    assert "http://testserver/accounts/oidc/sso/login/callback/" in page
    assert "http://testserver/accounts/login/" in page  # post-logout redirect URI
    assert "openid profile email" in page and "client_secret_post" in page
    assert sso.issuer in page and CLIENT_ID in page
    assert CLIENT_SECRET not in page


@pytest.mark.parametrize(
    ("persona", "status"), [("employee", 403), ("compliance_officer", 403), ("administrator", 200)]
)
def test_only_administrators_see_the_setup_page(request, login, sso, persona, status):
    assert login(request.getfixturevalue(persona)).get(reverse("roles:sso_setup")).status_code == status


def test_anonymous_is_sent_to_sign_in_for_the_setup_page(client, sso):
    response = client.get(reverse("roles:sso_setup"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
