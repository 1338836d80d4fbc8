"""CSV export throughput and memory, and the evidence bundle.

    python bench/bench_exports.py                       # SQLite; 1,000,000 training rows; bundle for 1,000 people
    DATABASE_URL=postgres://... python bench/bench_exports.py
    python bench/bench_exports.py --rows 200000 --bundle-people 1000
    python bench/bench_exports.py --rows 3000 --evidence 2000 --bundle-only [--profile bundle.prof]

The training-records export is streamed through the real view (StreamingHttpResponse) and consumed chunk by
chunk, as a client would. Prints rows per second, peak RSS growth while streaming, and the peak of Python
allocations (tracemalloc, a second pass). Goals: >= 120,000 rows/s and within 1.5x of the floor, memory flat.
The floor, same run, same data: on PostgreSQL `COPY (the export's SELECT) TO STDOUT WITH CSV HEADER` read raw
through psycopg's copy(); on SQLite the same SELECT's rows fetched raw from a cursor.
The evidence bundle's floor: its CSV exports and certificate files alone written into a ZIP (the rest is the PDF
report and the course and policy content).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import threading
import time
import tracemalloc
import zipfile

from _table import record
from _workforce import add_evidence, backend, make_workforce, scratch_database
from django.test import RequestFactory


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRSS:
    """The process's peak RSS while the block runs, sampled every 20 ms in a thread (ru_maxrss would also count
    building the workforce before it)."""

    def __enter__(self) -> PeakRSS:
        self.start = self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def signed_in_now(request) -> None:
    """The export asks for a sign-in within 5 minutes (roles.access.reauth_required): record one now."""
    from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    request.session = SessionStore()
    request.session[AUTHENTICATION_METHODS_SESSION_KEY] = [{"method": "password", "at": time.time()}]
    request.session["account_authentication_methods_user"] = str(request.user.pk)


def stream(request, sample_every: int = 50) -> tuple[int, int, float, float]:
    from records.views.audit import export_csv

    signed_in_now(request)

    start_rss = peak_rss = rss_mb()
    t0 = time.perf_counter()
    response = export_csv(request, "training")
    size = lines = 0
    for i, chunk in enumerate(response.streaming_content):
        size += len(chunk)
        lines += chunk.count(b"\r\n")
        if i % sample_every == 0:
            peak_rss = max(peak_rss, rss_mb())
    return lines - 1, size, time.perf_counter() - t0, peak_rss - start_rss


def plain_select() -> tuple[str, list]:
    """The export's rows unformatted (the ORM path's SELECT): for the record, what formatting in SQL costs."""
    from records import exports

    qs = exports.training_queryset(exports.ExportFilters()).values_list(
        "user__full_name",
        "user__email",
        "user__department__name",
        "user__workforce_role__name",
        "course__title",
        "completion__version__number",
        "assigned_on",
        "due_on",
        "completed_at",
        "completion__score",
        "completion__certificate__code",
        "completion__attestation__signed_at",
        "cancelled_at",
    )
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


def floor_rows_per_second(select: tuple[str, list] | None = None) -> float:
    """The export's own SELECT, read raw: COPY ... TO STDOUT on PostgreSQL, a plain cursor on SQLite."""
    from django.db import connection

    from records import exports

    if select is None:  # the SELECT the export runs: formatted in SQL on PostgreSQL, the ORM path's on SQLite
        pg = connection.vendor == "postgresql"
        select = exports.training_copy_select(exports.ExportFilters()) if pg else plain_select()
    sql, params = select
    rows = 0
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            before = {}
            for name, value in exports.copy_settings().items():  # the settings the export's COPY runs with
                cursor.execute("SELECT current_setting(%s), set_config(%s, %s, false)", [name, name, value])
                before[name] = cursor.fetchone()[0]
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH CSV HEADER", params) as copy:
                for _ in copy:
                    rows += 1
            rows -= 1
            for name, value in before.items():
                cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
        else:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(5000):
                rows += len(batch)
    return rows / (time.perf_counter() - t0)


def bundle_floor() -> float:
    """The bundle's floor: only its CSV exports and certificate files written into a ZIP (no report PDF, no course
    content), through the bundle's own writer."""
    from django.core.files.storage import default_storage

    from records.documents.bundle import _Writer
    from records.exports import EXPORTS, ExportFilters
    from records.models import Certificate

    filters = ExportFilters()
    t0 = time.perf_counter()
    with zipfile.ZipFile(io.BytesIO(), "w", zipfile.ZIP_DEFLATED) as zf:
        writer = _Writer(zf)
        for export in EXPORTS.values():
            writer.add_chunks(f"csv/{export.filename}", export.chunks(filters))
        for cert in Certificate.objects.values("code", "file").iterator(chunk_size=500):
            with default_storage.open(cert["file"], "rb") as handle:
                writer.add(f"certificates/{cert['code']}.pdf", handle.read())
    return time.perf_counter() - t0


