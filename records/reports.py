"""Read-side queries for the compliance officer's dashboard, the manager's team page, transcripts and reports.

Every figure is rebuilt from the records for a day D ("as of"), so the dashboard can show the program as it stood:
- an assignment existed on D when it was assigned (assigned_on and created_at) by D and not cancelled by D,
  and its person was in the workforce on D;
- it was completed by D when completed_at falls on or before D;
- it was overdue on D when it existed, was not completed by D, and was due before D;
- people are counted, filtered and grouped by the role, department and manager they had ON D, read from their
  history (roles/history.py), not by today's.

Each function runs a fixed number of GROUP BY queries, whatever the size of the workforce.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from courses.models import Course, CourseVersion
from hipaa_training import anchor, audit
from roles import history
from roles.models import (
    Assignment,
    Bulletin,
    BulletinAcknowledgement,
    BulletinDelivery,
    Department,
    User,
    WorkforceRole,
)

from . import summaries
from .conditions import (
    DUE_SOON_DAYS,
    Filters,
    done_q,
    due_soon_q,
    end_of_day,
    existed_q,
    new_hire_outcomes,
    new_hire_window_days,
    on_time_q,
    overdue_q,
    people_q,
    trend_days,
)
from .models import QuizAttempt

ABSENT, OPEN, DONE, OVERDUE = 0, 1, 2, 3  # an assignment's state at a trend point


def list_limit() -> int:
    return int(getattr(settings, "DASHBOARD_LIST_LIMIT", 25))


def with_names_on(qs: QuerySet[Assignment], day: dt.date) -> QuerySet[Assignment]:
    """Each assignment with its person's role and department on `day`: `role_id_then`, `department_id_then` and
    their names `role_then`, `department_then` (correlated subqueries: no extra query)."""
    return qs.annotate(
        role_id_then=history.field_on(day, "workforce_role"),
        department_id_then=history.field_on(day, "department"),
    ).annotate(
        role_then=Subquery(WorkforceRole.objects.filter(pk=OuterRef("role_id_then")).values("name")[:1]),
        department_then=Subquery(Department.objects.filter(pk=OuterRef("department_id_then")).values("name")[:1]),
    )


RELATED = ("user", "user__department", "user__workforce_role", "course")


def first_due(qs: QuerySet[Assignment], day: dt.date, limit: int) -> list[Assignment]:
    """The first `limit` assignments of `qs` in (due date, person's name) order, with their people's role and
    department on `day`, in three short index walks instead of sorting every row: the first `limit` by due
    date alone fix the last due date the list reaches; the rows due before it are all in; the rest come from
    the people due that day taken in name order (a whole workforce may share one due date). 3 queries (1 if none)."""
    head = list(qs.order_by("due_on").values_list("pk", "due_on")[:limit])
    if not head:
        return []
    last = head[-1][1]
    ids = [pk for pk, due in head if due < last]
    tied = qs.filter(due_on=last).order_by("user__full_name", "user_id", "pk")
    ids += list(tied.values_list("pk", flat=True)[: limit - len(ids)])
    named = with_names_on(Assignment.objects.filter(pk__in=ids), day).select_related(*RELATED)
    return list(named.order_by("due_on", "user__full_name", "user_id", "pk"))


def assignments_as_of(filters: Filters) -> QuerySet[Assignment]:
    """Assignments that existed on filters.as_of for people in the workforce that day, narrowed by the filters."""
    return _narrowed(Assignment.objects.filter(existed_q(filters.as_of)), filters)


def _narrowed(qs: QuerySet[Assignment], filters: Filters) -> QuerySet[Assignment]:
    """The filters applied as the workforce stood on the "as of" day (role, department, manager from the history)."""
    qs = qs.filter(people_q(filters))
    if filters.course_id:
        qs = qs.filter(course_id=filters.course_id)
    return qs.order_by()


def percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


@dataclass
class Cell:
    total: int = 0
    done: int = 0
    overdue: int = 0

    @property
    def percent(self) -> int | None:
        return percent(self.done, self.total)

    @property
    def band(self) -> str:
        return heat(self)


@dataclass
class Matrix:
    """Rows (roles or departments) x columns (modules), each cell the assignments in that group."""

    rows: list[tuple[int | None, str]]
    columns: list[tuple[int, str]]
    cells: dict[tuple[int | None, int], Cell]
    row_totals: dict[int | None, Cell]
    column_totals: dict[int, Cell]
    short: dict[int, str] = field(default_factory=dict)

    @property
    def heads(self) -> list[tuple[int, str, str]]:
        """(id, full title, short label) of each module column."""
        return [(key, title, self.short.get(key, title)) for key, title in self.columns]

    def labelled(self) -> list[tuple[str, list[tuple[str, Cell | None]], Cell]]:
        """The table's rows with each cell's module short label, for tables that stack on phones."""
        return [
            (
                label,
                [(self.short.get(col, title), self.cells.get((key, col))) for col, title in self.columns],
                self.row_totals[key],
            )
            for key, label in self.rows
        ]

    def table(self) -> list[tuple[str, list[Cell | None], Cell]]:
        return [
            (label, [self.cells.get((key, col)) for col, _ in self.columns], self.row_totals[key])
            for key, label in self.rows
        ]


@dataclass
class _MatrixBuilder:
    """Adds up the grouped rows into one matrix; `key`/`label` name the row's id and name in each group."""

    key: str
    label: str
    empty: str
    rows: dict[int | None, str] = field(default_factory=dict)
    columns: dict[int, str] = field(default_factory=dict)
    cells: dict[tuple[int | None, int], Cell] = field(default_factory=dict)
    row_totals: dict[int | None, Cell] = field(default_factory=dict)
    column_totals: dict[int, Cell] = field(default_factory=dict)
    short: dict[int, str] = field(default_factory=dict)

    def add(self, g: dict[str, Any]) -> None:
        row_key, col = g[self.key], g["course_id"]
        self.rows[row_key] = g[self.label] or self.empty
        self.columns[col] = g["course__title"]
        self.short[col] = short_label(g["course__slug"], g["course__title"])
        for cell in (
            self.cells.setdefault((row_key, col), Cell()),
            self.row_totals.setdefault(row_key, Cell()),
            self.column_totals.setdefault(col, Cell()),
        ):
            cell.total += g["total"]
            cell.done += g["done"]
            cell.overdue += g["overdue"]

    def matrix(self) -> Matrix:
        return Matrix(
            rows=sorted(self.rows.items(), key=lambda kv: kv[1].lower()),
            # The modules most people take first, then by title.
            columns=sorted(self.columns.items(), key=lambda kv: (-self.column_totals[kv[0]].total, kv[1].lower())),
            cells=self.cells,
            row_totals=self.row_totals,
            column_totals=self.column_totals,
            short=self.short,
        )


def _matrices(qs: QuerySet[Assignment], day: dt.date) -> tuple[Matrix, Matrix]:
    """Role x module and department x module from ONE grouped query (role, department, module), each person in
    the role and department they had on `day`. It groups by ids alone (names would make the database expect a
    group per name combination and sort instead of hashing); the few names come from three small queries."""
    grouped = (
        qs.annotate(
            role_id_then=history.field_on(day, "workforce_role"),
            department_id_then=history.field_on(day, "department"),
        )
        .values("role_id_then", "department_id_then", "course_id")
        .annotate(total=Count("id"), done=Count("id", filter=done_q(day)), overdue=Count("id", filter=overdue_q(day)))
        .order_by()
    )
    return _matrices_from(list(grouped))


def _matrices_from(groups: list[dict[str, Any]]) -> tuple[Matrix, Matrix]:
    """The two matrices from groups of (role_id_then, department_id_then, course_id, total, done, overdue)."""
    roles = dict(WorkforceRole.objects.values_list("pk", "name"))
    departments = dict(Department.objects.values_list("pk", "name"))
    courses = {pk: (title, slug) for pk, title, slug in Course.objects.values_list("pk", "title", "slug")}
    role = _MatrixBuilder("role_id_then", "role_then", "(no role)")
    department = _MatrixBuilder("department_id_then", "department_then", "(no department)")
    for g in groups:
        title, slug = courses[g["course_id"]]
        named = {
            **g,
            "role_then": roles.get(g["role_id_then"]),
            "department_then": departments.get(g["department_id_then"]),
            "course__title": title,
            "course__slug": slug,
        }
        role.add(named)
        department.add(named)
    return role.matrix(), department.matrix()


@dataclass
class NewHires:
    """People hired in the window before D, and whether they finished their new-hire modules by the due date
    (45 CFR 164.530(b)(2)(i)(B): within a reasonable period after joining)."""

    people: int = 0
    trained: int = 0
    trained_on_time: int = 0
    still_in_window: int = 0
    median_days: float | None = None
    window_days: int = 365

    @property
    def judged(self) -> int:
        """New hires whose window has closed, or who finished early: the denominator of the on-time rate."""
        return self.people - self.still_in_window

    @property
    def on_time_percent(self) -> int | None:
        return percent(self.trained_on_time, self.judged)


def new_hires(filters: Filters, *, stored: bool = False) -> NewHires:
    """The new hires of the "as of" day for the filters: from the stored figures when `stored` (the day's, or
    today's so far), else counted from the records in one query."""
    summary = NewHires(window_days=new_hire_window_days())
    groups = summaries.new_hire_figures(filters) if stored else None
    if groups is None:
        groups = [
            (trained * people, on_time * people, waiting * people, {took: people} if took is not None else {}, people)
            for trained, on_time, waiting, took, people in new_hire_outcomes(
                assignments_as_of(filters), filters.as_of, []
            )
        ]
    taken: Counter[int] = Counter()
    for trained, on_time, waiting, days, people in groups:
        summary.people += people
        summary.trained += trained
        summary.trained_on_time += on_time
        summary.still_in_window += waiting
        taken.update(days)
    days_list = sorted(taken.elements())
    summary.median_days = statistics.median(days_list) if days_list else None
    return summary


@dataclass
class Retraining:
    """Retraining assigned because a new material version was published (45 CFR 164.530(b)(2)(i)(C))."""

    versions: list[CourseVersion]
    by_course: list[dict[str, Any]]
    outstanding: list[Assignment]
    outstanding_count: int = 0


def retraining(filters: Filters, *, stored: bool = False) -> Retraining:
    """Retraining by module, from the day's stored figures when `stored`, else counted from the records; the
    versions that called for it and the first people still to do it."""
    day = filters.as_of
    qs = assignments_as_of(filters).filter(reason=Assignment.NEW_VERSION)
    if stored:
        by_course = summaries.retraining_figures(filters)
    else:
        by_course = list(
            qs.values("course_id", "course__title")
            .annotate(
                due=Count("id"),
                done=Count("id", filter=done_q(day)),
                overdue=Count("id", filter=overdue_q(day)),
            )
            .order_by("course__title")
        )
    for row in by_course:
        row["percent"] = percent(row["done"], row["due"])
    versions = CourseVersion.objects.filter(material=True, number__gt=1, published_at__lt=end_of_day(day))
    if filters.course_id:
        versions = versions.filter(course_id=filters.course_id)
    open_qs = qs.exclude(done_q(day))
    outstanding = first_due(open_qs, day, list_limit())
    return Retraining(
        versions=list(versions.order_by("-published_at")[:20]),
        by_course=by_course,
        outstanding=outstanding,
        outstanding_count=sum(r["due"] - r["done"] for r in by_course),
    )


def security_reminders(filters: Filters) -> dict[str, Any] | None:
    """Acknowledgement of security reminders (45 CFR 164.308(a)(5)(ii)(A)), as of the day (3 queries)."""
    end = end_of_day(filters.as_of)
    people = people_q(filters, person="person_id")
    bulletins = list(Bulletin.objects.filter(send_at__lt=end).order_by("-send_at")[:20])
    if not bulletins:
        return None
    ids = [b.pk for b in bulletins]
    delivered = dict(
        BulletinDelivery.objects.filter(people, bulletin_id__in=ids, sent_at__lt=end)
        .values("bulletin_id")
        .annotate(n=Count("pk"))
        .values_list("bulletin_id", "n")
    )
    acknowledged = dict(
        BulletinAcknowledgement.objects.filter(people, bulletin_id__in=ids, acknowledged_at__lt=end)
        .values("bulletin_id")
        .annotate(n=Count("pk"))
        .values_list("bulletin_id", "n")
    )
    rows = [
        {
            "title": b.title,
            "send_at": b.send_at,
            "delivered": delivered.get(b.pk, 0),
            "acknowledged": acknowledged.get(b.pk, 0),
            "percent": percent(acknowledged.get(b.pk, 0), delivered.get(b.pk, 0)),
        }
        for b in bulletins
    ]
    return {"rows": rows}


def latest_anchor() -> Any:
    """The audit chain's latest signed anchor, or None before the first one."""
    return anchor.latest_anchor()


def audit_state() -> dict[str, Any]:
    """The audit trail's head and its latest signed anchor (the verification banner sits above the page)."""
    head = audit.head()
    return {"head": head, "anchor": latest_anchor()}


# Short column heads for the heat map; the full title is on hover and in the key beside it. Modules are
# data, so a course not named here gets the first word of its title.
SHORT_LABELS = {
    "security-awareness": "Security",
    "privacy-essentials": "Privacy",
    "leadership-oversight": "Leaders",
    "billing-privacy": "Billing",
    "patient-communication": "Patients",
    "privileged-access-security": "Admin IT",
    "compliance-program": "Program",
    "confidentiality-basics": "Confid.",
}


def short_label(slug: str, title: str) -> str:
    return SHORT_LABELS.get(slug) or (title.split() or [title])[0][:10]


def _trend_live(days: list[dt.date], filters: Filters) -> dict[dt.date, tuple[int, int, int]]:
    """(total, done, overdue) on each of `days`, counted from the records in one query: each assignment's state
    on each day is worked out once per row in a derived table, so the history lookups are not repeated for each
    figure (Django would repeat the expression inside each COUNT)."""
    if not days:
        return {}
    statuses: dict[str, Case] = {}
    for i, day in enumerate(days):
        exists = existed_q(day) & people_q(filters, day)  # each point counts the workforce as it stood that day
        statuses[f"s{i}"] = Case(
            When(
                exists,
                then=Case(
                    When(done_q(day), then=Value(DONE)),
                    When(overdue_q(day), then=Value(OVERDUE)),
                    default=Value(OPEN),
                ),
            ),
            default=Value(ABSENT),
            output_field=IntegerField(),
        )
    scope = Assignment.objects.filter(course_id=filters.course_id) if filters.course_id else Assignment.objects.all()
    inner, params = scope.order_by().annotate(**statuses).values(*statuses).query.sql_with_params()
    sums = ", ".join(
        f"SUM(CASE WHEN s{i} > {ABSENT} THEN 1 ELSE 0 END), SUM(CASE WHEN s{i} = {DONE} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN s{i} = {OVERDUE} THEN 1 ELSE 0 END)"
        for i in range(len(days))
    )
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""  # PostgreSQL would inline s{i} into each SUM
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sums} FROM ({inner}{fence}) AS points", params)
        row = cursor.fetchone()
    return {day: (row[3 * i] or 0, row[3 * i + 1] or 0, row[3 * i + 2] or 0) for i, day in enumerate(days)}


