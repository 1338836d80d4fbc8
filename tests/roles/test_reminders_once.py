"""Exactly once, however the batches fall: one digest a day per person, one escalation per manager and per
officer per run, a dead worker's claims taken over whole, a sender that lost its claim, a relay that refuses,
one SMTP session per batch, and defaults that recover a dead worker within ten minutes."""

from __future__ import annotations

import datetime as dt
import smtplib
import zoneinfo
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.core.mail.backends import locmem
from django.utils import timezone

from roles.access import COMPLIANCE_OFFICER
from roles.models import Assignment, Delivery, User
from roles.reminders.claims import deliveries_resume, take_over
from roles.reminders.schedule import claim_due, reminders_send
from roles.tasks import send_reminders_task
from tests.factories import role

pytestmark = pytest.mark.usefixtures("catalog")
TZ = zoneinfo.ZoneInfo(settings.TIME_ZONE)
TODAY = dt.date(2026, 3, 16)
DIGEST = "Your training reminders for today"


@dataclass
class Workforce:
    people: list[User]
    managers: list[User]
    officers: list[User]
    modules: int

    @property
    def digest_readers(self) -> list[User]:
        return [p for p in self.people if p.reminder_digest]

    def team(self, manager: User) -> list[User]:
        return [p for p in self.people if p.manager_id == manager.pk]


