"""Building a requested PDF report or evidence bundle (a ReportJob): render it, store and hash the file,
record the outcome on the job and in the audit trail. Called from records.tasks.build_report_task."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hipaa_training import audit
from roles.models import Client

from ..exports import ExportFilters
from ..models import ReportJob
from .bundle import build_bundle
from .client_pack import build_client_pack
from .report import write_report

log = logging.getLogger(__name__)


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


def reports_waiting(now: dt.datetime | None = None) -> list[int]:
    """Jobs whose build was lost: queued for a while with no worker on them (the broker was down, the message
    was lost), or started so long ago that their worker must have died. Oldest first."""
    now = now or timezone.now()
    queued_before = now - dt.timedelta(seconds=settings.REPORT_QUEUED_GRACE_SECONDS)
    started_before = now - dt.timedelta(seconds=settings.REPORT_BUILD_STALE_SECONDS)
    waiting = ReportJob.objects.filter(
        Q(status=ReportJob.PENDING, requested_at__lt=queued_before)
        | Q(status=ReportJob.RUNNING, started_at__lt=started_before)
    )
    return list(waiting.order_by("requested_at", "pk").values_list("pk", flat=True))


def report_build(*, job_id: int) -> ReportJob:
    """Build a queued report or bundle. Running it again after it is done, or while another worker is
    building it, changes nothing."""
    with transaction.atomic():
        job = ReportJob.objects.select_for_update().get(pk=job_id)
        if job.status == ReportJob.DONE:
            return job
        stale = timezone.now() - dt.timedelta(seconds=settings.REPORT_BUILD_STALE_SECONDS)
        if job.status == ReportJob.RUNNING and job.started_at and job.started_at >= stale:
            return job
        job.status, job.started_at, job.error = ReportJob.RUNNING, timezone.now(), ""
        job.save(update_fields=["status", "started_at", "error"])
    filters = ExportFilters.from_dict(job.filters)
    extra: dict[str, Any] = {}
    try:
        if job.client_id is not None:  # a client's evidence pack: that client's people and period only
            with tempfile.TemporaryFile() as out:
                client = Client.objects.get(pk=job.client_id)
                extra["manifest_sha256"] = build_client_pack(client, filters, out, requested_by=job.requested_by)
                extra["client"] = client.name
                out.seek(0)
                _store(job, content=File(out))
        elif job.kind == ReportJob.REPORT:
            with tempfile.TemporaryFile() as out:
                write_report(filters, out, requested_by=job.requested_by)
                out.seek(0)
                _store(job, content=File(out))
        else:
            with tempfile.TemporaryFile() as out:
                extra["manifest_sha256"] = build_bundle(filters, out, requested_by=job.requested_by)
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
