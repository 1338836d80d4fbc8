"""The PDF training report: the program, the figures and every person's transcript, for an auditor.

Rendered through hipaa_training.pdf by the report job (records/documents/jobs.py), never in a request.
The template (templates/records/audit_report_pdf.html) is one include per section, under templates/records/report/.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.template.loader import render_to_string
from django.utils import timezone

from hipaa_training.pdf import REPORT_UA, render_pdf
from roles import history
from roles.grid import change_log, grid_rows
from roles.models import Department, User, WorkforceRole
from roles.organization import organization_name

from .. import report_sections, reports, should_vs_was
from ..exports import ExportFilters, training_queryset
from . import columns


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
    """Everything the PDF shows, read with a fixed number of queries."""
    period = report_sections.Period.of(filters)
    as_of = period.as_of
    figures = reports.dashboard(reports.Filters(as_of=as_of), with_audit_state=False)
    scope = training_queryset(filters)
    people = people_on(
        User.objects.filter(pk__in=scope.values("user_id")).select_related("department", "workforce_role"), as_of
    ).order_by("full_name", "pk")
    people_list = list(people)
    rows = reports.transcripts(people, base=scope)
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
        **transcripts_context(people_list, rows),
        "head": chain.head,
        "chain": chain,
        "grid_tables": report_sections.column_chunks(grid[0], grid[1:]),
        **should_vs_was_context(people_list, filters, as_of),
        "grid_log": change_log(until=reports.end_of_day(filters.upper) if filters.upper else None),
        "completion_tables": report_sections.completion_chunks(figures.by_role),
        "reminders": report_sections.security_reminders(period),
        "reminder_method": report_sections.REMINDER_METHOD,
        **lists_context(period),
    }


def render_report(filters: ExportFilters, *, requested_by: User | None = None) -> bytes:
    html = render_to_string("records/audit_report_pdf.html", report_context(filters, requested_by=requested_by))
    return render_pdf(html, user_agent_stylesheet=REPORT_UA)
