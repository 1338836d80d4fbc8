"""Check the audit trail: every hash, every link, every sequence number, and the signed anchors.

The chain is streamed in sequence order. The first row that does not fit is classified by looking at a
few rows around it, so the report names what an attacker with database access did:

- changed: the row's content no longer gives its hash (or a later row chained to a different version of it);
- missing: a sequence number is absent (deleted rows, or later rows renumbered to close the gap);
- inserted: a row sits where the next genuine row's content says another one was (later rows renumbered);
- out of order: a row verifies only under another row's sequence number (rows swapped).

Anchors (hipaa_training.anchor) catch what a chain cannot: a rewrite of every hash from some point on, and
the newest events deleted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from . import anchor
from .audit import GENESIS_HASH
from .models import AuditEvent, AuditVerification

CHANGED = "changed"
MISSING = "missing"
INSERTED = "inserted"
OUT_OF_ORDER = "out of order"
BAD_ANCHOR = "bad anchor"
NOT_ANCHORED = "not anchored"

WINDOW = 8  # how far around a bad row to look for where its content really belongs
FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "subject_type",
    "subject_id",
    "data",
    "prev_hash",
    "hash",
)
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq} {self.kind}: {self.detail}"


@dataclass
class Result:
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    anchors_checked: int = 0
    seconds: float = 0.0
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


_encode_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_encode_str = json.encoder.encode_basestring  # what the encoder above uses for every string
_decode_json = json.JSONDecoder().decode
_UTC_OFFSET = dt.timedelta(0)


def _at_text(at: dt.datetime | str) -> str:
    if isinstance(at, str):  # already formatted by the database (see _AT_SQL)
        return at
    if at.tzinfo is not None and at.utcoffset() != _UTC_OFFSET:
        at = at.astimezone(dt.UTC)
    return at.isoformat(timespec="microseconds")[:26] + "Z"


def _row_hash(
    row: Row,
    seq: int | None = None,
    *,
    _str: Callable[[str], str] = _encode_str,
    _json: Callable[[Any], str] = _encode_json,
    _sha256: Callable[[bytes], Any] = hashlib.sha256,
) -> str:
    """The hash a row should carry if it were event number `seq` (default: its own).

    Byte for byte what audit.canonical gives (keys in sorted order), built without a dict for speed; the
    keyword defaults bind the helpers locally (this runs once per event).
    """
    actor_id, at, data = row[2], row[1], row[7]
    if data.__class__ is str:
        data = _decode_json(data)
    if at.__class__ is not str:
        at = _at_text(at)
    canonical = (
        f'{{"action":{_str(row[4])},"actor":{_str(row[3])},'
        f'"actor_id":{"null" if actor_id is None else int(actor_id)},"at":"{at}",'
        f'"data":{_json(data)},"seq":{row[0] if seq is None else seq},'
        f'"subject_id":{_str(row[6])},"subject_type":{_str(row[5])}}}'
    )
    return _sha256((row[8] + canonical).encode()).hexdigest()


def _true_seq(row: Row) -> int | None:
    """The sequence number under which this row's content verifies, if it is near its stored one."""
    if _row_hash(row) == row[9]:
        return row[0]
    for distance in range(1, WINDOW + 1):
        for candidate in (row[0] - distance, row[0] + distance):
            if candidate > 0 and _row_hash(row, candidate) == row[9]:
                return candidate
    return None


def _classify(bad: Row, before: deque[Row], after: list[Row], expected_seq: int, prev_hash: str) -> Problem:
    """Name the first bad sequence number and what is wrong, from the rows around the first misfit."""
    seq = bad[0]
    if seq != expected_seq:
        if seq > expected_seq:
            gap = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
            return Problem(expected_seq, MISSING, f"no event #{gap}: the sequence jumps to #{seq}")
        return Problem(seq, OUT_OF_ORDER, f"#{seq} follows #{expected_seq - 1}")
    true_seq = _true_seq(bad)
    if true_seq is None:
        # Its content gives no hash it carries. Either it was edited, or it is an intruder and a genuine
        # row further on still verifies under this sequence number.
        for later in after:
            if _true_seq(later) == seq:
                return Problem(seq, INSERTED, f"#{seq} is not part of the chain: #{later[0]} was event #{seq}")
        return Problem(seq, CHANGED, f"its content no longer matches its hash (action {bad[4]!r})")
    if true_seq > seq:
        if any(_true_seq(later) == seq for later in after):
            return Problem(seq, OUT_OF_ORDER, f"the event stored as #{seq} was written as #{true_seq}")
        return Problem(seq, MISSING, f"event #{seq} was removed and later events renumbered")
    if true_seq < seq:
        # Rows true_seq..seq-1 were taken for genuine, but this row was written as #true_seq.
        return Problem(true_seq, INSERTED, f"#{true_seq}-#{seq - 1} were inserted before the event written as it")
    # The row verifies as itself but does not chain to the row before it.
    for earlier in reversed(before):
        if earlier[9] == bad[8]:
            first = earlier[0] + 1
            return Problem(first, INSERTED, f"#{seq} chains to #{earlier[0]}: #{first}-#{seq - 1} were inserted")
    if seq == 1:
        return Problem(seq, CHANGED, "the first event does not start from the genesis hash")
    return Problem(seq - 1, CHANGED, f"#{seq} chains to a different version of #{seq - 1}")