def trend(filters: Filters, known: dict[dt.date, tuple[int, int, int]] | None = None) -> dict[str, Any]:
    """Percent complete and overdue at each of the last 12 months' points, drawn as a server-rendered SVG line
    (viewBox 420 x 225: plot from x 40 to 405, y 20 (100%) to 190 (0%)). Past days the nightly task has stored
    come from their stored figures (records/summaries.py, one query); `known` days (the dashboard passes its own
    headline counts for the "as of" day) are not counted again; the others are counted live, in one more query."""
    days = trend_days(filters.as_of)
    stored = summaries.stored_days([d for d in days if d < timezone.localdate()])
    from_store = summaries.figures(sorted(stored), filters) if stored else {}
    counted = {day: from_store.get(day, (0, 0, 0)) for day in stored}
    counted.update(known or {})  # the "as of" day's own figures, which the dashboard has counted already
    counted.update(_trend_live([d for d in days if d not in counted], filters))
    points = []
    step = 365 / (len(days) - 1)
    for i, day in enumerate(days):
        total, done, overdue = counted[day]
        value = percent(done, total)
        x = round(40 + i * step, 1)
        y = round(190 - 1.7 * (value or 0), 1)
        points.append(
            {
                "day": day,
                "total": total,
                "done": done,
                "overdue": overdue,
                "percent": value,
                "x": x,
                "y": y,
                "label_y": y - 8 if y > 34 else y + 16,
            }
        )
    drawn = [p for p in points if p["percent"] is not None]
    return {
        "points": points,
        "line": " ".join(f"{p['x']},{p['y']}" for p in drawn),
        "grid": [{"value": v, "y": round(190 - 1.7 * v, 1)} for v in (0, 25, 50, 75, 100)],
    }


