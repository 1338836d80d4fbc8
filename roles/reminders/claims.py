"""At most once, and the recovery rule.
Every message is a `Delivery` row, unique per (assignment, kind, period). A run:

1. claims: inserts the rows it means to send with ON CONFLICT DO NOTHING, stamped with a fresh claim token,
   and reads back the rows carrying its token. A row another run (or worker) inserted first is not its
   own, so two workers running at once never both send it.
2. sends its rows, then records `sent_at`. The records are flushed every `REMINDER_MARK_EVERY` messages and
   whenever `REMINDER_MARK_INTERVAL` seconds have passed since the last flush, so on a slow mail relay each
   message is recorded as soon as it is accepted, and on a fast one the queries stay per batch.
3. resumes: a row claimed but not sent for `REMINDER_CLAIM_LEASE_SECONDS` belongs to a worker that died
   (SIGKILL, lost machine: the late-acknowledged task may not come back for an hour). The next run
   re-claims such rows with a conditional UPDATE, which only one run can win, and sends them.

So a message is never sent twice by two live runs, and a worker's death loses nothing; the one case left is
a worker killed between the relay accepting a message and the flush recording it (at most
`REMINDER_MARK_INTERVAL` seconds of sending), which may be sent again. A lease shorter than a batch's
sending time would let a second run take over a live batch, so keep the lease well above
`REMINDER_BATCH_SIZE` messages' worth of sending.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..models import Delivery
from .mailer import SendResult, send_claimed


def new_token() -> str:
    return uuid.uuid4().hex


def claim_rows(rows: list[Delivery], token: str) -> list[int]:
    """Insert `rows` unless they exist; return the ids this claim inserted (two queries)."""
    if not rows:
        return []
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return list(Delivery.objects.filter(claim=token, sent_at__isnull=True).values_list("pk", flat=True))


def deliveries_resume(*, batch_size: int | None = None, ids: Iterable[int] | None = None) -> SendResult:
    """Send rows that were queued (a nudge, a bulletin whose task never ran) or claimed by a worker that died.

    The conditional UPDATE is the claim: only one run can move a row from "stale or queued" to its token.
    """
    batch_size = batch_size or int(getattr(settings, "REMINDER_BATCH_SIZE", 500))
    lease = dt.timedelta(seconds=getattr(settings, "REMINDER_CLAIM_LEASE_SECONDS", 900))
    result = SendResult()
    seen: set[int] = set()
    while True:
        stale = Q(claimed_at__isnull=True) | Q(claimed_at__lt=timezone.now() - lease)
        unsent = Delivery.objects.filter(stale, sent_at__isnull=True).exclude(kind=Delivery.DIGEST)
        if ids is not None:
            unsent = unsent.filter(pk__in=list(ids))
        candidates = list(unsent.exclude(pk__in=seen).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not candidates:
            return result
        seen.update(candidates)
        token = new_token()
        Delivery.objects.filter(stale, pk__in=candidates, sent_at__isnull=True).update(
            claim=token, claimed_at=timezone.now()
        )
        # A digest's marker travels with the reminders it carries.
        mine = Delivery.objects.filter(claim=token)
        digests = mine.filter(kind__in=Delivery.PERSONAL).exclude(kind=Delivery.NUDGE)
        Delivery.objects.filter(
            stale,
            kind=Delivery.DIGEST,
            sent_at__isnull=True,
            recipient_id__in=digests.values("assignment__user_id"),
        ).update(claim=token, claimed_at=timezone.now())
        result += send_claimed(
            list(Delivery.objects.filter(claim=token, sent_at__isnull=True).values_list("pk", flat=True))
        )
