"""Login rate limits, re-authentication before sensitive changes, and single sign-on matching."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles.adapters import LOCKED_MESSAGE, SocialAccountAdapter
from roles.models import SecurityPolicy, User
from tests.factories import PASSWORD, role

pytestmark = pytest.mark.usefixtures("catalog")


def attempt(client, email, password, ip="203.0.113.7"):
    return client.post(reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip)


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, employee):
    start = dt.datetime.now(tz=dt.UTC)
    for n in range(5):  # a minute apart: slow enough for the first tier, still five in 15 minutes
        with time_machine.travel(start + dt.timedelta(minutes=n), tick=False):
            response = attempt(client, employee.email, "wrong guess")
            assert "are not correct" in response.content.decode()
    with time_machine.travel(start + dt.timedelta(minutes=5), tick=False):
        locked = attempt(client, employee.email, PASSWORD)
        assert locked.status_code == 200
        assert LOCKED_MESSAGE in locked.content.decode()
        assert "_auth_user_id" not in client.session
        # From another address too: the lock is on the account.
        assert LOCKED_MESSAGE in attempt(client, employee.email, PASSWORD, ip="198.51.100.1").content.decode()
    assert AuditEvent.objects.filter(action="auth.login_failed", data__person=employee.email).count() == 5
    assert AuditEvent.objects.filter(action="auth.login_locked", data__person=employee.email).count() == 2
    with time_machine.travel(start + dt.timedelta(minutes=4 + 16), tick=False):
        assert attempt(client, employee.email, PASSWORD).status_code == 302


def test_failures_first_slow_the_account_down(client, employee):
    start = dt.datetime.now(tz=dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            assert "are not correct" in attempt(client, employee.email, "wrong guess").content.decode()
        slowed = attempt(client, employee.email, PASSWORD)  # even the right password, too soon
        assert "Wait 15 seconds before trying again" in slowed.content.decode()
        assert "_auth_user_id" not in client.session
    with time_machine.travel(start + dt.timedelta(seconds=10), tick=False):
        assert "Wait 5 seconds" in attempt(client, employee.email, PASSWORD).content.decode()
    with time_machine.travel(start + dt.timedelta(seconds=16), tick=False):
        assert "are not correct" in attempt(client, employee.email, "wrong again").content.decode()
        assert "Wait 30 seconds" in attempt(client, employee.email, PASSWORD).content.decode()  # the pause grows
    with time_machine.travel(start + dt.timedelta(seconds=47), tick=False):
        assert attempt(client, employee.email, PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(action="auth.login_failed", data__person=employee.email).count() == 4
    assert AuditEvent.objects.filter(action="auth.login_locked", data__person=employee.email).count() == 3


def test_one_address_trying_many_accounts_is_slowed_down_not_locked_out(client, employee):
    start = dt.datetime.now(tz=dt.UTC)
    with time_machine.travel(start, tick=False):
        for n in range(10):
            attempt(client, f"guess{n}@example.test", "wrong guess")
        slowed = attempt(client, employee.email, PASSWORD).content.decode()
        assert "Many sign-in attempts from your network have failed. Wait 5 seconds" in slowed
        assert LOCKED_MESSAGE not in slowed
        assert "_auth_user_id" not in client.session
        # Another address is not affected.
        assert attempt(client, employee.email, PASSWORD, ip="198.51.100.1").status_code == 302
    client.logout()
    # However long the guessing goes on, the pause never exceeds a minute: a colleague behind the same address
    # signs in after it.
    t = start
    for n in range(10, 60):
        t += dt.timedelta(seconds=20)
        with time_machine.travel(t, tick=False):
            attempt(client, f"guess{n}@example.test", "wrong guess")
    with time_machine.travel(t + dt.timedelta(seconds=1), tick=False):
        waits = re.findall(r"Wait (\d+) seconds", attempt(client, employee.email, PASSWORD).content.decode())
        assert waits and 0 < int(waits[0]) <= 60
    with time_machine.travel(t + dt.timedelta(seconds=61), tick=False):
        assert attempt(client, employee.email, PASSWORD).status_code == 302


@pytest.fixture
def staff_officer(compliance_officer):
    User.objects.filter(pk=compliance_officer.pk).update(is_staff=True)
    compliance_officer.refresh_from_db()
    return compliance_officer


def role_change(employee, new_role="it"):
    return {
        "email": employee.email,
        "full_name": employee.full_name,
        "workforce_role": role(new_role).pk,
        "department": employee.department_id,
        "manager": employee.manager_id or "",
        "hire_date": "",
        "access_expires_on": "",
    }


def test_a_role_change_needs_a_sign_in_within_five_minutes(login, staff_officer, employee):
    client = login(staff_officer)
    url = reverse("admin:roles_user_change", args=[employee.pk])
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=6), tick=False):
        assert client.get(url).status_code == 200  # looking is fine
        response = client.post(url, role_change(employee))
        assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
        employee.refresh_from_db()
        assert employee.workforce_role.slug == "billing"
        wrong = client.post(response.url, {"password": "not it"})
        assert wrong.status_code == 200
        done = client.post(response.url, {"password": PASSWORD})
        assert done.status_code == 302
    employee.refresh_from_db()
    assert employee.workforce_role.slug == "it"  # the suspended change went through after re-authenticating
    assert AuditEvent.objects.filter(action="person.role_changed", subject_id=str(employee.pk)).exists()


def test_reauth_required_lets_a_fresh_sign_in_through(rf, employee):
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse

    from roles.access import reauth_required

    @reauth_required
    def export(request):
        return HttpResponse("the export")

    request = rf.get("/export/")
    request.user = employee
    request.session = SessionStore()
    from allauth.core.exceptions import ReauthenticationRequired

    with pytest.raises(ReauthenticationRequired):
        export(request)
    request.session["account_authentication_methods"] = [{"method": "password", "at": dt.datetime.now().timestamp()}]
    request.session["account_authentication_methods_user"] = str(employee.pk)
    assert export(request).content == b"the export"


# --- single sign-on: the adapter's decisions, with a SocialLogin built by hand (no network) ---


def social_login(email: str, verified: bool) -> SocialLogin:
    user = User(email=email, full_name="Sam Sso")
    account = SocialAccount(provider="sso", uid=f"uid-{email}")
    return SocialLogin(user=user, account=account, email_addresses=[EmailAddress(email=email, verified=verified)])


@pytest.fixture
def oidc(settings):
    """An OpenID Connect provider as OIDC_SERVER_URL, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET would configure it."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Single sign-on",
                    "client_id": "hipaa-training",
                    "secret": "not-a-secret",
                    "settings": {"server_url": "https://idp.example.test"},
                }
            ]
        }
    }


