"""Read-side queries for the sections of the auditor's PDF report that the dashboard does not show: each security
reminder, each new hire, each retraining after a material change, the audit chain and its anchor, and the
wide tables cut into chunks of columns that fit a page.

Each function runs a fixed number of queries, whatever the size of the workforce.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Q
from django.utils import timezone

from courses.models import CourseVersion, PolicyVersion
from hipaa_training import audit
from hipaa_training.models import AuditEvent
from roles.models import Assignment, Bulletin, BulletinAcknowledgement, BulletinDelivery

from . import reports
from .exports import ExportFilters
from .models import PolicyAcknowledgement

# How many module columns one table of the role x module grids holds (landscape Letter); more are continued
# in another table that repeats the role column, so a grid is never cut at the right edge.
GRID_COLUMNS_PER_TABLE = 8


@dataclass(frozen=True)
class Period:
    """The report's period: records from `start` (None: the first record) to `end`, status as of `as_of`."""

    start: dt.date | None
    end: dt.date
    as_of: dt.date

    @classmethod
    def of(cls, filters: ExportFilters) -> Period:
        as_of = filters.as_of or filters.end or timezone.localdate()
        return cls(start=filters.start, end=filters.upper or as_of, as_of=as_of)

    def q(self, name: str) -> Q:
        """`name` (a datetime field) falls in the period."""
        q = Q(**{f"{name}__lt": reports.end_of_day(self.end)})
        if self.start:
            q &= Q(**{f"{name}__gte": timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))})
        return q


