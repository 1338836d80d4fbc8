"""What the audit chain costs: the time audit.record adds to one write, and how fast the chain verifies.

    python bench/bench_audit.py                                   # SQLite (a throwaway file)
    DATABASE_URL=postgres://... python bench/bench_audit.py       # PostgreSQL (a throwaway test_ database)

Options: --writes N (default 1000), --events N (events to verify, default 100000).
Targets: under 2 ms added per write at p95; over 50,000 events verified per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hipaa_training.settings")
_tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
os.environ.setdefault("VAR_DIR", str(_tmp))
os.environ["AUDIT_ANCHOR_LOG"] = str(_tmp / "anchors.jsonl")
os.environ["AUDIT_ANCHOR_KEY"] = "bench-key"

import django  # noqa: E402

django.setup()

from _table import record  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from hipaa_training import audit, verify  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


RECORD_MS: list[float] = []  # audit.record alone, inside the transaction (no commit)


def timed_write(name: str, with_audit: bool) -> float:
    started = time.perf_counter()
    with transaction.atomic():
        group = Group.objects.create(name=name)
        if with_audit:
            record_started = time.perf_counter()
            audit.record("bench.group_created", subject=group, data={"name": group.name})
            RECORD_MS.append((time.perf_counter() - record_started) * 1000)
    return (time.perf_counter() - started) * 1000


def timed_writes(n: int) -> tuple[list[float], list[float]]:
    """Plain and audited writes alternate, so both see the same machine (other processes, checkpoints)."""
    plain, audited = [], []
    for i in range(n):
        plain.append(timed_write(f"plain-{i}", False))
        audited.append(timed_write(f"audited-{i}", True))
    return plain, audited


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()

    if connection.vendor == "sqlite":
        connection.settings_dict.setdefault("TEST", {})["NAME"] = str(_tmp / "bench.sqlite3")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")

        for i in range(50):  # warm caches and the connection
            timed_write(f"warm-{i}", True)
        RECORD_MS.clear()
        plain, audited = timed_writes(args.writes)
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            audit.record("bench.queries")
        p50_plain, p95_plain = statistics.median(plain), percentile(plain, 95)
        p50_audit, p95_audit = statistics.median(audited), percentile(audited, 95)
        print(f"write without audit.record: p50 {p50_plain:.3f} ms, p95 {p95_plain:.3f} ms  (n={args.writes})")
        print(f"write with audit.record:    p50 {p50_audit:.3f} ms, p95 {p95_audit:.3f} ms")
        print(
            f"added by the chain:         p50 {p50_audit - p50_plain:.3f} ms, p95 {p95_audit - p95_plain:.3f} ms "
            f"(target < 2 ms at p95); {len(queries)} queries for one audited transaction"
        )
        record(
            f"audited write, p95 ({args.writes:,} writes)",
            p95_audit,
            unit="ms",
            floor=p95_plain,
            goal="< 2 ms added at p95",
            met=p95_audit - p95_plain < 2,
        )
        print(
            f"audit.record alone (lock, head, hash, insert; before commit): p50 {statistics.median(RECORD_MS):.3f} ms, "
            f"p95 {percentile(RECORD_MS, 95):.3f} ms"
        )

        batch = 1000
        started = time.perf_counter()
        for start in range(0, args.events, batch):
            audit.record_many(
                audit.Event("bench.event", subject=("bench.row", i), data={"i": i, "who": "someone@example.test"})
                for i in range(start, min(start + batch, args.events))
            )
        fill = time.perf_counter() - started
        total = audit.head().seq
        print(f"appended {args.events} events in batches of {batch}: {args.events / fill:,.0f} events/s")

        runs = []
        for _ in range(3):
            result = verify.verify()
            assert result.ok, result.problem
            runs.append(result.seconds)
        best, median = min(runs), statistics.median(runs)
        print(
            f"verify_audit_chain over {total:,} events: median {median:.3f} s = {total / median:,.0f} events/s "
            f"(best {total / best:,.0f}; target > 50,000)"
        )
        record(
            f"audit chain verified ({total:,} events)",
            total / median,
            unit="events/s",
            floor=None,
            goal="> 50,000 events/s",
            met=total / median > 50_000,
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
