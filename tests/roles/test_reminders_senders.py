"""Two senders share a reminder run (REMINDER_SEND_THREADS, issue 14): each message still goes out once, and
an error in one sender ends the run without anything sent twice; the sweep sends the rest."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from roles.models import Delivery
from roles.reminders import mailer, schedule
from roles.reminders.claims import deliveries_resume
from tests.roles.test_reminders_once import TODAY, assert_each_gets_one_message, bulk_workforce

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalog")]


def tracking_senders(monkeypatch) -> set[str]:
    names: set[str] = set()
    original = mailer.send_claimed

    def send_claimed(token, lease=None):
        names.add(threading.current_thread().name)
        return original(token, lease)

    monkeypatch.setattr(schedule, "send_claimed", send_claimed)
    return names


def test_two_senders_share_a_run_and_each_message_goes_out_once(settings, monkeypatch):
    settings.REMINDER_SEND_THREADS = 2
    settings.REMINDER_BATCH_SIZE = 10
    w = bulk_workforce(60, modules=2)
    names = tracking_senders(monkeypatch)
    mail.outbox.clear()
    schedule.reminders_send(today=TODAY)
    assert len(names) == 2 and all(n.startswith("reminder-sender-") for n in names)
    assert_each_gets_one_message(w, list(mail.outbox))
    again = len(mail.outbox)
    schedule.reminders_send(today=TODAY)  # a second run finds nothing left to send
    assert len(mail.outbox) == again


def test_a_sender_s_error_ends_the_run_and_the_sweep_sends_the_rest_once(settings, monkeypatch):
    settings.REMINDER_SEND_THREADS = 2
    settings.REMINDER_BATCH_SIZE = 10
    w = bulk_workforce(60, modules=2)
    original = mailer.send_claimed
    calls = {"n": 0}
    lock = threading.Lock()

    def failing(token, lease=None):
        with lock:
            calls["n"] += 1
            fail = calls["n"] == 3
        if fail:
            raise ConnectionResetError("the relay went away")
        return original(token, lease)

    monkeypatch.setattr(schedule, "send_claimed", failing)
    mail.outbox.clear()
    with pytest.raises(ConnectionResetError):
        schedule.reminders_send(today=TODAY)
    left = Delivery.objects.filter(sent_at__isnull=True)
    assert left.exists() and not left.filter(claim="").exists()  # claimed, waiting for the lease to run out
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=settings.REMINDER_CLAIM_LEASE_SECONDS + 1)):
        deliveries_resume()
    assert_each_gets_one_message(w, list(mail.outbox))
