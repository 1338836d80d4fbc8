"""A compliance officer reminds one person now (sent at once by a task, or by the next hourly run)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

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


@dataclass
class NudgeResult:
    """What nudge_people did: who was reminded (and of how many modules), and who was skipped and why."""

    nudged: list[User] = field(default_factory=list)
    modules: int = 0
    nothing_open: list[User] = field(default_factory=list)
    left: list[User] = field(default_factory=list)
    already_today: list[User] = field(default_factory=list)

    def sentence(self) -> str:
        def people(n: int) -> str:
            return f"{n} {'person' if n == 1 else 'people'}"

        parts = [
            f"{people(len(self.nudged))} reminded about {self.modules} open module{'s' if self.modules != 1 else ''}"
        ]
        if self.already_today:
            parts.append(f"{people(len(self.already_today))} already reminded today")
        if self.nothing_open:
            parts.append(f"{people(len(self.nothing_open))} with nothing open skipped")
        if self.left:
            parts.append(f"{people(len(self.left))} who left skipped")
        return "; ".join(parts) + "."


def nudge_people(*, people: list[User], actor: User | None, today: dt.date | None = None) -> NudgeResult:
    """Remind each of `people` now about each of their open assignments (reminder_nudge, once a day each)."""
    today = today or timezone.localdate()
    result = NudgeResult()
    open_by_user: dict[int, list[Assignment]] = {}
    for assignment in (
        Assignment.objects.open()
        .filter(user__in=[p.pk for p in people])
        .select_related("user", "course")
        .order_by("due_on", "pk")
    ):
        open_by_user.setdefault(assignment.user_id, []).append(assignment)
    with transaction.atomic():
        for person in people:
            if not person.is_active or person.terminated_on is not None:
                result.left.append(person)
                continue
            assignments = open_by_user.get(person.pk, [])
            if not assignments:
                result.nothing_open.append(person)
                continue
            sent = 0
            for assignment in assignments:
                try:
                    reminder_nudge(assignment=assignment, actor=actor, today=today)
                except ValidationError:
                    continue  # already reminded about it today
                sent += 1
            if sent:
                result.nudged.append(person)
                result.modules += sent
            else:
                result.already_today.append(person)
    return result