# The event time as audit.canonical writes it (UTC, microseconds, "Z"), formatted by the database: parsing
# a datetime per row would cost more than hashing it.
_AT_SQL = {
    "postgresql": """to_char("at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
    # Django stores str(naive UTC datetime): no fraction when the microseconds are 0.
    "sqlite": """replace("at", ' ', 'T') || CASE WHEN length("at") = 19 THEN '.000000Z' ELSE 'Z' END""",
}


def _rows(chunk_size: int = 5000) -> Generator[Row, None, None]:
    """Every event in sequence order, streamed (a server-side cursor on PostgreSQL)."""
    quote = connection.ops.quote_name
    columns = ", ".join(_AT_SQL.get(connection.vendor, quote(name)) if name == "at" else quote(name) for name in FIELDS)
    # A server-side cursor on PostgreSQL lives in a transaction; SQLite's would take the write lock (IMMEDIATE).
    in_transaction = transaction.atomic() if connection.vendor == "postgresql" else contextlib.nullcontext()
    with in_transaction, connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {quote(AuditEvent._meta.db_table)} ORDER BY seq")  # noqa: S608
        while batch := cursor.fetchmany(chunk_size):
            yield from batch


def verify(anchors: list[dict[str, Any]] | None = None) -> Result:
    """Stream the chain once; stop at the first problem. Anchors default to the anchor log."""
    started = time.perf_counter()
    result = Result()
    anchors = anchor.read_anchors() if anchors is None else anchors
    by_seq: dict[int, dict[str, Any]] = {}
    for entry in anchors:
        if not anchor.signature_valid(entry):
            seq, at = int(entry.get("seq") or 0), entry.get("at")
            result.problem = Problem(seq, BAD_ANCHOR, f"the anchor signed at {at} has an invalid signature")
            result.seconds = time.perf_counter() - started
            return result
        by_seq.setdefault(int(entry["seq"]), entry)

    with contextlib.closing(_rows()) as stream:
        _walk(stream, by_seq, result)
    result.seconds = time.perf_counter() - started
    return result


def _walk(stream: Iterator[Row], by_seq: dict[int, dict[str, Any]], result: Result) -> None:
    before: deque[Row] = deque(maxlen=WINDOW)
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    row_hash = _row_hash
    for row in stream:
        seq, stored_prev, stored_hash = row[0], row[8], row[9]
        if seq != expected_seq or stored_prev != prev_hash or row_hash(row) != stored_hash:
            after = [r for _, r in zip(range(WINDOW), stream, strict=False)]
            result.problem = _classify(row, before, after, expected_seq, prev_hash)
            break
        if seq in by_seq:
            entry = by_seq.pop(seq)
            if entry["hash"] != stored_hash:
                result.problem = Problem(
                    seq,
                    CHANGED,
                    f"the chain was rewritten: #{seq} differs from the anchor signed at {entry['at']}",
                )
                break
            result.anchors_checked += 1
        before.append(row)
        expected_seq, prev_hash, count = seq + 1, stored_hash, count + 1
    result.events, result.head_seq, result.head_hash = count, expected_seq - 1, prev_hash
    if result.problem is None and by_seq:
        seq = min(by_seq)
        result.problem = Problem(
            result.head_seq + 1,
            MISSING,
            f"event #{seq} was anchored at {by_seq[seq]['at']} but the chain ends at #{result.head_seq}",
        )


def verification_record(*, anchor_head: bool = True, result: Result | None = None) -> AuditVerification:
    """Verify the audit trail and, when whole, sign its head: integrity of evidence (45 CFR 164.312(c)(1))."""
    result = result or verify()
    anchored, problem = None, result.problem
    if result.ok and anchor_head:
        try:
            anchored = anchor.anchor_head(seq=result.head_seq, hash=result.head_hash)
        except ImproperlyConfigured as exc:  # the officers must hear of it, not only the worker's log
            problem = Problem(0, NOT_ANCHORED, str(exc))
    with transaction.atomic():
        return AuditVerification.objects.create(
            checked_at=timezone.now(),
            ok=problem is None,
            events=result.events,
            head_seq=result.head_seq,
            head_hash=result.head_hash,
            anchors_checked=result.anchors_checked,
            anchored_seq=anchored["seq"] if anchored else None,
            problem_seq=problem.seq if problem and problem.seq else None,
            problem_kind=problem.kind if problem else "",
            detail=problem.detail if problem else "",
            seconds=round(result.seconds, 3),
        )