def heat(cell: Cell | None) -> str:
    """The heat map's band for a cell, said in words too (the cell's text gives the figure)."""
    if cell is None or cell.percent is None:
        return "none"
    if cell.percent >= 90:
        return "good"
    return "fair" if cell.percent >= 70 else "poor"


@dataclass
class Dashboard:
    filters: Filters
    total: int
    done: int
    overdue: int
    due_soon: int
    on_time: int
    people: int
    by_role: Matrix
    by_department: Matrix
    overdue_list: list[Assignment]
    due_soon_list: list[Assignment]
    new_hires: NewHires
    retraining: Retraining
    security_reminders: dict[str, Any] | None
    audit_state: dict[str, Any] | None = None
    module_chart: dict[str, Any] = field(default_factory=dict)
    role_chart: dict[str, Any] = field(default_factory=dict)
    trend: dict[str, Any] = field(default_factory=dict)
    headline_rows: int = 5  # how many overdue people the first screen shows

    @property
    def overdue_top(self) -> list[Assignment]:
        return self.overdue_list[: self.headline_rows]

    @property
    def percent(self) -> int | None:
        return percent(self.done, self.total)

    @property
    def on_time_percent(self) -> int | None:
        return percent(self.on_time, self.done)

    @property
    def open(self) -> int:
        return self.total - self.done

    @property
    def due_soon_until(self) -> dt.date:
        return self.filters.as_of + dt.timedelta(days=DUE_SOON_DAYS)


