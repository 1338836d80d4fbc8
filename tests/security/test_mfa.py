from __future__ import annotations

import datetime as dt

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles.models import SecurityPolicy
from tests.conftest import make_person, totp_code
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def new_officer(catalog):
    """A compliance officer who has not set up a second factor yet."""
    return make_person("new.officer@example.test", "Nell Newofficer", "compliance", groups=("compliance officer",))


def sign_in(client, person, password=PASSWORD):
    return client.post(reverse("account_login"), {"login": person.email, "password": password})


def test_a_privileged_account_without_a_second_factor_is_sent_to_enrol_first(client, new_officer):
    response = sign_in(client, new_officer)
    assert response.status_code == 302
    page = client.get(reverse("records:training"))
    assert page.status_code == 302 and page.url == reverse("mfa_activate_totp")
    enrol = client.get(page.url)
    assert enrol.status_code == 200
    assert "must use a second factor" in enrol.content.decode()
    # Logging out stays possible.
    assert client.post(reverse("account_logout")).status_code == 302


@pytest.mark.parametrize("persona", ["auditor", "administrator"])
def test_auditors_and_administrators_must_enrol_too(client, request, persona):
    person = request.getfixturevalue(persona)
    Authenticator.objects.filter(user=person).delete()
    sign_in(client, person)
    assert client.get(reverse("home")).url == reverse("mfa_activate_totp")


def test_an_employee_is_not_asked_to_enrol_unless_the_policy_says_so(client, employee):
    sign_in(client, employee)
    assert client.get(reverse("records:training")).status_code == 200
    SecurityPolicy.objects.update_or_create(pk=1, defaults={"require_mfa_for_everyone": True})
    assert client.get(reverse("records:training")).url == reverse("mfa_activate_totp")


def test_enrolling_an_authenticator_app_lets_the_officer_in(client, new_officer, django_capture_on_commit_callbacks):
    sign_in(client, new_officer)
    page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=new_officer, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=new_officer, type=Authenticator.Type.RECOVERY_CODES).exists()
    assert client.get(reverse("records:training")).status_code == 200
    assert AuditEvent.objects.filter(action="auth.mfa_added", actor_id=new_officer.pk).exists()


def test_an_enrolled_officer_signs_in_with_password_and_code(client, compliance_officer):
    response = sign_in(client, compliance_officer)
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session  # the password alone is not enough
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and "Incorrect code" in wrong.content.decode()
    assert "_auth_user_id" not in client.session
    ok = client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    assert ok.status_code == 302
    assert client.session["_auth_user_id"] == str(compliance_officer.pk)
    assert client.get(reverse("records:training")).status_code == 200


def test_a_recovery_code_works_once_instead_of_the_app(client, compliance_officer):
    codes = RecoveryCodes.activate(compliance_officer).generate_codes()
    sign_in(client, compliance_officer)
    assert client.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 302
    assert client.session["_auth_user_id"] == str(compliance_officer.pk)
    client.post(reverse("account_logout"))
    sign_in(client, compliance_officer)
    again = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert again.status_code == 200 and "_auth_user_id" not in client.session


def test_the_admin_login_goes_through_the_second_factor(client, administrator):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    response = client.post(reverse("admin:login"), {"username": administrator.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_the_officer_edits_the_policy_in_the_admin_and_it_is_audited(login, compliance_officer):
    compliance_officer.is_staff = True
    compliance_officer.save(update_fields=["is_staff"])
    client = login(compliance_officer)
    policy = SecurityPolicy.current()
    response = client.post(
        reverse("admin:roles_securitypolicy_change", args=[policy.pk]),
        {"require_mfa_for_everyone": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert SecurityPolicy.current().require_mfa_for_everyone
    event = AuditEvent.objects.get(action="security.policy_changed")
    assert event.data == {"require_mfa_for_everyone": {"from": False, "to": True}}
    assert event.actor_id == compliance_officer.pk


def test_an_mfa_change_needs_a_sign_in_within_five_minutes(client, compliance_officer, login):
    import time_machine

    RecoveryCodes.activate(compliance_officer)
    login(compliance_officer)
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=6), tick=False):
        response = client.post(reverse("mfa_deactivate_totp"))
        assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
        assert Authenticator.objects.filter(user=compliance_officer, type="totp").exists()
        # Viewing recovery codes asks too, even on GET.
        assert client.get(reverse("mfa_view_recovery_codes")).url.startswith(reverse("account_reauthenticate"))
        # The password again: the deactivation that was asked for first goes through.
        client.post(response.url, {"password": PASSWORD})
        assert not Authenticator.objects.filter(user=compliance_officer, type="totp").exists()
