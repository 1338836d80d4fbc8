"""Exactly once, against the real Redis and real workers: twice in a row, twice at once, and a worker killed
with SIGKILL in the middle of a 2,000-person run, recovered by beat's sweep alone."""

from __future__ import annotations

import email
import email.message
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from hipaa_training.celery import app
from roles.assignments import sync_assignments
from roles.models import Assignment, Delivery
from roles.tasks import send_reminders_task
from tests.factories import UserFactory, role
from tests.roles.test_reminders_once import assert_each_gets_one_message, bulk_workforce, delivery_ids

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalog")]
ROOT = Path(__file__).resolve().parents[2]


def workforce(n: int) -> int:
    """n billing people whose three modules are all due today; returns the number of reminders due."""
    UserFactory.create_batch(n, workforce_role=role("billing"))
    sync_assignments()
    Assignment.objects.update(due_on=timezone.localdate())
    return Assignment.objects.count()


def wait_for(condition, timeout: float = 30, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError("timed out")


def run_reminders():
    """Queue one reminder run; returns its result, so a test can wait for that run to have finished."""
    return send_reminders_task.apply_async(ignore_result=False)


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
    counts = delivery_ids(mail.outbox)
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
    counts = delivery_ids(mail.outbox)
    assert len(counts) == due and set(counts.values()) == {1}
    claims = Delivery.objects.values_list("claim", flat=True).distinct()
    assert len(claims) > 1  # claimed batch by batch, each batch under its own token


def start_worker_process(
    mail_dir: str, name: str, beat_dir: str | None = None, **env_settings: str
) -> subprocess.Popen:
    """A real worker in its own process (`name@host`), writing mail to files in `mail_dir`; with `beat_dir`,
    it also runs beat (`-B`), so the periodic sweep happens by itself."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hipaa_training.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_URL": "filemail://",
        "EMAIL_FILE_PATH": mail_dir,
        "SITE_URL": settings.SITE_URL,
        **env_settings,
    }
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(db["USER"], f"{db['USER']}:{db['PASSWORD']}", 1)
    command = [sys.executable, "-m", "celery", "-A", "hipaa_training", "--result-backend", settings.REDIS_URL]
    command += ["worker", "--pool=solo", "--loglevel=WARNING", f"--hostname={name}@%h"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    if beat_dir:
        command += ["-B", f"--schedule={beat_dir}/beat-schedule"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def read_mail(mail_dir: str) -> list[Sent]:
    """Every message the file backend wrote in full (one file per connection, each message followed by a line
    of dashes)."""
    sent = []
    for path in sorted(Path(mail_dir).iterdir()):
        for part in path.read_text().split("-" * 79)[:-1]:
            sent.append(Sent.parse(email.message_from_string(part.strip())))
    return sent


@dataclass
class Sent:
    """A message read back from the relay's files, shaped like the EmailMessage the other tests look at."""

    to: list[str]
    subject: str
    body: str
    extra_headers: dict[str, str]

    @classmethod
    def parse(cls, m: email.message.Message) -> Sent:
        text = next(p for p in m.walk() if p.get_content_type() == "text/plain")
        body = text.get_payload(decode=True)
        assert isinstance(body, bytes)
        headers = {"X-Training-Delivery": str(m["X-Training-Delivery"]), "Message-ID": str(m["Message-ID"])}
        return cls([str(m["To"])], str(m["Subject"]), body.decode(), headers)


def kill_between_two_messages(worker: subprocess.Popen, batch: QuerySet[Delivery], mail_dir: str) -> None:
    """SIGKILL `worker` while it waits out the relay's pause: every message it marked is in the relay's files
    and the next is not marked yet. (Killed in the instant between a mark and the hand-over, the one message
    would be lost: the at-most-once case of roles/reminders/claims.py; everything else must survive.)"""

    def marked() -> set[int]:
        return set(batch.filter(sent_at__isnull=False).values_list("pk", flat=True))

    def handed_over() -> set[int]:
        return {pk for _, pk in delivery_ids(read_mail(mail_dir))}

    wait_for(lambda: marked() == handed_over(), timeout=30, every=0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)


def worker_is_up(name: str) -> bool:
    return bool(app.control.ping(destination=[f"{name}@{socket.gethostname()}"], timeout=0.5))


@pytest.mark.postgres
def test_kill_9_during_a_2000_person_run_then_the_sweep_alone_sends_each_message_exactly_once(broker):
    today = timezone.localdate()
    # 2,000 people with one module two weeks overdue: reminders, 400 digests, 200 managers' and the officer's
    # escalations. The worker that dies is slow (a relay's rate limit); the standby worker runs beat.
    w = bulk_workforce(2000, modules=1, per_manager=10, digest_every=5, today=today)
    rows = 3 * 2000 + 400  # overdue, manager and officer rows per person; a digest marker per reader
    sent = Delivery.objects.filter(sent_at__isnull=False)
    lease, every, pause = 2.0, 1.0, 0.3
    short = {"REMINDER_CLAIM_LEASE_SECONDS": str(lease), "REMINDER_RESUME_EVERY_SECONDS": str(every)}
    with tempfile.TemporaryDirectory() as mail_dir, tempfile.TemporaryDirectory() as beat_dir:
        # One sender in the worker that dies, so "between two messages" is one instant to aim at (with two senders
        # sharing the run, each has its own: tests/roles/test_reminders_senders.py).
        first = start_worker_process(
            mail_dir, "first", REMINDER_SEND_PAUSE=str(pause), REMINDER_SEND_THREADS="1", **short
        )
        second = None
        try:
            send_reminders_task.apply_async()
            wait_for(sent.exists, timeout=60)
            assert Delivery.objects.count() == rows  # the whole run was claimed before anything was sent
            batch = Delivery.objects.filter(claim=sent.order_by("sent_at").values_list("claim", flat=True)[0])
            second = start_worker_process(mail_dir, "second", beat_dir, **short)
            wait_for(lambda: worker_is_up("second"), timeout=60)
            # The first worker renews its lease on all its run has left, so the sweep leaves it alone.
            kill_between_two_messages(first, batch, mail_dir)
            killed = timezone.now()
            left = list(batch.filter(sent_at__isnull=True).values_list("pk", flat=True))
            done = batch.filter(sent_at__isnull=False).count()
            assert done >= 5 and len(left) > 100  # killed in the middle of its batch
            assert sent.count() == done  # while it was alive, nobody else sent any of its run
            wait_for(lambda: sent.count() == rows, timeout=90)  # nobody queues anything: beat's sweep does it
        finally:
            first.kill()
            if second:
                second.terminate()
                second.wait(10)
        messages = read_mail(mail_dir)
    assert_each_gets_one_message(w, messages)
    resumed = min(sent.filter(sent_at__gt=killed).values_list("sent_at", flat=True))
    # The dead worker's run is taken over within lease + sweep interval (and a little for beat's tick).
    assert (resumed - killed).total_seconds() <= lease + every + 2
