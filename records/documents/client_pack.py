"""A client's evidence pack: the evidence bundle and PDF report of bundle.py and report.py, restricted to the people
who worked that client's accounts in the client's period (by default from the BAA's effective date to today).

It names that client on every page of the PDF (the running header and the footer) and holds nothing about anyone
else: no other person's name or e-mail, no other client's name. So it leaves out what names the whole workforce:
the audit trail's events (csv/audit_events.csv; the chain head and its signed anchor are kept, so the pack stays
checkable against the organisation's anchor log), the grid's change log (its actors), and the organisation-wide
figures, new hires and retraining lists of the full report. `verify_bundle` checks it offline like any bundle.

Layout:
  README.txt, manifest.json, manifest.sha256     as in a bundle (the manifest names the client and its period)
  people.csv                                     each person and the days they worked the client's accounts
  client_requirements.csv                        the modules the client's agreement adds
  csv/{training_records,attestations,quiz_attempts,security_reminders}.csv   those people's rows only
  report/training_report.pdf                     the client's report
  roles/grid.csv                                 what each workforce role requires
  certificates/<code>.pdf                        those people's certificates issued in the period
  courses/<slug>/v<n>/...                        the content of each version taught
  audit/chain_head.json                          the audit chain head and its signed anchor
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from functools import partial
from typing import IO, Any

from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from roles.client_scope import days_worked
from roles.grid import grid_rows
from roles.models import Client, User
from roles.organization import organization_name

from .. import report_sections, should_vs_was
from ..exports import EXPORTS, ExportFilters, _between, csv_chunks, training_queryset
from ..models import Certificate
from .bundle import _add_course_version, _json, _versions_taught, _Writer, chain_head, write_manifest
from .report import people_on, write_parts_of

FORMAT = "hipaa-training-client-evidence-pack/1"
CLIENT_MODULES_NOTE = (
    "The modules the client's agreement adds are not part of this comparison: they are listed under \"Who worked "
    "the accounts, and what the agreement adds\", and each person's assignments of them, with due dates and "
    "completions, are in their transcript below and in csv/training_records.csv."
)


def client_period(client: Client, start: dt.date | None = None, end: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The pack's period: from the BAA's effective date (never earlier) to today (never later)."""
    today = timezone.localdate()
    begin = max(start or client.baa_effective_on, client.baa_effective_on)
    finish = min(end or today, today)
    return min(begin, finish), finish


def client_filters(client: Client, start: dt.date | None = None, end: dt.date | None = None) -> ExportFilters:
    begin, finish = client_period(client, start, end)
    return ExportFilters(start=begin, end=finish)


def _worked(client: Client, filters: ExportFilters) -> list[tuple[User, list[tuple[dt.date, dt.date]]]]:
    assert filters.start is not None and filters.end is not None
    return days_worked(client, filters.start, filters.end)


def client_people(client: Client, filters: ExportFilters) -> tuple[QuerySet[User], QuerySet[Any]]:
    """The people of the client's report's per-person sections, in name order, and their assignments in range."""
    ids = [p.pk for p, _ in _worked(client, filters)]
    scope = training_queryset(filters).filter(user_id__in=ids)
    people = people_on(
        User.objects.filter(pk__in=ids).select_related("department", "workforce_role"),
        report_sections.Period.of(filters).as_of,
    ).order_by("full_name", "pk")
    return people, scope


def client_report_context(
    client: Client, filters: ExportFilters, *, requested_by: User | None = None
) -> dict[str, Any]:
    """What the client's PDF shows but the per-person sections (report.people_parts), read with a fixed number of
    queries."""
    period = report_sections.Period.of(filters)
    worked = _worked(client, filters)
    chain = report_sections.chain_state()
    return {
        "client": client,
        "filters": filters,
        "period": period,
        "organization": organization_name(),
        "as_of": period.as_of,
        "generated_at": timezone.now(),
        "requested_by": requested_by,
        "worked": worked,
        "client_requirements": list(client.requirements.select_related("course").order_by("course__title")),
        "head": chain.head,
        "chain": chain,
        # The comparison reads roles and departments; say where the client's own modules are instead.
        "svw_note": should_vs_was.REQUIREMENTS_NOTE + " " + CLIENT_MODULES_NOTE,
    }


def write_client_report(
    client: Client,
    filters: ExportFilters,
    out: IO[bytes],
    *,
    requested_by: User | None = None,
    chunk_people: int | None = None,
) -> int:
    """The client's report written to the binary file `out`; returns its number of pages."""
    people, scope = client_people(client, filters)
    return write_parts_of(
        "records/client_report_pdf.html",
        client_report_context(client, filters, requested_by=requested_by),
        "records/report/client_running.html",
        people,
        scope,
        filters,
        out,
        chunk_people=chunk_people,
    )


def render_client_report(client: Client, filters: ExportFilters, *, requested_by: User | None = None) -> bytes:
    out = io.BytesIO()
    write_client_report(client, filters, out, requested_by=requested_by)
    return out.getvalue()


def build_client_pack(
    client: Client, filters: ExportFilters, out: IO[bytes], *, requested_by: User | None = None
) -> str:
    """Write the client's evidence pack to the binary file `out`; returns the manifest's SHA-256."""
    worked = _worked(client, filters)
    ids = [p.pk for p, _ in worked]
    missing: list[str] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        writer = _Writer(zf)
        people_rows: list[list[Any]] = [["person", "email", "worked_from", "worked_to"]]
        for person, spans in worked:
            people_rows += [[person.full_name, person.email, a.isoformat(), b.isoformat()] for a, b in spans]
        writer.add_chunks("people.csv", csv_chunks(people_rows))
        writer.add_chunks(
            "client_requirements.csv",
            csv_chunks(
                [["client", "module", "retrain_every_months", "due_within_days"]]
                + [
                    [client.name, r.course.title, r.recurrence_months or "once", client.due_within_days or ""]
                    for r in client.requirements.select_related("course").order_by("course__title")
                ]
            ),
        )
        for export in EXPORTS.values():
            if export.per_person:
                writer.add_chunks(f"csv/{export.filename}", csv_chunks(export.rows(filters, ids)))
        with tempfile.TemporaryFile() as pdf:
            write_client_report(client, filters, pdf, requested_by=requested_by)
            pdf.seek(0)
            writer.add_chunks("report/training_report.pdf", iter(partial(pdf.read, 1 << 20), b""))
        writer.add_chunks("roles/grid.csv", csv_chunks(grid_rows("{days} days, {every}")))
        certificates = Certificate.objects.filter(_between("issued_at", filters), completion__user_id__in=ids)
        for cert in certificates.order_by("issued_at", "pk").values("code", "file").iterator(chunk_size=500):
            try:
                with default_storage.open(cert["file"], "rb") as handle:
                    writer.add_chunks(f"certificates/{cert['code']}.pdf", iter(partial(handle.read, 1 << 20), b""))
            except (FileNotFoundError, ValueError):
                missing.append(cert["code"])
        for version in _versions_taught(filters):
            _add_course_version(writer, version)
        head = chain_head()
        writer.add("audit/chain_head.json", _json(head))
        writer.add(
            "README.txt",
            render_to_string(
                "records/client_pack_readme.txt",
                {"client": client, "filters": filters, "organization": organization_name(), "head": head},
            ),
        )
        return write_manifest(
            zf,
            writer,
            filters,
            head=head,
            missing=missing,
            kind=FORMAT,
            client=client.name,
            period={"start": filters.start, "end": filters.end},
            people=len(ids),
        )
