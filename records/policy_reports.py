"""What the policy pages, the dashboard and the evidence read about policies and their acknowledgements, each in a
fixed number of queries whatever the size of the workforce."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from courses.models import Policy, PolicyVersion
from roles.models import PolicyAssignment, User

from .models import PolicyAcknowledgement


def review_warning_days() -> int:
    return int(getattr(settings, "POLICY_REVIEW_WARNING_DAYS", 30))


@dataclass
class CoverageCell:
    role: str
    acknowledged: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.acknowledged / self.total) if self.total else 0


@dataclass
class PolicyRow:
    policy: Policy
    current: PolicyVersion | None
    audience: str
    coverage: list[CoverageCell] = field(default_factory=list)

    @property
    def acknowledged(self) -> int:
        return sum(c.acknowledged for c in self.coverage)

    @property
    def total(self) -> int:
        return sum(c.total for c in self.coverage)

    def review_due(self, today: dt.date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.current is not None and self.current.review_on <= today + dt.timedelta(days=review_warning_days())


def _latest_live() -> QuerySet[PolicyAssignment]:
    """Each active person's latest not-cancelled assignment of each policy (what counts for coverage)."""
    newer = PolicyAssignment.objects.filter(
        user=OuterRef("user"), policy=OuterRef("policy"), cancelled_at__isnull=True, pk__gt=OuterRef("pk")
    )
    return PolicyAssignment.objects.filter(
        cancelled_at__isnull=True, user__is_active=True, user__terminated_on__isnull=True
    ).exclude(Exists(newer))


def policy_rows() -> list[PolicyRow]:
    """Every policy with its current version, audience and coverage per workforce role (acknowledged / asked):
    four queries."""
    policies = list(Policy.objects.select_related("audience").prefetch_related("audience__roles").order_by("title"))
    current = {v.policy_id: v for v in PolicyVersion.objects.current().defer("pdf", "body_html", "body_markdown")}
    cells: dict[int, list[CoverageCell]] = defaultdict(list)
    for policy_id, role, total, acked in (
        _latest_live()
        .values("policy_id", "user__workforce_role__name")
        .annotate(total=Count("pk"), acked=Count("pk", filter=Q(acknowledged_at__isnull=False)))
        .order_by("policy_id", "user__workforce_role__name")
        .values_list("policy_id", "user__workforce_role__name", "total", "acked")
    ):
        cells[policy_id].append(CoverageCell(role or "No role", acked, total))
    rows = []
    for policy in policies:
        audience = getattr(policy, "audience", None)
        if audience is None:
            who = "nobody yet"
        elif audience.everyone:
            who = "the whole workforce"
        else:
            who = ", ".join(r.name for r in audience.roles.all()) or "nobody yet"
        rows.append(PolicyRow(policy, current.get(policy.pk), who, cells.get(policy.pk, [])))
    return rows


def policies_review_due(today: dt.date | None = None) -> list[PolicyVersion]:
    """Current versions of live policies whose review date is near or past (the officer's dashboard)."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=review_warning_days())
    return list(
        PolicyVersion.objects.current()
        .filter(policy__retired_at__isnull=True, review_on__lte=horizon)
        .select_related("policy")
        .defer("pdf")
        .order_by("review_on")
    )


def policies_to_acknowledge(person: User) -> list[PolicyAssignment]:
    """The person's open policy assignments, soonest due first (one query)."""
    return list(
        PolicyAssignment.objects.open()
        .filter(user=person)
        .select_related("policy_version__policy")
        .defer("policy_version__pdf")
        .order_by("due_on", "pk")
    )


def acknowledgements_of(person: User) -> list[PolicyAcknowledgement]:
    """Everything a person acknowledged, for their transcript (one query)."""
    return list(
        PolicyAcknowledgement.objects.filter(person=person)
        .select_related("version__policy")
        .defer("version__pdf")
        .order_by("acknowledged_at", "pk")
    )


def version_people(version: PolicyVersion) -> QuerySet[PolicyAssignment]:
    """Who was asked to acknowledge a version, and whether they did."""
    return (
        PolicyAssignment.objects.filter(policy_version=version)
        .select_related("user__workforce_role", "acknowledgement")
        .order_by("user__full_name", "pk")
    )
