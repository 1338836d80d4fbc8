"""A reminder run for N people with 3 assignments each: total time and number of queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hipaa /work/main/.venv/bin/python bench/bench_reminders.py
    /work/main/.venv/bin/python bench/bench_reminders.py --people 2000      # SQLite (a throwaway file)

A throwaway test database is created and dropped. Every assignment is due for something on the day of the
run (14 days before, due today, or two weeks overdue), 20% of people chose the daily digest and every ten
people share a manager, so the run sends reminders, digests and both escalations: the worst day there is.
Then the same workforce with due dates spread over a year: a catch-up run (yesterday), and the run of a
typical day after it.
Mail goes to a backend that serialises each message as SMTP would and drops it, so the figures include
rendering and building every message but not a mail server's round trips; it opens and closes sessions as
Django's SMTP backend does, so the bench counts them.

Each figure stands beside its floor and the ratio:
- time: the floor is building and serialising the same messages (no database) plus the marks' floor, one
  after the other on one thread. Building is the run's own rendering (each reminder once per kind, module
  and due date) and the bytes written as roles/reminders/wire.py writes them: the same bytes email.generator
  writes, without folding the same headers again per message (until issue 14 both the run and this floor went
  through email.generator, so the floor was not the cheapest way to build the same messages);
- marks (each message is marked sent, committed, before it is handed over: the price of exactly once): the
  floor is one mark's UPDATE of an unsent row per message, on the marks' open cursor (a prepared statement
  on PostgreSQL, as the run's marks are since issue 14), measured on the same database (it was an ORM update
  rewriting a sent row's timestamp: a query compiled per call, without a mark's index work, so neither the
  same work nor the cheapest);
- queries: the floor is one per message (its mark);
- SMTP sessions: the floor is one per batch.
The run's claims are shared by `REMINDER_SEND_THREADS` senders (2 by default; the marks' time is summed over
them). `--worst-day-only` runs just the first run at --people.
The worst day is also run with `REMINDER_MARK_SYNCHRONOUS` (each mark waits for the disk) to show that cost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hipaa_training.settings")
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.sqlite3"
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from _table import record  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.mail import EmailMessage  # noqa: E402
from django.core.mail.backends.base import BaseEmailBackend  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django.utils import timezone  # noqa: E402


class SerializingBackend(BaseEmailBackend):
    """Builds the bytes an SMTP backend would send, then drops them; opens a session the way Django's SMTP
    backend does (send_messages opens one unless one is open, and closes what it opened)."""

    sent = 0
    sessions = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_open = False

    def open(self) -> bool:
        if self.is_open:
            return False
        self.is_open = True
        SerializingBackend.sessions += 1
        return True

    def close(self) -> None:
        self.is_open = False

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        opened = self.open()
        for message in email_messages:
            message.message().as_bytes(linesep="\r\n")  # as the SMTP backend writes it
            SerializingBackend.sent += 1
        if opened:
            self.close()
        return len(email_messages)


class MarkTimer:
    """Wraps the mailer's per-message mark to add up the time spent marking."""

    seconds = 0.0

    @classmethod
    def install(cls) -> None:
        from roles.reminders import mailer

        original = mailer._mark

        def timed(*args: Any, **kwargs: Any) -> bool:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                cls.seconds += time.perf_counter() - started

        mailer._mark = timed  # type: ignore[assignment]