def _chart(matrix: Matrix, columns: bool) -> dict[str, Any]:
    """Bars for a server-rendered SVG chart (percent complete), drawn at 2 units per percent."""
    if columns:
        items = [(label, matrix.column_totals[key]) for key, label in matrix.columns]
    else:
        items = [(label, matrix.row_totals[key]) for key, label in matrix.rows]
    bars = [
        {
            "label": label,
            "percent": cell.percent or 0,
            "width": 2 * (cell.percent or 0),
            "done": cell.done,
            "total": cell.total,
            "y": 8 + i * 28,
            "text_y": 24 + i * 28,
        }
        for i, (label, cell) in enumerate(items)
    ]
    return {"bars": bars, "height": 16 + 28 * len(bars)}


def dashboard(filters: Filters, *, with_audit_state: bool = True) -> Dashboard:
    """Every figure of the dashboard for `filters` (a fixed number of queries)."""
    day = filters.as_of
    qs = assignments_as_of(filters)
    stored = summaries.day_figures(filters)
    if stored is not None:  # today's figures so far, or a past day the nightly task or an earlier look stored
        totals, groups = stored
        by_role, by_department = _matrices_from(groups)
    else:
        totals = qs.aggregate(
            total=Count("id"),
            done=Count("id", filter=done_q(day)),
            overdue=Count("id", filter=overdue_q(day)),
            due_soon=Count("id", filter=due_soon_q(day)),
            on_time=Count("id", filter=on_time_q(day)),
            people=Count("user_id", distinct=True),
        )
        by_role, by_department = _matrices(qs, day)
        if not filters.is_today:
            summaries.store_later([day, *trend_days(day)])
    overdue_list = first_due(qs.filter(overdue_q(day)), day, list_limit())
    due_soon_list = first_due(qs.filter(due_soon_q(day)), day, list_limit())
    return Dashboard(
        filters=filters,
        total=totals["total"],
        done=totals["done"],
        overdue=totals["overdue"],
        due_soon=totals["due_soon"],
        on_time=totals["on_time"],
        people=totals["people"],
        by_role=by_role,
        by_department=by_department,
        overdue_list=overdue_list,
        due_soon_list=due_soon_list,
        new_hires=new_hires(filters, stored=stored is not None),
        retraining=retraining(filters, stored=stored is not None),
        security_reminders=security_reminders(filters),
        audit_state=audit_state() if with_audit_state else None,
        module_chart=_chart(by_role, columns=True),
        role_chart=_chart(by_role, columns=False),
        trend=trend(filters, known={day: (totals["total"], totals["done"], totals["overdue"])}),
    )


