from __future__ import annotations

from celery import shared_task

from .assignments import sync_assignments


@shared_task(name="roles.sync_assignments")
def sync_assignments_task() -> int:
    """Daily: new hires, role changes, new material versions and the recurring cycle."""
    return len(sync_assignments().created)
