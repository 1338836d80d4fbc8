"""The PDF training report and the evidence bundle: requested in a view, built by a Celery task, downloaded
from a view that checks access. Rendering goes through hipaa_training.pdf, never in a request."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
import uuid
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from hipaa_training import audit
from hipaa_training.pdf import render_pdf
from hipaa_training.tasks import send_after_commit
from roles.models import User

from . import reports
from .exports import ExportFilters, training_queryset
from .models import ReportJob

log = logging.getLogger(__name__)


def _parse(filters: dict[str, Any]) -> ExportFilters:
    def day(key: str) -> dt.date | None:
        value = filters.get(key)
        return dt.date.fromisoformat(value) if value else None

    return ExportFilters(start=day("start"), end=day("end"), as_of=day("as_of"))


def report_request(*, kind: str, requested_by: User, filters: ExportFilters) -> ReportJob:
    """Queue a PDF report or an evidence bundle; the request is audited (45 CFR 164.530(b)(2)(ii): documented)."""
    if kind not in (ReportJob.REPORT, ReportJob.BUNDLE):
        raise ValueError(f"unknown report kind {kind!r}")
    with transaction.atomic():
        job = ReportJob(kind=kind, requested_by=requested_by, filters=filters.as_dict())
        job.full_clean()
        job.save()
        audit.record(f"{kind}.requested", actor=requested_by, subject=job, data={"filters": job.filters})
        send_after_commit(build_report_task, job.pk)
    return job


def report_context(filters: ExportFilters) -> dict[str, Any]:
    """Everything the PDF shows, read with a fixed number of queries."""
    as_of = filters.as_of or filters.end or timezone.localdate()
    figures = reports.dashboard(reports.Filters(as_of=as_of), with_audit_state=False)
    scope = training_queryset(filters)
    people = (
        User.objects.filter(pk__in=scope.values("user_id"))
        .select_related("department", "workforce_role")
        .order_by("full_name", "pk")
    )
    people_list = list(people)
    rows = reports.transcripts(people, base=scope)
    return {
        "filters": filters,
        "organization": settings.ORGANIZATION_NAME,
        "as_of": as_of,
        "generated_at": timezone.now(),
        "program": reports.program(),
        "d": figures,
        "people": [(p, rows.get(p.pk, [])) for p in people_list],
        "head": audit.head(),
    }


def render_report(filters: ExportFilters) -> bytes:
    html = render_to_string("records/audit_report_pdf.html", report_context(filters))
    return render_pdf(html)


def _store(job: ReportJob, content: bytes | File) -> None:
    name = f"reports/{timezone.localdate():%Y/%m}/{uuid.uuid4().hex}-{job.download_name}"
    job.file = default_storage.save(name, ContentFile(content) if isinstance(content, bytes) else content)
    digest = hashlib.sha256()
    size = 0
    with default_storage.open(job.file, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    job.sha256, job.size = digest.hexdigest(), size


def report_build(*, job_id: int) -> ReportJob:
    """Build a queued report or bundle. Running it again after it is done changes nothing."""
    with transaction.atomic():
        job = ReportJob.objects.select_for_update().get(pk=job_id)
        if job.status == ReportJob.DONE:
            return job
        job.status, job.started_at, job.error = ReportJob.RUNNING, timezone.now(), ""
        job.save(update_fields=["status", "started_at", "error"])
    filters = _parse(job.filters)
    extra: dict[str, Any] = {}
    try:
        if job.kind == ReportJob.REPORT:
            _store(job, content=render_report(filters))
        else:
            from .bundle import build_bundle

            with tempfile.TemporaryFile() as out:
                extra["manifest_sha256"] = build_bundle(filters, out)
                out.seek(0)
                _store(job, content=File(out))
    except Exception as exc:  # recorded on the job and in the audit trail; the user sees "Failed"
        log.exception("building %s failed", job)
        with transaction.atomic():
            job.status, job.finished_at, job.error = ReportJob.FAILED, timezone.now(), f"{type(exc).__name__}: {exc}"
            job.save(update_fields=["status", "finished_at", "error"])
            audit.record(f"{job.kind}.failed", subject=job, data={"error": job.error[:500]})
        return job
    with transaction.atomic():
        job.status, job.finished_at = ReportJob.DONE, timezone.now()
        job.save(update_fields=["status", "finished_at", "file", "sha256", "size"])
        audit.record(
            f"{job.kind}.built",
            subject=job,
            data={"sha256": job.sha256, "bytes": job.size, "filters": job.filters, **extra},
        )
    return job


@shared_task(name="records.build_report", acks_late=True)
def build_report_task(job_id: int) -> str:
    return report_build(job_id=job_id).status
