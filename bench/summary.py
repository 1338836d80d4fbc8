"""Run every benchmark and print one table: measure | figure | floor (same run) | ratio | goal | met.

    make bench                                   # PostgreSQL when DATABASE_URL points at it, else SQLite
    BENCH_PEOPLE=100000 make bench               # the full size of issue 14
    python bench/summary.py exports certificates # some of them

BENCH_PEOPLE (default 10,000: about 10 minutes on the 2-core machine) sets every benchmark's size: the
dashboard's and the export's workforce (3 assignments a person), the reminder run (a tenth of them: 10,000 at
full size), the audit events verified. Each benchmark runs in its own process, prints its own details, and
records its rows (bench/_table.py); the table comes last. Exits non-zero if a benchmark failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import machine, read, render  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_PEOPLE = 10_000


def arguments(people: int) -> dict[str, list[str]]:
    """Each benchmark's command-line arguments for a workforce of `people`."""
    return {
        "dashboard": [str(people), "--runs", "5" if people > 100 else "1"],
        "exports": [
            "--rows",
            str(3 * people),
            "--evidence",
            str(2 * people),
            "--bundle-people",
            str(min(1000, max(people // 10, 5))),
        ],
        "certificates": ["50" if people > 100 else "5"],
        "reminders": ["--people", str(max(people // 10, 10))],
        "audit": ["--writes", str(min(1000, people)), "--events", str(max(people, 100))],
        "learner_pages": ["--people", str(people), "--seconds", "20" if people > 100 else "2"],
    }


def database() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return "PostgreSQL " + url.rsplit("/", 1)[-1].split("?")[0]
    return "SQLite (DATABASE_URL unset)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="benchmark names (default: all)")
    args = parser.parse_args(argv)
    people = int(os.environ.get("BENCH_PEOPLE") or DEFAULT_PEOPLE)
    plan = arguments(people)
    names = args.only or list(plan)
    unknown = sorted(set(names) - set(plan))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)}")

    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-table-") as tmp:
        table = os.path.join(tmp, "rows.jsonl")
        open(table, "w").close()
        started = time.perf_counter()
        for name in names:
            command = [sys.executable, str(HERE / f"bench_{name}.py"), *plan[name]]
            print(f"== {' '.join(command[1:])}", flush=True)
            t0 = time.perf_counter()
            done = subprocess.run(command, env={**os.environ, "BENCH_TABLE": table}, check=False)
            print(f"== {name}: {time.perf_counter() - t0:.0f} s{'' if done.returncode == 0 else ' FAILED'}", flush=True)
            if done.returncode:
                failed.append(name)
        rows = read(table)
    title = (
        f"make bench: {database()}, BENCH_PEOPLE={people:,}, {machine()}, {time.perf_counter() - started:.0f} s in all"
    )
    print("\n" + render(rows, title))
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
