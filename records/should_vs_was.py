"""Should have been trained vs was trained, per person, for a period (45 CFR 164.530(b)(2)(i): training as
necessary and appropriate for each person's functions, documented).

For each person: the spans of the period and the role and department they had in each (their history,
roles/history.py); the modules those required; and for each module the assignment(s), due date, completion,
the days it took and whether it was on time.

What each role and department required is read from the requirements as they are NOW: the product keeps the
history of people, not yet of the roles grid (its changes are in the audit trail, `roles.grid.change_log`).
`REQUIREMENTS_NOTE` says so wherever the comparison is shown.

A fixed number of queries for any number of people (history rows, requirements, department requirements,
assignments).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from courses.models import Course
from roles.history import spans_from
from roles.models import Assignment, Department, DepartmentRequirement, PersonState, Requirement, User, WorkforceRole

REQUIREMENTS_NOTE = (
    "What each role and department required is taken from the requirements as they are configured now: "
    "the product keeps each person's history, not yet the history of the roles grid (its changes are listed "
    "in the audit trail and the report's change log)."
)


@dataclass
class Span:
    """A part of the period in which the person's role, department and employment did not change."""

    start: dt.date
    end: dt.date
    role: WorkforceRole | None
    department: Department | None
    employed: bool

    @property
    def role_name(self) -> str:
        return self.role.name if self.role else "no role"

    @property
    def department_name(self) -> str:
        return self.department.name if self.department else "no department"


@dataclass
class Taken:
    """One assignment of a required module, judged at the end of the period."""

    assignment: Assignment
    completed_on: dt.date | None
    days: int | None  # from assigned to completed
    verdict: str  # on time, late, missed, open, cancelled

    @property
    def on_time(self) -> str:
        return {"on time": "yes", "late": "no", "missed": "no"}.get(self.verdict, "")


@dataclass
class Module:
    course: Course
    required: list[tuple[dt.date, dt.date, str]]  # (from, to, by what: role or department name)
    taken: list[Taken] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if not self.taken:
            return "not assigned"
        verdicts = {t.verdict for t in self.taken}
        for worst in ("missed", "late", "open", "cancelled"):
            if worst in verdicts and "on time" not in verdicts:
                return worst
        return "on time" if "on time" in verdicts else sorted(verdicts)[0]

    @property
    def required_text(self) -> str:
        return "; ".join(f"{a:%Y-%m-%d} to {b:%Y-%m-%d} ({why})" for a, b, why in self.required)


@dataclass
class PersonPlan:
    person: User
    start: dt.date
    end: dt.date
    spans: list[Span]
    modules: list[Module]

    @property
    def gaps(self) -> int:
        return sum(1 for m in self.modules if m.verdict in ("not assigned", "missed"))


def _judge(a: Assignment, end: dt.date) -> Taken:
    """The assignment as it stood at the end of the period: completed on time or late; missed (due within the
    period, or before it was cancelled, and not completed); cancelled before its due date; or still open."""
    done = timezone.localdate(a.completed_at) if a.completed_at else None
    if done is not None and done > end:
        done = None
    cancelled = timezone.localdate(a.cancelled_at) if a.cancelled_at else None
    if cancelled is not None and cancelled > end:
        cancelled = None
    if done is not None:
        verdict = "on time" if done <= a.due_on else "late"
    elif cancelled is not None:
        verdict = "missed" if a.due_on < cancelled else "cancelled"
    else:
        verdict = "missed" if a.due_on < end else "open"
    return Taken(assignment=a, completed_on=done, days=(done - a.assigned_on).days if done else None, verdict=verdict)


