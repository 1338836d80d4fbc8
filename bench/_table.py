"""The one table `make bench` prints: each benchmark records rows (measure, figure, floor, goal, met) here.

A benchmark run alone prints its rows as a table at exit; run by bench/summary.py (which sets BENCH_TABLE to a
file) it appends them to that file as JSON lines, and the summary prints every benchmark's rows as one table.
The floor is always measured in the same process, on the same data, just before or after the figure.
No Django import here: summary.py reads the rows without setting Django up.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Row:
    measure: str
    figure: float
    unit: str  # "ms", "s", "rows/s", "queries"...
    floor: float | None  # None: no floor measured for this row
    goal: str  # as the issue states it, e.g. "median < 30 ms"
    met: bool | None  # None: the goal does not apply at this size
    bench: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times the floor the figure is; for rates (higher is better) the floor over the figure."""
        if not self.floor or not self.figure:
            return None
        return self.floor / self.figure if self.unit.endswith("/s") else self.figure / self.floor


ROWS: list[Row] = []


def record(
    measure: str, figure: float, *, unit: str, floor: float | None, goal: str, met: bool | None, bench: str = ""
) -> Row:
    row = Row(measure, figure, unit, floor, goal, met, bench or _bench_name())
    ROWS.append(row)
    target = os.environ.get("BENCH_TABLE")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(row)) + "\n")
    return row


def read(path: str) -> list[Row]:
    with open(path, encoding="utf-8") as rows:
        return [Row(**json.loads(line)) for line in rows if line.strip()]


def _bench_name() -> str:
    import __main__

    return os.path.basename(getattr(__main__, "__file__", "") or "")


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit.endswith("/s"):
        return f"{value:,.0f} {unit}"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.1f} {unit}" if abs(value) >= 10 else f"{value:.2f} {unit}"


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{os.cpu_count()} cores{', ' + model if model else ''}, Python {platform.python_version()}"


def render(rows: Iterable[Row], title: str = "") -> str:
    lines = [f"### {title}", ""] if title else []
    lines += ["| measure | figure | floor (same run) | ratio | goal | met |", "|---|---|---|---|---|---|"]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        met = "-" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.measure} | {_number(row.figure, row.unit)} | {_number(row.floor, row.unit)} | {ratio} "
            f"| {row.goal} | {met} |"
        )
    return "\n".join(lines)


def _print_at_exit() -> None:
    if ROWS and not os.environ.get("BENCH_TABLE"):
        print("\n" + render(ROWS))


atexit.register(_print_at_exit)
