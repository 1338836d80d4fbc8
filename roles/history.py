"""Each person's effective-dated history: role, department, manager and employment (`PersonState`).

`record_state` appends the person's state as it is now, valid from a day; the services that change these fields
(roles/services.py person_create, person_update, person_deactivate, person_reactivate, and so the import and SSO)
call it, one line each. The query helpers answer "what held on day D" inside a query, so a report stays a fixed
number of queries whatever the size of the workforce:

- `field_on(day, name, ...)`: an expression for the person's workforce_role_id, department_id or manager_id on D;
- `employed_on(day, ...)`: a condition, true when the person was in the workforce on D;
- `states_on(day)`: the rows valid on D, one per person with a history.

A person with no row valid on D (nobody wrote one: people added before the history existed, and not backfilled,
or rows added straight through the ORM) falls back to what their record says today, which is what every figure
used before the history was kept.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    BooleanField,
    Case,
    Expression,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf
from django.db.models.lookups import Exact
from django.utils import timezone

from .models import PersonState, User

TRACKED = ("workforce_role", "department", "manager")
LATEST_FIRST = ("-valid_from", "-recorded_at", "-pk")
NONE = -1  # "no role / department / manager" inside a lookup, apart from "no row"


def record_state(person: User, *, day: dt.date | None = None, reason: str, actor: User | None = None) -> PersonState:
    """Append the person's current role, department, manager and employment, valid from `day` (default today)."""
    return PersonState.objects.create(
        person=person,
        valid_from=day or timezone.localdate(),
        workforce_role_id=person.workforce_role_id,
        department_id=person.department_id,
        manager_id=person.manager_id,
        employed=person.terminated_on is None,
        reason=reason[:200],
        actor=actor,
    )


def record_changes(person: User, *, changed: set[str], actor: User | None = None) -> PersonState | None:
    """After `person_update`: a row from today when the role, department or manager changed."""
    names = sorted(changed & set(TRACKED))
    if not names:
        return None
    return record_state(person, reason=", ".join(n.replace("_", " ") for n in names) + " changed", actor=actor)


def record_departure(person: User, *, day: dt.date, actor: User | None = None) -> PersonState:
    """After `person_deactivate` (perhaps backdated): a "left" row from `day`, and each row written since that day
    appended again as not employed, so no later change makes them look present after they left."""
    later = list(PersonState.objects.filter(person=person, valid_from__gt=day).order_by("valid_from", "recorded_at"))
    row = record_state(person, day=day, reason="left", actor=actor)
    for state in later:
        PersonState.objects.create(
            person=person,
            valid_from=state.valid_from,
            workforce_role_id=state.workforce_role_id,
            department_id=state.department_id,
            manager_id=state.manager_id,
            employed=False,
            reason=f"{state.reason} (after leaving on {day.isoformat()})"[:200],
            actor=actor,
        )
    return row


def first_day(person: User) -> dt.date:
    """The day a new person's first state holds from: their hire date, or today if that is earlier."""
    today = timezone.localdate()
    return min(person.hire_date or today, today)


def _is_today(day: dt.date) -> bool:
    """Today the person's record says what their latest row says (the services write both together, and a
    backdated departure appends the later rows again), so today's figures read the record and skip the history."""
    return day == timezone.localdate()


def _latest(day: dt.date, person: str) -> QuerySet[PersonState]:
    return PersonState.objects.filter(person_id=OuterRef(person), valid_from__lte=day).order_by(*LATEST_FIRST)


def _prefix(person: str) -> str:
    """`user_id` -> `user__` (the path from the queried model to the person); `pk` -> "" (the person)."""
    return "" if person in ("pk", "id") else person.removesuffix("_id") + "__"


def field_on(day: dt.date, name: str, *, person: str = "user_id") -> Expression:
    """The person's `name` ("workforce_role", "department" or "manager") id on `day`; `person` names the person's
    id on the queried model ("user_id" on Assignment, "person_id" on a delivery, "pk" on User).

    One correlated lookup per row: the row valid on `day` gives its id with an empty value as -1 (no id is
    negative), so "a row that says none" and "no row" stay apart; no row falls back to today's record.
    """
    assert name in TRACKED, name
    if _is_today(day):
        return ExpressionWrapper(F(f"{_prefix(person)}{name}_id"), output_field=IntegerField())
    held = _latest(day, person).annotate(held=Coalesce(F(f"{name}_id"), Value(NONE))).values("held")[:1]
    return NullIf(
        Coalesce(Subquery(held, output_field=IntegerField()), F(f"{_prefix(person)}{name}_id")),
        Value(NONE),
        output_field=IntegerField(),
    )


def employed_on(day: dt.date, *, person: str = "user_id") -> Q:
    """The person was in the workforce on `day` (a leaving day itself counts as gone, as `terminated_on` does)."""
    prefix = _prefix(person)
    still_here = Q(**{f"{prefix}terminated_on__isnull": True}) | Q(**{f"{prefix}terminated_on__gt": day})
    if _is_today(day):
        return still_here
    return Q(
        Coalesce(
            Subquery(_latest(day, person).values("employed")[:1], output_field=BooleanField()),
            Case(When(still_here, then=Value(True)), default=Value(False)),
            output_field=BooleanField(),
        )
    )


def narrowed_on(day: dt.date, *, person: str = "user_id", **ids: int | None) -> Q:
    """A condition: the person's role, department and manager on `day` were the ids given (None: any)."""
    q = Q()
    for name, value in ids.items():
        if value:
            q &= Q(Exact(field_on(day, name, person=person), value))
    return q


def states_on(day: dt.date) -> QuerySet[PersonState]:
    """The row that held on `day` for each person with one."""
    latest = PersonState.objects.filter(person_id=OuterRef("person_id"), valid_from__lte=day).order_by(*LATEST_FIRST)
    return PersonState.objects.filter(valid_from__lte=day, pk=Subquery(latest.values("pk")[:1]))


def history_of(person: User) -> list[PersonState]:
    """A person's rows, oldest first, with their role, department, manager and actor."""
    return list(
        PersonState.objects.filter(person=person)
        .select_related("workforce_role", "department", "manager", "actor")
        .order_by("valid_from", "recorded_at", "pk")
    )


def spans_from(
    rows: list[PersonState], start: dt.date, end: dt.date
) -> list[tuple[dt.date, dt.date, PersonState | None]]:
    """Cut [start, end] where one person's `rows` (oldest first) change: each span with the row that held in it
    (None: before their first row)."""
    before = [r for r in rows if r.valid_from <= start]
    cuts: list[tuple[dt.date, PersonState | None]] = [(start, before[-1] if before else None)]
    for r in rows:
        if start < r.valid_from <= end:
            if cuts[-1][0] == r.valid_from:
                cuts[-1] = (r.valid_from, r)  # the later row of the same day holds
            else:
                cuts.append((r.valid_from, r))
    return [
        (begin, cuts[i + 1][0] - dt.timedelta(days=1) if i + 1 < len(cuts) else end, state)
        for i, (begin, state) in enumerate(cuts)
    ]
