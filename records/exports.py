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
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import connection
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
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


People = Collection[int] | None  # only these people's rows (a client's evidence pack); None: everyone


def training_rows(filters: ExportFilters, people: People = None) -> Iterator[list[Any]]:
    tz = timezone.get_current_timezone()
    yield TRAINING_HEADER
    as_of_end = end_of_day(filters.as_of) if filters.as_of else None
    today = filters.as_of or timezone.localdate()
    qs = training_queryset(filters)
    if people is not None:
        qs = qs.filter(user_id__in=list(people))
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


# --- training records on PostgreSQL: COPY, formatted in SQL ---
#
# The same file training_rows + csv_chunks write (tests/records/test_export_copy.py compares them byte for byte),
# produced by PostgreSQL: `COPY (SELECT ...) TO STDOUT WITH CSV HEADER` streamed through psycopg's copy(), with the
# local times, the status and on-time columns and the formula neutralising computed in the SELECT. Three things
# keep the bytes equal: an empty cell is NULL (COPY quotes an empty string, csv.writer does not), a local time is
# written as isoformat(timespec="seconds") writes it (the session's TimeZone set to the site's for the COPY), and
# COPY's "\n" row ends become csv.writer's "\r\n".


def _neutralised(column: str) -> str:
    """SQL for a text cell as csv_chunks writes it: NULL when empty, an apostrophe before a formula start."""
    starts = "'=', '+', '-', '@', chr(9), chr(13)"
    return f"NULLIF(CASE WHEN left({column}, 1) IN ({starts}) THEN '''' || {column} ELSE {column} END, '')"


def _local_time(column: str) -> str:
    """SQL for `_when` (isoformat to the second, offset +HH:MM); the session's TimeZone is the site's (see below)."""
    return f"to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"