def plans(people: Iterable[User], start: dt.date, end: dt.date) -> Iterator[PersonPlan]:
    """The comparison for each person over [start, end], in the order given."""
    people = list(people)
    ids = [p.pk for p in people]
    rows: dict[int, list[PersonState]] = {}
    for state in PersonState.objects.filter(person_id__in=ids).order_by("person_id", "valid_from", "recorded_at", "pk"):
        rows.setdefault(state.person_id, []).append(state)
    roles = {r.pk: r for r in WorkforceRole.objects.all()}
    departments = {d.pk: d for d in Department.objects.all()}
    by_role: dict[int, list[Requirement]] = {}
    for req in Requirement.objects.select_related("course"):
        by_role.setdefault(req.role_id, []).append(req)
    by_department: dict[int, list[DepartmentRequirement]] = {}
    for dreq in DepartmentRequirement.objects.select_related("course"):
        by_department.setdefault(dreq.department_id, []).append(dreq)
    assignments: dict[int, list[Assignment]] = {}
    for a in (
        Assignment.objects.filter(user_id__in=ids, assigned_on__lte=end)
        .select_related("course")
        .order_by("user_id", "course__title", "assigned_on", "cycle")
    ):
        assignments.setdefault(a.user_id, []).append(a)

    for person in people:
        spans = _spans(person, rows.get(person.pk, []), start, end, roles, departments)
        modules: dict[int, Module] = {}
        for span in spans:
            if not span.employed:
                continue
            needs: list[tuple[Course, str]] = []
            if span.role is not None:
                needs += [(r.course, span.role.name) for r in by_role.get(span.role.pk, [])]
            if span.department is not None:
                needs += [(r.course, span.department.name) for r in by_department.get(span.department.pk, [])]
            for course, why in needs:
                module = modules.setdefault(course.pk, Module(course=course, required=[]))
                if not any(s == span.start and w == why for s, _, w in module.required):
                    module.required.append((span.start, span.end, why))
        for a in assignments.get(person.pk, []):
            found = modules.get(a.course_id)
            if found is None:
                continue
            first = min(s for s, _, _ in found.required)
            last = max(e for _, e, _ in found.required)
            if a.completed_at and timezone.localdate(a.completed_at) < start:
                continue  # done before the period: an earlier cycle
            if a.cancelled_at and timezone.localdate(a.cancelled_at) < max(start, first):
                continue
            if a.assigned_on > last:
                continue
            found.taken.append(_judge(a, end))
        yield PersonPlan(
            person=person,
            start=start,
            end=end,
            spans=spans,
            modules=sorted(modules.values(), key=lambda m: m.course.title.lower()),
        )


def _spans(
    person: User,
    rows: list[PersonState],
    start: dt.date,
    end: dt.date,
    roles: dict[int, WorkforceRole],
    departments: dict[int, Department],
) -> list[Span]:
    out = []
    for begin, finish, state in spans_from(rows, start, end):
        if state is None:
            if rows:  # before their first row (perhaps after the period): not yet in the workforce
                out.append(Span(begin, finish, None, None, employed=False))
                continue
            # No history at all: today's record, from the hire date.
            hired = person.hire_date
            if hired and hired > begin:
                if hired > finish:
                    out.append(Span(begin, finish, None, None, employed=False))
                    continue
                out.append(Span(begin, hired - dt.timedelta(days=1), None, None, employed=False))
                begin = hired
            left = person.terminated_on
            out.append(
                Span(
                    begin,
                    finish,
                    roles.get(person.workforce_role_id) if person.workforce_role_id else None,
                    departments.get(person.department_id) if person.department_id else None,
                    employed=left is None or left > finish,
                )
            )
            continue
        out.append(
            Span(
                begin,
                finish,
                roles.get(state.workforce_role_id) if state.workforce_role_id else None,
                departments.get(state.department_id) if state.department_id else None,
                employed=state.employed,
            )
        )
    return out


CSV_HEADER = [
    "person",
    "email",
    "period_start",
    "period_end",
    "module",
    "required",
    "assigned",
    "due",
    "completed",
    "days_taken",
    "on_time",
    "verdict",
]


def csv_rows(items: Iterable[PersonPlan]) -> Iterator[list[Any]]:
    yield CSV_HEADER
    for plan in items:
        base = [plan.person.full_name, plan.person.email, plan.start.isoformat(), plan.end.isoformat()]
        for m in plan.modules:
            if not m.taken:
                yield [*base, m.course.title, m.required_text, "", "", "", "", "no", m.verdict]
            for t in m.taken:
                a = t.assignment
                yield [
                    *base,
                    m.course.title,
                    m.required_text,
                    a.assigned_on.isoformat(),
                    a.due_on.isoformat(),
                    t.completed_on.isoformat() if t.completed_on else "",
                    "" if t.days is None else t.days,
                    t.on_time,
                    t.verdict,
                ]
