"""The dashboard's stored daily figures: each past day's assignments counted by role, department, manager and
module, with the people where they stood that day (their history).

A past day's figures do not change once the day is over: an assignment counts on day D only if it was created
by the end of D, and completions and cancellations carry the time they happened. The one thing that rewrites a
past day is history written for it afterwards (a backdated departure, a person added with an earlier hire
date): `forget_from` drops the stored days from then on, and the next nightly `store_missing` stores them again.
Readers use a day's rows only when that day is stored, and count live otherwise, so a missing day is slower,
never wrong. `tests/records/test_summaries.py` recomputes stored days from the records and compares.

Today's figures so far are stored the same way, marked with where the records stood when they were counted
(`records_mark`). The first look after the records move on catches them up (`store_today`): it reads what moved
since the mark (the audit events, new assignments and completions, people saved into another group) and counts
again only what they touched (`Stale`): a completion its module's row in its person's group (role, department,
manager), an assignment made or cancelled that row and the group's people, a new hire's the group's new hires too,
a person who left or joined a group that group's rows of their modules and its people; anything it cannot place has
today counted again in full.
Assignments changed in place, which move no mark, drop them (records/apps.py `backdated`); a person's record
saved with a new role, department, manager or leaving date notes the groups they left and joined
(`person_saving`, `person_saved`), which moves the mark.
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from courses.models import Course
from hipaa_training.celery import app as celery_app
from hipaa_training.models import AuditEvent
from roles import history
from roles.models import Assignment, PersonState, User

from . import conditions
from .models import Completion, DailyFigure, NewHireFigure, StaleGroup, StoredDay, StoredPeople
from .tasks import store_days_task


def days_to_keep(today: dt.date | None = None) -> list[dt.date]:
    """The past days today's dashboard reads: yesterday and the trend's monthly points."""
    today = today or timezone.localdate()
    return sorted({today - dt.timedelta(days=1), *(d for d in conditions.trend_days(today) if d < today)})


def _grouped(day: dt.date) -> Any:
    return (
        Assignment.objects.filter(conditions.existed_q(day))
        .annotate(
            role=history.field_on(day, "workforce_role"),
            department=history.field_on(day, "department"),
            manager=history.field_on(day, "manager"),
        )
        .order_by()
    )


def live_rows(day: dt.date, groups: Q | None = None) -> list[dict[str, Any]]:
    """One grouped query: the day's assignments by role, department and manager that day, and module (only the
    `groups` given, when given: `_in_groups`)."""
    return list(
        _grouped(day)
        .filter(groups or Q())
        .values("role", "department", "manager", "course_id")
        .annotate(
            total=Count("id"),
            done=Count("id", filter=conditions.done_q(day)),
            overdue=Count("id", filter=conditions.overdue_q(day)),
            due_soon=Count("id", filter=conditions.due_soon_q(day)),
            on_time=Count("id", filter=conditions.on_time_q(day)),
            people=Count("user_id", distinct=True),
            retraining=Count("id", filter=RETRAINING),
            retraining_done=Count("id", filter=RETRAINING & conditions.done_q(day)),
            retraining_overdue=Count("id", filter=RETRAINING & conditions.overdue_q(day)),
        )
    )


RETRAINING = Q(reason=Assignment.NEW_VERSION)


def live_people(day: dt.date, groups: Q | None = None) -> list[dict[str, Any]]:
    """One grouped query: how many different people had assignments that day, by role, department and manager."""
    return list(
        _grouped(day)
        .filter(groups or Q())
        .values("role", "department", "manager")
        .annotate(people=Count("user_id", distinct=True))
    )


FIGURES = (
    "course_id",
    "total",
    "done",
    "overdue",
    "due_soon",
    "on_time",
    "people",
    "retraining",
    "retraining_done",
    "retraining_overdue",
)


EVERY_GROUP = Q()


def _count_into(
    stored: StoredDay, rows: Q | None = EVERY_GROUP, people: Q | None = EVERY_GROUP, new_hires: Q | None = EVERY_GROUP
) -> None:
    """Count the day's rows from the records and store them: its module rows (`rows`), its people (`people`) and its
    new hires (`new_hires`), each only for the groups given (`_in_groups`), or not at all when None (up to four
    queries, three inserts)."""
    if rows is not None:
        DailyFigure.objects.bulk_create(
            DailyFigure(
                day=stored,
                role_id=row["role"],
                department_id=row["department"],
                manager_id=row["manager"],
                **{k: row[k] for k in FIGURES},
            )
            for row in live_rows(stored.day, rows)
        )
    if people is not None:
        StoredPeople.objects.bulk_create(
            StoredPeople(
                day=stored,
                role_id=row["role"],
                department_id=row["department"],
                manager_id=row["manager"],
                people=row["people"],
            )
            for row in live_people(stored.day, people)
        )
    if new_hires is not None:
        NewHireFigure.objects.bulk_create(_new_hire_rows(stored, new_hires))


def _store(day: dt.date, counted_from: str = "") -> bool:
    """Count `day` from the records and store its rows (False: another worker stored it just now)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = StoredDay.objects.create(day=day, counted_from=counted_from)
        except IntegrityError:
            return False
        _count_into(stored)
    return True


