"""Shared set-up for the benchmarks: a throw-away database (SQLite file, or PostgreSQL when DATABASE_URL points
at one) filled in bulk with a synthetic workforce. Not a test helper: it writes rows straight with bulk_create."""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402


def backend() -> str:
    return "PostgreSQL" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "SQLite"


@contextmanager
def scratch_database() -> Iterator[None]:
    """A fresh database (test_<name> on PostgreSQL, a temporary file on SQLite), dropped afterwards."""
    test = settings.DATABASES["default"].setdefault("TEST", {})
    if backend() == "SQLite":
        test["NAME"] = str(Path(tempfile.mkdtemp(prefix="hipaa-bench-")) / "bench.sqlite3")
    else:  # never the test suite's test_<name>, which may be in use
        test["NAME"] = f"bench_{settings.DATABASES['default']['NAME']}"
    old = setup_databases(verbosity=0, interactive=False)
    try:
        from courses.loader import load_catalog
        from roles.defaults import load_default_roles

        load_catalog()
        load_default_roles()
        yield
    finally:
        teardown_databases(old, verbosity=0)


def make_workforce(people: int, *, seed: int = 6, completed: float = 0.7, batch: int = 5000) -> dict[str, Any]:
    """`people` people across the six roles and departments, each with their role's 3 modules assigned."""
    from roles.models import Assignment, Department, PersonState, Requirement, User, WorkforceRole

    rng = random.Random(seed)
    today = timezone.localdate()
    roles = list(WorkforceRole.objects.all())
    departments = [Department.objects.get_or_create(name=f"Department {i}")[0] for i in range(6)]
    courses_of = {r.pk: [q.course_id for q in Requirement.objects.filter(role=r)] for r in roles}
    start = User.objects.count()
    t0 = time.perf_counter()
    for offset in range(0, people, batch):
        User.objects.bulk_create(
            [
                User(
                    email=f"bench{start + i}@example.test",
                    full_name=f"Bench Person {start + i}",
                    password="!",
                    workforce_role=roles[i % len(roles)],
                    department=departments[(i // 7) % len(departments)],
                    hire_date=today - dt.timedelta(days=rng.randint(0, 1200)),
                )
                for i in range(offset, min(people, offset + batch))
            ],
            batch_size=batch,
        )
    users = list(
        User.objects.filter(email__startswith="bench")
        .order_by("pk")
        .values_list("pk", "workforce_role_id", "department_id", "hire_date")
    )[start:]
    # Each person's history, as the services write it: a "joined" row from the hire date, and for one in five a
    # move into today's role and department 200 days ago (so "as of" days before that read a different state).
    moved_on = today - dt.timedelta(days=200)
    states: list[PersonState] = []
    role_ids = [r.pk for r in roles]
    department_ids = [d.pk for d in departments]
    for n, (pk, role_id, department_id, hired) in enumerate(users):
        moved = n % 5 == 0 and hired < moved_on
        first = (
            (role_ids[(role_ids.index(role_id) + 1) % len(role_ids)], department_ids[n % len(department_ids)])
            if moved
            else (role_id, department_id)
        )
        states.append(
            PersonState(
                person_id=pk, valid_from=hired, workforce_role_id=first[0], department_id=first[1], reason="joined"
            )
        )
        if moved:
            states.append(
                PersonState(
                    person_id=pk,
                    valid_from=moved_on,
                    workforce_role_id=role_id,
                    department_id=department_id,
                    reason="workforce role, department changed",
                )
            )
        if len(states) >= batch:
            PersonState.objects.bulk_create(states, batch_size=batch)
            states = []
    PersonState.objects.bulk_create(states, batch_size=batch)
    rows: list[Assignment] = []
    made = 0
    for pk, role_id, _, hired in users:
        assigned = max(hired, today - dt.timedelta(days=400))
        for course_id in courses_of[role_id]:
            due = assigned + dt.timedelta(days=30)
            done = None
            if rng.random() < completed:
                day = min(today, assigned + dt.timedelta(days=rng.randint(0, 45)))
                done = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
            rows.append(
                Assignment(
                    user_id=pk,
                    course_id=course_id,
                    cycle=1,
                    reason=Assignment.NEW_HIRE,
                    assigned_on=assigned,
                    due_on=due,
                    created_at=timezone.make_aware(dt.datetime.combine(assigned, dt.time(2))),
                    completed_at=done,
                )
            )
            if len(rows) >= batch:
                Assignment.objects.bulk_create(rows, batch_size=batch)
                made += len(rows)
                rows = []
    if rows:
        Assignment.objects.bulk_create(rows, batch_size=batch)
        made += len(rows)
    if backend() == "PostgreSQL":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"people": people, "assignments": made, "seconds": time.perf_counter() - t0}


def add_evidence(limit: int | None = None, batch: int = 5000, certificate_files: bool = False) -> int:
    """Attempts, attestations, completions and certificates for completed assignments (up to `limit`)."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from courses.models import CourseVersion
    from records.documents.certificate import new_certificate_code
    from records.models import AttestationSignature, Certificate, Completion, QuizAttempt
    from roles.models import Assignment

    version_of = {v.course_id: v for v in CourseVersion.objects.current()}
    qs = (
        Assignment.objects.filter(completed_at__isnull=False, completion__isnull=True)  # not given evidence yet
        .order_by("pk")
        .values_list("pk", "user_id", "course_id", "completed_at")
    )
    if limit:
        qs = qs[:limit]
    done = 0
    body = b"%PDF-1.4\n% bench certificate\n%%EOF\n"
    path = (
        default_storage.save("certificates/bench.pdf", ContentFile(body))
        if certificate_files
        else "certificates/none.pdf"
    )
    chunk: list[tuple[int, int, int, dt.datetime]] = []

    def flush(items: list[tuple[int, int, int, dt.datetime]]) -> None:
        QuizAttempt.objects.bulk_create(
            [
                QuizAttempt(
                    assignment_id=a,
                    version=version_of[c],
                    number=1,
                    question_order=[],
                    answers={},
                    score=90,
                    passed=True,
                    submitted_at=when,
                )
                for a, u, c, when in items
            ]
        )
        sigs = AttestationSignature.objects.bulk_create(
            [
                AttestationSignature(
                    assignment_id=a,
                    version=version_of[c],
                    statement_sha256="0" * 64,
                    typed_name="Bench",
                    signed_at=when,
                    ip_address="10.0.0.1",
                )
                for a, u, c, when in items
            ]
        )
        comps = Completion.objects.bulk_create(
            [
                Completion(
                    assignment_id=a,
                    user_id=u,
                    version=version_of[c],
                    attestation=s,
                    score=90,
                    attempts=1,
                    time_spent_seconds=600,
                    completed_at=when,
                )
                for (a, u, c, when), s in zip(items, sigs, strict=True)
            ]
        )
        Certificate.objects.bulk_create(
            [
                Certificate(
                    completion=comp,
                    code=new_certificate_code(),
                    file=path,
                    sha256=hashlib.sha256(body).hexdigest(),
                    issued_at=comp.completed_at,
                )
                for comp in comps
            ]
        )

    for row in qs.iterator(chunk_size=batch):
        chunk.append(row)
        if len(chunk) >= batch:
            flush(chunk)
            done += len(chunk)
            chunk = []
    if chunk:
        flush(chunk)
        done += len(chunk)
    return done


def timed(fn: Callable[[], Any], runs: int, *, before: Callable[[], Any] | None = None) -> dict[str, float]:
    """Median, p95 and least of `runs` calls of `fn`, in ms; `before` runs ahead of each call, untimed."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))],
        "min_ms": times[0],
    }
