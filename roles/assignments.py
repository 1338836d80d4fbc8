"""The assignment engine: keeps every person's assignments in step with the rules.

- a new hire gets every module their role requires (45 CFR 164.530(b)(2)(i)(B): within a reasonable period);
- a department's own requirement (DepartmentRequirement, for a state law such as Texas HB 300) adds its course,
  or, where the role requires it too, the stricter of the two holds: the shorter due window and the shorter
  cycle; a new hire's first due date then counts from the hire date;
- a role change adds the new role's modules and keeps what is done; modules no longer required are cancelled;
- a termination stops new assignments, cancels open ones and keeps all history;
- a client's agreement (ClientRequirement) adds its modules for the people who work that client's accounts today
  (roles/client_scope.py: by department, role or person), with the client's shorter due window where it has one
  (where the role or department requires the module too, the stricter terms hold); the first assignment of a
  module only a client requires has the reason CLIENT; when the person stops working the client (scope removed,
  or they moved out of the department or role in scope) open client-only ones are cancelled, completed ones kept;
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

from courses.models import CourseVersion, PolicyVersion
from hipaa_training import audit

from .client_scope import Target, in_scope, scope_rows, targets_on
from .models import Assignment, ClientRequirement, DepartmentRequirement, PolicyAssignment, Requirement, User

BATCH_SIZE = 500
CLIENT_DUE_WITHIN_DAYS = 30  # a client's module when its agreement sets no window: the usual window of a role
CANCEL_ROLE = "No longer required by the person's workforce role or department."
CANCEL_CLIENT = (
    "No longer required: the person no longer works the accounts of a client whose agreement requires it "
    "(or the agreement no longer does)."
)
CANCEL_LEAVER = "The person left the workforce or has no workforce role."
CANCEL_POLICY_RETIRED = "The policy was retired: nobody is asked to acknowledge it any more."


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
    client_only: bool = False  # only a client's agreement requires it (its first assignment's reason is CLIENT)

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


def _with_client(terms: _Terms | None, client: _Terms) -> _Terms:
    """A client's module on top of what the role and department require: the stricter terms hold."""
    if terms is None:
        return client
    cycles = [m for m in (terms.recurrence_months, client.recurrence_months) if m]
    return _Terms(
        course_id=terms.course_id,
        due_within_days=min(terms.due_within_days, client.due_within_days),
        recurrence_months=min(cycles) if cycles else None,
        from_hire_days=terms.from_hire_days,
        role_counts=terms.role_counts,
        client_only=terms.client_only,
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
            if req.client_only:
                reason = Assignment.CLIENT
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
    clients: _Clients | None = None,
) -> list[_Terms]:
    """The role's requirements, the department's own and those of the clients whose accounts the person works
    today, course by course; where more than one names a course, the stricter."""
    by_course = {
        r.course_id: _Terms(r.course_id, r.due_within_days, r.recurrence_months)
        for r in requirements_by_role.get(person.workforce_role_id or 0, [])
    }
    for r in requirements_by_department.get(person.department_id or 0, []):
        terms = _Terms(r.course_id, r.due_within_days, r.recurrence_months, r.due_within_days, role_counts=False)
        by_course[r.course_id] = _stricter(by_course[r.course_id], terms) if r.course_id in by_course else terms
    for client_id, targets in (clients.targets if clients else {}).items():
        if not in_scope(targets, person.pk, person.department_id, person.workforce_role_id):
            continue
        for c in clients.by_client.get(client_id, []) if clients else []:
            due = c.client.due_within_days or CLIENT_DUE_WITHIN_DAYS
            terms = _Terms(c.course_id, due, c.recurrence_months, client_only=True)
            by_course[c.course_id] = _with_client(by_course.get(c.course_id), terms)
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
    clients: _Clients | None = None,
) -> SyncResult:
    rows_by_user: dict[int, list[_Row]] = defaultdict(list)
    for values in Assignment.objects.filter(user__in=[p.pk for p in people]).values_list(
        "id", "user_id", "course_id", "cycle", "completed_at", "cancelled_at", "reason"
    ):
        rows_by_user[values[1]].append(_Row(values[0], values[2], values[3], values[4], values[5], values[6]))

    create: list[Assignment] = []
    cancel_role: list[int] = []
    cancel_client: list[int] = []
    cancel_leaver: list[int] = []
    for person in people:
        rows = rows_by_user.get(person.pk, [])
        if not person.is_active or person.terminated_on is not None or person.workforce_role_id is None:
            cancel_leaver += [r.id for r in rows if r.completed_at is None and r.cancelled_at is None]
            continue
        new, cancelled = _plan_for_person(
            person,
            rows,
            _requirements_of(person, requirements_by_role, requirements_by_department, clients),
            material_since,
            today,
            reason_hint,
        )
        create += new
        client_rows = {r.id for r in rows if r.reason == Assignment.CLIENT}
        cancel_client += [i for i in cancelled if i in client_rows]
        cancel_role += [i for i in cancelled if i not in client_rows]

    result = SyncResult()
    cancelled_ids = sorted(cancel_role + cancel_client + cancel_leaver)
    if dry_run:
        result.created = create
        result.cancelled_ids = cancelled_ids
        result.cancelled = len(result.cancelled_ids)
        return result
    result.cancelled_ids = cancelled_ids
    now = timezone.now()
    with transaction.atomic():
        for ids, why in ((cancel_role, CANCEL_ROLE), (cancel_client, CANCEL_CLIENT), (cancel_leaver, CANCEL_LEAVER)):
            if ids:
                result.cancelled += Assignment.objects.filter(pk__in=ids, completed_at__isnull=True).update(
                    cancelled_at=now, cancel_reason=why
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
        if cancelled_ids:
            audit.record("assignment.cancelled", actor=actor, data={"assignment_ids": cancelled_ids})
    return result


@dataclass
class _Clients:
    """The active clients' requirements on published courses and the targets in each one's scope today."""

    by_client: dict[int, list[ClientRequirement]]
    targets: dict[int, set[Target]]


def _clients(published: set[int], today: dt.date) -> _Clients:
    """One query, and a second only when some client requires something."""
    by_client: dict[int, list[ClientRequirement]] = defaultdict(list)
    for req in ClientRequirement.objects.filter(
        course_id__in=published, client__retired_at__isnull=True
    ).select_related("client", "course"):
        by_client[req.client_id].append(req)
    targets = targets_on(scope_rows(list(by_client)), today) if by_client else {}
    return _Clients(dict(by_client), dict(targets))


@dataclass
class _Rules:
    """Each role's and each department's requirements on published courses, and when each course last had a
    material new version (three queries)."""

    by_role: dict[int, list[Requirement]]
    by_department: dict[int, list[DepartmentRequirement]]
    material_since: dict[int, dt.datetime]
    published: set[int] = field(default_factory=set)


def _rules(role_id: int | None = None, department_id: int | None = None) -> _Rules:
    """The rules, all of them or only those of one role and one department (for a dry run)."""
    published = set(CourseVersion.objects.order_by().values_list("course_id", flat=True).distinct())
    rules = _Rules(defaultdict(list), defaultdict(list), {}, published)
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
    clients = _clients(rules.published, today)
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
                batch,
                rules.by_role,
                rules.by_department,
                rules.material_since,
                today,
                reason_hint,
                actor,
                dry_run,
                clients,
            )
            batch = []
    if batch:
        result += _sync_batch(
            batch, rules.by_role, rules.by_department, rules.material_since, today, reason_hint, actor, dry_run, clients
        )
    if not dry_run:  # policies to acknowledge come with the modules (a new hire, a role change, a leaver)
        policy_hint = PolicyAssignment.ROLE_CHANGE if reason_hint == Assignment.ROLE_CHANGE else None
        policy_people = people.all() if isinstance(people, QuerySet) else people
        sync_policy_assignments(people=policy_people, today=today, reason_hint=policy_hint, actor=actor)
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
    clients = _clients(rules.published, today)
    requirements = _requirements_of(future, rules.by_role, rules.by_department, clients)
    titles = {r.course_id: r.course.title for r in rules.by_role.get(workforce_role_id or 0, [])}
    titles.update({r.course_id: r.course.title for reqs in clients.by_client.values() for r in reqs})
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


