"""What is due: the calendar is data. `ReminderPolicy` says on which days before the due date a person is
reminded, how often while overdue, and when the manager and the compliance officers are told. One periodic
task runs `reminders_send()`; it selects what is due from the database (due dates live there, never in
delayed broker messages) and is safe to run any number of times.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..models import Assignment, Delivery, PolicyAssignment, ReminderPolicy
from .claims import Claim, claim_rows, deliveries_resume, insert_claims, new_token
from .mailer import Lease, SendResult, send_claimed

ESCALATIONS = (Delivery.MANAGER, Delivery.OFFICER)


def personal_occurrence(policy: ReminderPolicy, due_on: dt.date, today: dt.date) -> tuple[str, str] | None:
    """The (kind, period) of the person's reminder window that `today` falls in, or None.

    The windows tile the calendar: [due - 14, due - 7) is "14 days before", ..., [due, due + every) is "due",
    then one "overdue" window per `every` days. A run on any day of a window sends that window's reminder if
    it was not sent yet, so a day missed (beat or broker down) is caught up by the next run.
    """
    if today >= due_on:
        late = (today - due_on).days
        every = policy.overdue_every_days
        if late < every:
            return Delivery.DUE, "0"
        return Delivery.OVERDUE, str(late // every)
    left = (due_on - today).days
    windows = [d for d in policy.before_due if d >= left]
    if not windows:
        return None  # earlier than the first reminder
    return Delivery.BEFORE_DUE, str(min(windows))


def escalation_period(today: dt.date) -> str:
    """Escalations are weekly: one digest per manager (and per officer) per ISO week, plus late arrivals."""
    year, week, _ = today.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class _Due:
    assignment_id: int  # a module's Assignment, or with `policy` a PolicyAssignment (a policy to acknowledge)
    user_id: int
    kind: str
    period: str
    manager_id: int | None = None
    policy: bool = False
    digest: bool = False  # the person chose one daily digest

    def claim(self) -> Claim:
        if self.policy:
            return Claim(self.kind, self.period, policy_assignment_id=self.assignment_id)
        return Claim(self.kind, self.period, assignment_id=self.assignment_id)


def _due_rows(
    chunk: list[tuple[int, int, dt.date, int | None, bool]],
    policy: ReminderPolicy,
    today: dt.date,
    kinds: set[str],
    *,
    policies: bool = False,
) -> list[_Due]:
    rows = []
    week = escalation_period(today)
    for assignment_id, user_id, due_on, manager_id, digest in chunk:
        occurrence = personal_occurrence(policy, due_on, today)
        if occurrence and occurrence[0] in kinds:
            rows.append(_Due(assignment_id, user_id, *occurrence, policy=policies, digest=digest))
        late = (today - due_on).days
        if Delivery.MANAGER in kinds and manager_id and late >= policy.manager_after_days:
            rows.append(_Due(assignment_id, user_id, Delivery.MANAGER, week, manager_id, policy=policies))
        if Delivery.OFFICER in kinds and late >= policy.officer_after_days:
            rows.append(_Due(assignment_id, user_id, Delivery.OFFICER, week, policy=policies))
    return rows


def _open_assignments(
    horizon: dt.date, batch_size: int, *, policies: bool = False
) -> Iterator[list[tuple[int, int, dt.date, int | None, bool]]]:
    """Open assignments (with `policies`, policies to acknowledge) of active people due by `horizon`, in batches
    of at least `batch_size` that end on a person, so a person's reminders are claimed together; with each, the
    person's manager and whether they chose the digest.

    One query read as it goes (issue 14: a query per batch, each sorting every open assignment again, was a
    third of claiming a run)."""
    model: type[Assignment] | type[PolicyAssignment] = PolicyAssignment if policies else Assignment
    rows = (
        model.objects.open()
        .filter(user__is_active=True, user__terminated_on__isnull=True, due_on__lte=horizon)
        .order_by("user_id", "pk")
        .values_list("pk", "user_id", "due_on", "user__manager_id", "user__reminder_digest")
    )
    chunk: list[tuple[int, int, dt.date, int | None, bool]] = []
    for row in rows.iterator(chunk_size=max(batch_size, 2000)):
        if len(chunk) >= batch_size and row[1] != chunk[-1][1]:
            yield chunk
            chunk = []
        chunk.append(row)
    if chunk:
        yield chunk


def reminders_send(
    *,
    today: dt.date | None = None,
    kinds: Iterable[str] | None = None,
    batch_size: int | None = None,
) -> SendResult:
    """Send every reminder and escalation that is due and not yet sent (45 CFR 164.308(a)(5)(i)).

    One parametrised service for the whole calendar: `kinds` narrows it (before_due, due, overdue,
    escalation_manager, escalation_officer); the policy row gives the days. Safe to run twice, or twice at once.
    Everything is claimed before anything is sent, so if the worker dies the sweep resumes the whole run.
    """
    today = today or timezone.localdate()
    kinds = set(kinds or (Delivery.BEFORE_DUE, Delivery.DUE, Delivery.OVERDUE, *ESCALATIONS))
    batch_size = batch_size or int(getattr(settings, "REMINDER_BATCH_SIZE", 500))
    result = deliveries_resume(batch_size=batch_size)
    claiming = time.monotonic()  # every row claim_due claims is stamped after this
    tokens = claim_due(today=today, kinds=kinds, batch_size=batch_size)
    result += send_all(tokens, stamped=claiming)
    return result


def send_all(tokens: list[str], stamped: float | None = None) -> SendResult:
    """Send the run's claims in order, under one lease; `REMINDER_SEND_THREADS` senders take them in turn.

    Each claim is sent by one sender (the claim protocol holds whoever sends it: a mark matches only while the
    claim is its token's). Threads need their own database connections, so they are used on PostgreSQL outside
    a transaction only (a transaction's rows would be invisible to them); otherwise one sender sends them all.
    A sender's error stops every sender taking a new claim, then is raised: what is left stays claimed and
    the sweep takes it over once the lease runs out, as with one sender.
    """
    lease = Lease(tokens, stamped)  # `stamped`: when the claims were stamped, if known (Lease.fresh)
    result = SendResult()
    threads = min(int(getattr(settings, "REMINDER_SEND_THREADS", 1)), len(tokens))
    if threads <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        for token in tokens:
            result += send_claimed(token, lease)
            lease.release(token)
        return result
    queue = list(reversed(tokens))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def sender() -> None:
        nonlocal result
        try:
            while True:
                with lock:
                    if errors or not queue:
                        return
                    token = queue.pop()
                sent = send_claimed(token, lease)
                lease.release(token)
                with lock:
                    result += sent
        except BaseException as error:  # re-raised by the run once every sender has stopped
            with lock:
                errors.append(error)
        finally:
            connection.close()  # this thread's own connection

    workers = [threading.Thread(target=sender, name=f"reminder-sender-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return result


def claim_due(*, today: dt.date, kinds: set[str], batch_size: int) -> list[str]:
    """Claim what is due today and not yet claimed; the claim tokens, one per batch, in the order to send them.

    A batch holds whole messages: whole people (reminders and digest), whole teams (a manager's escalation),
    and the run's officer escalation in one claim, so however the batches fall each gets one message.
    """
    policy = ReminderPolicy.current()
    horizon = today + dt.timedelta(days=max(policy.before_due, default=0))
    tokens: list[str] = []
    escalations: list[_Due] = []
    for chunk in _open_assignments(horizon, batch_size):
        due = _due_rows(chunk, policy, today, kinds)
        escalations += [d for d in due if d.kind in ESCALATIONS]
        personal = [d for d in due if d.kind not in ESCALATIONS]
        if personal:
            token, now = new_token(), timezone.now()
            with transaction.atomic():  # a digest marker and the reminders it carries, or neither
                if claim_rows(_personal_claims(personal, today, token, now), token, now):
                    tokens.append(token)
    for chunk in _open_assignments(horizon, batch_size, policies=True):  # policies to acknowledge: the same calendar
        due = _due_rows(chunk, policy, today, kinds, policies=True)
        escalations += [d for d in due if d.kind in ESCALATIONS]
        personal = [d for d in due if d.kind not in ESCALATIONS]
        if personal:  # one message each: a digest carries modules only
            token, now = new_token(), timezone.now()
            if claim_rows([d.claim() for d in personal], token, now):
                tokens.append(token)
    to_managers = sorted((d for d in escalations if d.kind == Delivery.MANAGER), key=lambda d: d.manager_id or 0)
    for team in _teams(to_managers, batch_size):
        tokens += _claim_escalations(team)
    tokens += _claim_escalations([d for d in escalations if d.kind == Delivery.OFFICER])
    return tokens


def _teams(due: list[_Due], batch_size: int) -> Iterator[list[_Due]]:
    """Batches of about `batch_size` escalation rows sorted by manager, each ending on a manager."""
    batch: list[_Due] = []
    for _, team in groupby(due, key=lambda d: d.manager_id):
        team_rows = list(team)
        if batch and len(batch) + len(team_rows) > batch_size:
            yield batch
            batch = []
        batch += team_rows
    if batch:
        yield batch


def _claim_escalations(due: list[_Due]) -> list[str]:
    if not due:
        return []
    token = new_token()
    return [token] if claim_rows([d.claim() for d in due], token) else []


def _personal_claims(due: list[_Due], today: dt.date, token: str, now: dt.datetime) -> list[Claim]:
    """Claims for the person's own reminders; someone who chose the digest gets at most one a day.

    A digest is itself a Delivery (recipient, "digest", date): the run that inserts it sends that person's
    digest; a run that finds it taken leaves their reminders for tomorrow's digest.
    """
    if not due:
        return []
    digest_users = {d.user_id for d in due if d.digest}
    claims = [d.claim() for d in due if d.user_id not in digest_users]
    if not digest_users:
        return claims
    wanted = [d for d in due if d.user_id in digest_users]
    sent = set(
        Delivery.objects.filter(
            assignment_id__in={d.assignment_id for d in wanted}, kind__in=Delivery.PERSONAL
        ).values_list("assignment_id", "kind", "period")
    )
    wanted = [d for d in wanted if (d.assignment_id, d.kind, d.period) not in sent]
    if not wanted:
        return claims
    period = today.isoformat()
    insert_claims([Claim(Delivery.DIGEST, period, recipient_id=uid) for uid in {d.user_id for d in wanted}], token, now)
    won = set(
        Delivery.objects.filter(claim=token, kind=Delivery.DIGEST, period=period).values_list("recipient_id", flat=True)
    )
    claims += [d.claim() for d in wanted if d.user_id in won]
    return claims