def _new_hire_rows(stored: StoredDay, groups: Q | None = None) -> list[NewHireFigure]:
    """The day's new hires by role, department and manager that day, judged on all their new-hire modules and on
    each module (two queries)."""
    day, window = stored.day, conditions.new_hire_window_days()
    rows: dict[tuple[Any, ...], NewHireFigure] = {}
    people = ["role", "department", "manager"]
    for group in (people, [*people, "course_id"]):
        for *key, trained, on_time, waiting, took, n in conditions.new_hire_outcomes(
            _grouped(day).filter(groups or Q()), day, group
        ):
            role_id, department_id, manager_id, *course = key
            row = rows.setdefault(
                (role_id, department_id, manager_id, *(course or [None])),
                NewHireFigure(
                    day=stored,
                    role_id=role_id,
                    department_id=department_id,
                    manager_id=manager_id,
                    course_id=course[0] if course else None,
                    window_days=window,
                    people=0,
                    trained=0,
                    trained_on_time=0,
                    still_in_window=0,
                    days_taken={},
                ),
            )
            row.people += n
            row.trained += trained * n
            row.trained_on_time += on_time * n
            row.still_in_window += waiting * n
            if took is not None:
                row.days_taken[str(took)] = row.days_taken.get(str(took), 0) + n
    return list(rows.values())


def new_hire_figures(filters: conditions.Filters) -> list[tuple[int, int, int, dict[int, int], int]] | None:
    """A stored past day's new hires for the filters: (trained, trained on time, still in window, {days taken: people},
    people) per stored group (one query), or None when they were stored with another window."""
    window = conditions.new_hire_window_days()
    rows = _narrowed(NewHireFigure.objects.filter(day_id=filters.as_of), filters, course=False)
    rows = rows.filter(course_id=filters.course_id) if filters.course_id else rows.filter(course_id__isnull=True)
    found = list(rows)
    if any(r.window_days != window for r in found):
        return None
    return [
        (r.trained, r.trained_on_time, r.still_in_window, {int(k): v for k, v in r.days_taken.items()}, r.people)
        for r in found
    ]


def store_day(day: dt.date) -> bool:
    """Store one past day's figures (False: it was stored already, perhaps by another worker just now). Figures
    counted while the day was still today are counted again: they miss what happened after."""
    if day >= timezone.localdate():
        raise ValueError("only a day that is over has figures that stay the same")
    StoredDay.objects.filter(day=day).exclude(counted_from="").delete()
    return _store(day)


# Audited actions that change nothing today's figures count. They are the busiest (each sign-in, lesson page, check
# answered, certificate looked up): were they to move the mark, a large workforce would have today's figures counted
# again on nearly every look. Any other action moves it; a new kind of action is counted again, never missed.
QUIET_ACTIONS = (
    "lesson.viewed",
    "quiz.attempted",
    "attestation.signed",
    "certificate.verified",
    "certificate.downloaded",
    "bulletin.delivered",
    "bulletin.acknowledged",
)


