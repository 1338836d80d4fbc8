"""Plausible dates for the workforce: a typo (19850, 0201, 2062) is refused with a message, not stored."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST_HIRE_DATE = dt.date(1950, 1, 1)
HIRE_DATE_MAX_AHEAD = dt.timedelta(days=365)
ACCESS_MAX_AHEAD = dt.timedelta(days=2 * 366)  # auditors' access is time-boxed: an engagement, not a career


def hire_date_problem(value: dt.date | None, today: dt.date | None = None) -> str | None:
    if value is None:
        return None
    today = today or timezone.localdate()
    if value < EARLIEST_HIRE_DATE:
        return f"A hire date before {EARLIEST_HIRE_DATE.year} is not plausible."
    if value > today + HIRE_DATE_MAX_AHEAD:
        return f"A hire date more than a year ahead (after {today + HIRE_DATE_MAX_AHEAD}) is not plausible."
    return None


def access_expires_problem(value: dt.date | None, today: dt.date | None = None) -> str | None:
    if value is None:
        return None
    today = today or timezone.localdate()
    if value < today:
        return "Access cannot end in the past; to end it now, deactivate the account."
    if value > today + ACCESS_MAX_AHEAD:
        return f"Access can be granted for at most two years (until {(today + ACCESS_MAX_AHEAD).isoformat()})."
    return None


CHECKS = {"hire_date": hire_date_problem, "access_expires_on": access_expires_problem}


def check_person_dates(values: dict[str, object]) -> None:
    """Raise a ValidationError naming each implausible date among `values` (only the fields given are checked,
    so an old record with an odd date can still be edited in other ways)."""
    errors = {}
    for name, check in CHECKS.items():
        if name in values:
            problem = check(values[name])  # type: ignore[arg-type]
            if problem:
                errors[name] = problem
    if errors:
        raise ValidationError(errors)
