"""The assignment engine: keeps every person's assignments in step with the rules.

- a new hire gets every module their role requires (45 CFR 164.530(b)(2)(i)(B): within a reasonable period);
- a department's own requirement (DepartmentRequirement, for a state law such as Texas HB 300) adds its course,
  or, where the role requires it too, the stricter of the two holds: the shorter due window and the shorter
  cycle; a new hire's first due date then counts from the hire date;
- a role change adds the new role's modules and keeps what is done; modules no longer required are cancelled;
- a termination stops new assignments, cancels open ones and keeps all history;
- a module an officer assigned by hand (reason MANUAL, roles.services.assign_manually) is never cancelled by a
  role change or a requirement change: only leaving cancels it;
- a new material version assigns retraining to everyone whose role requires the course
  (45 CFR 164.530(b)(2)(i)(C));
- a recurring module's next cycle is assigned RECERTIFY_LEAD_DAYS before the current completion expires.

Running it twice changes nothing. Work is done per batch of people, with a constant number of queries
per batch, whatever the batch's size. `dry_run=True` (with `requirements=` the set to plan against) says what
a run would do and writes nothing: the roles grid's preview uses it, so the preview and the change share
these rules.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from courses.models import CourseVersion
from hipaa_training import audit

from .models import Assignment, DepartmentRequirement, Requirement, User

BATCH_SIZE = 500


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def recertify_lead_days() -> int:
    return int(getattr(settings, "RECERTIFY_LEAD_DAYS", 30))


@dataclass
class SyncResult:
    """What a run did, or (dry run) would do: `created` are unsaved in a dry run; `cancelled_ids` the open
    assignments it cancels."""

    created: list[Assignment] = field(default_factory=list)
    cancelled: int = 0
    cancelled_ids: list[int] = field(default_factory=list)

    def __iadd__(self, other: SyncResult) -> SyncResult:
        self.created += other.created
        self.cancelled += other.cancelled
        self.cancelled_ids += other.cancelled_ids
        return self


@dataclass(frozen=True)
class _Row:
    id: int
    course_id: int
    cycle: int
    completed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    reason: str = ""

    @property
    def manual(self) -> bool:
        """Assigned by hand by an officer: neither a role change nor a requirement change cancels it."""
        return self.reason == Assignment.MANUAL


@dataclass(frozen=True)
class _Terms:
    """What one person must take of one course: the role's requirement, a department's, or the stricter of both."""

    course_id: int
    due_within_days: int  # from assignment: later cycles and retraining, and a role's new hire
    recurrence_months: int | None
    from_hire_days: int | None = None  # a department's "within N days of hire", for a new hire's first due date
    role_counts: bool = True  # whether a role requires it (its window then counts from assignment for a new hire)

    def first_due(self, start: dt.date, hire_date: dt.date | None, today: dt.date) -> dt.date:
        """A new hire's first due date: the earliest of the windows that apply, never before today."""
        dues = [start + dt.timedelta(days=self.due_within_days)] if self.role_counts or not hire_date else []
        if self.from_hire_days is not None and hire_date:
            dues.append(hire_date + dt.timedelta(days=self.from_hire_days))
        return max(min(dues), today)


def _stricter(role: _Terms, department: _Terms) -> _Terms:
    cycles = [m for m in (role.recurrence_months, department.recurrence_months) if m]
    return _Terms(
        course_id=role.course_id,
        due_within_days=min(role.due_within_days, department.due_within_days),
        recurrence_months=min(cycles) if cycles else None,
        from_hire_days=department.from_hire_days,
    )


