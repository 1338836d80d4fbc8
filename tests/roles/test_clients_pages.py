"""The officer's client pages (/dashboard/clients/): who may open them, what they save, and bad input refused with
a message and nothing saved."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from hipaa_training.models import AuditEvent
from roles.clients import client_auditor_grant, client_create, client_scope_add
from roles.models import Assignment, Client, ClientAuditor, ClientRequirement, ClientScope, User
from tests.conftest import enrol_totp
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def riverside() -> Client:
    return client_create(name="Riverside Clinic", baa_effective_on=dt.date(2024, 1, 1))


def _pages(client_obj: Client) -> list[str]:
    return [
        reverse("roles:clients"),
        reverse("roles:client", args=[client_obj.pk]),
        reverse("roles:client_auditors", args=[client_obj.pk]),
    ]


POSTS = ("roles:client_requirement", "roles:client_scope", "roles:client_retire")


def test_anonymous_people_are_sent_to_sign_in(client, riverside):
    for url in _pages(riverside):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login/" in response.url


def test_employees_managers_and_client_auditors_are_refused(login, employee, manager, riverside):
    rita = enrol_totp(
        client_auditor_grant(
            client=riverside,
            email="rita@riverside.test",
            full_name="Rita Reviewer",
            access_expires_on=timezone.localdate() + dt.timedelta(days=30),
        ).user
    )
    for person in (employee, manager, rita):
        c = login(person)
        for url in _pages(riverside):
            assert c.get(url).status_code == 403, (person, url)
    c = login(employee)
    for name in POSTS:
        assert c.post(reverse(name, args=[riverside.pk]), {"reason": "x"}).status_code == 403
    assert c.post(reverse("roles:clients"), {"name": "Evil", "baa_effective_on": "2024-01-01"}).status_code == 403
    assert not Client.objects.filter(name="Evil").exists()
    assert not Client.objects.filter(retired_at__isnull=False).exists()


def test_auditors_read_the_clients_but_change_nothing(login, auditor, riverside):
    c = login(auditor)
    assert c.get(reverse("roles:clients")).status_code == 200
    page = c.get(reverse("roles:client", args=[riverside.pk])).content.decode()
    assert "Riverside Clinic" in page
    assert "Record the change" not in page
    assert c.get(reverse("roles:client_auditors", args=[riverside.pk])).status_code == 403
    response = c.post(reverse("roles:clients"), {"name": "Evil", "baa_effective_on": "2024-01-01"})
    assert response.status_code == 403
    assert Client.objects.count() == 1


def test_the_officer_adds_a_client_its_module_and_its_people(login, compliance_officer, employee):
    c = login(compliance_officer)
    response = c.post(
        reverse("roles:clients"),
        {"name": "Riverside Clinic", "baa_effective_on": "2024-01-01", "due_within_days": "14", "notes": ""},
        follow=True,
    )
    assert "Riverside Clinic was added" in response.content.decode()
    riverside = Client.objects.get()
    assert riverside.due_within_days == 14
    course = Course.objects.get(slug="leadership-oversight")
    c.post(reverse("roles:client_requirement", args=[riverside.pk]), {"course": course.pk, "recurrence_months": "12"})
    assert ClientRequirement.objects.filter(client=riverside, course=course).exists()
    response = c.post(
        reverse("roles:client_scope", args=[riverside.pk]),
        {"action": "add", "person": employee.pk, "reason": "works the Riverside denials queue"},
        follow=True,
    )
    page = response.content.decode()
    assert "Billie Biller works Riverside Clinic" in page
    assert "works the Riverside denials queue" in page  # in the history
    assert 'id="client-people"' in page and employee.email in page
    extra = employee.assignments.get(course=course)
    assert extra.reason == Assignment.CLIENT
    assert extra.due_on == extra.assigned_on + dt.timedelta(days=14)
    assert AuditEvent.objects.filter(action="client.scope_added", data__person=employee.email).exists()

    c.post(
        reverse("roles:client_scope", args=[riverside.pk]),
        {"action": "remove", "person": employee.pk, "reason": "moved to another queue"},
    )
    extra.refresh_from_db()
    assert extra.cancelled_at is not None
    assert ClientScope.objects.filter(client=riverside).count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "baa_effective_on": "2024-01-01"}, "This field is required"),
        ({"name": "Riverside Clinic", "baa_effective_on": "2024-01-01"}, "There is already a client named"),
        ({"name": "Lakeside", "baa_effective_on": "2024-02-30"}, "Enter a valid date"),
        ({"name": "Lakeside", "baa_effective_on": "1066-10-14"}, "must be between 1990"),
        ({"name": "Lakeside", "baa_effective_on": "2024-01-01", "due_within_days": "0"}, "greater than or equal to 1"),
    ],
)
def test_a_bad_client_is_refused_with_a_message(login, compliance_officer, riverside, data, message):
    response = login(compliance_officer).post(reverse("roles:clients"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Client.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "add", "reason": "x"}, "Choose exactly one of a department, a workforce role or a person"),
        ({"action": "add", "person": "EMPLOYEE", "reason": ""}, "This field is required"),
        ({"action": "remove", "person": "EMPLOYEE", "reason": "x"}, "does not work Riverside Clinic"),
        ({"action": "add", "person": "EMPLOYEE", "reason": "x", "valid_from": "2023-12-31"}, "took effect on"),
        ({"action": "add", "person": "EMPLOYEE", "reason": "x", "valid_from": "2999-01-01"}, "must be between"),
        ({"action": "add", "person": "999999", "reason": "x"}, "Select a valid choice"),
        ({"action": "steal", "person": "EMPLOYEE", "reason": "x"}, "Select a valid choice"),
    ],
)
def test_a_bad_scope_change_is_refused_with_a_message(login, compliance_officer, employee, riverside, data, message):
    data = {k: (str(employee.pk) if v == "EMPLOYEE" else v) for k, v in data.items()}
    response = login(compliance_officer).post(reverse("roles:client_scope", args=[riverside.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ClientScope.objects.exists()
    assert not Assignment.objects.filter(reason=Assignment.CLIENT).exists()


def test_a_bad_requirement_is_refused(login, compliance_officer, riverside):
    url = reverse("roles:client_requirement", args=[riverside.pk])
    response = login(compliance_officer).post(url, {"course": "999999", "recurrence_months": "12"})
    assert response.status_code == 400
    assert "That module is retired or unknown" in response.content.decode()
    response = login(compliance_officer).post(
        url, {"course": Course.objects.get(slug="leadership-oversight").pk, "recurrence_months": "500"}
    )
    assert response.status_code == 400
    assert "less than or equal to 120" in response.content.decode()
    assert not ClientRequirement.objects.exists()


def test_removing_a_requirement_of_another_client_is_404(login, compliance_officer, riverside):
    other = client_create(name="Lakeside Clinic", baa_effective_on=dt.date(2024, 1, 1))
    from roles.clients import client_requirement_set

    requirement = client_requirement_set(client=other, course=Course.objects.get(slug="leadership-oversight"))
    url = reverse("roles:client_requirement_remove", args=[riverside.pk, requirement.pk])
    assert login(compliance_officer).post(url).status_code == 404
    assert ClientRequirement.objects.filter(pk=requirement.pk).exists()


def test_the_officer_grants_and_revokes_a_client_auditor(login, compliance_officer, riverside):
    c = login(compliance_officer)
    url = reverse("roles:client_auditors", args=[riverside.pk])
    until = (timezone.localdate() + dt.timedelta(days=60)).isoformat()
    response = c.post(
        url, {"email": "rita@riverside.test", "full_name": "Rita Reviewer", "access_expires_on": until}, follow=True
    )
    page = response.content.decode()
    assert "rita@riverside.test may read Riverside Clinic" in page
    binding = ClientAuditor.objects.get(client=riverside)
    assert binding.user.access_expires_on.isoformat() == until
    c.post(reverse("roles:client_auditor_revoke", args=[riverside.pk, binding.pk]))
    rita = User.objects.get(pk=binding.user_id)
    assert rita.access_expires_on < timezone.localdate()
    assert not rita.groups.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not an address", "full_name": "X", "access_expires_on": "FUTURE"}, "Enter a valid email address"),
        ({"email": "x@y.test", "full_name": "X", "access_expires_on": "2001-01-01"}, "cannot end in the past"),
        ({"email": "x@y.test", "full_name": "X", "access_expires_on": "2999-01-01"}, "at most two years"),
        ({"email": "x@y.test", "full_name": "", "access_expires_on": "FUTURE"}, "Give the auditor"),
        ({"email": "officer@example.test", "full_name": "", "access_expires_on": "FUTURE"}, "member of the workforce"),
    ],
)
def test_a_bad_client_auditor_is_refused(login, compliance_officer, riverside, data, message):
    future = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    data = {k: (future if v == "FUTURE" else v) for k, v in data.items()}
    users = User.objects.count()
    response = login(compliance_officer).post(reverse("roles:client_auditors", args=[riverside.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert User.objects.count() == users
    assert not ClientAuditor.objects.exists()


def test_retiring_a_client_keeps_it_and_its_history(login, compliance_officer, riverside):
    client_scope_add(client=riverside, department=DepartmentFactory(name="Claims Team"), reason="contract")
    response = login(compliance_officer).post(reverse("roles:client_retire", args=[riverside.pk]), follow=True)
    assert "Riverside Clinic is retired" in response.content.decode()
    riverside.refresh_from_db()
    assert riverside.retired_at is not None
    assert ClientScope.objects.filter(client=riverside).count() == 1
