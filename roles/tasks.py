from __future__ import annotations

from celery import shared_task

from .assignments import sync_assignments
from .bulletins import bulletins_deliver
from .reminders import deliveries_resume, reminders_send


@shared_task(name="roles.sync_assignments")
def sync_assignments_task() -> int:
    """Daily: new hires, role changes, new material versions and the recurring cycle."""
    return len(sync_assignments().created)


@shared_task(name="roles.send_reminders")
def send_reminders_task() -> int:
    """The reminder calendar: what is due today and not yet sent (safe to run twice, or twice at once)."""
    return reminders_send().deliveries


@shared_task(name="roles.send_deliveries")
def send_deliveries_task(ids: list[int]) -> int:
    """Send queued deliveries now (a nudge); the hourly run sends them anyway if this never runs."""
    return deliveries_resume(ids=ids).deliveries


@shared_task(name="roles.deliver_bulletins")
def deliver_bulletins_task() -> int:
    """E-mail security reminders whose send time has come to everyone in their audience not yet sent one."""
    return bulletins_deliver().deliveries
