"""A compliance officer reminds one person now (sent at once by a task, or by the next hourly run)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from hipaa_training import audit
from hipaa_training.tasks import send_after_commit

from ..models import Assignment, Delivery, User
from ..tasks import send_deliveries_task


def reminder_nudge(*, assignment: Assignment, actor: User | None, today: dt.date | None = None) -> Delivery:
    """A compliance officer reminds a person now, at most once a day per assignment (45 CFR 164.308(a)(5)(i))."""
    today = today or timezone.localdate()
    if not assignment.is_open:
        raise ValidationError("This assignment is completed or cancelled; there is nothing to remind about.")
    if not assignment.user.is_active:
        raise ValidationError("This person has left the workforce.")
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(assignment=assignment, kind=Delivery.NUDGE, period=today.isoformat())
            audit.record(
                "reminder.nudged",
                actor=actor,
                subject=assignment,
                data={"person": assignment.user.email, "course_id": assignment.course_id, "delivery": delivery.pk},
            )
            send_after_commit(send_deliveries_task, [delivery.pk])
    except IntegrityError:
        raise ValidationError("This person was already reminded about this module today.") from None
    return delivery
