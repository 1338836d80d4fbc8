from __future__ import annotations

import pytest
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles.models import User
from tests.factories import role

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def staff_officer(compliance_officer):
    User.objects.filter(pk=compliance_officer.pk).update(is_staff=True)
    compliance_officer.refresh_from_db()
    return compliance_officer


def test_the_admin_needs_a_login(client):
    response = client.get(reverse("admin:roles_user_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_an_employee_cannot_use_the_admin(login, employee):
    response = login(employee).get(reverse("admin:roles_user_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_a_compliance_officer_adds_a_person_in_the_admin_and_they_are_assigned(login, staff_officer):
    client = login(staff_officer)
    assert client.get(reverse("admin:roles_user_changelist")).status_code == 200
    response = client.post(
        reverse("admin:roles_user_add"),
        {
            "email": "hire@example.test",
            "full_name": "Hana Hire",
            "workforce_role": role("intake").pk,
            "department": "",
            "manager": "",
            "hire_date": "2026-11-01",
            "access_expires_on": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    person = User.objects.get(email="hire@example.test")
    assert person.assignments.count() == 3
    assert AuditEvent.objects.filter(
        action="account.created", subject_id=str(person.pk), actor_id=staff_officer.pk
    ).exists()


def test_a_role_change_in_the_admin_is_audited_and_reassigns(login, staff_officer, employee):
    client = login(staff_officer)
    response = client.post(
        reverse("admin:roles_user_change", args=[employee.pk]),
        {
            "email": employee.email,
            "full_name": employee.full_name,
            "workforce_role": role("it").pk,
            "department": employee.department_id,
            "manager": employee.manager_id,
            "hire_date": "2025-01-06",
            "access_expires_on": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.get(action="person.role_changed", subject_id=str(employee.pk))
    assert event.data == {
        "person": "billie@example.test",
        "from": "Billing and revenue cycle",
        "to": "IT and technical",
    }
    assert employee.assignments.open().filter(course__slug="privileged-access-security").exists()


def test_audit_events_are_read_only_in_the_admin(login, administrator):
    event = AuditEvent.objects.first()
    client = login(administrator)
    assert client.get(reverse("admin:hipaa_training_auditevent_changelist")).status_code == 200
    response = client.post(reverse("admin:hipaa_training_auditevent_change", args=[event.pk]), {"action": "x"})
    assert response.status_code == 403
    assert (
        client.post(reverse("admin:hipaa_training_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