def mark_floor(samples: int = 300) -> float:
    """Seconds for one mark on this database done the cheapest way (median): the mark's own UPDATE of an
    unsent row (so the row leaves the unsent index, as a mark's does; rows spread over the table, as a run's
    are) on the marks' own cursor kept open (on PostgreSQL a prepared statement: parsed and planned once), no
    query compiled per call, autocommit, and on PostgreSQL without waiting for the disk, as the marks do. (It
    was an ORM update setting a sent row's sent_at to what it was: a query compiled each time, and not the
    index work of a mark.)"""
    from roles.models import Delivery
    from roles.reminders.mailer import _MARK_SQL, _mark_cursor, _marks_without_waiting_for_the_disk

    every = max(Delivery.objects.count() // samples, 1)  # rows spread over the table, as a run's marks are
    rows = list(Delivery.objects.order_by("pk").values_list("pk", "claim", "sent_at"))[::every][:samples]
    assert rows
    Delivery.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(sent_at=None)  # unsent again, for the marks
    times = []
    with _marks_without_waiting_for_the_disk(), _mark_cursor() as marks, connection.cursor() as plain:
        cursor = marks or plain  # the marks' cursor is PostgreSQL's alone
        for pk, claim, sent_at in rows:
            started = time.perf_counter()
            cursor.execute(_MARK_SQL, [sent_at, pk, claim])
            times.append(time.perf_counter() - started)
            assert cursor.rowcount == 1
    return statistics.median(times)


def build_floor(tokens: list[str]) -> float:
    """Seconds to build and serialise the messages of these claims again, without the database: the run's
    renderer, and its bytes as a relay is sent them (wire.py, checked against email.generator byte for byte by
    tests/roles/test_reminders_wire.py)."""
    from roles.access import COMPLIANCE_OFFICER
    from roles.models import Delivery, User
    from roles.reminders.claimed import read_rows
    from roles.reminders.mailer import _messages

    officers = list(User.objects.filter(groups__name=COMPLIANCE_OFFICER, is_active=True).order_by("pk"))
    by_token = [read_rows(Delivery.objects.filter(claim=token)) for token in tokens]
    started = time.perf_counter()
    for token_rows in by_token:
        for message in _messages(token_rows, officers):
            for email in message.emails:
                email.message().as_bytes(linesep="\r\n")
    return time.perf_counter() - started


def populate(people: int, start: int, spread: bool = False) -> None:
    from courses.models import Course
    from roles.access import COMPLIANCE_OFFICER
    from roles.models import Assignment, User, WorkforceRole

    billing = WorkforceRole.objects.get(slug="billing")
    courses = list(Course.objects.filter(requirements__role=billing).order_by("pk"))
    today = timezone.localdate()
    managers = User.objects.bulk_create(
        User(email=f"m{start + i}@bench.test", full_name=f"Manager {start + i}", workforce_role=billing, password="!")
        for i in range(people // 10)
    )
    users = User.objects.bulk_create(
        User(
            email=f"p{start + i}@bench.test",
            full_name=f"Person {start + i}",
            workforce_role=billing,
            manager=managers[i // 10],
            reminder_digest=i % 5 == 0,
            password="!",
        )
        for i in range(people)
    )
    offsets = [14, 0, -14]

    def due(i: int, k: int) -> dt.date:
        if spread:  # a company in its stride: due dates spread over a year (a few weeks overdue at most)
            return today + dt.timedelta(days=(i * 7 + k * 131) % 395 - 30)
        return today + dt.timedelta(days=offsets[k])

    Assignment.objects.bulk_create(
        Assignment(
            user=u,
            course=c,
            cycle=1,
            reason=Assignment.NEW_HIRE,
            assigned_on=today - dt.timedelta(days=30),
            due_on=due(i, k),
        )
        for i, u in enumerate(users)
        for k, c in enumerate(courses)
    )
    officer = User.objects.create_user(email=f"officer{start}@bench.test", full_name="Olivia Officer")
    officer.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))


def ratio(value: float, floor: float) -> str:
    return f"x{value / floor:.2f}" if floor else "-"


def measure(label: str, today: dt.date | None = None) -> tuple[float, float, int]:
    from roles.models import Delivery
    from roles.reminders.schedule import reminders_send

    before = set(Delivery.objects.values_list("claim", flat=True).distinct())
    SerializingBackend.sessions, MarkTimer.seconds = 0, 0.0
    counter = itertools.count()

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        next(counter)
        return execute(sql, params, many, context)

    def counted(sender: Any, connection: Any, **kwargs: Any) -> None:  # the senders' threads' connections
        connection.execute_wrappers.append(count)

    started = time.perf_counter()
    connection_created.connect(counted)
    try:
        with connection.execute_wrapper(count):  # not CaptureQueriesContext: its log keeps only 9,000 queries
            result = reminders_send(today=today)
    finally:
        connection_created.disconnect(counted)
    elapsed = time.perf_counter() - started
    queries = next(counter)
    tokens = sorted(set(Delivery.objects.values_list("claim", flat=True).distinct()) - before)
    n = result.messages
    marks = mark_floor() * n if n else 0.0
    build = build_floor(tokens) if n else 0.0
    print(
        f"{label:<40} {elapsed:7.2f} s (floor {build + marks:6.2f}, {ratio(elapsed, build + marks):>6})  "
        f"marks {MarkTimer.seconds:6.2f} s over {getattr(settings, 'REMINDER_SEND_THREADS', 1)} senders "
        f"(floor {marks:5.2f}, {ratio(MarkTimer.seconds, marks):>6})  "
        f"{queries:6d} queries (floor {n:6d}, {ratio(queries, n):>6})  "
        f"{SerializingBackend.sessions:4d} SMTP sessions (floor {len(tokens):4d}, "
        f"{ratio(SerializingBackend.sessions, len(tokens)):>6})  "
        f"{result.deliveries:6d} deliveries  {n:6d} messages  "
        f"{result.deliveries / elapsed if elapsed else 0:6.0f} deliveries/s"
    )
    return elapsed, build + marks, n


def reset() -> None:
    from roles.models import Assignment, Delivery, User

    Delivery.objects.all().delete()
    Assignment.objects.all().delete()
    User.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--worst-day-only", action="store_true", help="only the first run at --people (worst day)")
    args = parser.parse_args()
    settings.EMAIL_BACKEND = "__main__.SerializingBackend"
    settings.DEBUG = False
    MarkTimer.install()
    # Its own throwaway database, never the one the test suite uses.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_{connection.settings_dict['NAME']}"
    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = str(Path(tempfile.mkdtemp(prefix="bench-")) / "bench.sqlite3")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from courses.loader import load_catalog
        from hipaa_training.celery import load_urlconf
        from roles.defaults import load_default_roles

        load_catalog()
        load_default_roles()
        load_urlconf()  # as a Celery worker does when it starts (hipaa_training/celery.py): not a reminder's cost
        print(f"database: {connection.vendor}; batch size {settings.REMINDER_BATCH_SIZE}")
        if args.worst_day_only:
            populate(args.people, 100_000)
            measure(f"first run, {args.people} people")
            return
        small = max(args.people // 10, 100)
        populate(small, 0)
        measure(f"first run, {small} people")
        measure(f"second run, {small} people")
        reset()
        populate(small, 50_000)
        settings.REMINDER_MARK_SYNCHRONOUS = True
        measure(f"first run, {small} people, synchronous marks")
        settings.REMINDER_MARK_SYNCHRONOUS = False
        reset()
        populate(args.people, 100_000)
        elapsed, floor, messages = measure(f"first run, {args.people} people")
        record(
            f"reminder run, {args.people:,} x 3, every assignment due ({messages:,} messages)",
            elapsed,
            unit="s",
            floor=floor,
            goal="under 15 s at 10,000 x 3",
            met=elapsed < 15 if args.people >= 10_000 else None,  # judged at the goal's size
        )
        measure(f"second run, {args.people} people")

        # A typical day: due dates spread over a year; yesterday's run went out, today's sends what is new.
        reset()
        populate(args.people, 200_000, spread=True)
        today = timezone.localdate()
        measure(f"catch-up run (spread), {args.people} people", today - dt.timedelta(days=1))
        measure(f"daily run (spread), {args.people} people", today)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
