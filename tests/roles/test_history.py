"""Each person's effective-dated history (roles/history.py): written by the services, append-only, backfilled."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.db import DatabaseError, transaction
from django.utils import timezone

from hipaa_training.db import AppendOnlyError
from roles import history
from roles.models import PersonState, User
from roles.services import person_create, person_deactivate, person_reactivate, person_update
from tests.factories import DepartmentFactory, UserFactory, role

pytestmark = pytest.mark.usefixtures("catalog")

D = dt.date


def _state(person: User, day: dt.date) -> tuple[str | None, str | None, int | None, bool]:
    row = history.states_on(day).select_related("workforce_role", "department").get(person=person)
    return (
        row.workforce_role.slug if row.workforce_role else None,
        row.department.name if row.department else None,
        row.manager_id,
        row.employed,
    )


def test_services_write_one_row_per_change(compliance_officer: User) -> None:
    billing, intake = DepartmentFactory(name="Billing Operations"), DepartmentFactory(name="Patient Services")
    with time_machine.travel(dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC), tick=False):
        ann = person_create(
            email="ann@example.test",
            full_name="Ann Archer",
            workforce_role=role("billing"),
            department=billing,
            hire_date=D(2026, 1, 2),
            invite=False,
            actor=compliance_officer,
        )
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        person_update(person=ann, workforce_role=role("intake"), department=intake, actor=compliance_officer)
        person_update(person=ann, full_name="Ann Archer-Bell", actor=compliance_officer)  # not tracked: no row
    with time_machine.travel(dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC), tick=False):
        person_update(person=ann, manager=compliance_officer, actor=compliance_officer)
    with time_machine.travel(dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC), tick=False):
        person_deactivate(person=ann, on=D(2026, 8, 15), actor=compliance_officer)
    with time_machine.travel(dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC), tick=False):
        person_reactivate(person=ann, actor=compliance_officer)

    rows = list(PersonState.objects.filter(person=ann).order_by("valid_from", "recorded_at"))
    assert [(r.valid_from, r.reason) for r in rows] == [
        (D(2026, 1, 2), "joined"),
        (D(2026, 6, 1), "department, workforce role changed"),
        (D(2026, 7, 1), "manager changed"),
        (D(2026, 8, 15), "left"),
        (D(2026, 10, 1), "returned"),
    ]
    assert all(r.actor == compliance_officer for r in rows)
    assert _state(ann, D(2026, 5, 31)) == ("billing", "Billing Operations", None, True)
    assert _state(ann, D(2026, 6, 1)) == ("intake", "Patient Services", None, True)
    assert _state(ann, D(2026, 7, 20)) == ("intake", "Patient Services", compliance_officer.pk, True)
    assert _state(ann, D(2026, 8, 15)) == ("intake", "Patient Services", compliance_officer.pk, False)
    assert _state(ann, D(2026, 10, 1))[3] is True
    assert not history.states_on(D(2026, 1, 1)).filter(person=ann).exists()


def test_a_backdated_leaving_day_overrides_changes_written_after_it(compliance_officer: User) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        bo = person_create(
            email="bo@example.test",
            full_name="Bo",
            workforce_role=role("billing"),
            hire_date=D(2026, 3, 1),
            invite=False,
        )
    with time_machine.travel(dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC), tick=False):
        person_update(person=bo, manager=compliance_officer)
    with time_machine.travel(dt.datetime(2026, 3, 25, 12, tzinfo=dt.UTC), tick=False):
        person_deactivate(person=bo, on=D(2026, 3, 10))
    assert _state(bo, D(2026, 3, 9))[3] is True
    assert _state(bo, D(2026, 3, 12))[3] is False
    assert _state(bo, D(2026, 3, 21)) == ("billing", None, compliance_officer.pk, False)


def test_history_is_append_only(employee: User) -> None:
    row = PersonState.objects.filter(person=employee).first()
    assert row is not None
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        PersonState.objects.filter(pk=row.pk).update(reason="edited")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        PersonState.objects.filter(pk=row.pk).delete()


def test_backfill_writes_the_state_known_today() -> None:
    migration = importlib.import_module("roles.migrations.0006_person_history")
    kept = UserFactory(workforce_role=role("it"), hire_date=D(2024, 2, 1))
    gone = UserFactory(
        workforce_role=role("intake"),
        hire_date=None,
        date_joined=dt.datetime(2025, 1, 10, 12, tzinfo=dt.UTC),
        terminated_on=D(2025, 5, 5),
        is_active=False,
    )
    migration.backfill(apps, None)
    assert list(
        PersonState.objects.filter(person=kept).values_list("valid_from", "workforce_role__slug", "employed")
    ) == [(D(2024, 2, 1), "it", True)]
    rows = list(PersonState.objects.filter(person=gone).order_by("valid_from").values_list("valid_from", "employed"))
    assert rows == [(D(2025, 1, 10), True), (D(2025, 5, 5), False)]


def test_the_import_writes_the_history_through_the_services(
    login: Any, compliance_officer: User, employee: User, manager: User
) -> None:
    from tests.roles.test_import import HEADER, apply, upload

    text = (
        HEADER
        + "nora.new@example.test,Nora New,intake,Patient Services,,2026-01-05,active\n"
        + f"{employee.email},Billie Biller,it,Technology,{manager.email},,active\n"
        + f"{manager.email},Morgan Manager,billing,Billing Operations,,,terminated\n"
    )
    client = login(compliance_officer)
    apply(client, upload(client, text))
    today = timezone.localdate()
    nora = User.objects.get(email="nora.new@example.test")
    assert _state(nora, today) == ("intake", "Patient Services", None, True)
    assert PersonState.objects.get(person=nora).valid_from == D(2026, 1, 5)
    assert _state(employee, today)[:2] == ("it", "Technology")
    assert PersonState.objects.filter(person=employee).latest("recorded_at").actor == compliance_officer
    assert _state(manager, today)[3] is False
