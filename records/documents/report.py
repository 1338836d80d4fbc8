"""The PDF training report: the program, the figures and every person's transcript, for an auditor.

Rendered through hipaa_training.pdf by the report job (records/documents/jobs.py), never in a request.
The template (templates/records/audit_report_pdf.html) is one include per section, under templates/records/report/.

The sections that grow with the workforce person by person (transcripts, should vs was) are rendered in parts of
REPORT_CHUNK_PEOPLE people (records/report/part.html), each read, laid out and freed before the next, and merged
into the one PDF by records/documents/parts.py, which also draws "page N of M" on every page: memory stays flat
however many people the report holds (it was 1.2 GB for 10,000 people in one document).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.template.loader import render_to_string
from django.utils import timezone

from hipaa_training.pdf import REPORT_UA
from roles import history
from roles.grid import change_log, grid_rows
from roles.models import Department, User, WorkforceRole
from roles.organization import organization_name

from .. import report_sections, reports, should_vs_was
from ..exports import ExportFilters, training_queryset
from . import columns
from .parts import write_parts

PART = "records/report/part.html"


def people_on(people: QuerySet[User], day: dt.date) -> QuerySet[User]:
    """Each person with `role_then` and `department_then`: the names of their role and department on `day`."""
    return people.annotate(
        role_id_then=history.field_on(day, "workforce_role", person="pk"),
        department_id_then=history.field_on(day, "department", person="pk"),
    ).annotate(
        role_then=Subquery(WorkforceRole.objects.filter(pk=OuterRef("role_id_then")).values("name")[:1]),
        department_then=Subquery(Department.objects.filter(pk=OuterRef("department_id_then")).values("name")[:1]),
    )


def should_vs_was_context(people: list[User], filters: ExportFilters, as_of: dt.date) -> dict[str, Any]:
    """The report's "should have been trained vs was trained" section: the period is the filters' range (by default
    the year up to the "as of" day)."""
    end = min(d for d in (filters.end, as_of) if d)
    start = filters.start or end - dt.timedelta(days=364)
    return {
        "svw_start": start,
        "svw_end": end,
        "svw_note": should_vs_was.REQUIREMENTS_NOTE,
        "svw_header": columns.header(columns.SHOULD_VS_WAS),
        "svw": [(plan, columns.should_vs_was(plan)) for plan in should_vs_was.plans(people, min(start, end), end)],
    }


def transcripts_context(people: list[User], rows: dict[int, list[reports.TranscriptRow]]) -> dict[str, Any]:
    """The transcripts section: each person and their assignments as lines of text columns (columns.py)."""
    return {
        "transcript_header": columns.header(columns.TRANSCRIPT),
        "people": [(p, columns.transcript(rows.get(p.pk, []))) for p in people],
    }


def lists_context(period: report_sections.Period) -> dict[str, Any]:
    """The lists that grow with the workforce (new hires, retraining, acknowledgements): each one <pre> of text
    columns under one header row (columns.py), not a table cell a value."""
    new_hire_rows = report_sections.new_hires(period)
    retraining_versions = report_sections.retraining(period)
    policy_section = report_sections.policies(period)
    return {
        "new_hire_window": report_sections.new_hire_window(period),
        "new_hire_rows": new_hire_rows,
        "new_hire_header": columns.header(columns.NEW_HIRES),
        "new_hire_text": columns.new_hires(new_hire_rows),
        "retraining_versions": retraining_versions,
        "retraining_header": columns.header(columns.RETRAINING),
        "retraining_lists": [(entry, columns.retraining(entry.people)) for entry in retraining_versions],
        "policy_section": policy_section,
        "acknowledgement_header": columns.header(columns.ACKNOWLEDGEMENTS),
        "acknowledgement_text": columns.acknowledgements(policy_section.acknowledgements),
    }


def report_context(filters: ExportFilters, *, requested_by: User | None = None) -> dict[str, Any]:
    """Everything the PDF shows but the per-person sections (`people_parts`), read with a fixed number of queries."""
    period = report_sections.Period.of(filters)
    as_of = period.as_of
    figures = reports.dashboard(reports.Filters(as_of=as_of), with_audit_state=False)
    grid = grid_rows()
    chain = report_sections.chain_state()
    program = reports.program()
    return {
        "filters": filters,
        "period": period,
        "organization": organization_name(),
        "as_of": as_of,
        "generated_at": timezone.now(),
        "requested_by": requested_by,
        "program": program,
        "program_modules": report_sections.program_modules(program),
        "roles_without_modules": [e["role"].name for e in program if not e["modules"]],
        "d": figures,
        "head": chain.head,
        "chain": chain,
        "grid_tables": report_sections.column_chunks(grid[0], grid[1:]),
        "grid_log": change_log(until=reports.end_of_day(filters.upper) if filters.upper else None),
        "completion_tables": report_sections.completion_chunks(figures.by_role),
        "reminders": report_sections.security_reminders(period),
        "reminder_method": report_sections.REMINDER_METHOD,
        **lists_context(period),
    }


def report_people(filters: ExportFilters) -> tuple[QuerySet[User], QuerySet[Any]]:
    """The people the report's per-person sections hold, in name order, and the assignments in its range."""
    scope = training_queryset(filters)
    people = people_on(
        User.objects.filter(pk__in=scope.values("user_id")).select_related("department", "workforce_role"),
        report_sections.Period.of(filters).as_of,
    ).order_by("full_name", "pk")
    return people, scope


