"""The audit trail: append events to a SHA-256 hash chain, in the caller's transaction.

Every app records its evidence here: `audit.record("completion.recorded", actor=user, subject=completion)`.
Appends take a lock (an advisory lock on PostgreSQL; SQLite's write lock, taken at BEGIN IMMEDIATE), so
concurrent writers still produce one gap-free chain.

A payload (`data`) names a person with one key, "person", whose value is the e-mail address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from .models import AuditEvent

GENESIS_HASH = "0" * 64
_PG_LOCK_KEY = 0x48495041  # "HIPA": one advisory lock for the chain head


@dataclass(frozen=True)
class Event:
    action: str
    actor: Any = None
    subject: Any = None
    data: dict[str, Any] = field(default_factory=dict)


def _actor_fields(actor: Any) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, "system" if actor is None else "anonymous"
    return actor.pk, actor.get_username()


def _subject_fields(subject: Any) -> tuple[str, str]:
    if subject is None:
        return "", ""
    if isinstance(subject, tuple):
        return str(subject[0]), str(subject[1])
    if isinstance(subject, models.Model):
        return subject._meta.label_lower, str(subject.pk)
    raise TypeError(f"subject must be a model instance or a (type, id) pair, not {subject!r}")


def _json_safe(value: Any) -> Any:
    """Reduce data to what round-trips through a JSON column unchanged."""
    return json.loads(json.dumps(value, default=str))


def canonical(
    *,
    seq: int,
    at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    subject_type: str,
    subject_id: str,
    data: Any,
) -> bytes:
    body = {
        "seq": seq,
        "at": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": actor_id,
        "actor": actor_label,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "data": data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def event_hash(event: AuditEvent, prev_hash: str | None = None) -> str:
    """The hash an event should carry, recomputed from its stored fields."""
    body = canonical(
        seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        data=event.data,
    )
    return chain_hash(event.prev_hash if prev_hash is None else prev_hash, body)


def _table() -> str:
    return connection.ops.quote_name(AuditEvent._meta.db_table)


def _lock_head() -> tuple[int, str]:
    select_head = f"SELECT seq, hash FROM {_table()} ORDER BY seq DESC LIMIT 1"  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Two statements, one round trip. The head is read by the second, whose snapshot is taken after
            # the lock is granted: it sees the event the previous holder committed.
            cursor.execute(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY}); {select_head}")
            cursor.nextset()
        else:
            cursor.execute(select_head)
        head = cursor.fetchone()
    return (head[0], head[1]) if head else (0, GENESIS_HASH)


_COLUMNS = ("seq", "at", "actor_id", "actor_label", "action", "subject_type", "subject_id", "data", "prev_hash", "hash")


def _insert(rows: list[AuditEvent]) -> None:
    """One INSERT for all rows. Plain SQL: the ORM's bulk_create costs more than the rest of an append."""
    at_field, data_field = AuditEvent._meta.get_field("at"), AuditEvent._meta.get_field("data")
    at_values: dict[dt.datetime, Any] = {}  # a batch shares one time: adapt it once
    params = []
    for row in rows:
        if row.at not in at_values:
            at_values[row.at] = at_field.get_db_prep_save(row.at, connection)
        params.append(
            (
                row.seq,
                at_values[row.at],
                row.actor_id,
                row.actor_label,
                row.action,
                row.subject_type,
                row.subject_id,
                data_field.get_db_prep_save(row.data, connection),
                row.prev_hash,
                row.hash,
            )
        )
    columns = ", ".join(connection.ops.quote_name(name) for name in _COLUMNS)
    one_row = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    # Multi-row VALUES, not executemany: psycopg's executemany costs extra round trips (pipeline mode).
    size = max(1, connection.ops.bulk_batch_size(list(_COLUMNS), rows))
    with connection.cursor() as cursor:
        for start in range(0, len(params), size):
            batch = params[start : start + size]
            cursor.execute(
                f"INSERT INTO {_table()} ({columns}) VALUES {', '.join([one_row] * len(batch))}",  # noqa: S608
                [value for row_params in batch for value in row_params],
            )
    for row in rows:
        row._state.adding = False
        row._state.db = connection.alias


# Events recorded inside `deferred()` wait here and are appended together at its end.
_pending: ContextVar[list[Event] | None] = ContextVar("audit_pending", default=None)


@contextmanager
def deferred() -> Iterator[None]:
    """Collect the events recorded inside the block and append them all when it ends, in the same transaction.

    For long transactions (a workforce import of thousands of rows): the chain's lock is held from the
    append to the commit, so taking it at the first row would make every sign-in and lesson view wait for the
    whole import. Inside the block, `record` returns the event unsaved (no sequence number or hash yet). If the
    block raises, nothing is appended and the caller's transaction fails with it. Must run inside atomic().
    """
    if _pending.get() is not None:  # nested: the outer block appends
        yield
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.deferred() must run inside a transaction")
    pending: list[Event] = []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    record_many(pending)


def record_many(events: Iterable[Event]) -> list[AuditEvent]:
    """Append several events in one go: a constant number of queries, whatever their number."""
    events = list(events)
    if not events:
        return []
    pending = _pending.get()
    if pending is not None:
        pending.extend(events)
        return [AuditEvent(action=e.action, data=_json_safe(e.data or {})) for e in events]
    # No savepoint: if the append fails, the caller's whole transaction must fail with it.
    with transaction.atomic(savepoint=False):
        seq, prev = _lock_head()
        now = timezone.now().replace(tzinfo=dt.UTC)
        rows = []
        for event in events:
            seq += 1
            actor_id, actor_label = _actor_fields(event.actor)
            subject_type, subject_id = _subject_fields(event.subject)
            data = _json_safe(event.data or {})
            row = AuditEvent(
                seq=seq,
                at=now,
                actor_id=actor_id,
                actor_label=actor_label,
                action=event.action,
                subject_type=subject_type,
                subject_id=subject_id,
                data=data,
                prev_hash=prev,
            )
            row.hash = event_hash(row)
            prev = row.hash
            rows.append(row)
        _insert(rows)
    return rows


def record(action: str, *, actor: Any = None, subject: Any = None, data: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    return record_many([Event(action=action, actor=actor, subject=subject, data=data or {})])[0]


def head() -> AuditEvent | None:
    return AuditEvent.objects.order_by("-seq").first()
