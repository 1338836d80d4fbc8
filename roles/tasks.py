"""Celery tasks of the workforce app. Each imports the service it runs inside its body: the services import
these tasks at module level to queue them on commit, so the import runs one way."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="roles.sync_assignments")
def sync_assignments_task() -> int:
    """Daily: new hires, role changes, new material versions and the recurring cycle."""
    from .assignments import sync_assignments

    return len(sync_assignments().created)


@shared_task(name="roles.send_reminders")
def send_reminders_task() -> int:
    """The reminder calendar: what is due today and not yet sent (safe to run twice, or twice at once)."""
    from .reminders.schedule import reminders_send

    return reminders_send().deliveries


@shared_task(name="roles.send_deliveries")
def send_deliveries_task(ids: list[int]) -> int:
    """Send queued deliveries now (a nudge); the resume sweep sends them anyway if this never runs."""
    from .reminders.claims import deliveries_resume

    return deliveries_resume(ids=ids).deliveries


@shared_task(name="roles.resume_deliveries")
def resume_deliveries_task() -> int:
    """Every few minutes: send what a dead worker had claimed (lease run out) and anything queued."""
    from .reminders.claims import deliveries_resume

    return deliveries_resume().deliveries


@shared_task(name="roles.deliver_bulletins")
def deliver_bulletins_task() -> int:
    """E-mail security reminders whose send time has come to everyone in their audience not yet sent one."""
    from .bulletins import bulletins_deliver

    return bulletins_deliver().deliveries