@dataclass(frozen=True)
class Chunk:
    """The people of one part of a per-person section: the start-th to the end-th (from 1) of `total`."""

    first: bool
    start: int
    end: int
    total: int


def chunk_size(chunk_people: int | None = None) -> int:
    return max(1, chunk_people or settings.REPORT_CHUNK_PEOPLE)


def people_chunks(people: QuerySet[User], size: int) -> Iterator[tuple[Chunk, list[User]]]:
    """`people` (ordered) `size` at a time: their ids read once, each chunk's people when it is reached. A section
    with nobody in it is one empty chunk (its heading still says so)."""
    ids = list(people.values_list("pk", flat=True))
    for start in range(0, max(len(ids), 1), size):
        part = ids[start : start + size]
        chunk = Chunk(first=start == 0, start=start + 1, end=start + len(part), total=len(ids))
        yield chunk, list(people.filter(pk__in=part)) if part else []


def people_parts(
    context: dict[str, Any],
    people: QuerySet[User],
    scope: QuerySet[Any],
    filters: ExportFilters,
    *,
    size: int,
    sections_before: int,
) -> Iterator[str]:
    """The per-person sections as HTML documents of `size` people each: the transcripts, then should vs was,
    numbered on from `sections_before` (a fixed number of queries a chunk). `context` is the front part's; a
    "svw_note" in it replaces the comparison's own note."""
    sections = sections_before
    for section in ("transcripts", "should_vs_was"):
        for chunk, members in people_chunks(people, size):
            if section == "transcripts":
                rows = reports.transcripts(User.objects.filter(pk__in=[p.pk for p in members]), base=scope)
                own = {**transcripts_context(members, rows), "section": "records/report/transcripts.html"}
            else:
                own = {**should_vs_was_context(members, filters, context["as_of"]), "section": SVW_PART}
                own["svw_note"] = context.get("svw_note", own["svw_note"])
            html = render_to_string(PART, {**context, **own, "chunk": chunk, "sections_before": sections})
            yield html
            if chunk.first:
                sections += html.count("<h2")


SVW_PART = "records/_should_vs_was_pdf.html"


def margins(context: dict[str, Any], running: str) -> Callable[[list[bool]], str]:
    """The document of every page's margin boxes (records/report/margins.html) for parts.write_parts."""

    def html(landscape: list[bool]) -> str:
        return render_to_string("records/report/margins.html", {**context, "running": running, "landscape": landscape})

    return html


def write_parts_of(
    template: str,
    context: dict[str, Any],
    running: str,
    people: QuerySet[User],
    scope: QuerySet[Any],
    filters: ExportFilters,
    out: IO[bytes],
    *,
    chunk_people: int | None = None,
) -> int:
    """The front sections from `template`, then the per-person sections in chunks, as one PDF written to `out`;
    returns its number of pages."""

    def parts() -> Iterator[str]:
        front = render_to_string(template, context)
        yield front
        yield from people_parts(context, people, scope, filters, size=size, sections_before=front.count("<h2"))

    size = chunk_size(chunk_people)
    # Child renderers pay only when a section has several parts: starting one takes about 1.5 s, longer than laying
    # out a small report here (the demo's 60 people, about a second).
    processes = None if people.count() > size else 1
    return write_parts(parts(), out, margins(context, running), user_agent_stylesheet=REPORT_UA, processes=processes)


def write_report(
    filters: ExportFilters, out: IO[bytes], *, requested_by: User | None = None, chunk_people: int | None = None
) -> int:
    """The training report written to the binary file `out`; returns its number of pages."""
    people, scope = report_people(filters)
    context = report_context(filters, requested_by=requested_by)
    return write_parts_of(
        "records/audit_report_pdf.html",
        context,
        "records/report/running.html",
        people,
        scope,
        filters,
        out,
        chunk_people=chunk_people,
    )


def render_report(
    filters: ExportFilters, *, requested_by: User | None = None, chunk_people: int | None = None
) -> bytes:
    out = io.BytesIO()
    write_report(filters, out, requested_by=requested_by, chunk_people=chunk_people)
    return out.getvalue()
