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
    assert "All modules Billing and revenue cycle 0% (0/2)" in february
    assert "Intake and patient communication 0%" not in february
    april = _pdf_text(D(2026, 4, 15))
    assert "Ann Archer · ann@example.test · Intake and patient communication · Patient Services" in april
    assert "Bo Archer · bo@example.test · Billing and revenue cycle · Billing Operations" in april
    assert "Intake and patient communication 0% (0/1), 1 overdue 100% (1/1) 0% (0/1), 1 overdue — 33%" in april


# Should have been trained vs was trained, Jan 1 to Apr 30: a period that spans Ann's move from billing to intake.
SECURITY, PRIVACY = "Security awareness", "Privacy essentials"
BILLING_PRIVACY, PATIENTS = "Privacy in billing and revenue-cycle work", "Patient communication"
BOTH = f"2026-01-10 to 2026-02-28 ({BILLING}); 2026-03-01 to 2026-04-30 ({INTAKE})"
SHOULD_VS_WAS = {
    # module: (required, assigned, due, completed, days taken, result)
    SECURITY: (BOTH, "2026-01-10", "2026-02-09", "2026-02-01", "22", "on time"),
    PRIVACY: (BOTH, "2026-01-10", "2026-02-09", "", "", "missed"),
    BILLING_PRIVACY: (f"2026-01-10 to 2026-02-28 ({BILLING})", "2026-01-10", "2026-02-09", "", "", "missed"),
    PATIENTS: (f"2026-03-01 to 2026-04-30 ({INTAKE})", "2026-03-01", "2026-03-31", "2026-03-20", "19", "on time"),
}
PERIOD = {"start": "2026-01-01", "end": "2026-04-30"}


@pytest.fixture
def compared(story: dict[str, User]) -> dict[str, User]:
    ann = story["ann"]
    complete(Assignment.objects.get(user=ann, course__slug="patient-communication", cycle=1), at(D(2026, 3, 20)))
    return story


def test_should_vs_was_page_over_a_role_change(login: Any, compliance_officer: User, compared: dict[str, User]) -> None:
    ann = compared["ann"]
    response = login(compliance_officer).get(reverse("records:should_vs_was", args=[ann.pk]), PERIOD)
    assert response.status_code == 200
    plan = response.context["plan"]
    spans = [(s.start, s.end, s.role_name if s.employed else None) for s in plan.spans]
    assert spans == [
        (D(2026, 1, 1), D(2026, 1, 9), None),
        (D(2026, 1, 10), D(2026, 2, 28), BILLING),
        (D(2026, 3, 1), D(2026, 4, 30), INTAKE),
    ]
    got = {
        m.course.title: (
            m.required_text,
            t.assignment.assigned_on.isoformat(),
            t.assignment.due_on.isoformat(),
            t.completed_on.isoformat() if t.completed_on else "",
            "" if t.days is None else str(t.days),
            t.verdict,
        )
        for m in plan.modules
        for t in m.taken
    }
    assert got == SHOULD_VS_WAS
    assert plan.gaps == 2
    html = response.content.decode()
    assert "current requirements" in html or "configured now" in html  # says where the requirements come from


def test_should_vs_was_csv(login: Any, auditor: User, compared: dict[str, User]) -> None:
    ann = compared["ann"]
    response = login(auditor).get(reverse("records:should_vs_was_csv", args=[ann.pk]), PERIOD)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    got = {
        r["module"]: (r["required"], r["assigned"], r["due"], r["completed"], r["days_taken"], r["verdict"])
        for r in rows
    }
    assert got == SHOULD_VS_WAS
    assert {r["on_time"] for r in rows if r["verdict"] == "missed"} == {"no"}


def test_should_vs_was_in_the_pdf_report(compared: dict[str, User]) -> None:
    reader = PdfReader(io.BytesIO(render_report(ExportFilters(start=D(2026, 1, 1), end=D(2026, 4, 30)))))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    section = text[text.index("Should have been trained vs was trained") :]
    assert f"2026-01-10 to 2026-02-28: {BILLING}, Billing Operations · 2026-03-01 to 2026-04-30: {INTAKE}" in section
    assert "2026-03-01 2026-03-31 2026-03-20 19 on time" in section
    assert "2026-01-10 2026-02-09 2026-02-01 22 on time" in section


@pytest.mark.parametrize("name", ["records:should_vs_was", "records:should_vs_was_csv"])
def test_should_vs_was_access(
    client: Any,
    login: Any,
    employee: User,
    outsider: User,
    manager: User,
    auditor: User,
    administrator: User,
    compliance_officer: User,
    name: str,
) -> None:
    url = reverse(name, args=[employee.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login
    assert login(outsider).get(url).status_code == 403  # an employee, even about themself
    assert login(employee).get(url).status_code == 403
    other = make_person("other@example.test", "Other Manager", "billing", groups=(access.MANAGER,))
    assert login(other).get(url).status_code == 404  # a manager, not theirs
    for reader in (manager, auditor, administrator, compliance_officer):
        assert login(reader).get(url).status_code == 200, reader.full_name


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "2026-05-01", "end": "2026-04-01"}, "start", "after its end"),
        ({"end": "2999-01-01"}, "end", "today or a day in the past"),
        ({"start": "1999-01-01"}, "start", "Choose a day from"),
        ({"start": "2026-02-30"}, "start", "Enter a valid date"),
    ],
)
def test_should_vs_was_bad_period(
    login: Any, compliance_officer: User, employee: User, query: dict[str, str], field: str, message: str
) -> None:
    for name in ("records:should_vs_was", "records:should_vs_was_csv"):
        response = login(compliance_officer).get(reverse(name, args=[employee.pk]), query)
        assert response.status_code == 400
        assert message in " ".join(response.context["form"].errors[field])
        assert response.context["plan"] is None


def test_should_vs_was_reads_a_fixed_number_of_queries(compared: dict[str, User]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from records.should_vs_was import plans

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            list(plans(User.objects.all(), D(2026, 1, 1), D(2026, 4, 30)))
        return len(ctx.captured_queries)

    few = count()
    for n in range(5):
        make_person(f"more{n}@example.test", f"More {n}", "intake", manager=compared["mia"])
    assert count() == few
