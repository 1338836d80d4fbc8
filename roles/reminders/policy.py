"""Changing the reminder calendar (a settings change, audited with the values before and after)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from hipaa_training import audit

from ..models import ReminderPolicy, User

POLICY_FIELDS = ("before_due_days", "overdue_every_days", "manager_after_days", "officer_after_days")


def reminder_policy_update(*, actor: User | None, **values: Any) -> ReminderPolicy:
    """Change the reminder calendar (a settings change: audited with the values before and after)."""
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    with transaction.atomic():
        policy = ReminderPolicy.objects.select_for_update().get(pk=ReminderPolicy.current().pk)
        before = {name: getattr(policy, name) for name in POLICY_FIELDS}
        for name, value in values.items():
            setattr(policy, name, value)
        policy.updated_at = timezone.now()
        policy.updated_by = actor
        policy.full_clean()
        policy.save()
        after = {name: getattr(policy, name) for name in POLICY_FIELDS}
        if before != after:
            audit.record("reminder_policy.changed", actor=actor, subject=policy, data={"from": before, "to": after})
    return policy
