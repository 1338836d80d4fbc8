"""The report's per-person sections and lists (transcripts, should vs was, new hires, retraining, policy
acknowledgements) as lines of fixed-width text columns.

A table cell costs WeasyPrint about a millisecond to lay out and draw; a person's transcript as a table was some
25 cells, so 1,000 people were most of the bundle's time. Here each person is one block: a heading and one <pre>
of monospace lines whose columns line up because every character is as wide as every other. A value too long for
its column wraps inside the column (between words where it can, anywhere if it must), so nothing is cut off and
nothing runs past the page: the widest table is LINE_WIDTH characters, which fits a landscape page at 7pt
(static/css/report.css, `.text-columns`), and a list on a portrait page PORTRAIT_LINE_WIDTH. The lists (new hires,
retraining, acknowledgements) are one <pre> each, however many rows: `marked_lines` tints the late rows.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# DejaVu Sans Mono advances 0.602 em a character: at 7pt 4.21pt, so the 251 mm between a landscape page's margins
# hold 169; the tables keep a few in hand.
LINE_WIDTH = 164
# A portrait page's 188 mm hold 126.
PORTRAIT_LINE_WIDTH = 122
GAP = "  "


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    right: bool = False  # numbers


def _cell_lines(value: str, width: int) -> list[str]:
    """The value's lines in its column: each of its own lines ("\\n", e.g. a name above an e-mail) wrapped."""
    if len(value) <= width and "\n" not in value:
        return [value]  # most values: textwrap is most of the text's time and would return the same
    out: list[str] = []
    for part in value.split("\n"):
        out.extend(textwrap.wrap(part, width, break_long_words=True, break_on_hyphens=True) or [""])
    return out


def _join(cells: Sequence[str], columns: Sequence[Column]) -> str:
    parts = [c.rjust(col.width) if col.right else c.ljust(col.width) for c, col in zip(cells, columns, strict=True)]
    return GAP.join(parts).rstrip()


def header(columns: Sequence[Column]) -> str:
    return _join([c.title for c in columns], columns)


def row_lines(columns: Sequence[Column], row: Sequence[str]) -> list[str]:
    """One row as one line, or more where a value wraps inside its column."""
    wrapped = [_cell_lines(value, col.width) for value, col in zip(row, columns, strict=True)]
    return [_join([w[n] if n < len(w) else "" for w in wrapped], columns) for n in range(max(len(w) for w in wrapped))]


def lines(columns: Sequence[Column], rows: Iterable[Sequence[str]]) -> str:
    """Each row as one line, or more where a value wraps inside its column; the lines joined by newlines."""
    return "\n".join(line for row in rows for line in row_lines(columns, row))


def width(columns: Sequence[Column]) -> int:
    return sum(c.width for c in columns) + len(GAP) * (len(columns) - 1)


def marked_lines(
    columns: Sequence[Column], rows: Iterable[tuple[Sequence[str], bool]], *, bold_first: bool = False
) -> SafeString:
    """As `lines`, HTML-escaped, each row marked True in a <span class="late"> padded to the table's width (the
    tint of a late row, as a table's row had it); with `bold_first` each row's first line's first column in bold,
    so that rows of several lines stand apart (bold monospace is as wide). The text is the same."""
    full = width(columns)
    first = columns[0].width
    out: list[str] = []
    for row, late in rows:
        text = row_lines(columns, row)
        if late:
            text = [line.ljust(full) for line in text]
        html: list[str] = [escape(line) for line in text]
        if bold_first:
            html[0] = f"<b>{escape(text[0][:first])}</b>{escape(text[0][first:])}"
        body = "\n".join(html)
        out.append(f'<span class="late">{body}</span>' if late else body)
    return mark_safe("\n".join(out))  # noqa: S308 - every value escaped above


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


# --- the lists on portrait pages ---

NEW_HIRES = (
    Column("Person", 28),
    Column("Role · department", 32),
    Column("Hired", 10),
    Column("Due", 10),
    Column("Completed", 13),
    Column("Days", 4, right=True),
    Column("On time", 13),
)


def new_hire_row(h: Any) -> list[str]:
    """One new hire (report_sections.NewHireRow): name above e-mail, role above department."""
    if h.status == "late":
        on_time = f"LATE ({h.late} of {h.modules} after due)"
    elif h.status == "overdue":
        on_time = "LATE: overdue"
    else:
        on_time = "on time" if h.status == "on time" else "within window"
    return [
        f"{h.name}\n{h.email}",
        f"{h.role}\n{h.department}",
        _day(h.hired),
        _day(h.due),
        _day(h.completed) if h.completed else f"{h.done} of {h.modules} done",
        "" if h.days is None else str(h.days),
        on_time,
    ]


def new_hires(rows: Iterable[Any]) -> SafeString:
    return marked_lines(NEW_HIRES, ((new_hire_row(h), h.is_late) for h in rows), bold_first=True)


RETRAINING = (
    Column("Person", 30),
    Column("E-mail", 36),
    Column("Assigned", 10),
    Column("Due", 10),
    Column("Retrained", 22),
)


def retraining_row(p: Any) -> list[str]:
    """One person who had to retrain (report_sections.RetrainingRow)."""
    if p.completed:
        done = _day(p.completed) + (" LATE" if p.status == "late" else "")
    else:
        done = "not yet, overdue" if p.status == "overdue" else "not yet"
    return [p.name, p.email, _day(p.assigned), _day(p.due), done]


def retraining(people: Iterable[Any]) -> SafeString:
    return marked_lines(RETRAINING, ((retraining_row(p), p.status in ("late", "overdue")) for p in people))


ACKNOWLEDGEMENTS = (
    Column("Person", 28),
    Column("Policy", 34),
    Column("Acknowledged", 16),
    Column("Typed name", 24),
    Column("SHA-256", 12),
)


def acknowledgement_row(a: Any) -> list[str]:
    """One policy acknowledgement (policies.PolicyAcknowledgement): the first 12 hex digits of what was signed."""
    return [
        a.person.full_name,
        f"{a.version.policy.title} v{a.version.number}",
        _day(a.acknowledged_at, "%Y-%m-%d %H:%M"),
        a.typed_name,
        a.content_sha256[:12],
    ]


def acknowledgements(rows: Iterable[Any]) -> str:
    return lines(ACKNOWLEDGEMENTS, (acknowledgement_row(a) for a in rows))


LANDSCAPE = (TRANSCRIPT, SHOULD_VS_WAS)
PORTRAIT = (NEW_HIRES, RETRAINING, ACKNOWLEDGEMENTS)
assert all(width(t) <= LINE_WIDTH for t in LANDSCAPE)
assert all(width(t) <= PORTRAIT_LINE_WIDTH for t in PORTRAIT)