def program_modules(program: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The program told once per module (its current version, the regulation it serves and the roles that
    require it), so the regulation is not repeated for every role; the days allowed are in the grid."""
    modules: dict[int, dict[str, Any]] = {}
    for entry in program:
        for m in entry["modules"]:
            row = modules.setdefault(m["course"].pk, {"course": m["course"], "version": m["version"], "roles": []})
            row["roles"].append(entry["role"].name)
    return sorted(modules.values(), key=lambda r: r["course"].title.lower())


def column_chunks(header: list[str], rows: list[list[Any]], size: int = GRID_COLUMNS_PER_TABLE) -> list[dict[str, Any]]:
    """Cut a table whose first column names the row into tables of at most `size` further columns each,
    every one repeating the first column: [{"header": [...], "rows": [[...], ...], "part": n, "parts": m}]."""
    width = max(len(header) - 1, 0)
    starts = list(range(1, width + 1, size)) or [1]
    return [
        {
            "header": [header[0], *header[start : start + size]],
            "rows": [[row[0], *row[start : start + size]] for row in rows],
            "part": n,
            "parts": len(starts),
        }
        for n, start in enumerate(starts, start=1)
    ]


def completion_chunks(matrix: reports.Matrix, size: int = GRID_COLUMNS_PER_TABLE) -> list[dict[str, Any]]:
    """The role x module completion matrix in chunks of columns: each row is (role, cells, total), the total
    (all modules) only in the last chunk."""
    table = matrix.table()
    chunks = column_chunks(
        ["Workforce role", *[title for _, title in matrix.columns]], [[r[0], *r[1]] for r in table], size
    )
    for chunk in chunks:
        last = chunk["part"] == chunk["parts"]
        chunk["rows"] = [
            (row[0], row[1:], total if last else None) for row, (_, _, total) in zip(chunk["rows"], table, strict=True)
        ]
        chunk["totals"] = last
    return chunks


# --- security reminders (45 CFR 164.308(a)(5)(ii)(A)) ---


@dataclass
class ReminderRow:
    bulletin: Bulletin
    audience: str
    delivered: int
    acknowledged: int

    @property
    def percent(self) -> int | None:
        return reports.percent(self.acknowledged, self.delivered)


REMINDER_METHOD = "E-mail to each person in the audience; shown in the product until they acknowledge it"


def security_reminders(period: Period) -> list[ReminderRow]:
    """Each security reminder sent in the period: its audience, deliveries and acknowledgements by the end of
    the period (4 queries)."""
    end = reports.end_of_day(period.end)
    bulletins = list(Bulletin.objects.filter(period.q("send_at")).prefetch_related("roles").order_by("send_at", "pk"))
    ids = [b.pk for b in bulletins]
    delivered = dict(
        BulletinDelivery.objects.filter(bulletin_id__in=ids, sent_at__lt=end)
        .values("bulletin_id")
        .annotate(n=Count("pk"))
        .values_list("bulletin_id", "n")
    )
    acknowledged = dict(
        BulletinAcknowledgement.objects.filter(bulletin_id__in=ids, acknowledged_at__lt=end)
        .values("bulletin_id")
        .annotate(n=Count("pk"))
        .values_list("bulletin_id", "n")
    )
    return [
        ReminderRow(
            bulletin=b,
            audience="Everyone" if b.everyone else ", ".join(sorted(r.name for r in b.roles.all())),
            delivered=delivered.get(b.pk, 0),
            acknowledged=acknowledged.get(b.pk, 0),
        )
        for b in bulletins
    ]


# --- policies and procedures (45 CFR 164.530(i)-(j)) ---


@dataclass
class PolicySection:
    versions: list[PolicyVersion]
    acknowledgements: list[PolicyAcknowledgement]


def policies(period: Period) -> PolicySection:
    """Every policy version published by the end of the period (how many people were asked to acknowledge it and
    how many did, by then), and each acknowledgement made in the period (2 queries)."""
    end = reports.end_of_day(period.end)
    versions = list(
        PolicyVersion.objects.filter(published_at__lt=end)
        .select_related("policy")
        .defer("pdf", "body_markdown", "body_html")
        .annotate(
            asked=Count("assignments", filter=Q(assignments__created_at__lt=end), distinct=True),
            acked=Count("acknowledgements", filter=Q(acknowledgements__acknowledged_at__lt=end), distinct=True),
        )
        .order_by("policy__title", "number")
    )
    acknowledgements = list(
        PolicyAcknowledgement.objects.filter(period.q("acknowledged_at"))
        .select_related("person", "version__policy")
        .defer("version__pdf", "version__body_markdown", "version__body_html")
        .order_by("acknowledged_at", "pk")
    )
    return PolicySection(versions, acknowledgements)


# --- new hires (45 CFR 164.530(b)(2)(i)(B)) ---


@dataclass
class NewHireRow:
    name: str
    email: str
    role: str
    department: str
    hired: dt.date
    due: dt.date
    modules: int
    done: int
    late: int
    completed: dt.date | None
    as_of: dt.date

    @property
    def days(self) -> int | None:
        """Days from hire to the last new-hire module completed (None until all are)."""
        return (self.completed - self.hired).days if self.completed else None

    @property
    def status(self) -> str:
        if self.completed:
            return "late" if self.late else "on time"
        return "overdue" if self.due < self.as_of else "in window"

    @property
    def is_late(self) -> bool:
        return self.status in ("late", "overdue")


def new_hire_window(period: Period) -> tuple[dt.date, dt.date]:
    """Who counts as a new hire: hired in the period or, with no start, in the dashboard's window before the
    "as of" day (the summary figures use the same window)."""
    if period.start:
        return period.start, min(period.end, period.as_of)
    return period.as_of - dt.timedelta(days=reports.new_hire_window_days() - 1), period.as_of


def new_hires(period: Period) -> list[NewHireRow]:
    """Each new hire with their new-hire modules: hire date, last due date, completion and days to train (1 query)."""
    day = period.as_of
    first, last = new_hire_window(period)
    grouped = (
        reports.assignments_as_of(reports.Filters(as_of=day))
        .filter(reason=Assignment.NEW_HIRE, user__hire_date__gte=first, user__hire_date__lte=last)
        .values(
            "user_id",
            "user__full_name",
            "user__email",
            "user__hire_date",
            "user__workforce_role__name",
            "user__department__name",
        )
        .annotate(
            n=Count("id"),
            done=Count("id", filter=reports.done_q(day)),
            late=Count("id", filter=reports.done_q(day) & ~reports.on_time_q(day)),
            due=Max("due_on"),
            last_done=Max("completed_at", filter=reports.done_q(day)),
        )
        .order_by("user__hire_date", "user__full_name", "user_id")
    )
    return [
        NewHireRow(
            name=g["user__full_name"],
            email=g["user__email"],
            role=g["user__workforce_role__name"] or "no role",
            department=g["user__department__name"] or "no department",
            hired=g["user__hire_date"],
            due=g["due"],
            modules=g["n"],
            done=g["done"],
            late=g["late"],
            completed=timezone.localdate(g["last_done"]) if g["done"] == g["n"] and g["last_done"] else None,
            as_of=day,
        )
        for g in grouped
    ]


# --- retraining after a material change (45 CFR 164.530(b)(2)(i)(C)) ---


@dataclass
class RetrainingRow:
    name: str
    email: str
    assigned: dt.date
    due: dt.date
    completed: dt.date | None
    as_of: dt.date

    @property
    def status(self) -> str:
        if self.completed:
            return "late" if self.completed > self.due else "on time"
        return "overdue" if self.due < self.as_of else "open"


@dataclass
class RetrainingVersion:
    version: CourseVersion
    people: list[RetrainingRow] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for p in self.people if p.completed)

    @property
    def percent(self) -> int | None:
        return reports.percent(self.done, len(self.people))


def retraining(period: Period) -> list[RetrainingVersion]:
    """Each material version published in the period, its change note, who had to retrain because of it and
    who has, as of the day (2 queries). A retraining assignment belongs to the newest material version of its
    module published on or before the day it was assigned."""
    day = period.as_of
    material = list(
        CourseVersion.objects.filter(material=True, number__gt=1, published_at__lt=reports.end_of_day(period.end))
        .select_related("course")
        .order_by("published_at", "pk")
    )
    shown = [
        RetrainingVersion(v)
        for v in material
        if period.start is None or timezone.localdate(v.published_at) >= period.start
    ]
    if not shown:
        return []
    by_course: dict[int, list[RetrainingVersion]] = defaultdict(list)
    for entry in [RetrainingVersion(v) for v in material]:
        by_course[entry.version.course_id].append(entry)
    by_pk = {e.version.pk: e for e in shown}
    rows = (
        reports.assignments_as_of(reports.Filters(as_of=day))
        .filter(reason=Assignment.NEW_VERSION, course_id__in={e.version.course_id for e in shown})
        .values_list("course_id", "user__full_name", "user__email", "assigned_on", "due_on", "completed_at")
        .order_by("user__full_name", "user_id", "assigned_on")
    )
    end = reports.end_of_day(day)
    for course_id, name, email, assigned, due, completed in rows:
        owner = None
        for entry in by_course[course_id]:
            if timezone.localdate(entry.version.published_at) <= assigned:
                owner = entry.version.pk
        if owner not in by_pk:
            continue
        done = timezone.localdate(completed) if completed and completed < end else None
        by_pk[owner].people.append(RetrainingRow(name, email, assigned, due, done, day))
    return shown


# --- the audit chain's head and the anchor that covers it ---


@dataclass
class ChainState:
    head: AuditEvent | None
    anchor: dict[str, Any] | None
    anchored_hash: str | None  # the hash the chain holds today at the anchor's sequence number

    @property
    def anchor_matches(self) -> bool | None:
        if not self.anchor or self.anchored_hash is None:
            return None
        return self.anchored_hash == self.anchor.get("hash")

    @property
    def since_anchor(self) -> int:
        """Events after the anchored one, linked to it by the hash chain until the next anchor signs them."""
        if not self.head:
            return 0
        return max(self.head.seq - int((self.anchor or {}).get("seq") or 0), 0)


def chain_state() -> ChainState:
    """The newest audit event, the newest signed anchor, and whether the chain still holds the anchored hash
    (2 queries; the anchor log is a file)."""
    head = audit.head()
    anchor = reports.latest_anchor()
    anchored = None
    if anchor and anchor.get("seq"):
        anchored = AuditEvent.objects.filter(seq=anchor["seq"]).values_list("hash", flat=True).first()
    return ChainState(head=head, anchor=anchor, anchored_hash=anchored)