LISTS: dict[str, Callable[[dt.date], Q]] = {"overdue": overdue_q, "due-soon": due_soon_q}


def assignment_list(filters: Filters, kind: str, limit: int = 1000) -> tuple[int, list[Assignment]]:
    """The whole overdue or due-soon list for the filters (at most 4 queries): its length and its first `limit` rows."""
    qs = assignments_as_of(filters).filter(LISTS[kind](filters.as_of))
    rows = first_due(qs, filters.as_of, limit)
    return (len(rows) if len(rows) < limit else qs.count()), rows


def filter_choices() -> dict[str, list[Any]]:
    return {
        "departments": list(Department.objects.values_list("pk", "name")),
        "roles": list(WorkforceRole.objects.values_list("pk", "name")),
        "courses": list(Course.objects.values_list("pk", "title")),
    }


# --- one person's transcript ---


@dataclass
class TranscriptRow:
    assignment: Assignment
    completion: Any
    certificate: Any
    revocation: Any
    attestation: Any
    attempts: list[QuizAttempt]

    @property
    def status(self) -> str:
        a = self.assignment
        if a.completed_at:
            return "completed"
        if a.cancelled_at:
            return "cancelled"
        return "overdue" if a.is_overdue() else "open"

    @property
    def on_time(self) -> bool | None:
        a = self.assignment
        if not a.completed_at:
            return None
        return timezone.localdate(a.completed_at) <= a.due_on


