"""The "single sign-on only" policy: passwords off for everyone but the break-glass administrator."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles.models import SecurityPolicy
from roles.services import invitation_url
from tests.factories import PASSWORD

from .test_sso_flow import sso_sign_in

pytestmark = pytest.mark.usefixtures("catalog")

REFUSED = "Passwords are not used here: sign in with Test IdP."


@pytest.fixture
def sso_only(sso, administrator):
    SecurityPolicy.objects.update_or_create(pk=1, defaults={"sso_only": True, "break_glass_account": administrator})
    return sso


def password_sign_in(client, email):
    return client.post(reverse("account_login"), {"login": email, "password": PASSWORD}, follow=True)


def test_password_sign_in_is_refused_pointing_to_the_provider(client, sso_only, employee):
    page = password_sign_in(client, employee.email).content.decode()
    assert REFUSED in page and "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="auth.login_refused")
    assert event.data["why"] == "sso only" and event.data["person"] == employee.email


def test_the_same_answer_for_an_address_nobody_has(client, sso_only):
    assert REFUSED in password_sign_in(client, "nobody@example.test").content.decode()


def test_the_break_glass_administrator_still_signs_in_with_a_password(client, sso_only, administrator):
    response = password_sign_in(client, administrator.email)
    assert REFUSED not in response.content.decode()
    assert response.redirect_chain[-1][0].startswith(reverse("mfa_authenticate"))  # and then the second factor


def test_sso_still_signs_people_in(client, sso_only, employee):
    sso_sign_in(client, sso_only, "billie")
    assert client.session["_auth_user_id"] == str(employee.pk)


def test_password_reset_is_refused_with_a_message_pointing_to_the_provider(client, sso_only, employee, administrator):
    for email in (employee.email, administrator.email):  # one answer for all: no enumeration
        page = client.post(reverse("account_reset_password"), {"email": email}, follow=True).content.decode()
        assert "use your organisation&#x27;s identity provider (Test IdP)" in page
    assert mail.outbox == []


def test_a_password_link_sent_before_the_switch_is_refused(client, sso_only, employee):
    link = invitation_url(employee).removeprefix("http://testserver")
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    page = client.post(form_url, {"password1": "a-new-long-passphrase", "password2": "a-new-long-passphrase"})
    assert "Passwords are not used here" in page.content.decode()
    employee.refresh_from_db()
    assert employee.check_password(PASSWORD)


def test_without_a_configured_provider_the_policy_cannot_lock_everyone_out(client, employee, administrator):
    SecurityPolicy.objects.update_or_create(pk=1, defaults={"sso_only": True, "break_glass_account": administrator})
    assert REFUSED not in password_sign_in(client, employee.email).content.decode()
    assert client.session["_auth_user_id"] == str(employee.pk)


def test_the_officer_cannot_turn_passwords_off_without_naming_an_active_administrator(
    login, compliance_officer, employee
):
    compliance_officer.is_staff = True
    compliance_officer.save(update_fields=["is_staff"])
    client = login(compliance_officer)
    url = reverse("admin:roles_securitypolicy_change", args=[SecurityPolicy.current().pk])
    base = {"require_mfa_for_everyone": "", "sso_may_create_accounts": ""}
    page = client.post(url, base | {"sso_only": "on", "break_glass_account": ""}).content.decode()
    assert "Name the break-glass administrator" in page
    page = client.post(url, base | {"sso_only": "on", "break_glass_account": employee.pk}).content.decode()
    assert "must be an active administrator" in page
    assert SecurityPolicy.current().sso_only is False


def test_the_officer_turns_passwords_off_naming_the_administrator_and_it_is_audited(
    login, compliance_officer, administrator
):
    compliance_officer.is_staff = True
    compliance_officer.save(update_fields=["is_staff"])
    client = login(compliance_officer)
    url = reverse("admin:roles_securitypolicy_change", args=[SecurityPolicy.current().pk])
    response = client.post(url, {"sso_only": "on", "break_glass_account": administrator.pk})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="security.policy_changed")
    assert event.data["sso_only"] == {"from": False, "to": True}
    assert event.data["break_glass_account"] == {"from": None, "to": administrator.email}