def training_copy_select(filters: ExportFilters) -> tuple[str, list[Any]]:
    """The SELECT whose CSV (COPY ... WITH CSV HEADER) is the training-records export: SQL and parameters."""
    tz = timezone.get_current_timezone_name()
    qs = training_queryset(filters)
    if filters.as_of:
        qs = with_names_on(qs, filters.as_of)
        dept, role = F("department_then"), F("role_then")
    else:
        dept, role = F("user__department__name"), F("user__workforce_role__name")
    inner = qs.order_by().values(
        x_name=F("user__full_name"),
        x_email=F("user__email"),
        x_dept=dept,
        x_role=role,
        x_module=F("course__title"),
        x_version=F("completion__version__number"),
        x_assigned=F("assigned_on"),
        x_due=F("due_on"),
        x_done=F("completed_at"),
        x_score=F("completion__score"),
        x_cert=F("completion__certificate__code"),
        x_signed=F("completion__attestation__signed_at"),
        x_cancelled=F("cancelled_at"),
        x_user=F("user_id"),
        x_cycle=F("cycle"),
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    # With an "as of" day, a completion after that day does not count (the row was open then): `done` compares.
    as_of_end = end_of_day(filters.as_of) if filters.as_of else None
    params: list[Any] = []  # each %s of the select list, in order

    def done() -> str:
        if as_of_end is None:
            return "t.x_done IS NOT NULL"
        params.append(as_of_end)
        return "t.x_done < %s"

    def cancelled() -> str:
        if as_of_end is None:
            return "t.x_cancelled IS NOT NULL"
        params.append(as_of_end)
        return "t.x_cancelled < %s"

    def if_done(expression: Callable[[], str]) -> str:
        condition = done()
        return f"CASE WHEN {condition} THEN {expression()} END"

    def on_time() -> str:
        params.append(tz)
        return "CASE WHEN (t.x_done AT TIME ZONE %s)::date <= t.x_due THEN 'yes' ELSE 'no' END"

    def status() -> str:
        first, second = done(), cancelled()
        params.append(filters.as_of or timezone.localdate())
        return (
            f"CASE WHEN {first} THEN 'completed' WHEN {second} THEN 'cancelled' "
            "WHEN t.x_due < %s THEN 'overdue' ELSE 'open' END"
        )

    columns = [
        ("person", lambda: _neutralised("t.x_name")),
        ("email", lambda: _neutralised("t.x_email")),
        ("department", lambda: _neutralised("t.x_dept")),
        ("workforce_role", lambda: _neutralised("t.x_role")),
        ("module", lambda: _neutralised("t.x_module")),
        ("version", lambda: if_done(lambda: "NULLIF(t.x_version, 0)::text")),
        ("assigned", lambda: "t.x_assigned::text"),  # DateStyle ISO: YYYY-MM-DD
        ("due", lambda: "t.x_due::text"),
        ("completed", lambda: if_done(lambda: _local_time("t.x_done"))),
        ("score", lambda: if_done(lambda: "t.x_score::text")),
        ("on_time", lambda: if_done(on_time)),
        ("certificate_code", lambda: if_done(lambda: _neutralised("t.x_cert"))),
        ("attestation_time", lambda: if_done(lambda: _local_time("t.x_signed"))),
        ("status", status),
    ]
    assert [name for name, _ in columns] == TRAINING_HEADER
    select = ", ".join(f'{sql()} AS "{name}"' for name, sql in columns)  # in order: the params follow the SQL
    sql = f"SELECT {select} FROM ({inner_sql}) AS t ORDER BY t.x_name, t.x_user, t.x_module, t.x_cycle"
    return sql, params + list(inner_params)


def _crlf(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """COPY's row ends ("\n") as csv.writer's ("\r\n"); a newline inside a quoted cell stays as it is."""
    quoted = False  # inside a quoted cell: an odd number of quotes so far ("" inside a cell counts two)
    for chunk in chunks:
        if not quoted and b'"' not in chunk:
            yield chunk.replace(b"\n", b"\r\n")
            continue
        out: list[bytes] = []
        *lines, last = chunk.split(b"\n")
        for line in lines:
            quoted ^= line.count(b'"') % 2 == 1
            out += (line, b"\n" if quoted else b"\r\n")
        quoted ^= last.count(b'"') % 2 == 1
        out.append(last)
        yield b"".join(out)


def copy_settings() -> dict[str, str]:
    """The session settings the export's COPY runs with: local times and dates written in SQL as Python writes
    them; no JIT (its compile time is a tenth of the run) and a sort that stays in memory at 100,000 people."""
    return {
        "TimeZone": timezone.get_current_timezone_name(),
        "DateStyle": "ISO, MDY",
        "jit": "off",
        "work_mem": "64MB",
    }


def copy_chunks(
    sql: str, params: Sequence[Any], chunk_bytes: int = 1 << 16, settings: dict[str, str] | None = None
) -> Iterator[bytes]:
    """`COPY (sql) TO STDOUT WITH CSV HEADER` on PostgreSQL, streamed in chunks of about `chunk_bytes`, with the
    session `settings` set for its duration (put back afterwards, also when the download is abandoned)."""
    statement = f"COPY ({sql}) TO STDOUT WITH CSV HEADER"
    settings = settings or {}
    with connection.cursor() as cursor:
        before = {}
        for name, value in settings.items():
            cursor.execute("SELECT current_setting(%s), set_config(%s, %s, false)", [name, name, value])
            before[name] = cursor.fetchone()[0]
        try:
            with cursor.cursor.copy(statement, params) as copy:
                pending: list[bytes] = []
                size = 0
                for data in copy:  # a row at a time
                    pending.append(bytes(data))
                    size += len(data)
                    if size >= chunk_bytes:
                        yield b"".join(pending)
                        pending, size = [], 0
                if pending:
                    yield b"".join(pending)
        finally:
            for name, value in before.items():
                cursor.execute("SELECT set_config(%s, %s, false)", [name, value])


def training_copy_chunks(filters: ExportFilters) -> Iterator[bytes]:
    """The training-records CSV from PostgreSQL's COPY: the bytes csv_chunks(training_rows(filters)) writes."""
    sql, params = training_copy_select(filters)
    yield from _crlf(copy_chunks(sql, params, settings=copy_settings()))


# --- attestations, quiz attempts, audit events ---


def attestation_rows(filters: ExportFilters, people: People = None) -> Iterator[list[Any]]:
    tz = timezone.get_current_timezone()
    yield ["person", "email", "module", "version", "typed_name", "signed_at", "statement_sha256", "ip", "user_agent"]
    who = Q(assignment__user_id__in=list(people)) if people is not None else Q()
    qs = (
        AttestationSignature.objects.filter(_between("signed_at", filters), who)
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


def attempt_rows(filters: ExportFilters, people: People = None) -> Iterator[list[Any]]:
    tz = timezone.get_current_timezone()
    yield ["person", "email", "module", "version", "attempt", "score", "passed", "submitted_at"]
    who = Q(assignment__user_id__in=list(people)) if people is not None else Q()
    qs = (
        QuizAttempt.objects.filter(_between("submitted_at", filters), who)
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


def audit_rows(filters: ExportFilters, people: People = None) -> Iterator[list[Any]]:
    """Every event of the chain (it names the whole workforce: never in a client's pack, `people` is refused)."""
    if people is not None:
        raise ValueError("the audit trail is the whole organisation's: it is not restricted to a client's people")
    tz = timezone.get_current_timezone()
    yield ["seq", "at", "actor", "action", "subject_type", "subject_id", "data", "prev_hash", "hash"]
    qs = (
        AuditEvent.objects.filter(_between("at", filters))
        .order_by("seq")
        .values_list("seq", "at", "actor_label", "action", "subject_type", "subject_id", "data", "prev_hash", "hash")
    )
    for seq, at, actor, action, stype, sid, data, prev, digest in qs.iterator(chunk_size=CHUNK_SIZE):
        yield [seq, _when(at, tz), actor, action, stype, sid, json.dumps(data, sort_keys=True), prev, digest]


def reminder_rows(filters: ExportFilters, people: People = None) -> Iterator[list[Any]]:
    """Security-reminder deliveries and acknowledgements (45 CFR 164.308(a)(5)(ii)(A)): one row per delivery."""
    tz = timezone.get_current_timezone()
    yield ["person", "email", "reminder", "sent_at", "delivered_at", "acknowledged_at", "acknowledged_ip"]
    acks = BulletinAcknowledgement.objects.filter(bulletin_id=OuterRef("bulletin_id"), person_id=OuterRef("person_id"))
    upper = end_of_day(filters.upper) if filters.upper else None
    if upper is not None:
        acks = acks.filter(acknowledged_at__lt=upper)
    who = Q(person_id__in=list(people)) if people is not None else Q()
    rows = (
        BulletinDelivery.objects.filter(_between("sent_at", filters), who)
        .annotate(ack_at=Subquery(acks.values("acknowledged_at")[:1]), ack_ip=Subquery(acks.values("ip_address")[:1]))
        .order_by("sent_at", "pk")
        .values_list(
            "person__full_name", "person__email", "bulletin__title", "bulletin__send_at", "sent_at", "ack_at", "ack_ip"
        )
    )
    for name, email, title, send_at, sent_at, ack_at, ack_ip in rows.iterator(chunk_size=2000):
        yield [name, email, title, _when(send_at, tz), _when(sent_at, tz), _when(ack_at, tz), ack_ip or ""]


class RowsFunction(Protocol):
    def __call__(self, filters: ExportFilters, people: People = None) -> Iterator[list[Any]]: ...


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


def policy_acknowledgement_rows(filters: ExportFilters, people: People = None) -> Iterator[list[Any]]:
    """Each acknowledgement of a policy version: the exact text's SHA-256, typed name, time, address, browser."""
    tz = timezone.get_current_timezone()
    yield POLICY_ACK_HEADER
    who = Q(person_id__in=list(people)) if people is not None else Q()
    qs = (
        PolicyAcknowledgement.objects.filter(who, _between("acknowledged_at", filters))
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
    rows: RowsFunction
    date_meaning: str
    per_person: bool = True  # may be restricted to some people (a client's pack); the audit trail may not
    copy: Callable[[ExportFilters], Iterator[bytes]] | None = None  # the same file from PostgreSQL's COPY

    def chunks(self, filters: ExportFilters) -> Iterator[bytes]:
        """The CSV file in chunks: through COPY on PostgreSQL where the export has it, else from the ORM rows."""
        if self.copy is not None and connection.vendor == "postgresql":
            return self.copy(filters)
        return csv_chunks(self.rows(filters))


EXPORTS: dict[str, Export] = {
    e.slug: e
    for e in [
        Export(
            "training",
            "Training records (one row per assignment)",
            "training_records.csv",
            training_rows,
            "assigned or completed in the range",
            copy=training_copy_chunks,
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
        Export("audit", "Audit events", "audit_events.csv", audit_rows, "recorded in the range", per_person=False),
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
