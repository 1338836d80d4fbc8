"""A claim's unsent rows as the mailer reads them: plain values from one query, not model instances.

A batch is hundreds of rows, each with the person, their manager and what it is about; building them as
`Delivery`, `Assignment` and `User` instances through `select_related` was a fifth of a reminder run (issue 14).
These carry only what the e-mails, the marks and a bulletin's evidence read, under the same names the models
use, so the templates read `row.item.user.full_name` as they would of the models.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import QuerySet

from ..models import Delivery


@dataclass(frozen=True, slots=True)
class Person:
    pk: int
    email: str
    full_name: str
    reminder_digest: bool = False
    manager_id: int | None = None
    manager: Person | None = None


@dataclass(frozen=True, slots=True)
class Titled:
    """A module, a policy or a security reminder: what an e-mail names."""

    pk: int
    title: str


@dataclass(frozen=True, slots=True)
class Item:
    """What a reminder or an escalation is about: a module's assignment or a policy to acknowledge."""

    pk: int
    due_on: dt.date
    user: Person

    @property
    def user_id(self) -> int:
        return self.user.pk

    @property
    def title(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ModuleAssignment(Item):
    course: Titled

    @property
    def title(self) -> str:  # as Assignment.title
        return self.course.title


@dataclass(frozen=True, slots=True)
class PolicyToAcknowledge(Item):
    policy: Titled

    @property
    def title(self) -> str:  # as PolicyAssignment.title
        return f"acknowledge the policy {self.policy.title}"


@dataclass(frozen=True, slots=True)
class Claimed:
    """One `Delivery` row of a claim."""

    pk: int
    kind: str
    period: str
    assignment: ModuleAssignment | None
    policy_assignment: PolicyToAcknowledge | None
    recipient: Person | None
    bulletin: Titled | None

    @property
    def item(self) -> Item | None:
        return self.assignment or self.policy_assignment


_PERSON = ("id", "email", "full_name", "reminder_digest", "manager_id", "manager__email", "manager__full_name")
_ROW: tuple[str, ...] = ("pk", "kind", "period", "sent_at", "recipient_id", "recipient__email")
_ROW += ("recipient__full_name", "bulletin_id", "bulletin__title")
# What a row is about: its id, due date, the module's or the policy's id and title (4 columns), then the person.
_MODULE: tuple[str, ...] = ("assignment_id", "assignment__due_on", "assignment__course_id", "assignment__course__title")
_MODULE += tuple(f"assignment__user__{c}" for c in _PERSON)
_POLICY: tuple[str, ...] = ("policy_assignment_id", "policy_assignment__due_on", "policy_assignment__policy_id")
_POLICY += ("policy_assignment__policy__title", *(f"policy_assignment__user__{c}" for c in _PERSON))
_COLUMNS = (*_ROW, *_MODULE, *_POLICY)
_AT_MODULE, _AT_POLICY = len(_ROW), len(_ROW) + len(_MODULE)


_Item = TypeVar("_Item", ModuleAssignment, PolicyToAcknowledge)


def _item(values: tuple[Any, ...], kind: type[_Item]) -> _Item | None:
    """A module's assignment or a policy to acknowledge from its columns (`_MODULE` or `_POLICY`), or None."""
    pk, due_on, titled_pk, title = values[:4]
    return None if pk is None else kind(pk, due_on, _person(values[4:]), Titled(titled_pk, title))


def _person(values: tuple[Any, ...]) -> Person:
    """A person from their columns, in the order of `_PERSON`."""
    pk, email, full_name, digest, manager_id, manager_email, manager_name = values
    manager = Person(manager_id, manager_email, manager_name) if manager_id is not None else None
    return Person(pk, email, full_name, digest, manager_id, manager)


def claimed_rows(token: str) -> list[Claimed]:
    """The unsent rows of the claim `token`, in primary-key order (one query).

    The unsent ones are picked here, not in SQL: asked for `claim = ... AND sent_at IS NULL` just after a run's
    claims, the planner, whose statistics had not yet seen them, combined the claim's index with the partial
    index of unsent rows and read all of those for each batch (1 ms a batch at 50,000 unsent rows, growing with
    the run). A claim's own rows, sent or not, are one batch."""
    return read_rows(Delivery.objects.filter(claim=token), unsent_only=True)


def read_rows(deliveries: QuerySet[Delivery], *, unsent_only: bool = False) -> list[Claimed]:
    """These rows as the mailer reads them, in primary-key order (one query)."""
    rows = []
    for values in deliveries.order_by("pk").values_list(*_COLUMNS):
        pk, kind, period, sent_at, recipient_id, recipient_email, recipient_name, bulletin_id, bulletin_title = values[
            :_AT_MODULE
        ]
        if unsent_only and sent_at is not None:
            continue
        rows.append(
            Claimed(
                pk,
                kind,
                period,
                _item(values[_AT_MODULE:_AT_POLICY], ModuleAssignment),
                _item(values[_AT_POLICY:], PolicyToAcknowledge),
                Person(recipient_id, recipient_email, recipient_name) if recipient_id is not None else None,
                Titled(bulletin_id, bulletin_title) if bulletin_id is not None else None,
            )
        )
    return rows
