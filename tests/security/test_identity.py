"""Identity belongs to the organisation: nobody changes their own sign-in address, and every change of an
address, by anyone, is an audit event."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles.models import User
from roles.services import person_update
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.mark.parametrize(
    "data",
    [
        {"action_add": "", "email": "officer@example.test"},
        {"action_add": "", "email": "new-me@example.test"},
        {"action_primary": "", "email": "officer@example.test"},
        {"action_remove": "", "email": "billie@example.test"},
    ],
    ids=["add someone else's", "add a new one", "make primary", "remove"],
)
def test_a_person_cannot_change_their_own_address(login, employee, compliance_officer, data):
    client = login(employee)
    page = client.get(reverse("account_email"))
    assert page.status_code == 403
    assert "ask the compliance officer" in page.content.decode()
    response = client.post("/accounts/email/", data)
    assert response.status_code == 403
    employee.refresh_from_db()
    assert employee.email == "billie@example.test"
    assert not EmailAddress.objects.filter(email__in=["officer@example.test", "new-me@example.test"], user=employee)


@pytest.mark.parametrize("persona", ["manager", "compliance_officer", "auditor", "administrator"])
def test_the_page_is_refused_to_every_role(login, request, persona):
    assert login(request.getfixturevalue(persona)).get("/accounts/email/").status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/accounts/email/")
    assert response.status_code == 302 and reverse("account_login") in response.url


def test_the_officer_changing_an_address_is_audited_and_the_old_one_no_longer_signs_in(
    client, employee, compliance_officer
):
    assert client.post(reverse("account_login"), {"login": employee.email, "password": PASSWORD}).status_code == 302
    client.logout()
    person_update(person=employee, actor=compliance_officer, email="billie.new@example.test")
    event = AuditEvent.objects.get(action="person.email_changed")
    assert event.actor_id == compliance_officer.pk and event.subject_id == str(employee.pk)
    assert event.data == {"person": "billie.new@example.test", "from": "billie@example.test", "to": event.data["to"]}
    assert event.data["to"] == "billie.new@example.test"
    assert list(EmailAddress.objects.filter(user=employee).values_list("email", flat=True)) == [
        "billie.new@example.test"
    ]
    old = client.post(reverse("account_login"), {"login": "billie@example.test", "password": PASSWORD})
    assert old.status_code == 200 and "_auth_user_id" not in client.session
    new = client.post(reverse("account_login"), {"login": "billie.new@example.test", "password": PASSWORD})
    assert new.status_code == 302


def test_an_address_changed_in_the_admin_is_audited(login, administrator, employee):
    client = login(administrator)
    url = reverse("admin:roles_user_change", args=[employee.pk])
    data = {
        "email": "billie.admin@example.test",
        "full_name": employee.full_name,
        "workforce_role": employee.workforce_role_id,
        "department": employee.department_id,
        "manager": employee.manager_id,
        "hire_date": "",
        "access_expires_on": "",
        "reminder_digest": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.get(action="person.email_changed")
    assert event.actor_id == administrator.pk
    assert event.data["from"] == "billie@example.test" and event.data["to"] == "billie.admin@example.test"


def test_an_address_changed_by_any_other_save_is_audited(employee):
    person = User.objects.get(pk=employee.pk)
    person.email = "billie.shell@example.test"
    person.save()
    event = AuditEvent.objects.get(action="person.email_changed")
    assert event.data["from"] == "billie@example.test" and event.data["to"] == "billie.shell@example.test"
    assert event.actor_label == "system"