# Policies: the same engine asks each person to acknowledge the policies of their audience.


@dataclass(frozen=True)
class _PolicyRules:
    """Per policy: its audience (everyone, or role ids), the version to ask for (the newest) and the lowest
    version number that still counts (the newest material one): acknowledging an older text asks again."""

    everyone: dict[int, bool]
    roles: dict[int, set[int]]
    current: dict[int, tuple[int, int, int]]  # policy id -> (version id, number, ack_within_days)
    counts_from: dict[int, int]  # policy id -> the number of its newest material version
    retired: set[int] = field(default_factory=set)  # published policies since retired: nobody is asked any more


def _policy_rules() -> _PolicyRules:
    """Three queries, whatever the number of policies."""
    from .models import PolicyAudience

    current: dict[int, tuple[int, int, int]] = {}
    counts_from: dict[int, int] = {}
    retired: set[int] = set()
    for pk, policy_id, number, material, days, retired_at in PolicyVersion.objects.order_by(
        "policy_id", "number"
    ).values_list("pk", "policy_id", "number", "material", "ack_within_days", "policy__retired_at"):
        if retired_at is not None:
            retired.add(policy_id)
            continue
        current[policy_id] = (pk, number, days)
        if material or number == 1:
            counts_from[policy_id] = number
    everyone: dict[int, bool] = {}
    roles: dict[int, set[int]] = defaultdict(set)
    for audience in PolicyAudience.objects.filter(policy_id__in=current).prefetch_related("roles"):
        everyone[audience.policy_id] = audience.everyone
        roles[audience.policy_id] = {r.pk for r in audience.roles.all()}
    return _PolicyRules(everyone, roles, current, counts_from, retired)