def records_mark() -> str:
    """Where the records stand, in one query: the latest audit event that may change a figure, and the latest
    assignment, completion, history row and group noted stale. Every change the product makes to what the figures
    count writes an audit event in the same transaction, and the chain's lock orders events by commit (ids alone
    would not: an id taken first can commit last); the ids also catch rows added straight through the ORM. The
    event is found walking back from the newest past the quiet ones (`QUIET_ACTIONS`, sign-ins)."""
    audit = connection.ops.quote_name(AuditEvent._meta.db_table)
    latest = f"(SELECT seq FROM {audit} WHERE NOT ({_QUIET_SQL}) ORDER BY seq DESC LIMIT 1)"
    ids = [
        f"(SELECT MAX(id) FROM {connection.ops.quote_name(m._meta.db_table)})"
        for m in (Assignment, Completion, PersonState, StaleGroup)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {latest}, {', '.join(ids)}", _QUIET_PARAMS)
        return ":".join(str(v or 0) for v in cursor.fetchone())


_QUIET_SQL = f"action LIKE %s OR action IN ({', '.join(['%s'] * len(QUIET_ACTIONS))})"
_QUIET_PARAMS = ["auth.%", *QUIET_ACTIONS]

# How an audited action changes today's figures, for catching them up (`_stale_groups`):
# - by the assignments it names, whose people's groups are counted again;
BY_ASSIGNMENTS = {
    "assignment.created": lambda subject_id, data: [int(subject_id)] if subject_id else None,
    "completion.recorded": lambda subject_id, data: [int(data["assignment_id"])],
    "assignment.cancelled": lambda subject_id, data: [int(i) for i in data["assignment_ids"]],
}
# - through what comes with it: a person's record saved (which notes the groups they left and joined, see
#   `person_saved`) and assignments created or cancelled (which write their own events); or not at all.
NO_COUNT_OF_ITS_OWN = frozenset(
    {
        # people
        "account.created",
        "account.created_by_sso",
        "account.invited",
        "account.deactivated",
        "account.reactivated",
        "person.role_changed",
        "person.department_changed",
        "person.manager_changed",
        "person.changed",
        "person.email_changed",
        "person.sso_mapping_applied",
        "person.access_groups_changed",
        "person.access_changed",
        "workforce.imported",
        "workforce.import_previewed",
        # what is required of whom: the assignments it makes and cancels
        "requirement.added",
        "requirement.changed",
        "requirement.removed",
        "requirement.defaults_loaded",
        "client.requirement_added",
        "client.requirement_changed",
        "client.requirement_removed",
        "client.scope_added",
        "client.scope_removed",
        # names, and things outside the figures
        "role.created",
        "role.renamed",
        "department.created",
        "department.renamed",
        "client.created",
        "client.changed",
        "client.auditor_granted",
        "client.auditor_revoked",
        "policy.created",
        "policy.audience_changed",
        "policy_assignment.created",
        "policy_assignment.cancelled",
        "policy.acknowledged",
        "bulletin.created",
        "reminder.nudged",
        "reminder_policy.changed",
        "security.policy_changed",
        "sso.mapping_created",
        "sso.mapping_updated",
        "sso.mapping_deleted",
        "export.downloaded",
        "report.requested",
        "report.downloaded",
        "bundle.requested",
        "bundle.downloaded",
        "certificate.revoked",
    }
)
# Any other action (a role or department retired, a course version published, the organisation's settings) has
# today counted in full, as do more than these many events, assignments or groups since the mark.
CATCH_UP_EVENTS = 500
CATCH_UP_ASSIGNMENTS = 2000
CATCH_UP_GROUPS = 40


def store_today() -> bool:
    """Today's figures so far, stored, so the dashboard reads a few hundred rows instead of every assignment. While
    the records stand still (`records_mark`) that is one more query; once they move on, the stored rows are caught
    up (`_catch_up`) or, when that cannot be done, counted again in full. Writers take turns on today's row. False
    when another request is storing them in full at this moment (the caller counts live)."""
    today = timezone.localdate()
    mark = records_mark()
    if StoredDay.objects.filter(day=today).values_list("counted_from", flat=True).first() == mark:
        return True
    with transaction.atomic():
        stored = StoredDay.objects.select_for_update().filter(day=today).first()
        if stored is not None and stored.counted_from and (stored.counted_from == mark or _catch_up(stored, mark)):
            return True
        _drop(today)
        _spend_stale(mark)
        return _store(today, mark)


def _catch_up(stored: StoredDay, mark: str) -> bool:
    """Count again only what moved since `stored` was counted touched (`Stale`), and move it to `mark` (False: it
    cannot be told which, and today must be counted in full)."""
    stale = _stale_groups(stored.counted_from, mark)
    if stale is None:
        return False
    if stale.groups():
        if len(stale.groups()) > CATCH_UP_GROUPS:
            return False
        rows = _in_groups(stale.modules) if stale.modules else None
        people = _in_groups(stale.people) if stale.people else None
        new_hires = _in_groups(stale.new_hires) if stale.new_hires else None
        if rows is not None:
            DailyFigure.objects.filter(_in_groups(stale.modules, suffix="_id"), day=stored).delete()
        if people is not None:
            StoredPeople.objects.filter(_in_groups(stale.people, suffix="_id"), day=stored).delete()
        if new_hires is not None:
            NewHireFigure.objects.filter(_in_groups(stale.new_hires, suffix="_id"), day=stored).delete()
        if connection.vendor == "postgresql":
            # A few groups are a few thousand people of many: looking up their assignments beats reading every
            # one, but PostgreSQL's default page cost (4, set for spinning disks) has it read every one, twice as
            # slow here. For this transaction only, the cost usual for solid-state disks.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL random_page_cost = 1.1")
        _count_into(stored, rows, people, new_hires)
    StoredDay.objects.filter(pk=stored.pk).update(counted_from=mark, stored_at=timezone.now())
    _spend_stale(mark)
    return True


def _spend_stale(mark: str) -> None:
    """The groups noted stale up to `mark` are counted: drop their rows but the latest, whose id the mark holds."""
    StaleGroup.objects.filter(pk__lt=int(mark.rsplit(":", 1)[-1])).delete()


Group = tuple[int | None, int | None, int | None]


def _hired_after(today: dt.date) -> dt.date:
    """People hired after this day are new hires today (the new-hire window)."""
    return today - dt.timedelta(days=conditions.new_hire_window_days())


@dataclass
class Stale:
    """What moved between two marks, by group (role, department, manager ids): which of each group's module rows
    to count again (`modules`: None for all of them), and which groups' people and new hires."""

    modules: dict[Group, set[int] | None] = field(default_factory=dict)
    people: set[Group] = field(default_factory=set)
    new_hires: set[Group] = field(default_factory=set)

    def groups(self) -> set[Group]:
        return {*self.modules, *self.people, *self.new_hires}

    def whole(self, group: Group) -> None:
        self.modules[group] = None
        self.people.add(group)
        self.new_hires.add(group)

    def module(self, group: Group, course_id: int) -> None:
        if group not in self.modules:
            self.modules[group] = {course_id}
        elif (courses := self.modules[group]) is not None:
            courses.add(course_id)


def _stale_groups(counted_from: str, mark: str) -> Stale | None:
    """What moved between two marks. An assignment named by an audit event in between (`BY_ASSIGNMENTS`), added or
    completed in between has its module's row in its person's group counted again; the group's people too when
    the assignment was added or cancelled (a person may have gained or lost their only one); the group's new hires
    when the person is one. A group a person left or joined (`StaleGroup`) has the rows of that person's modules
    counted again, and its people, and its new hires when they were or are one; a group noted stale without a
    person, whole. None when an event in between is of another kind, or too much moved. At most six queries."""
    try:
        (seq0, assigned0, completed0, _, stale0), (seq1, assigned1, completed1, _, stale1) = (
            [int(v) for v in m.split(":")] for m in (counted_from, mark)
        )
    except ValueError:  # a mark of another form
        return None
    events = list(
        AuditEvent.objects.filter(seq__gt=seq0, seq__lte=seq1)
        .exclude(Q(action__startswith="auth.") | Q(action__in=QUIET_ACTIONS))
        .values_list("action", "subject_id", "data")[: CATCH_UP_EVENTS + 1]
    )
    if len(events) > CATCH_UP_EVENTS:
        return None
    named: set[int] = set()
    joined_or_left: set[int] = set()  # assignments added or cancelled, not only completed
    for action, subject_id, data in events:
        if action in NO_COUNT_OF_ITS_OWN:
            continue
        ids = BY_ASSIGNMENTS[action](subject_id, data) if action in BY_ASSIGNMENTS else None
        if ids is None:
            return None
        named.update(ids)
        if action != "completion.recorded":
            joined_or_left.update(ids)
    if len(named) > CATCH_UP_ASSIGNMENTS:
        return None
    # Each by its primary key: small look-ups, where one query joining them read every person.
    touched: list[tuple[int, int, int, bool]] = [
        (pk, user_id, course_id, pk in joined_or_left or assigned0 < pk <= assigned1)
        for pk, user_id, course_id in Assignment.objects.filter(
            Q(pk__in=named) | Q(pk__gt=assigned0, pk__lte=assigned1)
        ).values_list("pk", "user_id", "course_id")
    ]
    touched += [
        (pk, user_id, course_id, False)
        for pk, user_id, course_id in Completion.objects.filter(pk__gt=completed0, pk__lte=completed1).values_list(
            "assignment_id", "user_id", "assignment__course_id"
        )
    ]
    today = timezone.localdate()
    hired_after = _hired_after(today)
    people = {
        pk: ((role_id, department_id, manager_id), hire_date is not None and hired_after < hire_date <= today)
        for pk, role_id, department_id, manager_id, hire_date in User.objects.filter(
            pk__in={user_id for _, user_id, _, _ in touched}
        ).values_list("pk", "workforce_role_id", "department_id", "manager_id", "hire_date")
    }
    stale = Stale()
    moved: dict[int, list[Group]] = {}  # who moved, and the groups they left and joined
    for role_id, department_id, manager_id, person_id, new_hire in StaleGroup.objects.filter(
        pk__gt=stale0, pk__lte=stale1
    ).values_list("role_id", "department_id", "manager_id", "person_id", "new_hire"):
        key = (role_id, department_id, manager_id)
        if person_id is None:
            stale.whole(key)
        else:  # a person left or joined the group: their modules' rows, its people, its new hires if they are one
            moved.setdefault(person_id, []).append(key)
            stale.people.add(key)
            if new_hire:
                stale.new_hires.add(key)
    if moved:
        for user_id, course_id in Assignment.objects.filter(user_id__in=moved).values_list("user_id", "course_id"):
            for group in moved[user_id]:
                stale.module(group, course_id)
    for _, user_id, course_id, added_or_cancelled in touched:
        group, new_hire = people[user_id]
        stale.module(group, course_id)
        if added_or_cancelled:
            stale.people.add(group)
        if new_hire:
            stale.new_hires.add(group)
    return stale


def _in_groups(groups: set[Group] | dict[Group, set[int] | None], *, suffix: str = "") -> Q:
    """Rows of any of `groups`: on the grouped assignments (`role`, `department`, `manager`), or with
    suffix="_id" on the stored rows. An empty id matches empty. Given as a dict, each group's rows are only those
    of its modules (course ids), or all of them where None."""

    def one(group: Group) -> Q:
        pairs = zip(("role", "department", "manager"), group, strict=True)
        q = Q(
            **{
                (f"{n}{suffix}" if v is not None else f"{n}{suffix}__isnull"): (v if v is not None else True)
                for n, v in pairs
            }
        )
        courses = groups.get(group) if isinstance(groups, dict) else None
        return q & Q(course_id__in=sorted(courses)) if courses is not None else q

    return reduce(operator.or_, (one(group) for group in groups))


def _drop(day: dt.date) -> None:
    """Drop a day's stored rows in four plain DELETEs (the same queries whether or not there were any)."""
    with connection.cursor() as cursor:
        for model in (DailyFigure, StoredPeople, NewHireFigure):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)} WHERE day_id = %s", [day])
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(StoredDay._meta.db_table)} WHERE day = %s", [day])