def _plan_for_person(
    person: User,
    rows: list[_Row],
    requirements: list[_Terms],
    material_since: dict[int, dt.datetime],
    today: dt.date,
    reason_hint: str | None,
) -> tuple[list[Assignment], list[int]]:
    """What to create and which open assignments to cancel for one person (no queries)."""
    by_course: dict[int, list[_Row]] = defaultdict(list)
    for row in rows:
        by_course[row.course_id].append(row)
    required = {r.course_id: r for r in requirements}
    to_cancel = [
        row.id
        for row in rows
        if row.completed_at is None and row.cancelled_at is None and row.course_id not in required and not row.manual
    ]
    to_create = []
    lead = dt.timedelta(days=recertify_lead_days())
    start = max(today, person.hire_date or today)
    for course_id, req in required.items():
        history = by_course.get(course_id, [])
        if any(r.completed_at is None and r.cancelled_at is None for r in history):
            continue  # an open assignment already covers it
        next_cycle = max((r.cycle for r in history), default=0) + 1
        completed = [r.completed_at for r in history if r.completed_at is not None]
        due_within = dt.timedelta(days=req.due_within_days)
        if not completed:
            reason = Assignment.NEW_HIRE if not rows else reason_hint or Assignment.ROLE_CHANGE
            due = start + due_within
            if reason == Assignment.NEW_HIRE:
                due = req.first_due(start, person.hire_date, today)  # "within 90 days of hire" (HB 300)
            to_create.append(_new(person, course_id, next_cycle, reason, start, due))
            continue
        last_done = max(completed)
        newer_material = material_since.get(course_id)
        if newer_material is not None and newer_material > last_done:
            to_create.append(_new(person, course_id, next_cycle, Assignment.NEW_VERSION, today, today + due_within))
            continue
        if req.recurrence_months:
            expires = add_months(timezone.localdate(last_done), req.recurrence_months)
            if today >= expires - lead:
                due = expires if expires > today else today + due_within
                to_create.append(_new(person, course_id, next_cycle, Assignment.ANNUAL, today, due))
    return to_create, to_cancel


def _new(person: User, course_id: int, cycle: int, reason: str, assigned: dt.date, due: dt.date) -> Assignment:
    return Assignment(user=person, course_id=course_id, cycle=cycle, reason=reason, assigned_on=assigned, due_on=due)


def _requirements_of(
    person: User,
    requirements_by_role: dict[int, list[Requirement]],
    requirements_by_department: dict[int, list[DepartmentRequirement]],
) -> list[_Terms]:
    """The role's requirements and the department's own, course by course; where both name a course, the stricter."""
    by_course = {
        r.course_id: _Terms(r.course_id, r.due_within_days, r.recurrence_months)
        for r in requirements_by_role.get(person.workforce_role_id or 0, [])
    }
    for r in requirements_by_department.get(person.department_id or 0, []):
        terms = _Terms(r.course_id, r.due_within_days, r.recurrence_months, r.due_within_days, role_counts=False)
        by_course[r.course_id] = _stricter(by_course[r.course_id], terms) if r.course_id in by_course else terms
    return list(by_course.values())


def _sync_batch(
    people: list[User],
    requirements_by_role: dict[int, list[Requirement]],
    requirements_by_department: dict[int, list[DepartmentRequirement]],
    material_since: dict[int, dt.datetime],
    today: dt.date,
    reason_hint: str | None,
    actor: User | None,
    dry_run: bool = False,
) -> SyncResult:
    rows_by_user: dict[int, list[_Row]] = defaultdict(list)
    for values in Assignment.objects.filter(user__in=[p.pk for p in people]).values_list(
        "id", "user_id", "course_id", "cycle", "completed_at", "cancelled_at", "reason"
    ):
        rows_by_user[values[1]].append(_Row(values[0], values[2], values[3], values[4], values[5], values[6]))

    create: list[Assignment] = []
    cancel_role: list[int] = []
    cancel_leaver: list[int] = []
    for person in people:
        rows = rows_by_user.get(person.pk, [])
        if not person.is_active or person.terminated_on is not None or person.workforce_role_id is None:
            cancel_leaver += [r.id for r in rows if r.completed_at is None and r.cancelled_at is None]
            continue
        new, cancelled = _plan_for_person(
            person,
            rows,
            _requirements_of(person, requirements_by_role, requirements_by_department),
            material_since,
            today,
            reason_hint,
        )
        create += new
        cancel_role += cancelled

    result = SyncResult()
    if dry_run:
        result.created = create
        result.cancelled_ids = sorted(cancel_role + cancel_leaver)
        result.cancelled = len(result.cancelled_ids)
        return result
    result.cancelled_ids = sorted(cancel_role + cancel_leaver)
    now = timezone.now()
    with transaction.atomic():
        if cancel_role:
            result.cancelled += Assignment.objects.filter(pk__in=cancel_role, completed_at__isnull=True).update(
                cancelled_at=now, cancel_reason="No longer required by the person's workforce role or department."
            )
        if cancel_leaver:
            result.cancelled += Assignment.objects.filter(pk__in=cancel_leaver, completed_at__isnull=True).update(
                cancelled_at=now, cancel_reason="The person left the workforce or has no workforce role."
            )
        if create:
            result.created = Assignment.objects.bulk_create(create)
            audit.record_many(
                audit.Event(
                    "assignment.created",
                    actor=actor,
                    subject=("roles.assignment", a.pk) if a.pk else None,
                    data={
                        "person": a.user.email,
                        "course_id": a.course_id,
                        "cycle": a.cycle,
                        "reason": a.reason,
                        "due_on": a.due_on.isoformat(),
                    },
                )
                for a in result.created
            )
        if cancel_role or cancel_leaver:
            audit.record(
                "assignment.cancelled",
                actor=actor,
                data={"assignment_ids": sorted(cancel_role + cancel_leaver)},
            )
    return result


