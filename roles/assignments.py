"""The assignment engine: keeps every person's assignments in step with the rules.

- a new hire gets every module their role requires (45 CFR 164.530(b)(2)(i)(B): within a reasonable period);
- a role change adds the new role's modules and keeps what is done; modules no longer required are cancelled;
- a termination stops new assignments, cancels open ones and keeps all history;
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
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from courses.models import CourseVersion
from hipaa_training import audit

from .models import Assignment, Requirement, User

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


def _plan_for_person(
    person: User,
    rows: list[_Row],
    requirements: list[Requirement],
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
        if row.completed_at is None and row.cancelled_at is None and row.course_id not in required
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
            to_create.append(_new(person, course_id, next_cycle, reason, start, start + due_within))
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


def _sync_batch(
    people: list[User],
    requirements_by_role: dict[int, list[Requirement]],
    material_since: dict[int, dt.datetime],
    today: dt.date,
    reason_hint: str | None,
    actor: User | None,
    dry_run: bool = False,
) -> SyncResult:
    rows_by_user: dict[int, list[_Row]] = defaultdict(list)
    for values in Assignment.objects.filter(user__in=[p.pk for p in people]).values_list(
        "id", "user_id", "course_id", "cycle", "completed_at", "cancelled_at"
    ):
        rows_by_user[values[1]].append(_Row(values[0], values[2], values[3], values[4], values[5]))

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
            requirements_by_role.get(person.workforce_role_id, []),
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
                cancelled_at=now, cancel_reason="No longer required by the person's workforce role."
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


def sync_assignments(
    *,
    people: QuerySet[User] | Iterable[User] | None = None,
    today: dt.date | None = None,
    reason_hint: str | None = None,
    actor: User | None = None,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    requirements: Iterable[Requirement] | None = None,
) -> SyncResult:
    """Bring assignments in step with roles, requirements, versions and the recurring cycle.

    `requirements` replaces the stored ones (unsaved rows welcome) for planning a change; `dry_run` writes
    nothing and returns what would be created (unsaved) and cancelled.
    """
    today = today or timezone.localdate()
    requirements_by_role: dict[int, list[Requirement]] = defaultdict(list)
    published = set(CourseVersion.objects.order_by().values_list("course_id", flat=True).distinct())
    for req in Requirement.objects.all() if requirements is None else requirements:
        if req.course_id in published:
            requirements_by_role[req.role_id].append(req)
    material_since = dict(
        CourseVersion.objects.filter(material=True, number__gt=1)
        .values("course_id")
        .annotate(last=Max("published_at"))
        .values_list("course_id", "last")
    )

    if people is None:
        people = User.objects.all()
    if isinstance(people, QuerySet):
        people = people.order_by("pk")

    result = SyncResult()
    batch: list[User] = []
    for person in people.iterator(chunk_size=batch_size) if isinstance(people, QuerySet) else people:
        batch.append(person)
        if len(batch) >= batch_size:
            result += _sync_batch(batch, requirements_by_role, material_since, today, reason_hint, actor, dry_run)
            batch = []
    if batch:
        result += _sync_batch(batch, requirements_by_role, material_since, today, reason_hint, actor, dry_run)
    return result