def bulk_workforce(
    people: int,
    *,
    modules: int = 3,
    late_days: int = 14,
    per_manager: int = 10,
    digest_every: int = 5,
    officers: int = 1,
    today: dt.date = TODAY,
) -> Workforce:
    """`people` billing people, each with `modules` modules `late_days` overdue (so reminders, both escalations
    and, for every `digest_every`-th person, a digest); every `per_manager` share a manager. Written in bulk."""
    billing = role("billing")
    courses = list(billing.requirements.order_by("course_id").values_list("course_id", flat=True))[:modules]
    assert len(courses) == modules
    managers = User.objects.bulk_create(
        User(email=f"m{i}@once.test", full_name=f"Manager {i}", password="!") for i in range(-(-people // per_manager))
    )
    staff = User.objects.bulk_create(
        User(
            email=f"p{i}@once.test",
            full_name=f"Person {i:04d}",
            workforce_role=billing,
            manager=managers[i // per_manager],
            reminder_digest=i % digest_every == 0,
            password="!",
        )
        for i in range(people)
    )
    Assignment.objects.bulk_create(
        Assignment(
            user=u,
            course_id=c,
            cycle=1,
            reason=Assignment.NEW_HIRE,
            assigned_on=today - dt.timedelta(days=60),
            due_on=today - dt.timedelta(days=late_days),
        )
        for u in staff
        for c in courses
    )
    group = Group.objects.get(name=COMPLIANCE_OFFICER)
    told = [User.objects.create_user(email=f"o{i}@once.test", full_name=f"Officer {i}") for i in range(officers)]
    for officer in told:
        officer.groups.add(group)
    return Workforce(staff, managers, told, modules)


def at(moment: dt.datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


MORNING = dt.datetime.combine(TODAY, dt.time(8, 15), tzinfo=TZ)


def delivery_ids(messages: Iterable[Any]) -> Counter[tuple[str, int]]:
    """How many times each delivery row went to each address, read from the messages themselves (a run's
    officer escalation goes to every officer)."""
    return Counter((m.to[0], int(i)) for m in messages for i in m.extra_headers["X-Training-Delivery"].split(","))


def assert_each_gets_one_message(w: Workforce, messages: list[Any]) -> None:
    """Every row sent exactly once; one digest per reader with all their modules; one escalation per
    manager naming their whole team; one per officer."""
    counts = delivery_ids(messages)
    assert {pk for _, pk in counts} == set(Delivery.objects.values_list("pk", flat=True))
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v > 1}
    assert not Delivery.objects.filter(sent_at__isnull=True).exists()
    to: dict[str, list[Any]] = {}
    for m in messages:
        to.setdefault(m.to[0], []).append(m)
    for person in w.people:
        mine = to[person.email]
        if person.reminder_digest:
            assert [m.subject for m in mine] == [DIGEST]
            assert mine[0].body.count("\n- ") == w.modules  # everything due, in the one digest
        else:
            assert len(mine) == w.modules and DIGEST not in {m.subject for m in mine}
    for manager in w.managers:
        (escalation,) = to[manager.email]
        assert all(p.full_name in escalation.body for p in w.team(manager))
    for officer in w.officers:
        assert len(to[officer.email]) == 1


def test_batches_smaller_than_the_workforce_still_give_one_digest_and_one_escalation_each(settings):
    settings.REMINDER_BATCH_SIZE = 5  # 3 modules a person: a person, or a team of 4, never fits one batch evenly
    w = bulk_workforce(40, per_manager=4, digest_every=2, officers=2)
    mail.outbox.clear()
    with at(MORNING):
        result = reminders_send()
    assert_each_gets_one_message(w, mail.outbox)
    assert result.messages == len(mail.outbox) == 20 * 3 + 20 + 10 + 2
    assert Delivery.objects.values("claim").distinct().count() > 10  # it was sent batch by batch
    mail.outbox.clear()
    with at(MORNING + dt.timedelta(hours=1)):
        assert reminders_send().messages == 0 and mail.outbox == []


class WorkerDied(BaseException):
    """What SIGKILL is to the code: nothing after it runs (no except clause catches it)."""


def test_a_worker_that_died_mid_run_is_taken_over_whole_by_the_sweep(settings):
    settings.REMINDER_BATCH_SIZE = 5
    settings.REMINDER_SEND_PAUSE = 0.001
    w = bulk_workforce(40, per_manager=4, digest_every=2, officers=2)
    mail.outbox.clear()
    pauses = 0

    def pause(seconds: float) -> None:  # the worker dies between two messages, after six went out
        nonlocal pauses
        pauses += 1
        if pauses == 7:
            raise WorkerDied

    with at(MORNING), mock.patch("roles.reminders.mailer.time.sleep", pause), pytest.raises(WorkerDied):
        reminders_send()
    assert len(mail.outbox) == 6
    assert Delivery.objects.filter(sent_at__isnull=False).count() < Delivery.objects.count()

    lease = dt.timedelta(seconds=settings.REMINDER_CLAIM_LEASE_SECONDS)
    with at(MORNING + lease - dt.timedelta(seconds=1)):
        assert deliveries_resume().messages == 0  # still within the dead worker's lease
    with at(MORNING + lease + dt.timedelta(seconds=1)):
        deliveries_resume(batch_size=2)  # the beat sweep, with batches smaller than any message
    assert_each_gets_one_message(w, mail.outbox)


def test_a_sender_whose_claim_was_taken_over_sends_none_of_it(settings):
    w = bulk_workforce(6, per_manager=3)
    mail.outbox.clear()
    from roles.reminders.mailer import send_claimed

    with at(MORNING):
        tokens = claim_due(today=TODAY, kinds={"before_due", "due", "overdue", "escalation_manager"}, batch_size=500)
    # The lease ran out while the first worker was stuck; a sweep took its claims over.
    with at(MORNING + dt.timedelta(minutes=10)):
        taken = [take_over(t, timezone.now()) for t in tokens]
        assert all(taken)
        for token in tokens:  # the first worker wakes up and goes on: it holds nothing any more
            assert send_claimed(token).messages == 0
        assert mail.outbox == []
        for token in taken:
            assert token is not None
            send_claimed(token)
    counts = delivery_ids(mail.outbox)
    assert set(counts.values()) == {1} and len({pk for _, pk in counts}) == Delivery.objects.count()
    assert {m.to[0] for m in mail.outbox} >= {p.email for p in w.people}


class RefusingBackend(locmem.EmailBackend):
    """A relay that refuses one address the first time it sees it."""

    refuse = "p1@once.test"
    refused = 0

    def send_messages(self, messages: Any) -> int:
        if any(self.refuse in m.to for m in messages) and not RefusingBackend.refused:
            RefusingBackend.refused += 1
            raise smtplib.SMTPRecipientsRefused({self.refuse: (450, b"mailbox busy")})
        return super().send_messages(messages)


def test_a_refused_message_is_unmarked_and_sent_once_by_a_later_sweep(settings):
    settings.EMAIL_BACKEND = "tests.roles.test_reminders_once.RefusingBackend"
    RefusingBackend.refused = 0
    bulk_workforce(3, modules=1, late_days=0, digest_every=100)
    mail.outbox.clear()
    with at(MORNING):
        reminders_send()
    refused = Delivery.objects.get(assignment__user__email=RefusingBackend.refuse)
    assert refused.sent_at is None
    assert sorted(m.to[0] for m in mail.outbox) == ["p0@once.test", "p2@once.test"]
    with at(MORNING + dt.timedelta(seconds=settings.REMINDER_CLAIM_LEASE_SECONDS + 1)):
        deliveries_resume()
    assert sorted(m.to[0] for m in mail.outbox) == ["p0@once.test", "p1@once.test", "p2@once.test"]


class CountingBackend(locmem.EmailBackend):
    """locmem with an SMTP backend's sessions: send_messages opens one unless one is open, and closes what it
    opened (django.core.mail.backends.smtp)."""

    sessions = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_open = False

    def open(self) -> bool:
        if self.is_open:
            return False
        self.is_open = True
        CountingBackend.sessions += 1
        return True

    def close(self) -> None:
        self.is_open = False

    def send_messages(self, messages: Any) -> int:
        opened = self.open()
        try:
            return super().send_messages(messages)
        finally:
            if opened:
                self.close()


def test_one_smtp_session_per_batch(settings):
    settings.EMAIL_BACKEND = "tests.roles.test_reminders_once.CountingBackend"
    settings.REMINDER_BATCH_SIZE = 10
    bulk_workforce(20, per_manager=5)
    CountingBackend.sessions = 0
    mail.outbox.clear()
    with at(MORNING):
        send_reminders_task.delay()
    batches = Delivery.objects.values("claim").distinct().count()
    assert len(mail.outbox) > 3 * batches
    assert CountingBackend.sessions == batches


def test_by_default_a_dead_worker_s_claims_are_resumed_within_ten_minutes():
    from hipaa_training.celery import app

    lease = settings.REMINDER_CLAIM_LEASE_SECONDS
    sweep = settings.CELERY_BEAT_SCHEDULE["resume-deliveries"]
    assert sweep["task"] in app.tasks
    every = sweep["schedule"].total_seconds()
    assert lease + every <= 10 * 60
    # The lease outlasts the longest gap between two renewals: a renewal interval, one message that takes the
    # relay's whole timeout, and the pause; with room to spare.
    assert lease >= 2 * (lease / 6 + settings.EMAIL_TIMEOUT + settings.REMINDER_SEND_PAUSE)


def test_a_bulletin_s_evidence_is_written_when_the_relay_takes_it_never_for_a_refusal(settings):
    from hipaa_training.models import AuditEvent
    from roles.bulletins import bulletin_create, bulletins_deliver
    from roles.models import BulletinDelivery

    settings.EMAIL_BACKEND = "tests.roles.test_reminders_once.RefusingBackend"
    RefusingBackend.refused = 0
    w = bulk_workforce(3, modules=1, late_days=0)
    refused = w.people[1]
    bulletin_create(title="Tailgating", body="Hold the door for nobody.", send_at=timezone.now(), actor=w.officers[0])
    mail.outbox.clear()
    bulletins_deliver()
    evidenced = set(BulletinDelivery.objects.values_list("person__email", flat=True))
    assert evidenced == {w.people[0].email, w.people[2].email}
    assert not AuditEvent.objects.filter(action="bulletin.delivered", data__person=refused.email).exists()
    with at(timezone.now() + dt.timedelta(seconds=settings.REMINDER_CLAIM_LEASE_SECONDS + 1)):
        deliveries_resume()  # the relay takes it this time
    assert BulletinDelivery.objects.filter(person=refused).count() == 1
    assert AuditEvent.objects.filter(action="bulletin.delivered", data__person=refused.email).count() == 1
    assert [m.to for m in mail.outbox].count([refused.email]) == 1
