"""The conditions every figure is counted by, as of a day D: whether an assignment existed, was completed,
was overdue or due soon on D, and whether its person matched the filters as they stood on D (their history).
`records/reports.py` builds the dashboard's figures from them, `records/summaries.py` the stored daily figures.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from roles import history
from roles.models import Assignment, User

DUE_SOON_DAYS = 30


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after `day` in the site's time zone."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


@dataclass(frozen=True)
class Filters:
    as_of: dt.date
    department_id: int | None = None
    role_id: int | None = None
    course_id: int | None = None
    manager_id: int | None = None  # the manager's team page: only their direct reports

    @property
    def is_today(self) -> bool:
        return self.as_of == timezone.localdate()

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "department": self.department_id,
            "role": self.role_id,
            "module": self.course_id,
            "manager": self.manager_id,
        }


def done_q(day: dt.date) -> Q:
    return Q(completed_at__lt=end_of_day(day))


def not_done_q(day: dt.date) -> Q:
    """Not completed by the end of `day`; today that is simply "not completed", which the partial index of open
    assignments serves (nothing is completed or cancelled in the future)."""
    if day == timezone.localdate():
        return Q(completed_at__isnull=True)
    return ~done_q(day)


def overdue_q(day: dt.date) -> Q:
    return not_done_q(day) & Q(due_on__lt=day)


def due_soon_q(day: dt.date, days: int = DUE_SOON_DAYS) -> Q:
    return not_done_q(day) & Q(due_on__gte=day, due_on__lte=day + dt.timedelta(days=days))


def on_time_q(day: dt.date) -> Q:
    return done_q(day) & Q(completed_at__date__lte=F("due_on"))


def existed_q(day: dt.date) -> Q:
    """The assignment existed at the end of `day` and its person was in the workforce that day (their history)."""
    end = end_of_day(day)
    not_cancelled = Q(cancelled_at__isnull=True)
    if day != timezone.localdate():
        not_cancelled |= Q(cancelled_at__gte=end)
    if day == timezone.localdate():
        employed = history.employed_on(day)
    else:  # each person's history looked up once, not once for each of their assignments
        employed = Q(user_id__in=User.objects.filter(history.employed_on(day, person="pk")).values("pk"))
    return not_cancelled & employed & Q(assigned_on__lte=day, created_at__lt=end)


def people_q(filters: Filters, day: dt.date | None = None, *, person: str = "user_id") -> Q:
    """The filters' department, role and manager, as each person stood on `day` (default: the "as of" day)."""
    return history.narrowed_on(
        day or filters.as_of,
        person=person,
        department=filters.department_id,
        workforce_role=filters.role_id,
        manager=filters.manager_id,
    )


TREND_MONTHS = 12


def trend_days(as_of: dt.date) -> list[dt.date]:
    """The as-of day and the same day of each of the 11 months before it, oldest first."""
    return [_add_months(as_of, -i) for i in range(TREND_MONTHS - 1, -1, -1)]


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def new_hire_window_days() -> int:
    return int(getattr(settings, "NEW_HIRE_WINDOW_DAYS", 365))


def new_hire_outcomes(qs: QuerySet[Assignment], day: dt.date, group: list[str]) -> list[tuple[Any, ...]]:
    """The people with new-hire assignments among `qs` who were hired in the window before `day`, counted by the
    `group` columns and by outcome: rows of (*group, fully trained, trained on time, still in their window, days
    from hire to their last completion when trained, else None, how many people). One query: each person's
    assignments are counted inside it, the people outside, so a few hundred rows leave the database."""
    window = new_hire_window_days()
    per_person = (
        qs.filter(
            reason=Assignment.NEW_HIRE,
            user__hire_date__gt=day - dt.timedelta(days=window),
            user__hire_date__lte=day,
        )
        .values("user_id", *group)
        .annotate(
            n=Count("id"),
            done=Count("id", filter=done_q(day)),
            on_time=Count("id", filter=on_time_q(day)),
            last_due=Max("due_on"),
            took=ExpressionWrapper(Max(TruncDate("completed_at")) - F("user__hire_date"), output_field=DurationField()),
        )
        .values(*group, "n", "done", "on_time", "last_due", "took")
        .order_by()
    )
    inner, params = per_person.query.sql_with_params()
    keys = "".join(f"hires.{connection.ops.quote_name(g)}, " for g in group)
    sql = (
        f"SELECT {keys}done = n, on_time = n, last_due >= %s AND done < n, CASE WHEN done = n THEN took END, "
        f"COUNT(*) FROM ({inner}) AS hires GROUP BY {', '.join(str(i + 1) for i in range(len(group) + 4))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (day, *params))
        rows = cursor.fetchall()
    width = len(group)
    return [
        (*r[:width], bool(r[width]), bool(r[width + 1]), bool(r[width + 2]), _days(r[width + 3]), r[-1]) for r in rows
    ]


def _days(took: Any) -> int | None:
    """A date difference as days: PostgreSQL gives an interval, SQLite microseconds."""
    if took is None:
        return None
    return (took if isinstance(took, dt.timedelta) else dt.timedelta(microseconds=took)).days