def forget_today() -> None:
    """Today's stored figures no longer hold (a row was changed in place, which moves no mark)."""
    StoredDay.objects.filter(day=timezone.localdate()).exclude(counted_from="").delete()


def store_missing(days: list[dt.date] | None = None) -> int:
    """Store each of `days` (default: the ones today's dashboard reads) that is not stored yet."""
    wanted = days if days is not None else days_to_keep()
    have = stored_days(wanted)
    return sum(store_day(day) for day in wanted if day not in have)


def store_later(days: list[dt.date]) -> None:
    """Have a worker store these past days once this request's transaction commits, so the next look at them
    reads stored figures. With tasks in-process (no broker: the embedded default, the tests) nothing is queued:
    the request would pay for it, and small installations count live quickly."""
    if celery_app.conf.task_always_eager:
        return
    past = sorted({d.isoformat() for d in days if d < timezone.localdate()})
    transaction.on_commit(lambda: store_days_task.delay(past))


def stored_days(days: list[dt.date]) -> set[dt.date]:
    """Which of `days` are over and stored complete."""
    return set(StoredDay.objects.filter(day__in=days, counted_from="").values_list("day", flat=True))


def forget_from(day: dt.date) -> int:
    """Drop the stored days from `day` on (their figures may have changed); the nightly task stores them again."""
    deleted, _ = StoredDay.objects.filter(day__gte=day).delete()
    return deleted