def sso_request(rf: RequestFactory):
    request = rf.get("/accounts/oidc/sso/login/callback/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_sso_signs_in_the_person_with_the_same_verified_email(rf, employee, oidc):
    sociallogin = social_login(employee.email.upper(), verified=True)
    SocialAccountAdapter().pre_social_login(sso_request(rf), sociallogin)
    assert sociallogin.user == employee
    assert SocialAccount.objects.get(uid=sociallogin.account.uid).user == employee
    assert AuditEvent.objects.filter(action="auth.sso_connected", subject_id=str(employee.pk)).exists()


def test_sso_never_trusts_an_unverified_email(rf, employee, oidc):
    sociallogin = social_login(employee.email, verified=False)
    with pytest.raises(ImmediateHttpResponse):
        SocialAccountAdapter().pre_social_login(sso_request(rf), sociallogin)
    assert not SocialAccount.objects.exists()
    assert AuditEvent.objects.get(action="auth.sso_refused").data["verified"] is False


def test_sso_creates_no_one_unless_the_policy_allows(rf, oidc):
    adapter = SocialAccountAdapter()
    stranger = social_login("stranger@example.test", verified=True)
    with pytest.raises(ImmediateHttpResponse):
        adapter.pre_social_login(sso_request(rf), stranger)
    assert not adapter.is_open_for_signup(sso_request(rf), stranger)
    SecurityPolicy.objects.update_or_create(pk=1, defaults={"sso_may_create_accounts": True})
    adapter.pre_social_login(sso_request(rf), stranger)  # no refusal: allauth goes on to sign them up
    assert adapter.is_open_for_signup(sso_request(rf), stranger)
    assert not adapter.is_open_for_signup(sso_request(rf), social_login("x@example.test", verified=False))


def test_no_sso_button_without_configuration(client):
    page = client.get(reverse("account_login")).content.decode()
    assert "openid_connect" not in page and "Single sign-on" not in page


def test_the_sso_button_appears_when_a_provider_is_configured(client, oidc):
    page = client.get(reverse("account_login")).content.decode()
    assert "Single sign-on" in page


@pytest.mark.parametrize(
    ("persona", "url_name", "args", "method"),
    [
        ("auditor", "records:audit_export", ["training"], "get"),
        ("compliance_officer", "records:audit_export", ["audit"], "get"),
        ("auditor", "records:audit_request", [], "post"),
        ("compliance_officer", "roles:import", [], "get"),
        ("compliance_officer", "roles:import_apply", [], "post"),
    ],
)
def test_exports_and_imports_need_a_sign_in_within_five_minutes(request, login, persona, url_name, args, method):
    from hipaa_training.models import AuditEvent as Event

    client = login(request.getfixturevalue(persona))
    url = reverse(url_name, args=args)
    exports_before = Event.objects.filter(action="export.downloaded").count()
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=6), tick=False):
        response = getattr(client, method)(url, {"kind": "report"} if method == "post" else None)
    assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
    assert Event.objects.filter(action="export.downloaded").count() == exports_before  # nothing left the building
