"""The one sender: claimed `Delivery` rows become e-mails (one per reminder, one digest per person, manager or
officer), sent over one connection and marked sent as the relay accepts them."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from hipaa_training import audit

from ..access import COMPLIANCE_OFFICER
from ..models import Assignment, Bulletin, BulletinDelivery, Delivery, User
from ..organization import organization_name


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def training_url() -> str:
    return f"{settings.SITE_URL}{reverse('records:training')}"


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


@dataclass
class _Message:
    rows: list[Delivery]
    email: EmailMultiAlternatives | None


def _render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    context = {"organization": settings.ORGANIZATION_NAME, **context, "training_url": training_url()}
    return (
        render_to_string(f"emails/{template}.txt", context),
        render_to_string(f"emails/{template}.html", context),
    )


def _one_email(subject: str, to: list[str], template: str, context: dict[str, Any], rows: list[Delivery]) -> _Message:
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


def _assignment(row: Delivery) -> Assignment:
    """The assignment a reminder or an escalation is about (every kind but digest markers and bulletins)."""
    assert row.assignment is not None, f"delivery {row.pk} ({row.kind}) has no assignment"
    return row.assignment


def _recipient(row: Delivery) -> User:
    """The person a digest marker or a bulletin is addressed to."""
    assert row.recipient is not None, f"delivery {row.pk} ({row.kind}) has no recipient"
    return row.recipient


def _bulletin(row: Delivery) -> Bulletin:
    assert row.bulletin is not None, f"delivery {row.pk} ({row.kind}) has no bulletin"
    return row.bulletin


def _messages(rows: list[Delivery], officers: list[User]) -> list[_Message]:
    """Group claimed rows into e-mails: one per reminder, one digest per person, manager or officer."""
    organization = organization_name()  # the officer's name for it, read once per run

    def _email(subject: str, to: list[str], template: str, context: dict[str, Any], rows: list[Delivery]) -> _Message:
        return _one_email(subject, to, template, {"organization": organization, **context}, rows)

    messages: list[_Message] = []
    digests: dict[int, list[Delivery]] = defaultdict(list)
    markers: dict[int, Delivery] = {}
    managers: dict[int | None, list[Delivery]] = defaultdict(list)
    to_officers: list[Delivery] = []
    for row in rows:
        if row.kind == Delivery.DIGEST:
            markers[_recipient(row).pk] = row
        elif row.kind == Delivery.BULLETIN:
            b, person = _bulletin(row), _recipient(row)
            messages.append(
                _email(
                    f"Security reminder: {b.title}",
                    [person.email],
                    "bulletin",
                    {"person": person, "bulletin": b, "url": f"{settings.SITE_URL}{b_url(b.pk)}"},
                    [row],
                )
            )
        elif row.kind == Delivery.MANAGER:
            managers[_assignment(row).user.manager_id].append(row)
        elif row.kind == Delivery.OFFICER:
            to_officers.append(row)
        elif _assignment(row).user.reminder_digest and row.kind != Delivery.NUDGE:
            digests[_assignment(row).user_id].append(row)
        else:
            a = _assignment(row)
            subject = SUBJECTS[row.kind].format(course=a.course.title, due=f"{a.due_on:%B} {a.due_on.day}")
            context = {"person": a.user, "assignment": a, "kind": row.kind, "today": timezone.localdate()}
            messages.append(_email(subject, [a.user.email], "reminder", context, [row]))
    for user_id, items in digests.items():
        person = _assignment(items[0]).user
        extra = [markers.pop(user_id)] if user_id in markers else []
        context = {"person": person, "items": items, "today": timezone.localdate()}
        messages.append(
            _email("Your training reminders for today", [person.email], "reminder_digest", context, items + extra)
        )
    for manager_id, items in managers.items():
        manager = _assignment(items[0]).user.manager
        if manager is None or manager_id is None:
            continue
        context = {"recipient": manager, "items": items, "level": "manager"}
        subject = f"{len({_assignment(i).user_id for i in items})} of your team have overdue HIPAA training"
        messages.append(_email(subject, [manager.email], "escalation", context, items))
    if to_officers:
        context = {"items": to_officers, "level": "officer"}
        subject = f"Overdue HIPAA training: {len({_assignment(i).user_id for i in to_officers})} people"
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
                [BulletinDelivery(bulletin=_bulletin(r), person=_recipient(r), sent_at=now) for r in bulletins],
                ignore_conflicts=True,
            )
            audit.record_many(
                audit.Event(
                    "bulletin.delivered",
                    subject=("roles.bulletin", r.bulletin_id),
                    data={"person": _recipient(r).email, "delivery": r.pk},
                )
                for r in bulletins
            )
    for r in rows:
        if r.kind != Delivery.DIGEST:
            result.deliveries += 1
            result.kinds[r.kind] += 1
