"""Certificate rendering on a warm process: median and p95 per certificate (goal: median < 30 ms), beside the floor:
WeasyPrint rendering a trivial one-page document in the same process.

    /work/main/.venv/bin/python bench/bench_certificates.py [N]          # SQLite in a temporary directory
    DATABASE_URL=postgres://... /work/main/.venv/bin/python bench/bench_certificates.py

Sets up its own data: the catalogue, one billing employee, three completions. Times `render_pdf` of the
certificate (HTML -> PDF with the per-process FontConfiguration) and the whole `certificate_issue` (render,
store, hash, insert, audit), after three warm-up renders.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
tmp = Path(tempfile.mkdtemp(prefix="bench-certificates-"))
os.environ.setdefault("VAR_DIR", str(tmp))
os.environ.setdefault("MEDIA_ROOT", str(tmp / "media"))
os.environ.pop("REDIS_URL", None)  # tasks in-process; the bench renders directly anyway
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hipaa_training.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from _table import record  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402


class _FontToolsWarning(logging.Handler):
    seen = False

    def emit(self, record: logging.LogRecord) -> None:
        if "fontTools instead of HarfBuzz-Subset" in record.getMessage():
            _FontToolsWarning.seen = True


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    old = None
    if connection.vendor == "postgresql":
        print("PostgreSQL: using a throwaway test database")
        old = connection.creation.create_test_db(verbosity=0)
    else:
        call_command("migrate", verbosity=0)
    logging.getLogger("weasyprint").addHandler(_FontToolsWarning())
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    try:
        run(n)
    finally:
        if old:
            connection.creation.destroy_test_db(old, verbosity=0)


TRIVIAL = (
    "<!doctype html><html><head><title>Floor</title></head><body><p>A trivial one-page document.</p></body></html>"
)


def run(n: int) -> None:
    from weasyprint.text.ffi import harfbuzz_subset

    from courses.loader import load_catalog
    from hipaa_training.pdf import render_pdf
    from records import services
    from records.documents.certificate import certificate_issue, certificate_pdf, new_certificate_code, valid_until_for
    from records.models import Certificate, Completion
    from records.walkthrough import module_walk
    from roles.defaults import load_default_roles
    from roles.models import Assignment, WorkforceRole
    from roles.services import person_create

    load_catalog()
    load_default_roles()
    person = person_create(
        email="bench@example.test",
        full_name="Benedict Benchmark",
        workforce_role=WorkforceRole.objects.get(slug="billing"),
        invite=False,
    )
    services.send_after_commit = lambda *a: None  # time the renders here, not in a task
    for a in Assignment.objects.filter(user=person):
        module_walk(a, user_agent="bench")
    completions = list(Completion.objects.select_related("user", "version"))
    cold_start = time.perf_counter()
    certificate_pdf(completions[0], new_certificate_code(), valid_until_for(completions[0]))
    cold = time.perf_counter() - cold_start
    for _ in range(3):
        certificate_pdf(completions[0], new_certificate_code(), None)

    renders, floors = [], []
    for i in range(n):  # certificate and floor alternate, so both see the same machine (other processes)
        c = completions[i % len(completions)]
        code = new_certificate_code()
        start = time.perf_counter()
        certificate_pdf(c, code, valid_until_for(c))
        renders.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        render_pdf(TRIVIAL)
        floors.append((time.perf_counter() - start) * 1000)

    issues = []
    for c in completions:
        start = time.perf_counter()
        certificate_issue(completion_id=c.pk)
        issues.append((time.perf_counter() - start) * 1000)
    assert Certificate.objects.count() == len(completions)

    print(f"database: {connection.vendor}")
    print(
        f"HarfBuzz subsetting (libharfbuzz-subset0): {'in use' if harfbuzz_subset else 'MISSING: fontTools fallback'}"
    )
    print(f"fontTools fallback warning logged: {'yes' if _FontToolsWarning.seen else 'no'}")
    print(f"first render in the process (cold): {cold * 1000:.0f} ms")
    print(
        f"certificate_pdf (HTML + render), warm, {n} certificates: median {statistics.median(renders):.1f} ms, "
        f"p95 {pct(renders, 95):.1f} ms, throughput {1000 / statistics.mean(renders):.1f}/s"
    )
    print(
        f"certificate_issue (render + store + hash + insert + audit), {len(issues)} completions: "
        f"median {statistics.median(issues):.1f} ms, p95 {pct(issues, 95):.1f} ms"
    )
    median, floor = statistics.median(renders), statistics.median(floors)
    print(f"trivial one-page document (the floor), warm: median {floor:.1f} ms")
    record(
        "certificate PDF, warm worker (median)",
        median,
        unit="ms",
        floor=floor,
        goal="median < 30 ms",
        met=median < 30,
    )


if __name__ == "__main__":
    main()
