"""The training calendar's messages: reminders, escalations, nudges, and the one sender they share.

The calendar (45 CFR 164.308(a)(5)(i), 164.530(b)) is data: `ReminderPolicy` says on which days before the
due date a person is reminded, how often while overdue, and when the manager and the compliance officers
are told. One periodic task runs `reminders_send()`; it selects what is due from the database (due dates
live there, never in delayed broker messages) and is safe to run any number of times.

At most once, and the recovery rule
-----------------------------------
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
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from hipaa_training import audit

from .access import COMPLIANCE_OFFICER
from .models import Assignment, BulletinDelivery, Delivery, ReminderPolicy, User

ESCALATIONS = (Delivery.MANAGER, Delivery.OFFICER)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def training_url() -> str:
    return f"{settings.SITE_URL}{reverse('records:training')}"


# --- what is due -------------------------------------------------------------------------------------


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
    assignment_id: int
    user_id: int
    kind: str
    period: str


def _due_rows(
    chunk: list[tuple[int, int, dt.date, int | None]], policy: ReminderPolicy, today: dt.date, kinds: set[str]
) -> list[_Due]:
    rows = []
    week = escalation_period(today)
    for assignment_id, user_id, due_on, manager_id in chunk:
        occurrence = personal_occurrence(policy, due_on, today)
        if occurrence and occurrence[0] in kinds:
            rows.append(_Due(assignment_id, user_id, *occurrence))
        late = (today - due_on).days
        if Delivery.MANAGER in kinds and manager_id and late >= policy.manager_after_days:
            rows.append(_Due(assignment_id, user_id, Delivery.MANAGER, week))
        if Delivery.OFFICER in kinds and late >= policy.officer_after_days:
            rows.append(_Due(assignment_id, user_id, Delivery.OFFICER, week))
    return rows


def _open_assignments(horizon: dt.date, batch_size: int) -> Iterator[list[tuple[int, int, dt.date, int | None]]]:
    """Open assignments of active people due by `horizon`, in batches (keyset pagination: one query each)."""
    qs = (
        Assignment.objects.open()
        .filter(user__is_active=True, user__terminated_on__isnull=True, due_on__lte=horizon)
        .order_by("pk")
        .values_list("pk", "user_id", "due_on", "user__manager_id")
    )
    last = 0
    while True:
        chunk = list(qs.filter(pk__gt=last)[:batch_size])
        if not chunk:
            return
        yield chunk
        last = chunk[-1][0]


def new_token() -> str:
    return uuid.uuid4().hex


def claim_rows(rows: list[Delivery], token: str) -> list[int]:
    """Insert `rows` unless they exist; return the ids this claim inserted (two queries)."""
    if not rows:
        return []
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return list(Delivery.objects.filter(claim=token, sent_at__isnull=True).values_list("pk", flat=True))


@dataclass
class SendResult:
    messages: int = 0
    deliveries: int = 0
    kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def __iadd__(self, other: SendResult) -> SendResult:
        self.messages += other.messages
        self.deliveries += other.deliveries
        for kind, n in other.kinds.items():
            self.kinds[kind] += n
        return self


def reminders_send(
    *,
    today: dt.date | None = None,
    kinds: Iterable[str] | None = None,
    batch_size: int | None = None,
) -> SendResult:
    """Send every reminder and escalation that is due and not yet sent (45 CFR 164.308(a)(5)(i)).

    One parametrised service for the whole calendar: `kinds` narrows it (before_due, due, overdue,
    escalation_manager, escalation_officer); the policy row gives the days. Safe to run twice, or twice at once.
    """
    today = today or timezone.localdate()
    kinds = set(kinds or (Delivery.BEFORE_DUE, Delivery.DUE, Delivery.OVERDUE, *ESCALATIONS))
    batch_size = batch_size or _setting("REMINDER_BATCH_SIZE", 500)
    policy = ReminderPolicy.current()
    result = deliveries_resume(batch_size=batch_size)
    horizon = today + dt.timedelta(days=max(policy.before_due, default=0))
    for chunk in _open_assignments(horizon, batch_size):
        due = _due_rows(chunk, policy, today, kinds)
        if not due:
            continue
        token = new_token()
        now = timezone.now()
        claims = [
            Delivery(assignment_id=d.assignment_id, kind=d.kind, period=d.period, claim=token, claimed_at=now)
            for d in due
            if d.kind in ESCALATIONS
        ]
        claims += _personal_claims([d for d in due if d.kind not in ESCALATIONS], today, token, now)
        ids = claim_rows(claims, token)
        result += send_claimed(ids)
    return result


def _personal_claims(due: list[_Due], today: dt.date, token: str, now: dt.datetime) -> list[Delivery]:
    """Claims for the person's own reminders; someone who chose the digest gets at most one a day.

    A digest is itself a Delivery (recipient, "digest", date): the run that inserts it sends that person's
    digest; a run that finds it taken leaves their reminders for tomorrow's digest.
    """
    if not due:
        return []
    digest_users = set(
        User.objects.filter(pk__in={d.user_id for d in due}, reminder_digest=True).values_list("pk", flat=True)
    )
    claims = [
        Delivery(assignment_id=d.assignment_id, kind=d.kind, period=d.period, claim=token, claimed_at=now)
        for d in due
        if d.user_id not in digest_users
    ]
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
    markers = [
        Delivery(recipient_id=uid, kind=Delivery.DIGEST, period=period, claim=token, claimed_at=now)
        for uid in {d.user_id for d in wanted}
    ]
    Delivery.objects.bulk_create(markers, ignore_conflicts=True)
    won = set(
        Delivery.objects.filter(claim=token, kind=Delivery.DIGEST, period=period).values_list("recipient_id", flat=True)
    )
    claims += [
        Delivery(assignment_id=d.assignment_id, kind=d.kind, period=d.period, claim=token, claimed_at=now)
        for d in wanted
        if d.user_id in won
    ]
    return claims


def deliveries_resume(*, batch_size: int | None = None, ids: Iterable[int] | None = None) -> SendResult:
    """Send rows that were queued (a nudge, a bulletin whose task never ran) or claimed by a worker that died.

    The conditional UPDATE is the claim: only one run can move a row from "stale or queued" to its token.
    """
    batch_size = batch_size or _setting("REMINDER_BATCH_SIZE", 500)
    lease = dt.timedelta(seconds=_setting("REMINDER_CLAIM_LEASE_SECONDS", 900))
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


# --- the policy and nudges ---


POLICY_FIELDS = ("before_due_days", "overdue_every_days", "manager_after_days", "officer_after_days")


def reminder_policy_update(*, actor: Any, **values: Any) -> ReminderPolicy:
    """Change the reminder calendar (a settings change: audited with the values before and after)."""
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    with transaction.atomic():
        policy = ReminderPolicy.objects.select_for_update().get(pk=ReminderPolicy.current().pk)
        before = {name: getattr(policy, name) for name in POLICY_FIELDS}
        for name, value in values.items():
            setattr(policy, name, value)
        policy.updated_at = timezone.now()
        policy.updated_by = actor
        policy.full_clean()
        policy.save()
        after = {name: getattr(policy, name) for name in POLICY_FIELDS}
        if before != after:
            audit.record("reminder_policy.changed", actor=actor, subject=policy, data={"from": before, "to": after})
    return policy


# --- nudges -------------------------------------------------------------------------------------------


def reminder_nudge(*, assignment: Assignment, actor: Any, today: dt.date | None = None) -> Delivery:
    """A compliance officer reminds a person now, at most once a day per assignment (45 CFR 164.308(a)(5)(i))."""
    from .tasks import send_deliveries_task

    today = today or timezone.localdate()
    if not assignment.is_open:
        raise ValidationError("This assignment is completed or cancelled; there is nothing to remind about.")
    if not assignment.user.is_active:
        raise ValidationError("This person has left the workforce.")
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(assignment=assignment, kind=Delivery.NUDGE, period=today.isoformat())
            audit.record(
                "reminder.nudged",
                actor=actor,
                subject=assignment,
                data={"person": assignment.user.email, "course_id": assignment.course_id, "delivery": delivery.pk},
            )
            from hipaa_training.tasks import send_after_commit

            send_after_commit(send_deliveries_task, [delivery.pk])
    except IntegrityError:
        raise ValidationError("This person was already reminded about this module today.") from None
    return delivery


# --- the sender ---------------------------------------------------------------------------------------


@dataclass
class _Message:
    rows: list[Delivery]
    email: EmailMultiAlternatives | None


def _render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    context = {**context, "organization": settings.ORGANIZATION_NAME, "training_url": training_url()}
    return (
        render_to_string(f"emails/{template}.txt", context),
        render_to_string(f"emails/{template}.html", context),
    )


def _email(subject: str, to: list[str], template: str, context: dict[str, Any], rows: list[Delivery]) -> _Message:
    text, html = _render(template, context)
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=to,
        headers={"X-Training-Delivery": ",".join(str(r.pk) for r in rows)},
    )
    email.attach_alternative(html, "text/html")
    return _Message(rows, email)


SUBJECTS = {
    Delivery.BEFORE_DUE: "Reminder: {course} is due on {due}",
    Delivery.DUE: "Due today: {course}",
    Delivery.OVERDUE: "Overdue: {course} was due on {due}",
    Delivery.NUDGE: "Your compliance officer asks you to complete {course}",
}


def _messages(rows: list[Delivery], officers: list[User]) -> list[_Message]:
    """Group claimed rows into e-mails: one per reminder, one digest per person, manager or officer."""
    messages: list[_Message] = []
    digests: dict[int, list[Delivery]] = defaultdict(list)
    markers: dict[int, Delivery] = {}
    managers: dict[int, list[Delivery]] = defaultdict(list)
    to_officers: list[Delivery] = []
    for row in rows:
        if row.kind == Delivery.DIGEST:
            markers[row.recipient_id] = row
        elif row.kind == Delivery.BULLETIN:
            b = row.bulletin
            messages.append(
                _email(
                    f"Security reminder: {b.title}",
                    [row.recipient.email],
                    "bulletin",
                    {"person": row.recipient, "bulletin": b, "url": f"{settings.SITE_URL}{b_url(b.pk)}"},
                    [row],
                )
            )
        elif row.kind == Delivery.MANAGER:
            managers[row.assignment.user.manager_id].append(row)
        elif row.kind == Delivery.OFFICER:
            to_officers.append(row)
        elif row.assignment.user.reminder_digest and row.kind != Delivery.NUDGE:
            digests[row.assignment.user_id].append(row)
        else:
            a = row.assignment
            subject = SUBJECTS[row.kind].format(course=a.course.title, due=f"{a.due_on:%B} {a.due_on.day}")
            context = {"person": a.user, "assignment": a, "kind": row.kind, "today": timezone.localdate()}
            messages.append(_email(subject, [a.user.email], "reminder", context, [row]))
    for user_id, items in digests.items():
        person = items[0].assignment.user
        extra = [markers.pop(user_id)] if user_id in markers else []
        context = {"person": person, "items": items, "today": timezone.localdate()}
        messages.append(
            _email("Your training reminders for today", [person.email], "reminder_digest", context, items + extra)
        )
    for manager_id, items in managers.items():
        manager = items[0].assignment.user.manager
        if manager is None or manager_id is None:
            continue
        context = {"recipient": manager, "items": items, "level": "manager"}
        subject = f"{len({i.assignment.user_id for i in items})} of your team have overdue HIPAA training"
        messages.append(_email(subject, [manager.email], "escalation", context, items))
    if to_officers:
        context = {"items": to_officers, "level": "officer"}
        subject = f"Overdue HIPAA training: {len({i.assignment.user_id for i in to_officers})} people"
        # One digest to each officer; the rows are marked once every officer's copy went out.
        emails = [_email(subject, [o.email], "escalation", {**context, "recipient": o}, []) for o in officers]
        for m in emails:
            assert m.email is not None
            m.email.extra_headers["X-Training-Delivery"] = ",".join(str(r.pk) for r in to_officers)
        if emails:
            emails[-1].rows = to_officers
        else:  # no officer to tell: nothing to send, and nothing to retry
            emails = [_Message(to_officers, None)]
        messages += emails
    # A digest marker with nothing left to carry (its reminders were sent by an earlier run) is done.
    for marker in markers.values():
        messages.append(_Message([marker], None))
    return messages


def b_url(bulletin_id: int) -> str:
    return reverse("roles:bulletin", args=[bulletin_id])


def send_claimed(ids: list[int]) -> SendResult:
    """Send the claimed rows `ids` and record them as sent (a constant number of queries per flush)."""
    result = SendResult()
    if not ids:
        return result
    rows = list(
        Delivery.objects.filter(pk__in=ids, sent_at__isnull=True)
        .select_related("assignment__user__manager", "assignment__course", "recipient", "bulletin")
        .order_by("pk")
    )
    officers: list[User] = []
    if any(r.kind == Delivery.OFFICER for r in rows):
        officers = list(User.objects.filter(groups__name=COMPLIANCE_OFFICER, is_active=True).order_by("pk"))
    pause = float(_setting("REMINDER_SEND_PAUSE", 0))
    mark_every = int(_setting("REMINDER_MARK_EVERY", 200))
    mark_interval = float(_setting("REMINDER_MARK_INTERVAL", 0.05))
    pending: list[Delivery] = []
    last_flush = time.monotonic()
    connection = get_connection()
    try:
        for message in _messages(rows, officers):
            if message.email is not None:
                if pause:
                    time.sleep(pause)  # stay under the mail relay's rate limit
                message.email.connection = connection
                message.email.send()
                result.messages += 1
            pending += message.rows
            if len(pending) >= mark_every or time.monotonic() - last_flush >= mark_interval:
                _mark_sent(pending, result)
                pending = []
                last_flush = time.monotonic()
    finally:
        if pending:
            _mark_sent(pending, result)
        connection.close()
    return result


def _mark_sent(rows: list[Delivery], result: SendResult) -> None:
    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(sent_at=now)
        bulletins = [r for r in rows if r.kind == Delivery.BULLETIN]
        if bulletins:
            BulletinDelivery.objects.bulk_create(
                [BulletinDelivery(bulletin_id=r.bulletin_id, person_id=r.recipient_id, sent_at=now) for r in bulletins],
                ignore_conflicts=True,
            )
            audit.record_many(
                audit.Event(
                    "bulletin.delivered",
                    subject=("roles.bulletin", r.bulletin_id),
                    data={"person": r.recipient.email, "delivery": r.pk},
                )
                for r in bulletins
            )
    for r in rows:
        if r.kind != Delivery.DIGEST:
            result.deliveries += 1
            result.kinds[r.kind] += 1
