"""Exactly once as far as a mail relay allows, and recovery without a person.

Every message is one or more `Delivery` rows, unique per (assignment, kind, period) or (recipient, kind,
period). The protocol:

1. Claim. A run inserts every row it means to send, before it sends any, with ON CONFLICT DO NOTHING, stamped
   with a claim token (one per batch), and keeps the rows that carry its token: a row another run inserted
   first is not its own. What travels in one message is claimed under one token: a person's reminders and
   their digest marker (batches end on a person), a manager's whole team, all of the run's officer rows.
2. Send. Per message (`mailer.send_claimed`): mark `sent_at` in one committed transaction that matches only rows
   still under the sender's token, and only then hand the message to the relay. A relay that answers with a
   refusal (4xx/5xx) gets the mark undone, so a later run tries again. Every `REMINDER_CLAIM_LEASE_SECONDS / 6`
   the sender renews its lease (`claimed_at`) on every row of its run not yet sent, so however long the run
   takes, no sweep touches it while it is alive.
3. Resume (`deliveries_resume`, on beat every `REMINDER_RESUME_EVERY_SECONDS`, and at the start of every
   reminder run). A token whose rows have not been renewed for `REMINDER_CLAIM_LEASE_SECONDS` belonged to a
   worker that died (SIGKILL, OOM, a lost machine). The sweep moves the whole token to a new one, locking its
   rows in primary-key order so one sweep wins it entirely, and sends it: the messages keep their grouping.
   Rows queued without a claim (a nudge whose task never ran) are claimed and sent the same way.

What is guaranteed:

- Never twice when a worker dies. A message is handed over only after its mark is committed, and the mark
  matches only while the sender holds the claim, so a sender whose claim was taken over (its lease ran out
  while it was still alive) sends nothing more of it. Two runs at once, a run and a sweep, or a dead worker's
  task coming back from the broker an hour later: each message goes out once. The same holds for digests (one
  per person a day, the digest marker) and escalations (one message per manager, and one copy per officer,
  per run). On PostgreSQL the marks commit without waiting for the disk (`REMINDER_MARK_SYNCHRONOUS=1` makes
  them wait, at about one disk flush per message): a committed mark is at once visible to every other run, so
  this changes nothing when a worker dies; only a crash of the database server itself could forget the last
  fraction of a second of marks and send those few messages again.
- Nothing lost to a dead worker, except at most the one message each of its senders (REMINDER_SEND_THREADS,
  `schedule.send_all`) was handing over at that instant (marked,
  and then the process died before the relay had it): at-most-once is the side chosen for that message, since
  a mail relay cannot be asked afterwards whether it took a message. Everything the worker had claimed and not
  marked is resumed within lease + sweep interval (3 + 2 minutes by default, so under 10 minutes), and the
  rest of its run was claimed before it sent anything, so it is resumed too.
- A relay error that is not a refusal (a dropped connection, a timeout) leaves that message marked (the relay
  may have taken it) and ends the batch; the rest of the batch is resumed after the lease. A refused address
  is tried again by each sweep after the lease.
- A bulletin's evidence (BulletinDelivery and `bulletin.delivered`) is written as soon as the relay took the
  message, in its own durable transaction: never for a message refused, and missing only if the worker died
  in the instant between the relay's answer and that commit.
- Each message carries a Message-ID derived from its rows and recipient, so a relay or mailbox that drops
  repeated Message-IDs can recognise one sent again by hand.

The lease only has to outlast the gap between two renewals, that is the slowest single message (bounded by
`EMAIL_TIMEOUT`) plus `REMINDER_SEND_PAUSE`; keep it well above that. Were a live sender's lease to run out
all the same (stuck longer than that), the sweep would take its claims over and the sender, failing its next
conditional mark, would stop sending them: late, never twice. Recovery assumes a worker free to run the sweep;
a sweep busy sending when another claim goes stale takes that one too before it ends.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from ..models import Delivery
from .mailer import SendResult, lease_seconds, send_claimed


def new_token() -> str:
    return uuid.uuid4().hex


class Claim(NamedTuple):
    """A `Delivery` row a run means to send: what it is about, to whom, which occurrence."""

    kind: str
    period: str
    assignment_id: int | None = None
    policy_assignment_id: int | None = None
    recipient_id: int | None = None
    bulletin_id: int | None = None


_CLAIMED = ("claim", "claimed_at", "created_at")


def _column(name: str) -> Field[Any, Any]:
    field = Delivery._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def insert_claims(claims: list[Claim], token: str, now: dt.datetime) -> None:
    """Insert the rows unless they exist, each stamped with `token`; on PostgreSQL one INSERT of one array per
    column (issue 14: compiling a run's 50,000 rows one value at a time, and building them as models, was most
    of claiming them)."""
    if connection.vendor != "postgresql":
        stamp = dict.fromkeys(_CLAIMED[1:], now)
        rows = [Delivery(**claim._asdict(), claim=token, **stamp) for claim in claims]
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        return
    fields = [_column(name) for name in (*Claim._fields, *_CLAIMED)]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields[: len(Claim._fields)])
    stamps = ", ".join(f"%s::{f.db_type(connection)}" for f in fields[len(Claim._fields) :])
    with connection.cursor() as cursor:
        cursor.execute(  # the values as the driver takes them: ids, text and an aware datetime
            f"INSERT INTO {connection.ops.quote_name(Delivery._meta.db_table)} ({columns}) "
            f"SELECT *, {stamps} FROM unnest({arrays}) ON CONFLICT DO NOTHING",
            [token, now, now, *(list(column) for column in zip(*claims, strict=True))],
        )


def claim_rows(claims: list[Claim], token: str, now: dt.datetime | None = None) -> list[int]:
    """Insert these rows unless they exist, claimed under `token` at `now`; the ids this claim inserted (two
    queries)."""
    if not claims:
        return []
    insert_claims(claims, token, now or timezone.now())
    # A new token's rows are all unsent; saying so as well made the planner read every unsent row (claimed.py).
    return list(Delivery.objects.filter(claim=token).values_list("pk", flat=True))


def take_over(old: str, cutoff: dt.datetime) -> str | None:
    """Move every unsent row of the stale claim `old` to a new token, or none of them; the new token or None.

    The rows are locked in primary-key order first, so two sweeps (or a sweep and the owner renewing its
    lease) never split a claim: the second waits, then finds the rows no longer match.
    """
    token = new_token()
    with transaction.atomic():
        pks = list(
            Delivery.objects.select_for_update()
            .filter(claim=old, sent_at__isnull=True, claimed_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not pks:
            return None
        Delivery.objects.filter(pk__in=pks).update(claim=token, claimed_at=timezone.now())
    return token


def deliveries_resume(*, batch_size: int | None = None, ids: Iterable[int] | None = None) -> SendResult:
    """Send rows that were queued (a nudge, a bulletin whose task never ran) or claimed by a worker that died.

    `ids` narrows it to those rows (a nudge's own task). Safe to run any number of times, or at once.
    """
    batch_size = batch_size or int(getattr(settings, "REMINDER_BATCH_SIZE", 500))
    only = list(ids) if ids is not None else None
    result = SendResult()

    # One stale claim at a time, looking again after each: a claim that goes stale while this sweep is busy
    # sending (its worker just died) is taken by this sweep, not left for the next one.
    while True:
        cutoff = timezone.now() - dt.timedelta(seconds=lease_seconds())
        stale = Delivery.objects.filter(sent_at__isnull=True, claimed_at__lt=cutoff).exclude(claim="")
        if only is not None:
            stale = stale.filter(pk__in=only)
        old = stale.order_by("claimed_at").values_list("claim", flat=True).first()
        if old is None:
            break
        token = take_over(old, cutoff)
        if token:
            result += send_claimed(token)

    # Queued rows (no claim yet) are each a message of their own: claim them a batch at a time.
    seen: set[int] = set()
    while True:
        queued = Delivery.objects.filter(claimed_at__isnull=True, sent_at__isnull=True)
        if only is not None:
            queued = queued.filter(pk__in=only)
        candidates = list(queued.exclude(pk__in=seen).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not candidates:
            return result
        seen.update(candidates)
        token = new_token()
        Delivery.objects.filter(pk__in=candidates, claimed_at__isnull=True, sent_at__isnull=True).update(
            claim=token, claimed_at=timezone.now()
        )
        result += send_claimed(token)
