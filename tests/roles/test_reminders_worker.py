"""At most once, against the real Redis and real workers: twice in a row, twice at once, and a worker
killed with SIGKILL in the middle of a batch."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from hipaa_training.celery import app
from roles.assignments import sync_assignments
from roles.models import Assignment, Delivery
from roles.tasks import send_reminders_task
from tests.factories import UserFactory, role

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalog")]
ROOT = Path(__file__).resolve().parents[2]


def workforce(n: int) -> int:
    """n billing people whose three modules are all due today; returns the number of reminders due."""
    UserFactory.create_batch(n, workforce_role=role("billing"))
    sync_assignments()
    Assignment.objects.update(due_on=timezone.localdate())
    return Assignment.objects.count()


def wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def run_reminders():
    """Queue one reminder run; returns its result, so a test can wait for that run to have finished."""
    return send_reminders_task.apply_async(ignore_result=False)


def delivery_ids(messages) -> Counter[int]:
    """How many times each delivery row went out, read from the messages themselves."""
    return Counter(int(i) for m in messages for i in m["X-Training-Delivery"].split(","))


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()  # our own database number: nothing left over from an earlier test
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.update(task_always_eager=False, broker_url=settings.REDIS_URL, result_backend=settings.REDIS_URL)
    app._local.__dict__.pop("backend", None)  # the backend is cached per thread: take the one just set
    yield
    app.conf.update(task_always_eager=True, result_backend=None)
    app._local.__dict__.pop("backend", None)
    client.flushdb()


def test_the_reminder_task_twice_in_a_row_sends_each_reminder_once(broker):
    due = workforce(4)
    mail.outbox.clear()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        run_reminders().get(timeout=30)
        assert Delivery.objects.filter(sent_at__isnull=False).count() == due
        second, third = run_reminders(), run_reminders()
        second.get(timeout=30), third.get(timeout=30)
    counts = delivery_ids(m.message() for m in mail.outbox)
    assert len(counts) == due and set(counts.values()) == {1}
    assert Delivery.objects.count() == due


@pytest.mark.postgres
def test_the_reminder_task_twice_at_once_sends_each_reminder_once(broker, settings):
    settings.REMINDER_SEND_PAUSE = 0.01  # slow enough that the two runs overlap
    settings.REMINDER_BATCH_SIZE = 5
    due = workforce(10)
    mail.outbox.clear()
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10):
        runs = [run_reminders(), run_reminders()]
        for run in runs:
            run.get(timeout=60)
        assert Delivery.objects.filter(sent_at__isnull=False).count() == due
    counts = delivery_ids(m.message() for m in mail.outbox)
    assert len(counts) == due and set(counts.values()) == {1}
    claims = Delivery.objects.values_list("claim", flat=True).distinct()
    assert len(claims) > 1  # claimed batch by batch, each batch under its own token


def start_worker_process(mail_dir: str) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hipaa_training.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_URL": "filemail://",
        "EMAIL_FILE_PATH": mail_dir,
        "REMINDER_SEND_PAUSE": "0.1",  # a slow mail relay: the batch takes seconds
        "REMINDER_CLAIM_LEASE_SECONDS": "1",
        "SITE_URL": settings.SITE_URL,
    }
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(db["USER"], f"{db['USER']}:{db['PASSWORD']}", 1)
    command = [sys.executable, "-m", "celery", "-A", "hipaa_training", "--result-backend", settings.REDIS_URL]
    command += ["worker", "--pool=solo", "--loglevel=WARNING"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.postgres
def test_a_worker_killed_mid_batch_then_a_new_worker_delivers_each_reminder_exactly_once(broker):
    due = workforce(12)
    sent = Delivery.objects.filter(sent_at__isnull=False)
    with tempfile.TemporaryDirectory() as mail_dir:
        first = start_worker_process(mail_dir)
        try:
            send_reminders_task.apply_async()
            wait_for(lambda: sent.count() >= 10, timeout=60)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            first.kill()
        partly = sent.count()
        assert 10 <= partly < due  # killed in the middle of the batch
        assert Delivery.objects.count() == due  # the rest were claimed and are waiting

        second = start_worker_process(mail_dir)
        try:
            time.sleep(1.1)  # the dead worker's claim lease runs out
            run_reminders().get(timeout=60)  # the next tick of beat
            assert sent.count() == due
            run_reminders().get(timeout=60)  # and one more, which must find nothing to send
        finally:
            second.terminate()
            second.wait(10)
        messages = []
        for path in Path(mail_dir).iterdir():
            for part in path.read_text().split("-" * 79):
                if part.strip():
                    messages.append(email.message_from_string(part.strip()))
    counts = delivery_ids(messages)
    assert sorted(counts) == sorted(Delivery.objects.values_list("pk", flat=True))
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v > 1}
    assert len(messages) == due
