"""The report's per-person sections (transcripts, should vs was) as lines of fixed-width text columns.

A table cell costs WeasyPrint about a millisecond to lay out and draw; a person's transcript as a table was some
25 cells, so 1,000 people were most of the bundle's time. Here each person is one block: a heading and one <pre>
of monospace lines whose columns line up because every character is as wide as every other. A value too long for
its column wraps inside the column (between words where it can, anywhere if it must), so nothing is cut off and
nothing runs past the page: the widest table is LINE_WIDTH characters, which fits a landscape page at 7pt
(static/css/report.css, `.text-columns`).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

# DejaVu Sans Mono advances 0.602 em a character: at 7pt 4.21pt, so the 251 mm between a landscape page's margins
# hold 169; the tables keep a few in hand.
LINE_WIDTH = 164
GAP = "  "


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    right: bool = False  # numbers


def _cell_lines(value: str, width: int) -> list[str]:
    return textwrap.wrap(value, width, break_long_words=True, break_on_hyphens=True) or [""]


def _join(cells: Sequence[str], columns: Sequence[Column]) -> str:
    parts = [c.rjust(col.width) if col.right else c.ljust(col.width) for c, col in zip(cells, columns, strict=True)]
    return GAP.join(parts).rstrip()


def header(columns: Sequence[Column]) -> str:
    return _join([c.title for c in columns], columns)


def lines(columns: Sequence[Column], rows: Iterable[Sequence[str]]) -> str:
    """Each row as one line, or more where a value wraps inside its column; the lines joined by newlines."""
    out: list[str] = []
    for row in rows:
        wrapped = [_cell_lines(value, col.width) for value, col in zip(row, columns, strict=True)]
        for n in range(max(len(w) for w in wrapped)):
            out.append(_join([w[n] if n < len(w) else "" for w in wrapped], columns))
    return "\n".join(out)


def _day(value: dt.date | dt.datetime | None, fmt: str = "%Y-%m-%d") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)  # the organisation's time zone, as the templates' date filter does
    return value.strftime(fmt)


TRANSCRIPT = (
    Column("Module", 44),
    Column("Assigned", 10),
    Column("Due", 10),
    Column("Completed", 17),
    Column("Score", 5, right=True),
    Column("Attempts", 8, right=True),
    Column("Attested", 16),
    Column("Certificate", 40),
)


def transcript_row(row: Any) -> list[str]:
    """One assignment of a transcript (reports.TranscriptRow)."""
    a = row.assignment
    if a.completed_at:
        done = _day(a.completed_at) + ("" if row.on_time else " (late)")
    else:
        done = "cancelled" if a.cancelled_at else "open"
    score = row.completion.score if row.completion is not None else None
    certificate = ""
    if row.certificate:
        certificate = row.certificate.code + (" revoked" if row.revocation else "")
    return [
        a.course.title + (f" (cycle {a.cycle})" if a.cycle > 1 else ""),
        _day(a.assigned_on),
        _day(a.due_on),
        done,
        "" if score is None else str(score),
        str(len(row.attempts)),
        _day(row.attestation.signed_at, "%Y-%m-%d %H:%M") if row.attestation else "",
        certificate,
    ]


def transcript(rows: Iterable[Any]) -> str:
    return lines(TRANSCRIPT, (transcript_row(r) for r in rows))


SHOULD_VS_WAS = (
    Column("Module", 44),
    Column("Required", 56),
    Column("Assigned", 10),
    Column("Due", 10),
    Column("Completed", 10),
    Column("Days", 5, right=True),
    Column("Result", 13),
)


def should_vs_was_rows(plan: Any) -> Iterable[list[str]]:
    """One person's modules (should_vs_was.PersonPlan): each assignment taken, or the module not assigned."""
    for m in plan.modules:
        if not m.taken:
            yield [m.course.title, m.required_text, "—", "—", "—", "—", "not assigned"]
        for t in m.taken:
            yield [
                m.course.title,
                m.required_text,
                _day(t.assignment.assigned_on),
                _day(t.assignment.due_on),
                _day(t.completed_on) or "—",
                "—" if t.days is None else str(t.days),
                t.verdict,
            ]


def should_vs_was(plan: Any) -> str:
    return lines(SHOULD_VS_WAS, should_vs_was_rows(plan))


assert sum(c.width for c in TRANSCRIPT) + len(GAP) * (len(TRANSCRIPT) - 1) <= LINE_WIDTH
assert sum(c.width for c in SHOULD_VS_WAS) + len(GAP) * (len(SHOULD_VS_WAS) - 1) <= LINE_WIDTH
