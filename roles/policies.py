"""Who must acknowledge each policy: its audience (the whole workforce, or some workforce roles). The engine
(`assignments.sync_policy_assignments`) turns audiences and published versions into each person's assignments."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from courses.models import Policy
from hipaa_training import audit

from .assignments import PolicySyncResult, sync_policy_assignments
from .models import PolicyAssignment, PolicyAudience, User, WorkforceRole


def audience_of(policy: Policy) -> PolicyAudience | None:
    return PolicyAudience.objects.filter(policy=policy).prefetch_related("roles").first()


def audience_people(policy: Policy) -> QuerySet[User]:
    """The active workforce members a policy is for."""
    people = User.objects.filter(is_active=True, terminated_on__isnull=True, workforce_role__isnull=False)
    audience = audience_of(policy)
    if audience is None:
        return people.none()
    if not audience.everyone:
        people = people.filter(workforce_role__in=audience.roles.all())
    return people


def policy_audience_set(
    *, policy: Policy, everyone: bool, roles: Iterable[WorkforceRole] = (), actor: User | None
) -> PolicySyncResult:
    """Say who must acknowledge a policy; everyone newly in the audience is asked at once, anyone no longer in it
    has their open acknowledgement cancelled (their past acknowledgements stay)."""
    if policy.is_retired:
        raise ValidationError("This policy is retired: its audience is kept as it was and no longer changes.")
    roles = sorted(set(roles), key=lambda r: r.slug)
    if not everyone and not roles:
        raise ValidationError({"roles": "Choose the workforce roles this policy is for, or choose everyone."})
    if any(r.is_retired for r in roles):
        raise ValidationError({"roles": "A retired role cannot be chosen."})
    with transaction.atomic():
        audience, created = PolicyAudience.objects.select_for_update().get_or_create(policy=policy)
        before = "everyone" if audience.everyone else sorted(r.slug for r in audience.roles.all())
        if not created and before == ("everyone" if everyone else [r.slug for r in roles]):
            return PolicySyncResult()
        audience.everyone = everyone
        audience.updated_at = timezone.now()
        audience.save()
        audience.roles.set([] if everyone else roles)
        audit.record(
            "policy.audience_changed",
            actor=actor,
            subject=policy,
            data={"policy": policy.slug, "from": before, "to": "everyone" if everyone else [r.slug for r in roles]},
        )
        return sync_policy_assignments(
            people=User.objects.filter(workforce_role__isnull=False), reason_hint=PolicyAssignment.AUDIENCE, actor=actor
        )
