"""`make bench` at a tiny size, so the benchmark code cannot rot: every benchmark runs and reports its rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_summary_runs_every_benchmark_and_prints_one_table() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "BENCH_TABLE"}}
    env["BENCH_PEOPLE"] = "30"  # SQLite, a few seconds a benchmark
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "summary.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = done.stdout[done.stdout.index("### make bench") :].splitlines()
    assert "SQLite" in table[0]
    assert "BENCH_PEOPLE=30" in table[0]
    assert table[2] == "| measure | figure | floor (same run) | ratio | goal | met |"
    rows = [line for line in table[4:] if line.startswith("| ")]
    measures = [row.split(" | ")[0] for row in rows]
    for expected in ["| dashboard", "| CSV export", "| certificate PDF", "| reminder run", "| audited write"]:
        assert any(m.startswith(expected) for m in measures), (expected, measures)
    assert all(row.count(" | ") == 5 for row in rows)
    assert "FAILED" not in done.stdout