@dataclass
class _Rules:
    """Each role's and each department's requirements on published courses, and when each course last had a
    material new version (three queries)."""

    by_role: dict[int, list[Requirement]]
    by_department: dict[int, list[DepartmentRequirement]]
    material_since: dict[int, dt.datetime]


def _rules(role_id: int | None = None, department_id: int | None = None) -> _Rules:
    """The rules, all of them or only those of one role and one department (for a dry run)."""
    published = set(CourseVersion.objects.order_by().values_list("course_id", flat=True).distinct())
    rules = _Rules(defaultdict(list), defaultdict(list), {})
    requirements = Requirement.objects.filter(course_id__in=published).select_related("course")
    department_requirements = DepartmentRequirement.objects.filter(course_id__in=published).select_related("course")
    if role_id is not None:
        requirements = requirements.filter(role_id=role_id)
        department_requirements = department_requirements.filter(department_id=department_id or 0)
    for req in requirements:
        rules.by_role[req.role_id].append(req)
    for dept_req in department_requirements:
        rules.by_department[dept_req.department_id].append(dept_req)
    rules.material_since = dict(
        CourseVersion.objects.filter(material=True, number__gt=1)
        .values("course_id")
        .annotate(last=Max("published_at"))
        .values_list("course_id", "last")
    )
    return rules


def sync_assignments(
    *,
    people: QuerySet[User] | Iterable[User] | None = None,
    today: dt.date | None = None,
    reason_hint: str | None = None,
    actor: User | None = None,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    requirements: Iterable[Requirement] | None = None,
    department_requirements: Iterable[DepartmentRequirement] | None = None,
) -> SyncResult:
    """Bring assignments in step with roles, requirements, versions and the recurring cycle.

    `requirements` (`department_requirements`) replaces the stored role (department) requirements, unsaved rows
    welcome, for planning a change; `dry_run` writes nothing and returns what would be created (unsaved) and
    cancelled.
    """
    today = today or timezone.localdate()
    rules = _rules()
    if requirements is not None:  # planning a change of the role requirements: these stand for the stored ones
        published = set(CourseVersion.objects.order_by().values_list("course_id", flat=True).distinct())
        rules.by_role = defaultdict(list)
        for req in requirements:
            if req.course_id in published:
                rules.by_role[req.role_id].append(req)
    if department_requirements is not None:  # planning a change of a department's own requirements
        published = set(CourseVersion.objects.order_by().values_list("course_id", flat=True).distinct())
        rules.by_department = defaultdict(list)
        for dept_req in department_requirements:
            if dept_req.course_id in published:
                rules.by_department[dept_req.department_id].append(dept_req)

    if people is None:
        people = User.objects.all()
    if isinstance(people, QuerySet):
        people = people.order_by("pk")

    result = SyncResult()
    batch: list[User] = []
    for person in people.iterator(chunk_size=batch_size) if isinstance(people, QuerySet) else people:
        batch.append(person)
        if len(batch) >= batch_size:
            result += _sync_batch(
                batch, rules.by_role, rules.by_department, rules.material_since, today, reason_hint, actor, dry_run
            )
            batch = []
    if batch:
        result += _sync_batch(
            batch, rules.by_role, rules.by_department, rules.material_since, today, reason_hint, actor, dry_run
        )
    return result


@dataclass(frozen=True)
class PlannedStep:
    """One line of what a change would do to a person's assignments."""

    verb: str  # "adds", "cancels", "keeps", "leaves on record"
    title: str
    detail: str
    course_id: int
    assignment_id: int | None = None
    due_on: dt.date | None = None

    def __str__(self) -> str:
        return f"{self.verb} {self.title}, {self.detail}" if self.verb != "adds" else f"adds {self.title} {self.detail}"


