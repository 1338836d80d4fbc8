"""The past as it was: Ann moves from billing to intake, changes manager, leaves and comes back; on each day the
dashboard, the team page, the training CSV and the PDF report count her where she was THAT day.

Hand-computed figures (B = Billing and revenue cycle, I = Intake and patient communication):
- Jan 10: Ann (B, Billing Operations, manager Mia) and Bo (B, Billing Operations, Mia) hired; 3 modules each.
- Feb 1: Ann completes security awareness.
- Mar 1: Ann moves to I, Patient Services: billing privacy cancelled, patient communication assigned.
- Jun 1: Ann's manager becomes Max.   - Sep 1: Ann leaves.   - Nov 1: Ann comes back (today's record: I, Max).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from records.documents.report import render_report
from records.exports import ExportFilters
from roles import access
from roles.models import Assignment, User
from roles.services import person_create, person_deactivate, person_reactivate, person_update
from tests.conftest import make_person
from tests.factories import DepartmentFactory, role
from tests.records.evidence import at, complete

pytestmark = pytest.mark.usefixtures("catalog")

D = dt.date
BILLING, INTAKE = "Billing and revenue cycle", "Intake and patient communication"


def _on(day: dt.date) -> Any:
    return time_machine.travel(dt.datetime.combine(day, dt.time(17, 0), tzinfo=dt.UTC), tick=False)


@pytest.fixture
def story(compliance_officer: User) -> dict[str, User]:
    person_update(person=compliance_officer, workforce_role=None)  # outside the figures
    mia = make_person("mia@example.test", "Mia Manager", None, groups=(access.MANAGER,))
    max_ = make_person("max@example.test", "Max Manager", None, groups=(access.MANAGER,))
    billing_ops, patient_services = (
        DepartmentFactory(name="Billing Operations"),
        DepartmentFactory(name="Patient Services"),
    )
    with _on(D(2026, 1, 10)):
        people = {
            name: person_create(
                email=f"{name}@example.test",
                full_name=f"{name.title()} Archer",
                workforce_role=role("billing"),
                department=billing_ops,
                manager=mia,
                hire_date=D(2026, 1, 10),
                invite=False,
            )
            for name in ("ann", "bo")
        }
    ann = people["ann"]
    complete(Assignment.objects.get(user=ann, course__slug="security-awareness"), at(D(2026, 2, 1)))
    with _on(D(2026, 3, 1)):
        person_update(person=ann, workforce_role=role("intake"), department=patient_services)
    with _on(D(2026, 6, 1)):
        person_update(person=ann, manager=max_)
    with _on(D(2026, 9, 1)):
        person_deactivate(person=ann)
    with _on(D(2026, 11, 1)):
        person_reactivate(person=ann)
    return {"ann": ann, "bo": people["bo"], "mia": mia, "max": max_}


def _rows(matrix: Any) -> dict[str, tuple[int, int]]:
    return {label: (total.total, total.done) for label, _, total in matrix.table()}


# (day, by role {label: (assignments, done)}, by department, Mia's team, Max's team)
EXPECTED = [
    (D(2026, 2, 15), {BILLING: (6, 1)}, {"Billing Operations": (6, 1)}, (6, 1), (0, 0)),
    (
        D(2026, 4, 15),
        {BILLING: (3, 0), INTAKE: (3, 1)},
        {"Billing Operations": (3, 0), "Patient Services": (3, 1)},
        (6, 1),
        (0, 0),
    ),
    (
        D(2026, 7, 15),
        {BILLING: (3, 0), INTAKE: (3, 1)},
        {"Billing Operations": (3, 0), "Patient Services": (3, 1)},
        (3, 0),
        (3, 1),
    ),
    (D(2026, 10, 15), {BILLING: (3, 0)}, {"Billing Operations": (3, 0)}, (3, 0), (0, 0)),
]


@pytest.mark.parametrize(("day", "by_role", "by_department", "mia_team", "max_team"), EXPECTED)
def test_dashboard_and_team_page_count_people_where_they_were(
    login: Any,
    compliance_officer: User,
    story: dict[str, User],
    day: dt.date,
    by_role: Any,
    by_department: Any,
    mia_team: tuple[int, int],
    max_team: tuple[int, int],
) -> None:
    query = {"as_of": day.isoformat()}
    d = login(compliance_officer).get(reverse("records:dashboard"), query).context["d"]
    assert _rows(d.by_role) == by_role
    assert _rows(d.by_department) == by_department
    assert (d.total, d.done) == (sum(v[0] for v in by_role.values()), sum(v[1] for v in by_role.values()))
    intake = next((r for r in d.by_role.rows if r[1] == INTAKE), None)
    if intake is not None:  # the role filter, as of the day: Ann alone
        filtered = login(compliance_officer).get(reverse("records:dashboard"), {**query, "role": role("intake").pk})
        assert (filtered.context["d"].total, filtered.context["d"].people) == (3, 1)
    for manager, (total, done) in ((story["mia"], mia_team), (story["max"], max_team)):
        team = login(manager).get(reverse("records:team"), query).context["d"]
        assert (team.total, team.done) == (total, done), manager.full_name


def _csv(client: Any, day: dt.date) -> list[dict[str, str]]:
    response = client.get(reverse("records:audit_export", args=["training"]), {"as_of": day.isoformat()})
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize(
    ("day", "department", "workforce_role", "modules"),
    [
        (D(2026, 2, 15), "Billing Operations", BILLING, 3),
        (D(2026, 4, 15), "Patient Services", INTAKE, 3),
    ],
)
def test_training_csv_names_the_department_and_role_of_the_day(
    login: Any, auditor: User, story: dict[str, User], day: dt.date, department: str, workforce_role: str, modules: int
) -> None:
    rows = [r for r in _csv(login(auditor), day) if r["email"] == "ann@example.test"]
    assert len(rows) == modules
    assert {(r["department"], r["workforce_role"]) for r in rows} == {(department, workforce_role)}
    bo = [r for r in _csv(login(auditor), day) if r["email"] == "bo@example.test"]
    assert {(r["department"], r["workforce_role"]) for r in bo} == {("Billing Operations", BILLING)}


def _pdf_text(day: dt.date) -> str:
    reader = PdfReader(io.BytesIO(render_report(ExportFilters(as_of=day))))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_pdf_report_groups_and_heads_transcripts_as_of_the_day(story: dict[str, User]) -> None:
    february = _pdf_text(D(2026, 2, 15))
    assert "Ann Archer · ann@example.test · Billing and revenue cycle · Billing Operations" in february
    assert "All Billing and revenue cycle" in february and "Intake and patient communication 0%" not in february
    april = _pdf_text(D(2026, 4, 15))
    assert "Ann Archer · ann@example.test · Intake and patient communication · Patient Services" in april
    assert "Bo Archer · bo@example.test · Billing and revenue cycle · Billing Operations" in april
    assert "Intake and patient communication 0% (0/1), 1 overdue 100% (1/1) 0% (0/1), 1 overdue — 33%" in april
