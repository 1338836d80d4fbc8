"""The workforce list the officer searches and filters (/dashboard/people/): a fixed number of queries for a page,
whatever the size of the workforce."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Assignment, Department, User, WorkforceRole

DUE_SOON_DAYS = 30  # as the officer's dashboard counts "due in the next 30 days" (records/reports.py)

CURRENT = ""
ACTIVE = "active"
INVITED = "invited"
LEFT = "left"
EVERYONE = "all"
STATUSES = [
    (CURRENT, "Current workforce"),
    (ACTIVE, "Active (has signed in)"),
    (INVITED, "Invited, not yet signed in"),
    (LEFT, "Left"),
    (EVERYONE, "Everyone, leavers too"),
]

OVERDUE = "overdue"
DUE_SOON = "due_soon"
DONE = "done"
TRAINING_STATES = [
    ("", "Any"),
    (OVERDUE, "Overdue"),
    (DUE_SOON, f"Due in the next {DUE_SOON_DAYS} days"),
    (DONE, "All done"),
]


@dataclass(frozen=True)
class PeopleFilters:
    search: str = ""
    role_id: int | None = None
    department_id: int | None = None
    manager_id: int | None = None
    status: str = CURRENT
    training: str = ""
    reports_of: int | None = None  # a manager sees only their direct reports
    today: dt.date | None = None


def _count(condition: Q) -> Coalesce:
    counted = (
        Assignment.objects.filter(condition, user=OuterRef("pk"))
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def left_q() -> Q:
    return Q(is_active=False) | Q(terminated_on__isnull=False)


def people(filters: PeopleFilters) -> QuerySet[User]:
    """The workforce (everyone with a workforce role, and every leaver), filtered, with training counts per person."""
    today = filters.today or timezone.localdate()
    open_q = Q(completed_at__isnull=True, cancelled_at__isnull=True)
    qs = (
        User.objects.filter(Q(workforce_role__isnull=False) | left_q())
        .select_related("workforce_role", "department", "manager")
        .annotate(
            open_count=_count(open_q),
            overdue_count=_count(open_q & Q(due_on__lt=today)),
            due_soon_count=_count(open_q & Q(due_on__gte=today, due_on__lte=today + dt.timedelta(days=DUE_SOON_DAYS))),
            done_count=_count(Q(completed_at__isnull=False)),
        )
    )
    if filters.reports_of is not None:
        qs = qs.filter(manager_id=filters.reports_of)
    if filters.search:
        qs = qs.filter(Q(full_name__icontains=filters.search) | Q(email__icontains=filters.search))
    if filters.role_id is not None:
        qs = qs.filter(workforce_role_id=filters.role_id)
    if filters.department_id is not None:
        qs = qs.filter(department_id=filters.department_id)
    if filters.manager_id is not None:
        qs = qs.filter(manager_id=filters.manager_id)
    current = Q(is_active=True, terminated_on__isnull=True)
    if filters.status == CURRENT:
        qs = qs.filter(current)
    elif filters.status == ACTIVE:
        qs = qs.filter(current, last_login__isnull=False)
    elif filters.status == INVITED:
        qs = qs.filter(current, last_login__isnull=True)
    elif filters.status == LEFT:
        qs = qs.filter(left_q())
    if filters.training == OVERDUE:
        qs = qs.filter(overdue_count__gt=0)
    elif filters.training == DUE_SOON:
        qs = qs.filter(due_soon_count__gt=0)
    elif filters.training == DONE:
        qs = qs.filter(open_count=0, done_count__gt=0)
    return qs.order_by("full_name", "pk")


def status_of(person: User) -> str:
    if not person.is_active or person.terminated_on is not None:
        return LEFT
    return ACTIVE if person.last_login is not None else INVITED


def filter_choices(*, with_managers: bool = True) -> dict[str, list[tuple[int, str]]]:
    """The roles, departments and managers to filter by (three queries)."""
    managers: list[tuple[int, str]] = []
    if with_managers:
        managers = list(
            User.objects.filter(reports__isnull=False).distinct().order_by("full_name").values_list("pk", "full_name")
        )
    return {
        "roles": list(WorkforceRole.objects.order_by("name").values_list("pk", "name")),
        "departments": list(Department.objects.order_by("name").values_list("pk", "name")),
        "managers": managers,
    }