def _narrowed(qs: Any, filters: conditions.Filters, *, course: bool = True) -> Any:
    names = {"role_id": filters.role_id, "department_id": filters.department_id, "manager_id": filters.manager_id}
    if course:
        names["course_id"] = filters.course_id
    return qs.filter(**{k: v for k, v in names.items() if v})


def figures(days: list[dt.date], filters: conditions.Filters) -> dict[dt.date, tuple[int, int, int]]:
    """(total, done, overdue) on each stored day of `days` for the filters, from the stored rows (one query)."""
    rows = (
        _narrowed(DailyFigure.objects.filter(day_id__in=days), filters)
        .values("day_id")
        .annotate(total=Sum("total"), done=Sum("done"), overdue=Sum("overdue"))
        .order_by()
    )
    return {r["day_id"]: (r["total"], r["done"], r["overdue"]) for r in rows}


def retraining_figures(filters: conditions.Filters) -> list[dict[str, Any]]:
    """A stored day's retraining by module for the filters, in module title order (one query): the dashboard's
    rows of course_id, course__title, due, done, overdue."""
    rows = (
        _narrowed(DailyFigure.objects.filter(day_id=filters.as_of, retraining__gt=0), filters)
        .values("course_id")
        .annotate(
            due=Sum("retraining"),
            done=Sum("retraining_done"),
            overdue=Sum("retraining_overdue"),
            title=Subquery(Course.objects.filter(pk=OuterRef("course_id")).values("title")[:1]),
        )
        .order_by("title", "course_id")
    )
    return [{"course__title": r.pop("title"), **r} for r in rows]


