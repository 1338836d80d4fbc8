"""Creating, renaming and retiring workforce roles and departments: audited, duplicates refused, a role with
people in it never retired (let alone deleted), and nothing retired is offered for people again."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles.imports import import_plan
from roles.models import Department, WorkforceRole
from roles.services import person_create, person_update
from tests.conftest import make_person
from tests.factories import DepartmentFactory, role

pytestmark = pytest.mark.usefixtures("catalog")


def test_role_pages_ask_anonymous_people_to_sign_in_and_refuse_employees(client, login, employee):
    billing = role("billing")
    for url in (reverse("roles:role_edit", args=[billing.pk]), reverse("roles:departments")):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response.url
    client = login(employee)
    assert client.get(reverse("roles:role_edit", args=[billing.pk])).status_code == 403
    assert client.post(reverse("roles:role_new"), {"name": "Couriers"}).status_code == 403
    assert client.post(reverse("roles:role_retire", args=[billing.pk])).status_code == 403
    assert client.get(reverse("roles:departments")).status_code == 403
    assert not WorkforceRole.objects.filter(name="Couriers").exists()


def test_the_officer_adds_a_role_then_renames_it(login, compliance_officer):
    client = login(compliance_officer)
    response = client.post(reverse("roles:role_new"), {"name": "  Couriers ", "handles_phi": "on"}, follow=True)
    assert "Couriers was added" in response.content.decode()
    couriers = WorkforceRole.objects.get(name="Couriers")
    assert couriers.slug == "couriers" and couriers.handles_phi
    assert f"r{couriers.pk}-c" in client.get(reverse("roles:grid")).content.decode()  # a new row of the grid
    page = client.get(reverse("roles:role_edit", args=[couriers.pk])).content.decode()
    assert "Rename the role" in page
    client.post(reverse("roles:role_edit", args=[couriers.pk]), {"name": "Couriers and drivers"})
    couriers.refresh_from_db()
    assert couriers.name == "Couriers and drivers" and couriers.slug == "couriers"
    actions = list(AuditEvent.objects.filter(action__startswith="role.").values_list("action", "data"))
    assert [a for a, _ in actions] == ["role.created", "role.renamed"]
    assert actions[1][1]["from"] == "Couriers" and actions[1][1]["to"] == "Couriers and drivers"
    log = client.get(reverse("roles:grid")).content.decode()
    assert "Role Couriers renamed Couriers and drivers" in log


@pytest.mark.parametrize("name", ["billing and revenue cycle", "BILLING AND REVENUE CYCLE", "  "])
def test_a_duplicate_or_blank_role_name_is_refused(login, compliance_officer, name):
    count = WorkforceRole.objects.count()
    response = login(compliance_officer).post(reverse("roles:role_new"), {"name": name})
    assert response.status_code == 400
    page = response.content.decode()
    assert ("There is already a workforce role named Billing and revenue cycle" in page) == bool(name.strip())
    assert ("This field is required" in page) == (not name.strip())
    assert WorkforceRole.objects.count() == count
    assert not AuditEvent.objects.filter(action="role.created").exists()


def test_renaming_a_role_to_another_roles_name_is_refused(login, compliance_officer):
    intake = role("intake")
    response = login(compliance_officer).post(
        reverse("roles:role_edit", args=[intake.pk]), {"name": "billing AND revenue cycle"}
    )
    assert response.status_code == 400
    assert "There is already a workforce role named Billing and revenue cycle" in response.content.decode()
    intake.refresh_from_db()
    assert intake.name == "Intake and patient communication"


def test_a_role_with_people_is_retired_only_after_they_are_moved(login, compliance_officer, employee):
    client = login(compliance_officer)
    billing = role("billing")
    people = list(billing.people.filter(is_active=True))
    response = client.post(reverse("roles:role_retire", args=[billing.pk]))
    assert response.status_code == 400
    assert f"still has {len(people)} people in it: move them to another role first" in response.content.decode()
    billing.refresh_from_db()
    assert billing.retired_at is None and not AuditEvent.objects.filter(action="role.retired").exists()

    for person in people:
        person_update(person=person, workforce_role=role("intake"), actor=compliance_officer)
    response = client.post(reverse("roles:role_retire", args=[billing.pk]), follow=True)
    assert "is retired" in response.content.decode()
    billing.refresh_from_db()
    assert billing.retired_at is not None and WorkforceRole.objects.filter(pk=billing.pk).exists()
    assert AuditEvent.objects.filter(action="role.retired").count() == 1
    assert f"r{billing.pk}-c" not in client.get(reverse("roles:grid")).content.decode()  # gone from the grid

    with pytest.raises(ValidationError, match="is retired: choose another workforce role"):
        person_create(email="new@example.test", full_name="New Person", workforce_role=billing, invite=False)
    with pytest.raises(ValidationError, match="is retired"):
        person_update(person=people[0], workforce_role=billing)
    plan = import_plan(
        content=b"email,full_name,workforce_role,department,manager_email,hire_date,status\n"
        b"x@example.test,X Person,billing,,,2026-01-05,active\n",
        filename="w.csv",
    )
    assert any("is retired" in str(p) for p in plan.problems)


def test_departments_are_added_renamed_and_retired_once_empty(login, compliance_officer):
    client = login(compliance_officer)
    assert client.post(reverse("roles:departments"), {"name": "Patient Accounts"}).status_code == 302
    accounts = Department.objects.get(name="Patient Accounts")
    response = client.post(reverse("roles:departments"), {"name": "patient accounts"})
    assert response.status_code == 400
    assert "There is already a department named Patient Accounts" in response.content.decode()
    assert Department.objects.filter(name__iexact="patient accounts").count() == 1

    client.post(reverse("roles:department_edit", args=[accounts.pk]), {"name": "Patient Financial Services"})
    accounts.refresh_from_db()
    assert accounts.name == "Patient Financial Services"

    person = make_person("pat@example.test", "Pat Person", "billing")
    person_update(person=person, department=accounts)
    response = client.post(reverse("roles:department_retire", args=[accounts.pk]))
    assert response.status_code == 400 and "move them to another department first" in response.content.decode()
    person_update(person=person, department=DepartmentFactory(name="Billing Operations"))
    assert client.post(reverse("roles:department_retire", args=[accounts.pk])).status_code == 302
    accounts.refresh_from_db()
    assert accounts.retired_at is not None
    actions = list(AuditEvent.objects.filter(action__startswith="department.").values_list("action", flat=True))
    assert actions == ["department.created", "department.renamed", "department.retired"]
    with pytest.raises(ValidationError, match="is retired: choose another department"):
        person_update(person=person, department=accounts)
