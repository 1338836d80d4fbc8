"""Background work of records. Each task takes ids and calls one builder, imported inside its body: services
import this module to queue tasks, so a task never imports what imports it at load time."""

from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(
    name="records.render_certificate",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=6,
    acks_late=True,
)
def certificate_render_task(completion_id: int) -> str:
    from .documents.certificate import certificate_issue

    return certificate_issue(completion_id=completion_id).code


@shared_task(name="records.certificate_sweep", acks_late=True)
def certificate_sweep_task() -> int:
    """Renders every certificate that is missing (its task was lost, the broker was down, a render failed)."""
    from .documents.certificate import certificate_issue, certificates_missing

    done = 0
    for completion_id in certificates_missing():
        try:
            certificate_issue(completion_id=completion_id)
            done += 1
        except Exception:
            log.exception("could not render the certificate of completion %s; the next sweep retries", completion_id)
    return done


@shared_task(name="records.report_sweep", acks_late=True)
def report_sweep_task() -> int:
    """Builds every report or bundle whose task was lost (queued while the broker was down, or a worker died)."""
    from .documents.jobs import report_build, reports_waiting

    done = 0
    for job_id in reports_waiting():
        try:
            report_build(job_id=job_id)
            done += 1
        except Exception:
            log.exception("could not build report job %s; the next sweep retries", job_id)
    return done


@shared_task(name="records.build_report", acks_late=True)
def build_report_task(job_id: int) -> str:
    from .documents.jobs import report_build

    return report_build(job_id=job_id).status


@shared_task(name="records.store_daily_figures", acks_late=True)
def store_daily_figures_task() -> int:
    """Stores the past days today's dashboard reads (yesterday and the trend's points) that are not stored yet."""
    from .summaries import store_missing

    return store_missing()


@shared_task(name="records.store_todays_figures", ignore_result=True)
def store_todays_figures_task() -> bool:
    """Catches today's figures up if the records moved on since they were stored (beat, once a minute), so a look
    at the dashboard finds them stored; nothing is written when they still hold."""
    from .summaries import store_today

    return store_today()


@shared_task(name="records.store_days", acks_late=True)
def store_days_task(days: list[str]) -> int:
    """Stores the given past days (ISO dates) that are not stored yet: queued when someone looks at one."""
    import datetime as dt

    from .summaries import store_missing

    return store_missing([dt.date.fromisoformat(d) for d in days])
