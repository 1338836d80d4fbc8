"""Who worked a client's accounts on any day, read from `ClientScope` rows and each person's history.

A target (a department, a workforce role or one person) is in a client's scope on day D when its latest row with
valid_from <= D (ties: the later `recorded_at`, then the higher id) adds it. A person worked the client on D when
they were in the workforce on D and they, or the department or role they had ON D (`PersonState`, roles/history.py),
were in scope. Everything here is a fixed number of queries, whatever the number of people or scope rows.

The engine (roles/assignments.py) reads `scope_rows` and `targets_on` once per run and tests each person of a batch
with `in_scope`; the officer's pages and the client's evidence pack use `people_on`, `people_between` and
`days_worked` (roles/clients.py re-exports them).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, Q
from django.utils import timezone

from . import history
from .models import Client, ClientScope, PersonState, User

Target = tuple[str, int]  # ("department" | "workforce_role" | "person", id)


@dataclass(frozen=True)
class _ScopeRow:
    client_id: int
    target: Target
    added: bool
    valid_from: dt.date
    order: tuple[dt.date, dt.datetime, int]


def scope_rows(clients: Iterable[int] | None = None) -> list[_ScopeRow]:
    """Every scope row (of the clients given), oldest first (one query)."""
    rows = ClientScope.objects.all()
    if clients is not None:
        rows = rows.filter(client_id__in=list(clients))
    found = []
    for pk, client_id, dept, role, person, action, valid_from, recorded_at in rows.order_by(
        "valid_from", "recorded_at", "pk"
    ).values_list(
        "pk", "client_id", "department_id", "workforce_role_id", "person_id", "action", "valid_from", "recorded_at"
    ):
        target: Target = ("department", dept) if dept else ("workforce_role", role) if role else ("person", person)
        found.append(
            _ScopeRow(client_id, target, action == ClientScope.ADDED, valid_from, (valid_from, recorded_at, pk))
        )
    return found


def targets_on(rows: list[_ScopeRow], day: dt.date) -> dict[int, set[Target]]:
    """Each client's targets in scope on `day` (rows oldest first: the last row seen for a target holds)."""
    latest: dict[tuple[int, Target], bool] = {}
    for row in rows:
        if row.valid_from <= day:
            latest[(row.client_id, row.target)] = row.added
    found: dict[int, set[Target]] = defaultdict(set)
    for (client_id, target), added in latest.items():
        if added:
            found[client_id].add(target)
    return found


def in_scope(targets: set[Target], person_id: int, department_id: int | None, role_id: int | None) -> bool:
    return (
        ("person", person_id) in targets
        or (department_id is not None and ("department", department_id) in targets)
        or (role_id is not None and ("workforce_role", role_id) in targets)
    )


def people_on(client: Client, day: dt.date | None = None) -> list[User]:
    """Who worked `client`'s accounts on `day` (default today), with the department and role they had on that day
    (two queries)."""
    day = day or timezone.localdate()
    targets = targets_on(scope_rows([client.pk]), day).get(client.pk, set())
    if not targets:
        return []
    ids = {kind: {i for k, i in targets if k == kind} for kind in ("department", "workforce_role", "person")}
    return list(
        User.objects.annotate(
            department_on=history.field_on(day, "department", person="pk"),
            role_on=history.field_on(day, "workforce_role", person="pk"),
        )
        .filter(history.employed_on(day, person="pk"))
        .filter(Q(pk__in=ids["person"]) | Q(department_on__in=ids["department"]) | Q(role_on__in=ids["workforce_role"]))
        .order_by("full_name", "pk")
    )


def _state_on(rows: list[PersonState], person: User, day: dt.date) -> tuple[bool, int | None, int | None]:
    """(employed, department id, role id) on `day` from the person's rows (oldest first), else today's record."""
    held = None
    for row in rows:
        if row.valid_from <= day:
            held = row
    if held is None:
        employed = person.terminated_on is None or person.terminated_on > day
        return employed, person.department_id, person.workforce_role_id
    return held.employed, held.department_id, held.workforce_role_id


def days_worked(client: Client, start: dt.date, end: dt.date) -> list[tuple[User, list[tuple[dt.date, dt.date]]]]:
    """Each person who worked `client`'s accounts on some day of [start, end], by name, with the spans they did,
    each (first day, last day) (three queries)."""
    scope = scope_rows([client.pk])
    ids: dict[str, set[int]] = defaultdict(set)
    for row in scope:
        if row.added:
            ids[row.target[0]].add(row.target[1])
    if not ids:
        return []
    candidates = (
        User.objects.filter(
            Q(pk__in=ids["person"])
            | Q(department_id__in=ids["department"])
            | Q(workforce_role_id__in=ids["workforce_role"])
            | Q(states__department_id__in=ids["department"])
            | Q(states__workforce_role_id__in=ids["workforce_role"])
        )
        .distinct()
        .order_by("full_name", "pk")
        .prefetch_related(
            Prefetch("states", queryset=PersonState.objects.order_by("valid_from", "recorded_at", "pk"), to_attr="rows")
        )
    )
    scope_days = {row.valid_from for row in scope if start < row.valid_from <= end}
    found: list[tuple[User, list[tuple[dt.date, dt.date]]]] = []
    on_day: dict[dt.date, set[Target]] = {}
    for person in candidates:
        rows: list[PersonState] = person.rows  # type: ignore[attr-defined]
        cuts = sorted({start} | scope_days | {r.valid_from for r in rows if start < r.valid_from <= end})
        spans: list[tuple[dt.date, dt.date]] = []
        for i, day in enumerate(cuts):
            last = cuts[i + 1] - dt.timedelta(days=1) if i + 1 < len(cuts) else end
            employed, department_id, role_id = _state_on(rows, person, day)
            if day not in on_day:
                on_day[day] = targets_on(scope, day).get(client.pk, set())
            targets = on_day[day]
            if employed and in_scope(targets, person.pk, department_id, role_id):
                if spans and spans[-1][1] == day - dt.timedelta(days=1):
                    spans[-1] = (spans[-1][0], last)
                else:
                    spans.append((day, last))
        if spans:
            found.append((person, spans))
    return found


def people_between(client: Client, start: dt.date, end: dt.date) -> list[User]:
    """Everyone who worked `client`'s accounts on at least one day of [start, end], by name (three queries)."""
    return [person for person, _ in days_worked(client, start, end)]
