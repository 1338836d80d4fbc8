"""Queueing work after commit, so the user's action never depends on the broker."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.db import transaction

log = logging.getLogger(__name__)


def send_after_commit(task: Task, *args: Any) -> None:
    """Queue `task(*args)` once the current transaction commits.

    If the broker is unreachable the action that queued it has already succeeded; the periodic
    sweeps find what was not done and do it.
    """

    def _send() -> None:
        try:
            task.apply_async(args=args)
        except Exception:  # broker down: the sweep catches up
            log.warning("could not queue %s%r; the periodic sweep will catch up", task.name, args, exc_info=True)

    transaction.on_commit(_send)


@shared_task(name="hipaa_training.verify_audit_chain", acks_late=True)
def verify_audit_chain_task() -> int:
    """Nightly: verify the whole chain, anchor its head when whole, record the outcome for the banner."""
    from .verify import verification_record

    return verification_record(anchor_head=True).pk
