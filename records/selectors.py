"""Read-side queries for the learner's pages, each with a constant number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from roles.models import Assignment

DUE_SOON_DAYS = 14


@dataclass
class TrainingGroups:
    overdue: list[Assignment] = field(default_factory=list)
    due_soon: list[Assignment] = field(default_factory=list)
    later: list[Assignment] = field(default_factory=list)
    completed: list[Assignment] = field(default_factory=list)

    @property
    def next_up(self) -> Assignment | None:
        for group in (self.overdue, self.due_soon, self.later):
            if group:
                return group[0]
        return None

    def __bool__(self) -> bool:
        return bool(self.overdue or self.due_soon or self.later or self.completed)


def training_for(person: Any, today: dt.date | None = None) -> TrainingGroups:
    """A person's assignments grouped as overdue, due soon, later and completed."""
    today = today or timezone.localdate()
    groups = TrainingGroups()
    assignments = (
        Assignment.objects.filter(user=person, cancelled_at__isnull=True)
        .select_related("course")
        .order_by("due_on", "course__title")
    )
    for a in assignments:
        if a.completed_at is not None:
            groups.completed.append(a)
        elif a.due_on < today:
            groups.overdue.append(a)
        elif a.due_on <= today + dt.timedelta(days=DUE_SOON_DAYS):
            groups.due_soon.append(a)
        else:
            groups.later.append(a)
    groups.completed.sort(key=lambda a: a.completed_at, reverse=True)
    return groups
