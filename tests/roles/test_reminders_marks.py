"""The mark (issue 14): on PostgreSQL one prepared statement per connection, the same UPDATE committed before
each hand-over; a worker that dies at the relay loses only the message it was handing over, as before."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test.utils import CaptureQueriesContext

from roles.models import Delivery
from roles.reminders.claims import deliveries_resume
from roles.reminders.schedule import reminders_send
from tests.roles.test_reminders_once import MORNING, WorkerDied, at, bulk_workforce, delivery_ids

pytestmark = pytest.mark.usefixtures("catalog")
MARK = 'UPDATE "roles_delivery" SET "sent_at"'


def prepared_marks() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [s for (s,) in cursor.fetchall() if s.startswith(MARK)]


@pytest.mark.postgres
@pytest.mark.parametrize("prepared", [True, False])
def test_on_postgresql_the_mark_is_prepared_once_and_django_s_connection_keeps_its_setting(settings, prepared):
    settings.REMINDER_SEND_THREADS = 1  # the run's own connection, to look at afterwards
    settings.REMINDER_MARK_PREPARED = prepared
    bulk_workforce(5, modules=2, digest_every=100)
    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold
    mail.outbox.clear()
    with at(MORNING), CaptureQueriesContext(connection) as queries:
        result = reminders_send()
    assert result.messages == len(mail.outbox) == 4 * 2 + 1 + 1 + 1  # reminders, a digest, manager, officer
    # One mark each: the UPDATE, or for several rows (a digest, an escalation) that UPDATE once a row, sent and
    # committed together (Django logs an executemany as "N times: ...").
    marks = [q["sql"] for q in queries.captured_queries if MARK in q["sql"]]
    assert len(marks) == result.messages
    several = sorted(int(m.split(" times:")[0]) for m in marks if not m.startswith(MARK))
    assert several == [2 + 1, 5 * 2, 5 * 2]  # a digest of 2 modules and its marker; the manager's and the officer's
    assert len(prepared_marks()) == (1 if prepared else 0)  # one statement for all of them
    assert connection.connection.prepare_threshold == threshold  # Django's other queries are left as they were
    assert not Delivery.objects.filter(sent_at__isnull=True).exists()


class DyingRelay(locmem.EmailBackend):
    """The worker dies while the relay takes the `dies_at`-th message (SIGKILL at the SMTP boundary)."""

    dies_at = 4
    seen = 0

    def send_messages(self, messages: Any) -> int:
        DyingRelay.seen += 1
        if DyingRelay.seen == DyingRelay.dies_at:
            raise WorkerDied
        return super().send_messages(messages)


def test_a_worker_dying_at_the_relay_loses_only_the_message_in_hand_and_the_sweep_sends_the_rest_once(settings):
    settings.EMAIL_BACKEND = "tests.roles.test_reminders_marks.DyingRelay"
    settings.REMINDER_SEND_THREADS = 1
    DyingRelay.seen = 0
    bulk_workforce(8, modules=1, per_manager=4, digest_every=100)
    mail.outbox.clear()
    with at(MORNING), pytest.raises(WorkerDied):
        reminders_send()
    assert len(mail.outbox) == DyingRelay.dies_at - 1
    marked = set(Delivery.objects.filter(sent_at__isnull=False).values_list("pk", flat=True))
    handed_over = {pk for _, pk in delivery_ids(mail.outbox)}
    (lost,) = marked - handed_over  # marked, then the worker died before the relay had it: that one only
    with at(MORNING + dt.timedelta(seconds=settings.REMINDER_CLAIM_LEASE_SECONDS + 1)):
        deliveries_resume()
    counts = delivery_ids(mail.outbox)
    assert set(counts.values()) == {1}  # nothing twice
    assert {pk for _, pk in counts} == set(Delivery.objects.values_list("pk", flat=True)) - {lost}
    assert not Delivery.objects.filter(sent_at__isnull=True).exists()


def test_a_claim_is_read_as_plain_rows_without_those_already_sent():
    from roles.reminders.claimed import claimed_rows
    from roles.reminders.schedule import claim_due

    bulk_workforce(3, modules=2, digest_every=100)
    with at(MORNING):
        (token, *_) = claim_due(today=MORNING.date(), kinds={"overdue"}, batch_size=500)
    first, *rest = Delivery.objects.filter(claim=token).order_by("pk")
    Delivery.objects.filter(pk=first.pk).update(sent_at=MORNING)  # sent by an earlier attempt
    rows = claimed_rows(token)
    assert [r.pk for r in rows] == [d.pk for d in rest]
    row, delivery = rows[0], rest[0]
    assert row.item is not None and delivery.assignment is not None
    assert (row.kind, row.period, row.item.user.email, row.item.title, row.item.due_on) == (
        delivery.kind,
        delivery.period,
        delivery.assignment.user.email,
        delivery.assignment.course.title,
        delivery.assignment.due_on,
    )
