"""The roles grid: which workforce role requires which module, how often and within how many days.

Read-only here: the grid's state and its version, the changes an officer's form asks for, and what they
would do (planned by the assignment engine itself, `sync_assignments(dry_run=True)`). The write is
`services.requirements_grid_apply`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from courses.models import Course
from hipaa_training.models import AuditEvent

from .assignments import SyncResult, sync_assignments
from .models import MAX_DUE_WITHIN_DAYS, MAX_RECURRENCE_MONTHS, Assignment, Requirement, User, WorkforceRole

DEFAULT_DUE_WITHIN_DAYS = 30
DEFAULT_RECURRENCE_MONTHS = 12


class GridStale(Exception):
    """The grid (or the workforce it plans for) changed after the form was shown: nothing was saved."""


def field_name(role_id: int, course_id: int, part: str) -> str:
    return f"r{role_id}-c{course_id}-{part}"


@dataclass(frozen=True)
class Cell:
    role: WorkforceRole
    course: Course
    requirement: Requirement | None

    @property
    def key(self) -> str:
        return f"r{self.role.pk}-c{self.course.pk}"

    def name(self, part: str) -> str:
        return field_name(self.role.pk, self.course.pk, part)


@dataclass
class GridState:
    roles: list[WorkforceRole]
    courses: list[Course]
    requirements: dict[tuple[int, int], Requirement]
    version: str
    people: dict[int, int] = field(default_factory=dict)  # active people per role

    def rows(self) -> list[tuple[WorkforceRole, list[Cell]]]:
        return [
            (role, [Cell(role, course, self.requirements.get((role.pk, course.pk))) for course in self.courses])
            for role in self.roles
        ]


def grid_version(roles: list[WorkforceRole], courses: list[Course], requirements: list[Requirement]) -> str:
    """A digest of everything the grid form shows: a form posted against another version is stale."""
    parts = [f"role:{r.pk}" for r in roles] + [f"course:{c.pk}:{c.retired_at is not None}" for c in courses]
    parts += sorted(f"req:{q.role_id}:{q.course_id}:{q.due_within_days}:{q.recurrence_months}" for q in requirements)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def grid_state() -> GridState:
    """The active roles, the modules that can be (or are) required, every requirement; four queries."""
    roles = list(
        WorkforceRole.objects.active()
        .annotate(active_people=Count("people", filter=Q(people__is_active=True, people__terminated_on__isnull=True)))
        .order_by("name")
    )
    requirements = list(Requirement.objects.filter(role__in=[r.pk for r in roles]).select_related("course"))
    required_courses = {q.course_id for q in requirements}
    courses = [c for c in Course.objects.order_by("title") if c.retired_at is None or c.pk in required_courses]
    return GridState(
        roles=roles,
        courses=courses,
        requirements={(q.role_id, q.course_id): q for q in requirements},
        version=grid_version(roles, courses, requirements),
        people={r.pk: r.active_people for r in roles},  # type: ignore[attr-defined]
    )


@dataclass(frozen=True)
class GridChange:
    """One cell the officer changed: `required` False removes the requirement."""

    role: WorkforceRole
    course: Course
    before: Requirement | None
    required: bool
    due_within_days: int | None
    recurrence_months: int | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        return "removed" if not self.required else "changed"

    def describe(self) -> str:
        where = f"{self.role.name}: {self.course.title}"
        if self.kind == "added":
            return f"{where} is now required, due within {self.due_within_days} days, {_every(self.recurrence_months)}"
        if self.kind == "removed":
            return f"{where} is no longer required"
        assert self.before is not None
        parts = []
        if self.before.due_within_days != self.due_within_days:
            parts.append(f"due within {self.before.due_within_days} → {self.due_within_days} days")
        if self.before.recurrence_months != self.recurrence_months:
            parts.append(f"{_every(self.before.recurrence_months)} → {_every(self.recurrence_months)}")
        return f"{where}: {'; '.join(parts)}"


def _every(months: int | None) -> str:
    return f"every {months} months" if months else "once"


def _number(raw: str, *, low: int, high: int, what: str) -> tuple[int | None, str | None]:
    raw = raw.strip()
    if not raw.isdigit():
        return None, f"{what} must be a whole number from {low} to {high}."
    value = int(raw)
    if not low <= value <= high:
        return None, f"{what} must be from {low} to {high}."
    return value, None


def read_grid_form(state: GridState, data: Mapping[str, str]) -> tuple[list[GridChange], dict[str, str]]:
    """The changes a posted grid asks for, and a message per cell that cannot be saved (keyed by cell)."""
    changes: list[GridChange] = []
    errors: dict[str, str] = {}
    for _role, cells in state.rows():
        for cell in cells:
            before = cell.requirement
            required = data.get(cell.name("required")) == "on"
            if not required:
                if before is not None:
                    changes.append(GridChange(cell.role, cell.course, before, False, None, None))
                continue
            if before is None and cell.course.retired_at is not None:
                errors[cell.key] = f"{cell.course.title} is retired: no role can newly require it."
                continue
            due, problem = _number(
                data.get(cell.name("due"), ""), low=1, high=MAX_DUE_WITHIN_DAYS, what="The due window (days)"
            )
            raw_every = data.get(cell.name("every"), "").strip()
            every: int | None = None
            if raw_every:
                every, every_problem = _number(
                    raw_every, low=1, high=MAX_RECURRENCE_MONTHS, what="The recurrence (months; empty: once)"
                )
                problem = problem or every_problem
            if problem:
                errors[cell.key] = problem
                continue
            if before is None or (before.due_within_days, before.recurrence_months) != (due, every):
                changes.append(GridChange(cell.role, cell.course, before, True, due, every))
    return changes, errors


@dataclass
class Consequence:
    change: GridChange
    assigned: int = 0  # people given the module now
    cancelled: int = 0  # open assignments cancelled
    kept_completed: int = 0  # completed assignments that stay (removal)
    kept_open: int = 0  # open assignments whose due date stays (a due window change)

    def sentences(self) -> list[str]:
        c, title = self.change, self.change.course.title
        out = []
        if c.kind == "added" or self.assigned:
            people = f"{self.assigned} {'person' if self.assigned == 1 else 'people'}"
            if c.kind == "added":
                out.append(f"{people} will be assigned {title}, due in {c.due_within_days} days.")
            else:
                out.append(f"{people} will be assigned a new cycle of {title} now.")
        if c.kind == "removed":
            open_ = f"{self.cancelled} open assignment{'s' if self.cancelled != 1 else ''}"
            out.append(
                f"{open_} will be cancelled; completed ones are kept ({self.kept_completed} completed)."
                if self.cancelled or self.kept_completed
                else "Nobody has an assignment of it: nothing is cancelled."
            )
        if c.kind == "changed" and c.before is not None:
            if c.before.due_within_days != c.due_within_days:
                out.append(
                    f"New assignments are due within {c.due_within_days} days; "
                    f"{self.kept_open} open assignment{'s' if self.kept_open != 1 else ''} keep their due dates."
                )
            if c.before.recurrence_months != c.recurrence_months and not self.assigned:
                out.append(f"Nobody is assigned now; the next cycle comes {_every(c.recurrence_months)}.")
        return out


@dataclass
class GridPlan:
    consequences: list[Consequence]
    further_assigned: int  # what the daily run would assign anyway for these roles
    further_cancelled: int
    digest: str
    result: SyncResult


def proposed_requirements(state: GridState, changes: list[GridChange]) -> list[Requirement]:
    """Every requirement as it would be after the changes (unsaved rows for new and changed ones)."""
    current = dict(state.requirements)
    for c in changes:
        key = (c.role.pk, c.course.pk)
        if not c.required:
            current.pop(key, None)
        else:
            current[key] = Requirement(
                role=c.role,
                course=c.course,
                due_within_days=c.due_within_days or DEFAULT_DUE_WITHIN_DAYS,
                recurrence_months=c.recurrence_months,
            )
    # Requirements of retired roles are not in the grid; their people were moved, so they plan nothing.
    return list(current.values())


def grid_plan(state: GridState, changes: list[GridChange]) -> GridPlan:
    """What applying `changes` does, per change, as the engine would do it (writes nothing)."""
    role_ids = sorted({c.role.pk for c in changes})
    people = User.objects.filter(workforce_role__in=role_ids).order_by("pk")
    result = sync_assignments(people=people, requirements=proposed_requirements(state, changes), dry_run=True)
    role_of = dict(User.objects.filter(workforce_role__in=role_ids).values_list("pk", "workforce_role_id"))
    created = Counter((role_of.get(a.user_id), a.course_id) for a in result.created)
    cancelled_rows = list(
        Assignment.objects.filter(pk__in=result.cancelled_ids).values_list("user__workforce_role_id", "course_id")
    )
    cancelled = Counter(cancelled_rows)
    changed_keys = {(c.role.pk, c.course.pk) for c in changes}
    assignment_counts: dict[tuple[int, int, str], int] = {}
    for row in (
        Assignment.objects.filter(
            user__workforce_role__in=role_ids,
            user__is_active=True,
            user__terminated_on__isnull=True,
            course__in={c.course.pk for c in changes},
            cancelled_at__isnull=True,
        )
        .order_by()
        .values("user__workforce_role_id", "course_id")
        .annotate(
            done=Count("pk", filter=Q(completed_at__isnull=False)),
            open=Count("pk", filter=Q(completed_at__isnull=True)),
        )
    ):
        key = (row["user__workforce_role_id"], row["course_id"])
        assignment_counts[(*key, "done")] = row["done"]
        assignment_counts[(*key, "open")] = row["open"]
    consequences = []
    for c in changes:
        key = (c.role.pk, c.course.pk)
        consequences.append(
            Consequence(
                change=c,
                assigned=created.get(key, 0),
                cancelled=cancelled.get(key, 0),
                kept_completed=assignment_counts.get((*key, "done"), 0),
                kept_open=assignment_counts.get((*key, "open"), 0) - cancelled.get(key, 0),
            )
        )
    digest = hashlib.sha256(
        "\n".join(
            [state.version]
            + [f"{c.kind}:{c.role.pk}:{c.course.pk}:{c.due_within_days}:{c.recurrence_months}" for c in changes]
            + sorted(f"+{a.user_id}:{a.course_id}:{a.cycle}:{a.due_on}" for a in result.created)
            + [f"-{pk}" for pk in result.cancelled_ids]
        ).encode()
    ).hexdigest()
    return GridPlan(
        consequences=consequences,
        further_assigned=sum(n for k, n in created.items() if k not in changed_keys),
        further_cancelled=sum(n for k, n in cancelled.items() if k not in changed_keys),
        digest=digest,
        result=result,
    )


@dataclass(frozen=True)
class LogEntry:
    """One change to the grid, from the audit trail's requirement.* and role.* events."""

    seq: int
    at: dt.datetime
    actor: str
    what: str