def policies_of(person: User, rules: _PolicyRules) -> set[int]:
    """The published policies whose audience includes `person` (none for a leaver or someone without a role)."""
    if not person.is_active or person.terminated_on is not None or person.workforce_role_id is None:
        return set()
    return {
        policy_id
        for policy_id in rules.everyone
        if rules.everyone[policy_id] or person.workforce_role_id in rules.roles.get(policy_id, set())
    }


@dataclass
class PolicySyncResult:
    created: list[PolicyAssignment] = field(default_factory=list)
    cancelled: int = 0


def _sync_policy_batch(
    people: list[User], rules: _PolicyRules, today: dt.date, reason_hint: str | None, actor: User | None
) -> PolicySyncResult:
    rows: dict[int, dict[int, list[tuple[int, int, bool, bool]]]] = defaultdict(lambda: defaultdict(list))
    for pk, user_id, policy_id, number, acked, cancelled in PolicyAssignment.objects.filter(
        user__in=[p.pk for p in people]
    ).values_list("pk", "user_id", "policy_id", "policy_version__number", "acknowledged_at", "cancelled_at"):
        rows[user_id][policy_id].append((pk, number, acked is not None, cancelled is not None))
    create: list[PolicyAssignment] = []
    superseded: list[int] = []
    out_of_audience: list[int] = []
    retired: list[int] = []
    for person in people:
        wanted = policies_of(person, rules)
        mine = rows.get(person.pk, {})
        for policy_id, history in mine.items():
            if policy_id not in wanted:
                gone = retired if policy_id in rules.retired else out_of_audience
                gone += [pk for pk, _, acked, cancelled in history if not acked and not cancelled]
        start = max(today, person.hire_date or today)
        for policy_id in wanted:
            history = mine.get(policy_id, [])
            live = [(pk, number, acked) for pk, number, acked, cancelled in history if not cancelled]
            if any(number >= rules.counts_from[policy_id] for _, number, _ in live):
                continue  # acknowledged, or asked for, a version that still counts
            superseded += [pk for pk, _, acked in live if not acked]
            if history:
                reason = PolicyAssignment.NEW_VERSION
            else:
                reason = reason_hint or (PolicyAssignment.NEW_HIRE if not mine else PolicyAssignment.AUDIENCE)
            version_id, _, days = rules.current[policy_id]
            create.append(
                PolicyAssignment(
                    user=person,
                    policy_id=policy_id,
                    policy_version_id=version_id,
                    reason=reason,
                    assigned_on=start,
                    due_on=start + dt.timedelta(days=days),
                )
            )
    result = PolicySyncResult()
    now = timezone.now()
    with transaction.atomic():
        for ids, why in (
            (superseded, "A material new version of the policy replaces it."),
            (out_of_audience, "The person is no longer in the policy's audience."),
            (retired, CANCEL_POLICY_RETIRED),
        ):
            if ids:
                result.cancelled += PolicyAssignment.objects.filter(pk__in=ids, acknowledged_at__isnull=True).update(
                    cancelled_at=now, cancel_reason=why
                )
        if superseded or out_of_audience or retired:
            audit.record(
                "policy_assignment.cancelled",
                actor=actor,
                data={"assignment_ids": sorted(superseded + out_of_audience + retired)},
            )
        if create:
            result.created = PolicyAssignment.objects.bulk_create(create)
            audit.record_many(
                audit.Event(
                    "policy_assignment.created",
                    actor=actor,
                    subject=("roles.policyassignment", a.pk) if a.pk else None,
                    data={
                        "person": a.user.email,
                        "policy_id": a.policy_id,
                        "policy_version_id": a.policy_version_id,
                        "reason": a.reason,
                        "due_on": a.due_on.isoformat(),
                    },
                )
                for a in result.created
            )
    return result


def sync_policy_assignments(
    *,
    people: QuerySet[User] | Iterable[User] | None = None,
    today: dt.date | None = None,
    reason_hint: str | None = None,
    actor: User | None = None,
    batch_size: int = BATCH_SIZE,
) -> PolicySyncResult:
    """Ask everyone in each published policy's audience to acknowledge its current version (a new hire, a person
    moved into an audience role, a material new version), and cancel what nobody must acknowledge any more
    (45 CFR 164.530(b)(2)(i)(B)-(C), 164.530(i)). A non-material version asks nobody again. Safe to run twice."""
    today = today or timezone.localdate()
    rules = _policy_rules()
    if people is None:
        people = User.objects.all()
    if isinstance(people, QuerySet):
        people = people.order_by("pk")
    result = PolicySyncResult()
    batch: list[User] = []
    for person in people.iterator(chunk_size=batch_size) if isinstance(people, QuerySet) else people:
        batch.append(person)
        if len(batch) >= batch_size:
            done = _sync_policy_batch(batch, rules, today, reason_hint, actor)
            result.created += done.created
            result.cancelled += done.cancelled
            batch = []
    if batch:
        done = _sync_policy_batch(batch, rules, today, reason_hint, actor)
        result.created += done.created
        result.cancelled += done.cancelled
    return result


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