def day_figures(filters: conditions.Filters) -> tuple[dict[str, int], list[dict[str, Any]]] | None:
    """The dashboard's headline counts and its matrices' groups (role, department, module) from the stored rows
    (two queries): today's, stored now if the records have moved on since they were counted; a past day's when
    it is stored, else None (one query)."""
    day = filters.as_of
    today = timezone.localdate()
    if day > today:
        return None
    if day == today:
        if not store_today():
            return None
    elif not StoredDay.objects.filter(day=day, counted_from="").exists():
        return None
    rows = list(_narrowed(DailyFigure.objects.filter(day_id=day), filters))
    totals = {k: sum(getattr(r, k) for r in rows) for k in ("total", "done", "overdue", "due_soon", "on_time")}
    if filters.course_id:
        totals["people"] = sum(r.people for r in rows)
    else:
        people = _narrowed(StoredPeople.objects.filter(day_id=day), filters, course=False).aggregate(n=Sum("people"))
        totals["people"] = people["n"] or 0
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(
            (r.role_id, r.department_id, r.course_id),
            {
                "role_id_then": r.role_id,
                "department_id_then": r.department_id,
                "course_id": r.course_id,
                "total": 0,
                "done": 0,
                "overdue": 0,
            },
        )
        g["total"] += r.total
        g["done"] += r.done
        g["overdue"] += r.overdue
    return totals, list(groups.values())


