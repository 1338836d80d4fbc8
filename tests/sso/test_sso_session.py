"""RP-initiated logout and re-authentication at the identity provider, against the real provider."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from tests.conftest import totp_code

from .conftest import CLIENT_ID
from .test_sso_flow import sso_sign_in

pytestmark = pytest.mark.usefixtures("catalog")


def test_logout_after_sso_ends_the_providers_session_too(client, sso, employee):
    sso_sign_in(client, sso, "billie")
    response = client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session
    end = urlsplit(response.url)
    assert f"{end.scheme}://{end.netloc}{end.path}" == f"{sso.issuer}/session/end"
    query = {k: v[0] for k, v in parse_qs(end.query).items()}
    assert query["client_id"] == CLIENT_ID and query["id_token_hint"].count(".") == 2
    assert query["post_logout_redirect_uri"] == "http://testserver/accounts/login/"
    # The provider accepts the request and sends the person back to the sign-in page.
    assert sso.sign_in(response.url, "billie", stop_at="/accounts/login/") == query["post_logout_redirect_uri"]


def test_logout_after_a_password_sign_in_stays_here(login, client, sso, employee):
    login(employee)
    response = client.post(reverse("account_logout"))
    assert response.url == reverse("account_login")


def sso_session(client, person, provider: str = "sso", age: float = 0) -> None:
    """The session as a single sign-on (and second factor, where enrolled) made `age` seconds ago leaves it."""
    SocialAccount.objects.get_or_create(user=person, provider=provider, uid=person.email)
    at = time.time() - age
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "socialaccount", "at": at, "provider": provider, "uid": person.email},
        {"method": "mfa", "at": at, "type": "totp"},
    ]
    session.save()


def test_re_authentication_of_an_sso_person_goes_back_to_the_provider(login, client, sso, compliance_officer):
    client = login(compliance_officer)
    sso_session(client, compliance_officer, age=6 * 60)  # signed in six minutes ago: an import asks again
    response = client.get(reverse("roles:import"), follow=True)
    path, _ = response.redirect_chain[-1]
    assert path.startswith("/accounts/oidc/sso/login/") and "action=reauthenticate" in path
    assert "Enter your password" not in response.content.decode()
    start = client.post(path)
    query = parse_qs(urlsplit(start.url).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    # A fresh sign-in at the provider, and the product's own second factor again (trust is off by default).
    callback = urlsplit(sso.sign_in(start.url, "officer"))
    response = client.get(callback.path, {k: v[0] for k, v in parse_qs(callback.query).items()}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("mfa_authenticate"))
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code()}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("roles:import")
    assert response.status_code == 200


def test_re_authentication_of_a_password_person_is_unchanged(login, client, sso, compliance_officer):
    client = login(compliance_officer)
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=6), tick=True):
        response = client.get(reverse("roles:import"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))


def test_the_provider_is_reachable(sso):  # a guard that makes a broken fixture obvious
    assert requests.get(f"{sso.issuer}/.well-known/openid-configuration", timeout=5).ok


def test_a_provider_that_ignores_max_age_is_refused(login, client, sso, compliance_officer):
    client = login(compliance_officer)
    sso_session(client, compliance_officer)
    start = client.post(reverse("sso_reauthenticate", kwargs={"provider_id": "sso"}), follow=True)
    path = start.redirect_chain[-1][0]
    authorize = client.post(path).url
    session = client.session
    session["sso_reauth_requested_at"] = int(time.time()) + 3600  # as if the provider sent a sign-in from before
    session.save()
    callback = urlsplit(sso.sign_in(authorize, "officer"))
    response = client.get(callback.path, {k: v[0] for k, v in parse_qs(callback.query).items()}, follow=True)
    assert "could not be completed safely" in response.content.decode()
    from hipaa_training.models import AuditEvent

    assert AuditEvent.objects.filter(action="auth.sso_refused").latest("seq").data["why"] == "stale sign-in"