def bundle_figures(people: int, assignments: int, evidence: int, profile: str | None = None) -> None:
    from records.documents.bundle import build_bundle, verify_bundle
    from records.exports import ExportFilters

    with tempfile.TemporaryFile() as out:  # on disk, as the report job writes it: the RSS is the build's own
        t0, cpu0 = time.perf_counter(), time.process_time()
        with PeakRSS() as rss:
            if profile:
                import cProfile

                cProfile.runctx("build_bundle(ExportFilters(), out)", globals(), locals(), profile)
            else:
                build_bundle(ExportFilters(), out)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        size = out.seek(0, io.SEEK_END)
        out.seek(0)
        with zipfile.ZipFile(out) as zf:
            files = len(zf.namelist())
            pdf = sum(i.file_size for i in zf.infolist() if i.filename.startswith("report/"))
        t1 = time.perf_counter()
        out.seek(0)
        ok = verify_bundle(out).ok
    print(
        f"\nevidence bundle, {people:,} people ({assignments:,} assignments, "
        f"{evidence:,} completions with certificates): built in {seconds:.1f} s ({cpu:.1f} s of this process's CPU), "
        f"{size / 1e6:.1f} MB, {files:,} files, report PDF {pdf / 1e6:.1f} MB; "
        f"verify_bundle {'OK' if ok else 'FAILED'} in {time.perf_counter() - t1:.1f} s; "
        f"peak RSS while building {rss.peak:.0f} MB (+{rss.peak - rss.start:.0f} MB over the {rss.start:.0f} MB before)"
    )
    floor = min(bundle_floor() for _ in range(2))
    print(f"floor, the same CSV exports and certificate files alone into a ZIP: {floor:.2f} s")
    # Judged at the goals' sizes: 10 s for 1,000 people; 2 minutes for 10,000, memory flat.
    if people >= 10_000:
        goal, met = "under 2 minutes for 10,000 people, memory flat", seconds < 120
    else:
        goal, met = "under 10 s for 1,000 people", (seconds < 10 if people >= 1000 else None)
    record(
        f"evidence bundle, {people:,} people (peak RSS +{rss.peak - rss.start:.0f} MB)",
        seconds,
        unit="s",
        floor=floor,
        goal=goal,
        met=met,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="training-record rows (assignments)")
    parser.add_argument("--evidence", type=int, default=100_000, help="completed rows with attestation + certificate")
    parser.add_argument("--bundle-people", type=int, default=1000, help="0 skips the bundle")
    parser.add_argument("--bundle-only", action="store_true", help="the bundle alone (no CSV export figures)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the bundle's build to FILE")
    args = parser.parse_args()

    from django.contrib.auth.models import Group

    from roles import access
    from roles.models import User

    print(f"export benchmark on {backend()}")
    with scratch_database():
        auditor = User.objects.create_user(email="auditor@bench.test", full_name="Bench Auditor")
        auditor.groups.add(Group.objects.get(name=access.AUDITOR))

        # The evidence bundle for 1,000 people first, while the database holds only them.
        made = make_workforce(args.bundle_people, seed=1)
        evidence = add_evidence(certificate_files=True)
        if args.bundle_people:
            bundle_figures(args.bundle_people, made["assignments"], evidence, profile=args.profile)
        if args.bundle_only:
            return
        people = max(0, (args.rows - made["assignments"]) // 3)

        grown = make_workforce(people, seed=2)
        total = made["assignments"] + grown["assignments"]
        extra = add_evidence(limit=max(0, args.evidence - evidence))
        print(f"\n{total:,} assignments ({evidence + extra:,} with evidence), generated in {grown['seconds']:.0f} s")

        request = RequestFactory().get("/audit/export/training.csv")
        request.user = User.objects.get(pk=auditor.pk)
        stream(request, sample_every=10**9)  # warm up caches and the connection
        rows, size, seconds, rss = stream(request)
        print(
            f"training records export: {rows:,} rows, {size / 1e6:.0f} MB in {seconds:.1f} s = "
            f"{rows / seconds:,.0f} rows/s; RSS growth while streaming {rss:.1f} MB"
        )
        tracemalloc.start()
        stream(request, sample_every=10**9)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"peak Python allocations while streaming (tracemalloc): {peak / 1e6:.1f} MB")
        floor = max(floor_rows_per_second() for _ in range(2))
        rate = rows / seconds
        print(f"floor, the same SELECT read raw: {floor:,.0f} rows/s")
        if backend() == "PostgreSQL":
            plain = max(floor_rows_per_second(plain_select()) for _ in range(2))
            print(f"for the record, the unformatted SELECT (the ORM path's) read raw: {plain:,.0f} rows/s")
        record(
            f"CSV export of training records, {rows:,} rows (RSS +{rss:.0f} MB, peak alloc {peak / 1e6:.0f} MB)",
            rate,
            unit="rows/s",
            floor=floor,
            goal=">= 120k rows/s, within 1.5x of the floor",
            met=rate >= 120_000 and floor / rate <= 1.5,
        )


if __name__ == "__main__":
    main()