def _terms(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    days = value.get("due_within_days")
    return f"due within {days} days, {_every(value.get('recurrence_months'))}"


def change_log(limit: int | None = None, until: dt.datetime | None = None) -> list[LogEntry]:
    """Who changed which role's modules, when: newest first (three queries); `until`: only events before it."""
    events = AuditEvent.objects.filter(Q(action__startswith="requirement.") | Q(action__startswith="role.")).order_by(
        "-seq"
    )
    if until is not None:
        events = events.filter(at__lt=until)
    rows = list(events[:limit] if limit else events)
    roles = dict(WorkforceRole.objects.values_list("slug", "name"))
    courses = dict(Course.objects.values_list("slug", "title"))
    entries = []
    for e in rows:
        d = e.data or {}
        role = roles.get(d.get("role", ""), d.get("role", ""))
        course = courses.get(d.get("course", ""), d.get("course", ""))
        action = e.action.split(".", 1)[1]
        if action == "defaults_loaded":
            what = "Default roles loaded: " + ", ".join(roles.get(s, s) for s in d.get("roles", []))
        elif e.action.startswith("role."):
            what = {
                "created": f"Role {d.get('name', role)} created",
                "renamed": f"Role {d.get('from')} renamed {d.get('to')}",
                "retired": f"Role {d.get('name', role)} retired",
            }.get(action, f"Role {role}: {action}")
        elif action == "removed":
            what = f"{role}: {course} no longer required" + (f" (was {_terms(d['from'])})" if "from" in d else "")
        else:
            terms = _terms(d.get("to")) or _terms(d)
            before = f" (was {_terms(d['from'])})" if "from" in d else ""
            verb = "now required" if action == "added" else "changed to"
            what = f"{role}: {course} {verb} {terms}{before}"
        entries.append(LogEntry(seq=e.seq, at=e.at, actor=e.actor_label or "system", what=what))
    return entries


def grid_rows(requirement_text: str = "{days} d, {every}") -> list[list[str]]:
    """The current grid as text rows for a report or a CSV: a header row, then one row per active role."""
    state = grid_state()
    rows = [["Workforce role", *[c.title + (" (retired)" if c.retired_at else "") for c in state.courses]]]
    for role, cells in state.rows():
        line = [role.name]
        for cell in cells:
            req = cell.requirement
            if req is None:
                line.append("")
            else:
                every = f"every {req.recurrence_months} mo" if req.recurrence_months else "once"
                line.append(requirement_text.format(days=req.due_within_days, every=every))
        rows.append(line)
    return rows
