"""CSV exports for auditors, streamed: rows are read from the database in chunks and written as they come,
so memory stays flat whatever the number of rows.

Cells a spreadsheet would run as a formula (starting with = + - @ tab or carriage return) get a leading
apostrophe, so a name like =HYPERLINK("http://x") is shown as text, never run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from hipaa_training.models import AuditEvent
from roles.models import Assignment, BulletinAcknowledgement, BulletinDelivery

from .models import AttestationSignature, PolicyAcknowledgement, QuizAttempt
from .reports import end_of_day, with_names_on

# The earliest day a filter may name: no training record predates the HIPAA Security Rule (2003), and a day near
# year 1 would overflow the date arithmetic of the "as of" rebuild.
EARLIEST_DAY = dt.date(2000, 1, 1)
CHUNK_SIZE = 5000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_START)


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in _FORMULA_FIRST:
        return "'" + value
    return value


def _when(value: dt.datetime | None, tz: dt.tzinfo | None = None) -> str:
    """Local time, to the second. Row loops pass `tz`: looking the zone up costs more than the formatting."""
    if not value:
        return ""
    return value.astimezone(tz or timezone.get_current_timezone()).isoformat(timespec="seconds")


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


@dataclass(frozen=True)
class ExportFilters:
    """`start`/`end` bound each export's own date (inclusive); `as_of` shows records as they stood that day."""

    start: dt.date | None = None
    end: dt.date | None = None
    as_of: dt.date | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {k: v.isoformat() if v else None for k, v in vars(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportFilters:
        """The filters `as_dict` stored (on a ReportJob)."""

        def day(key: str) -> dt.date | None:
            value = data.get(key)
            return dt.date.fromisoformat(value) if value else None

        return cls(start=day("start"), end=day("end"), as_of=day("as_of"))

    @property
    def upper(self) -> dt.date | None:
        """The last day any record may fall on: the earlier of `end` and `as_of`."""
        days = [d for d in (self.end, self.as_of) if d]
        return min(days) if days else None


def _between(field: str, filters: ExportFilters, *, use_as_of: bool = True) -> Q:
    q = Q()
    if filters.start:
        q &= Q(**{f"{field}__gte": timezone.make_aware(dt.datetime.combine(filters.start, dt.time.min))})
    upper = filters.upper if use_as_of else filters.end
    if upper:
        q &= Q(**{f"{field}__lt": end_of_day(upper)})
    return q


# --- training records: one row per assignment ---

TRAINING_HEADER = [
    "person",
    "email",
    "department",
    "workforce_role",
    "module",
    "version",
    "assigned",
    "due",
    "completed",
    "score",
    "on_time",
    "certificate_code",
    "attestation_time",
    "status",
]


def training_queryset(filters: ExportFilters) -> QuerySet[Assignment]:
    qs = Assignment.objects.all()
    if filters.as_of:
        end = end_of_day(filters.as_of)
        qs = qs.filter(
            Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=end), assigned_on__lte=filters.as_of, created_at__lt=end
        )
    if filters.start:
        qs = qs.filter(Q(assigned_on__gte=filters.start) | _between("completed_at", filters))
    if filters.end:
        qs = qs.filter(assigned_on__lte=filters.end)
    return qs.order_by("user__full_name", "user_id", "course__title", "cycle")


def training_rows(filters: ExportFilters) -> Iterator[list[Any]]:
    tz = timezone.get_current_timezone()
    yield TRAINING_HEADER
    as_of_end = end_of_day(filters.as_of) if filters.as_of else None
    today = filters.as_of or timezone.localdate()
    qs = training_queryset(filters)
    # With an "as of" day, each person's department and role as they stood that day (their history).
    columns = (
        ("department_then", "role_then") if filters.as_of else ("user__department__name", "user__workforce_role__name")
    )
    if filters.as_of:
        qs = with_names_on(qs, filters.as_of)
    rows = qs.values_list(
        "user__full_name",
        "user__email",
        *columns,
        "course__title",
        "completion__version__number",
        "assigned_on",
        "due_on",
        "completed_at",
        "completion__score",
        "completion__certificate__code",
        "completion__attestation__signed_at",
        "cancelled_at",
    )
    values: Iterator[tuple[Any, ...]] = rows.iterator(chunk_size=CHUNK_SIZE)
    for name, email, dept, role, module, version, assigned, due, done, score, cert, signed, cancelled in values:
        if as_of_end is not None and done is not None and done >= as_of_end:
            done = version = score = cert = signed = None  # finished after the "as of" day: open on that day
        if done is not None:
            on_time = "yes" if done.astimezone(tz).date() <= due else "no"
            status = "completed"
        elif cancelled is not None and (as_of_end is None or cancelled < as_of_end):
            on_time, status = "", "cancelled"
        else:
            on_time, status = "", "overdue" if due < today else "open"
        yield [
            name,
            email,
            dept or "",
            role or "",
            module,
            version or "",
            _day(assigned),
            _day(due),
            _when(done, tz),
            "" if score is None else score,
            on_time,
            cert or "",
            _when(signed, tz),
            status,
        ]


# --- attestations, quiz attempts, audit events ---


def attestation_rows(filters: ExportFilters) -> Iterator[list[Any]]:
    tz = timezone.get_current_timezone()
    yield ["person", "email", "module", "version", "typed_name", "signed_at", "statement_sha256", "ip", "user_agent"]
    qs = (
        AttestationSignature.objects.filter(_between("signed_at", filters))
        .order_by("signed_at", "pk")
        .values_list(
            "assignment__user__full_name",
            "assignment__user__email",
            "version__title",
            "version__number",
            "typed_name",
            "signed_at",
            "statement_sha256",
            "ip_address",
            "user_agent",
        )
    )
    for name, email, module, number, typed, signed, sha, ip, ua in qs.iterator(chunk_size=CHUNK_SIZE):
        yield [name, email, module, number, typed, _when(signed, tz), sha, ip or "", ua]


def attempt_rows(filters: ExportFilters) -> Iterator[list[Any]]:
    tz = timezone.get_current_timezone()
    yield ["person", "email", "module", "version", "attempt", "score", "passed", "submitted_at"]
    qs = (
        QuizAttempt.objects.filter(_between("submitted_at", filters))
        .order_by("submitted_at", "pk")
        .values_list(
            "assignment__user__full_name",
            "assignment__user__email",
            "version__title",
            "version__number",
            "number",
            "score",
            "passed",
            "submitted_at",
        )
    )
    for name, email, module, version, number, score, passed, submitted in qs.iterator(chunk_size=CHUNK_SIZE):
        yield [name, email, module, version, number, score, "yes" if passed else "no", _when(submitted, tz)]


def audit_rows(filters: ExportFilters) -> Iterator[list[Any]]:
    tz = timezone.get_current_timezone()
    yield ["seq", "at", "actor", "action", "subject_type", "subject_id", "data", "prev_hash", "hash"]
    qs = (
        AuditEvent.objects.filter(_between("at", filters))
        .order_by("seq")
        .values_list("seq", "at", "actor_label", "action", "subject_type", "subject_id", "data", "prev_hash", "hash")
    )
    for seq, at, actor, action, stype, sid, data, prev, digest in qs.iterator(chunk_size=CHUNK_SIZE):
        yield [seq, _when(at, tz), actor, action, stype, sid, json.dumps(data, sort_keys=True), prev, digest]


def reminder_rows(filters: ExportFilters) -> Iterator[list[Any]]:
    """Security-reminder deliveries and acknowledgements (45 CFR 164.308(a)(5)(ii)(A)): one row per delivery."""
    tz = timezone.get_current_timezone()
    yield ["person", "email", "reminder", "sent_at", "delivered_at", "acknowledged_at", "acknowledged_ip"]
    acks = BulletinAcknowledgement.objects.filter(bulletin_id=OuterRef("bulletin_id"), person_id=OuterRef("person_id"))
    upper = end_of_day(filters.upper) if filters.upper else None
    if upper is not None:
        acks = acks.filter(acknowledged_at__lt=upper)
    rows = (
        BulletinDelivery.objects.filter(_between("sent_at", filters))
        .annotate(ack_at=Subquery(acks.values("acknowledged_at")[:1]), ack_ip=Subquery(acks.values("ip_address")[:1]))
        .order_by("sent_at", "pk")
        .values_list(
            "person__full_name", "person__email", "bulletin__title", "bulletin__send_at", "sent_at", "ack_at", "ack_ip"
        )
    )
    for name, email, title, send_at, sent_at, ack_at, ack_ip in rows.iterator(chunk_size=2000):
        yield [name, email, title, _when(send_at, tz), _when(sent_at, tz), _when(ack_at, tz), ack_ip or ""]


POLICY_ACK_HEADER = [
    "person",
    "email",
    "workforce_role",
    "policy",
    "version",
    "effective_on",
    "material",
    "content_sha256",
    "typed_name",
    "acknowledged_at",
    "ip_address",
    "user_agent",
]


def policy_acknowledgement_rows(filters: ExportFilters) -> Iterator[list[Any]]:
    """Each acknowledgement of a policy version: the exact text's SHA-256, typed name, time, address, browser."""
    tz = timezone.get_current_timezone()
    yield POLICY_ACK_HEADER
    qs = (
        PolicyAcknowledgement.objects.filter(_between("acknowledged_at", filters))
        .order_by("acknowledged_at", "pk")
        .values_list(
            "person__full_name",
            "person__email",
            "person__workforce_role__name",
            "version__policy__title",
            "version__number",
            "version__effective_on",
            "version__material",
            "content_sha256",
            "typed_name",
            "acknowledged_at",
            "ip_address",
            "user_agent",
        )
    )
    for name, email, role, title, number, effective, material, sha, typed, at, ip, ua in qs.iterator(
        chunk_size=CHUNK_SIZE
    ):
        yield [
            name,
            email,
            role or "",
            title,
            number,
            _day(effective),
            "yes" if material else "no",
            sha,
            typed,
            _when(at, tz),
            ip or "",
            ua,
        ]


@dataclass(frozen=True)
class Export:
    slug: str
    title: str
    filename: str
    rows: Callable[[ExportFilters], Iterator[list[Any]]]
    date_meaning: str


EXPORTS: dict[str, Export] = {
    e.slug: e
    for e in [
        Export(
            "training",
            "Training records (one row per assignment)",
            "training_records.csv",
            training_rows,
            "assigned or completed in the range",
        ),
        Export("attestations", "Signed attestations", "attestations.csv", attestation_rows, "signed in the range"),
        Export("attempts", "Knowledge-check attempts", "quiz_attempts.csv", attempt_rows, "submitted in the range"),
        Export(
            "reminders",
            "Security-reminder deliveries and acknowledgements",
            "security_reminders.csv",
            reminder_rows,
            "delivered in the range",
        ),
        Export(
            "policy-acknowledgements",
            "Policy acknowledgements",
            "policy_acknowledgements.csv",
            policy_acknowledgement_rows,
            "acknowledged in the range",
        ),
        Export("audit", "Audit events", "audit_events.csv", audit_rows, "recorded in the range"),
    ]
}


def csv_chunks(rows: Iterable[list[Any]], rows_per_chunk: int = 1000) -> Iterator[bytes]:
    """Encode rows as CSV, neutralising formula cells, and yield them a chunk of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    pending = 0
    for row in rows:
        # neutralise(), inlined: it is the hottest line of a million-row export.
        writer.writerow([("'" + c) if c.__class__ is str and c[:1] in _FORMULA_FIRST else c for c in row])
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue().encode()