def _reverse_one(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name)
    except Exception:  # RelatedObjectDoesNotExist: select_related found no row
        return None


# What was asked and answered (JSON) is most of an attempt's row; a transcript shows each attempt's number, time,
# score and version, never its answers.
_ANSWERS = ("question_order", "choice_order", "answers")


def _with_evidence(assignments: QuerySet[Assignment]) -> QuerySet[Assignment]:
    return assignments.select_related(
        "course",
        "completion",
        "completion__version",
        "completion__certificate",
        "completion__certificate__revocation",
    ).prefetch_related(
        Prefetch("attempts", queryset=QuizAttempt.objects.defer(*_ANSWERS)),
        "attempts__version",
        "attestations__version",
    )


def _transcript_row(a: Assignment) -> TranscriptRow:
    completion = _reverse_one(a, "completion")
    certificate = _reverse_one(completion, "certificate") if completion else None
    attestations = list(a.attestations.all())
    return TranscriptRow(
        assignment=a,
        completion=completion,
        certificate=certificate,
        revocation=_reverse_one(certificate, "revocation") if certificate else None,
        attestation=attestations[0] if attestations else None,
        attempts=sorted(a.attempts.all(), key=lambda t: t.number),
    )


def transcript(person: User) -> list[TranscriptRow]:
    """Every assignment of one person with its attempts, attestation, completion and certificate (5 queries)."""
    assignments = _with_evidence(Assignment.objects.filter(user=person))
    return [_transcript_row(a) for a in assignments.order_by("-assigned_on", "course__title", "-cycle")]


def transcripts(people: QuerySet[User], base: QuerySet[Assignment] | None = None) -> dict[int, list[TranscriptRow]]:
    """Transcripts for many people at once (a fixed number of queries), for the PDF report."""
    source = Assignment.objects.all() if base is None else base
    assignments = _with_evidence(source.filter(user__in=people)).order_by(
        "user_id", "-assigned_on", "course__title", "-cycle"
    )
    result: dict[int, list[TranscriptRow]] = {}
    for a in assignments:
        result.setdefault(a.user_id, []).append(_transcript_row(a))
    return result


def program() -> list[dict[str, Any]]:
    """The training program: each workforce role, the modules it requires and the regulation each serves."""
    current = {v.course_id: v for v in CourseVersion.objects.current()}
    roles = WorkforceRole.objects.prefetch_related("requirements__course").order_by("name")
    return [
        {
            "role": role,
            "modules": [
                {"requirement": req, "course": req.course, "version": current.get(req.course_id)}
                for req in role.requirements.all()
            ],
        }
        for role in roles
    ]
