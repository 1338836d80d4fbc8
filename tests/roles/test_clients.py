"""Clients (roles/clients.py): the services and their audit events, who worked a client's accounts on any day, and
the engine assigning a client's extra modules to them (and cancelling them when they stop)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from courses.models import Course
from hipaa_training.db import AppendOnlyError
from hipaa_training.models import AuditEvent
from records.walkthrough import module_walk
from roles import access
from roles.assignments import CANCEL_CLIENT
from roles.clients import (
    client_auditor_grant,
    client_auditor_revoke,
    client_create,
    client_requirement_remove,
    client_requirement_set,
    client_retire,
    client_scope_add,
    client_scope_remove,
    client_update,
    days_worked,
    people_between,
    people_on,
)
from roles.models import Assignment, Client, ClientScope, Department, User
from roles.services import person_create, person_deactivate, person_update
from tests.factories import PASSWORD, DepartmentFactory, role

pytestmark = pytest.mark.usefixtures("catalog")

D = dt.date


def at(day: dt.date) -> time_machine.travel:
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC), tick=False)


def hire(email: str, name: str, department: Department, role_slug: str = "billing", day: dt.date | None = None) -> User:
    return person_create(
        email=email,
        full_name=name,
        workforce_role=role(role_slug),
        department=department,
        hire_date=day,
        password=PASSWORD,
        invite=False,
    )


def leadership() -> Course:
    return Course.objects.get(slug="leadership-oversight")


def test_client_services_are_audited_and_refuse_bad_input(compliance_officer: User) -> None:
    client = client_create(name="  Riverside   Clinic ", baa_effective_on=D(2026, 1, 1), actor=compliance_officer)
    assert client.name == "Riverside Clinic"
    event = AuditEvent.objects.get(action="client.created")
    assert event.actor_id == compliance_officer.pk
    assert event.data["client"] == "Riverside Clinic"

    with pytest.raises(ValidationError, match="already a client named Riverside Clinic"):
        client_create(name="riverside clinic", baa_effective_on=D(2026, 1, 1))
    with pytest.raises(ValidationError):
        client_create(name="Lakeside", baa_effective_on=D(2026, 1, 1), due_within_days=0)
    assert Client.objects.count() == 1

    client_update(
        client=client, name="Riverside Health", baa_effective_on=D(2026, 2, 1), due_within_days=14, actor=None
    )
    changed = AuditEvent.objects.get(action="client.changed")
    assert changed.data["from"]["client"] == "Riverside Clinic"
    assert changed.data["to"]["due_within_days"] == 14

    client_retire(client=client, actor=compliance_officer)
    assert AuditEvent.objects.filter(action="client.retired").count() == 1
    with pytest.raises(ValidationError, match="already retired"):
        client_retire(client=client)


def test_scope_changes_refuse_what_makes_no_sense() -> None:
    billing = DepartmentFactory(name="Claims Team")
    client = client_create(name="Riverside Clinic", baa_effective_on=D(2026, 1, 1))
    with pytest.raises(ValidationError, match="exactly one"):
        client_scope_add(client=client, reason="contract")
    with pytest.raises(ValidationError, match="Say why"):
        client_scope_add(client=client, department=billing, reason=" ")
    with pytest.raises(ValidationError, match="took effect on 2026-01-01"):
        client_scope_add(client=client, department=billing, valid_from=D(2025, 12, 31), reason="contract")
    with pytest.raises(ValidationError, match="does not work"):
        client_scope_remove(client=client, department=billing, reason="contract ended")
    client_scope_add(client=client, department=billing, reason="contract")
    with pytest.raises(ValidationError, match="already works"):
        client_scope_add(client=client, department=billing, reason="again")
    assert ClientScope.objects.count() == 1
    assert AuditEvent.objects.filter(action="client.scope_added").count() == 1


def test_scope_rows_are_append_only() -> None:
    client = client_create(name="Riverside Clinic", baa_effective_on=D(2026, 1, 1))
    row = client_scope_add(client=client, department=DepartmentFactory(name="Claims Team"), reason="x")
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ClientScope.objects.filter(pk=row.pk).update(reason="edited")


def test_who_worked_the_client_on_each_day_follows_both_histories(compliance_officer: User) -> None:
    """Ann moves from billing to intake on 1 June; the client had billing from 1 Feb and Carl by name from 1 Mar
    until 15 Apr; Bea (intake) never worked it; Dan left billing on 1 May."""
    billing, intake = DepartmentFactory(name="Claims Team"), DepartmentFactory(name="Patient Services")
    with at(D(2026, 1, 5)):
        ann = hire("ann@example.test", "Ann Archer", billing, day=D(2026, 1, 2))
        bea = hire("bea@example.test", "Bea Baker", intake, "intake", day=D(2026, 1, 2))
        carl = hire("carl@example.test", "Carl Cole", intake, "intake", day=D(2026, 1, 2))
        dan = hire("dan@example.test", "Dan Dale", billing, day=D(2026, 1, 2))
        client = client_create(name="Riverside Clinic", baa_effective_on=D(2026, 1, 1))
    with at(D(2026, 2, 1)):
        client_scope_add(client=client, department=billing, reason="contract", actor=compliance_officer)
    with at(D(2026, 3, 1)):
        client_scope_add(client=client, person=carl, reason="covers the backlog", actor=compliance_officer)
    with at(D(2026, 4, 15)):
        client_scope_remove(client=client, person=carl, reason="backlog done", actor=compliance_officer)
    with at(D(2026, 5, 1)):
        person_deactivate(person=dan, actor=compliance_officer)
    with at(D(2026, 6, 1)):
        person_update(person=ann, workforce_role=role("intake"), department=intake, actor=compliance_officer)

    def names(day: dt.date) -> list[str]:
        return [p.full_name for p in people_on(client, day)]

    assert names(D(2026, 1, 31)) == []
    assert names(D(2026, 2, 1)) == ["Ann Archer", "Dan Dale"]
    assert names(D(2026, 3, 10)) == ["Ann Archer", "Carl Cole", "Dan Dale"]
    assert names(D(2026, 4, 15)) == ["Ann Archer", "Dan Dale"]
    assert names(D(2026, 5, 1)) == ["Ann Archer"]
    assert names(D(2026, 6, 1)) == []
    assert bea not in people_between(client, D(2026, 1, 1), D(2026, 12, 1))
    assert [p.full_name for p in people_between(client, D(2026, 4, 15), D(2026, 5, 31))] == ["Ann Archer", "Dan Dale"]
    assert [p.full_name for p in people_between(client, D(2026, 6, 1), D(2026, 12, 1))] == []
    worked = {p.full_name: spans for p, spans in days_worked(client, D(2026, 1, 1), D(2026, 12, 31))}
    assert worked == {
        "Ann Archer": [(D(2026, 2, 1), D(2026, 5, 31))],
        "Carl Cole": [(D(2026, 3, 1), D(2026, 4, 14))],
        "Dan Dale": [(D(2026, 2, 1), D(2026, 4, 30))],
    }


def _workforce(n: int, department: Department) -> None:
    for i in range(n):
        hire(f"p{i}-{n}@example.test", f"Person {i}", department)


@pytest.mark.parametrize("size", [3, 12])
def test_membership_takes_a_fixed_number_of_queries(size: int, django_assert_num_queries) -> None:
    billing = DepartmentFactory(name="Claims Team")
    _workforce(size, billing)
    client = client_create(name="Riverside Clinic", baa_effective_on=D(2020, 1, 1))
    client_scope_add(client=client, department=billing, valid_from=D(2020, 1, 1), reason="contract")
    today = dt.date.today()
    with django_assert_num_queries(2):
        assert len(people_on(client, today)) == size
    with django_assert_num_queries(3):
        assert len(people_between(client, D(2020, 1, 1), today)) == size


def test_the_engine_assigns_the_clients_modules_with_its_window_and_cancels_them_when_they_stop(
    compliance_officer: User,
) -> None:
    billing, intake = DepartmentFactory(name="Claims Team"), DepartmentFactory(name="Patient Services")
    ann = hire("ann@example.test", "Ann Archer", billing)
    bea = hire("bea@example.test", "Bea Baker", intake, "intake")
    client = client_create(name="Riverside Clinic", baa_effective_on=D(2020, 1, 1), due_within_days=10)
    client_requirement_set(client=client, course=leadership(), actor=compliance_officer)
    assert not Assignment.objects.filter(course=leadership()).exists()  # nobody works the client yet

    client_scope_add(client=client, department=billing, reason="contract", actor=compliance_officer)
    extra = ann.assignments.get(course=leadership())
    assert extra.reason == Assignment.CLIENT
    assert extra.due_on == extra.assigned_on + dt.timedelta(days=10)
    assert not bea.assignments.filter(course=leadership()).exists()
    created = AuditEvent.objects.filter(action="assignment.created", data__person=ann.email)
    assert created.filter(data__reason="client").count() == 1

    # Ann moves to intake: the open client-only module is cancelled, saying why; her role's own are kept.
    person_update(person=ann, workforce_role=role("intake"), department=intake, actor=compliance_officer)
    extra.refresh_from_db()
    assert extra.cancelled_at is not None
    assert extra.cancel_reason == CANCEL_CLIENT
    assert ann.assignments.filter(course__slug="security-awareness", cancelled_at__isnull=True).exists()

    # Bea is added by name and completes it; removing her keeps the completion.
    client_scope_add(client=client, person=bea, reason="covers intake calls", actor=compliance_officer)
    done = bea.assignments.get(course=leadership())
    module_walk(done)
    client_scope_remove(client=client, person=bea, reason="done", actor=compliance_officer)
    done.refresh_from_db()
    assert done.completed_at is not None
    assert done.cancelled_at is None


def test_the_stricter_window_holds_where_the_role_requires_the_module_too() -> None:
    billing = DepartmentFactory(name="Claims Team")
    client = client_create(name="Riverside Clinic", baa_effective_on=D(2020, 1, 1), due_within_days=7)
    client_requirement_set(client=client, course=Course.objects.get(slug="privacy-essentials"))
    client_scope_add(client=client, department=billing, valid_from=D(2020, 1, 1), reason="contract")
    ann = hire("ann@example.test", "Ann Archer", billing)
    privacy = ann.assignments.get(course__slug="privacy-essentials")
    assert privacy.reason == Assignment.NEW_HIRE  # the role requires it: not only the client
    assert privacy.due_on == privacy.assigned_on + dt.timedelta(days=7)
    # The agreement drops it: the role still requires it, so it stays.
    client_requirement_remove(requirement=client.requirements.get())
    privacy.refresh_from_db()
    assert privacy.cancelled_at is None


def test_a_retired_client_no_longer_assigns_its_modules() -> None:
    billing = DepartmentFactory(name="Claims Team")
    ann = hire("ann@example.test", "Ann Archer", billing)
    client = client_create(name="Riverside Clinic", baa_effective_on=D(2020, 1, 1))
    client_requirement_set(client=client, course=leadership())
    client_scope_add(client=client, person=ann, reason="contract")
    extra = ann.assignments.get(course=leadership())
    client_retire(client=client)
    extra.refresh_from_db()
    assert extra.cancel_reason == CANCEL_CLIENT


def test_a_client_auditor_is_an_auditor_of_one_client_only(compliance_officer: User) -> None:
    client = client_create(name="Riverside Clinic", baa_effective_on=D(2020, 1, 1))
    other = client_create(name="Lakeside Clinic", baa_effective_on=D(2020, 1, 1))
    until = dt.date.today() + dt.timedelta(days=30)
    binding = client_auditor_grant(
        client=client,
        email="Rita@Riverside.test",
        full_name="Rita Reviewer",
        access_expires_on=until,
        actor=compliance_officer,
    )
    rita = User.objects.get(email="rita@riverside.test")
    assert binding.user == rita
    assert rita.access_expires_on == until
    assert access.groups_of(rita) == {access.CLIENT_AUDITOR}
    assert access.audited_client_id(rita) == client.pk
    assert not access.is_auditor(rita)
    assert AuditEvent.objects.get(action="client.auditor_granted").data["person"] == "rita@riverside.test"

    with pytest.raises(ValidationError, match="already audits another client"):
        client_auditor_grant(client=other, email=rita.email, full_name="", access_expires_on=until)
    with pytest.raises(ValidationError, match="member of the workforce"):
        client_auditor_grant(client=client, email=compliance_officer.email, full_name="", access_expires_on=until)
    with pytest.raises(ValidationError, match="past"):
        client_auditor_grant(client=client, email="x@y.test", full_name="X", access_expires_on=D(2020, 1, 1))
    assert not User.objects.filter(email="x@y.test").exists()

    client_auditor_revoke(binding=binding, actor=compliance_officer)
    rita = User.objects.get(pk=rita.pk)
    assert access.groups_of(rita) == frozenset()
    assert rita.access_expires_on is not None and rita.access_expires_on < dt.date.today()
    assert AuditEvent.objects.filter(action="client.auditor_revoked").count() == 1