@dataclass
class AssignmentPlan:
    """What `sync_assignments` would do to one person after a change, computed by the same rules; writes nothing."""

    adds: list[PlannedStep] = field(default_factory=list)
    cancels: list[PlannedStep] = field(default_factory=list)
    keeps: list[PlannedStep] = field(default_factory=list)
    on_record: list[PlannedStep] = field(default_factory=list)

    @property
    def steps(self) -> list[PlannedStep]:
        return [*self.adds, *self.cancels, *self.keeps, *self.on_record]

    def sentence(self) -> str:
        return "; ".join(str(step) for step in self.steps) or "changes no assignment"

    def digest(self) -> str:
        """SHA-256 of the plan: applying refuses if it no longer matches what was previewed."""
        body = [(s.verb, s.course_id, s.assignment_id, s.detail) for s in self.steps]
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def assignment_plan(
    *,
    person: User,
    workforce_role_id: int | None,
    hire_date: dt.date | None = None,
    today: dt.date | None = None,
) -> AssignmentPlan:
    """What giving `person` the role `workforce_role_id` would do to their assignments (a dry run of the engine)."""
    today = today or timezone.localdate()
    future = copy.copy(person)
    future.workforce_role_id = workforce_role_id
    if hire_date is not None:
        future.hire_date = hire_date
    rules = _rules(workforce_role_id or 0, future.department_id or 0)
    requirements = _requirements_of(future, rules.by_role, rules.by_department)
    titles = {r.course_id: r.course.title for r in rules.by_role.get(workforce_role_id or 0, [])}
    titles.update({r.course_id: r.course.title for r in rules.by_department.get(future.department_id or 0, [])})
    material_since = rules.material_since
    history = list(Assignment.objects.filter(user=person).select_related("course").order_by("course__title", "-cycle"))
    titles.update({a.course_id: a.course.title for a in history})
    rows = [_Row(a.pk, a.course_id, a.cycle, a.completed_at, a.cancelled_at, a.reason) for a in history]
    plan = AssignmentPlan()
    if not future.is_active or future.terminated_on is not None or workforce_role_id is None:
        create: list[Assignment] = []
        cancel = [r.id for r in rows if r.completed_at is None and r.cancelled_at is None]
    else:
        create, cancel = _plan_for_person(future, rows, requirements, material_since, today, Assignment.ROLE_CHANGE)
    for new in create:
        plan.adds.append(
            PlannedStep("adds", titles[new.course_id], f"due {new.due_on.isoformat()}", new.course_id, None, new.due_on)
        )
    added = {new.course_id for new in create}
    required = {r.course_id for r in requirements}
    latest: dict[int, Assignment] = {}
    for a in history:
        latest.setdefault(a.course_id, a)  # ordered by -cycle: the first seen is the latest cycle
    started = set(
        Assignment.objects.filter(pk__in=cancel)
        .filter(Q(lesson_views__isnull=False) | Q(attempts__isnull=False))
        .values_list("pk", flat=True)
        .distinct()
    )
    for a in history:
        if a.pk in cancel:
            state = "in progress" if a.pk in started else "not started"
            plan.cancels.append(
                PlannedStep("cancels", a.course.title, f"{state} (due {a.due_on.isoformat()})", a.course_id, a.pk)
            )
    for course_id, a in latest.items():
        if course_id in added or a.pk in cancel:
            continue
        if a.completed_at is not None:
            done = f"completed {timezone.localdate(a.completed_at).isoformat()}"
            if course_id in required:
                plan.keeps.append(PlannedStep("keeps", a.course.title, done, course_id, a.pk))
            else:
                plan.on_record.append(
                    PlannedStep("keeps on record", a.course.title, f"{done}, no longer required", course_id, a.pk)
                )
        elif a.cancelled_at is None and course_id in required:
            plan.keeps.append(
                PlannedStep("keeps", a.course.title, f"open, due {a.due_on.isoformat()}", course_id, a.pk)
            )
        elif a.cancelled_at is None and a.reason == Assignment.MANUAL:
            plan.keeps.append(
                PlannedStep(
                    "keeps", a.course.title, f"assigned by hand, open, due {a.due_on.isoformat()}", course_id, a.pk
                )
            )
    return plan


def retraining_if_material(course_id: int) -> int:
    """How many people a material new version of the course would assign retraining now (one query): the active
    people whose role or department requires it, who completed it, and have no open assignment of it
    (45 CFR 164.530(b)(2)(i)(C)); the same rule as `_plan_for_person`."""
    mine = Assignment.objects.filter(user=OuterRef("pk"), course_id=course_id)
    required = Q(workforce_role__requirements__course=course_id) | Q(department__requirements__course=course_id)
    return (
        User.objects.filter(required, is_active=True, terminated_on__isnull=True, workforce_role__isnull=False)
        .filter(Exists(mine.filter(completed_at__isnull=False)))
        .exclude(Exists(mine.filter(completed_at__isnull=True, cancelled_at__isnull=True)))
        .distinct()
        .count()
    )
