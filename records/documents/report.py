"""The PDF training report: the program, the figures and every person's transcript, for an auditor.

Rendered through hipaa_training.pdf by the report job (records/documents/jobs.py), never in a request.
The template (templates/records/audit_report_pdf.html) is one include per section, under templates/records/report/.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from hipaa_training.pdf import render_pdf
from roles.grid import change_log, grid_rows
from roles.models import User
from roles.organization import organization_name

from .. import report_sections, reports
from ..exports import ExportFilters, training_queryset


def report_context(filters: ExportFilters, *, requested_by: User | None = None) -> dict[str, Any]:
    """Everything the PDF shows, read with a fixed number of queries."""
    period = report_sections.Period.of(filters)
    as_of = period.as_of
    figures = reports.dashboard(reports.Filters(as_of=as_of), with_audit_state=False)
    scope = training_queryset(filters)
    people = (
        User.objects.filter(pk__in=scope.values("user_id"))
        .select_related("department", "workforce_role")
        .order_by("full_name", "pk")
    )
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
        "people": [(p, rows.get(p.pk, [])) for p in people_list],
        "head": chain.head,
        "chain": chain,
        "grid_tables": report_sections.column_chunks(grid[0], grid[1:]),
        "grid_log": change_log(until=reports.end_of_day(filters.upper) if filters.upper else None),
        "completion_tables": report_sections.completion_chunks(figures.by_role),
        "reminders": report_sections.security_reminders(period),
        "reminder_method": report_sections.REMINDER_METHOD,
        "new_hire_window": report_sections.new_hire_window(period),
        "new_hire_rows": report_sections.new_hires(period),
        "retraining_versions": report_sections.retraining(period),
    }


def render_report(filters: ExportFilters, *, requested_by: User | None = None) -> bytes:
    html = render_to_string("records/audit_report_pdf.html", report_context(filters, requested_by=requested_by))
    return render_pdf(html)