def history_written(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    """A person's history row: a backdated one rewrites the days from its date on. A person's first row also
    rewrites the days that counted their assignments, which read their record as it is today before they had a
    history: none for someone just added, whose assignments come after it."""
    if not created:
        return
    if not type(instance).objects.filter(person_id=instance.person_id).exclude(pk=instance.pk).exists():
        first = Assignment.objects.filter(user_id=instance.person_id).order_by("created_at").first()
        if first is not None:
            forget_from(timezone.localdate(first.created_at))
    elif instance.valid_from < timezone.localdate():
        forget_from(instance.valid_from)


def backdated(sender: Any, instance: Any, **kwargs: Any) -> None:
    """An assignment or completion saved with a time earlier than today (imports, corrections, tests) changes the
    days from then on; the product's own actions carry the present time and change no stored day. (An assignment
    saved again carries its earlier creation time, so it drops today's figures too.)"""
    today = timezone.localdate()
    moments = (getattr(instance, name, None) for name in ("created_at", "completed_at", "cancelled_at"))
    earlier = [day for day in (timezone.localdate(m) for m in moments if m is not None) if day < today]
    if earlier:
        forget_from(min(earlier))


TODAY_FIELDS = ("workforce_role_id", "department_id", "manager_id", "terminated_on", "hire_date")
_SAVED_FIELDS = frozenset({"workforce_role", "department", "manager", "terminated_on", "hire_date"})


def _saves_today_fields(instance: Any, update_fields: Any) -> bool:
    return instance.pk is not None and (update_fields is None or bool(_SAVED_FIELDS & set(update_fields)))


def person_saving(sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any) -> None:
    """Before a person's record is saved: what today's figures group and count them by, as it stands (one query;
    none for a save of other fields only, such as a sign-in's last login)."""
    if _saves_today_fields(instance, update_fields):
        instance._today_before = type(instance).objects.filter(pk=instance.pk).values_list(*TODAY_FIELDS).first()


def person_saved(sender: Any, instance: Any, created: bool = False, update_fields: Any = None, **kwargs: Any) -> None:
    """A person's record saved with another role, department, manager, leaving or hire date: the groups of today's
    figures they left and joined are noted stale, which moves the mark (`records_mark`)."""
    if created or not _saves_today_fields(instance, update_fields):
        return
    before = instance.__dict__.pop("_today_before", None)
    after = tuple(getattr(instance, name) for name in TODAY_FIELDS)
    if before is None:  # saved under a primary key not in the table yet
        forget_today()
    elif tuple(before) != after:
        hired_after = _hired_after(timezone.localdate())
        new_hire = before[4] != after[4] or any(h is not None and h > hired_after for h in (before[4], after[4]))
        StaleGroup.objects.bulk_create(
            StaleGroup(role_id=r, department_id=d, manager_id=m, person_id=instance.pk, new_hire=new_hire)
            for r, d, m in {tuple(before)[:3], after[:3]}
        )
