"""The writes of the SSO claims mapping (SSOClaimMapping): one code path for the officer's page
(/dashboard/settings/sso/) and the Django admin. Each write is one audit event with the row before and after.

A mapping is configuration, not evidence: it may be removed (and the removal is audited). What it did to people
stays in their own history (person.role_changed and the like, recorded at each sign-in).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from hipaa_training import audit

from ..models import Department, SSOClaimMapping, User, WorkforceRole

FIELDS = ("provider_id", "claim_value", "workforce_role", "department", "access_group")


class MappingChanged(ValidationError):
    """Someone else changed (or removed) the mapping after the form was shown: nothing was saved."""

    def __init__(self, current: SSOClaimMapping | None) -> None:
        if current is None:
            text = "Someone else removed this mapping after the page was opened, so nothing was saved."
        else:
            text = (
                f"Someone else changed the mapping of “{current.claim_value}” after this page was opened, so nothing "
                "was saved. The page now shows its current state; make your change again if it is still needed."
            )
        super().__init__(text)
        self.current = current


def mapping_version(mapping: SSOClaimMapping) -> str:
    """A short fingerprint of the row as the page shows it: a form carries it to detect a stale edit."""
    fields = (
        mapping.provider_id,
        mapping.claim_value,
        mapping.workforce_role_id,
        mapping.department_id,
        mapping.access_group,
        mapping.updated_at.isoformat() if mapping.updated_at else None,
    )
    return hashlib.sha256(repr(fields).encode()).hexdigest()[:20]


def describe(mapping: SSOClaimMapping | None) -> dict[str, Any] | None:
    if mapping is None:
        return None
    return {
        "provider": mapping.provider_id or "any",
        "claim_value": mapping.claim_value,
        "role": str(mapping.workforce_role) if mapping.workforce_role else None,
        "department": str(mapping.department) if mapping.department else None,
        "access_group": mapping.access_group or None,
    }


def mapping_check(
    *,
    provider_id: str,
    claim_value: str,
    workforce_role: WorkforceRole | None,
    department: Department | None,
    access_group: str,
    mapping: SSOClaimMapping | None = None,
) -> str:
    """Refuse what cannot be saved, as a ValidationError naming the field; returns the cleaned claim value."""
    errors: dict[str, list[str]] = {}
    value = (claim_value or "").strip()
    if not value:
        errors.setdefault("claim_value", []).append("Enter the value of the groups claim, as the provider sends it.")
    elif "\x00" in value:
        errors.setdefault("claim_value", []).append("The value cannot contain a NUL character.")
    else:
        same = SSOClaimMapping.objects.filter(provider_id=provider_id, claim_value__iexact=value)
        if mapping is not None and mapping.pk is not None:
            same = same.exclude(pk=mapping.pk)
        if same.exists():
            where = f"provider {provider_id}" if provider_id else "every provider"
            errors.setdefault("claim_value", []).append(
                f"“{value}” already has a mapping for {where} (values are compared without regard to case)."
            )
    if workforce_role is not None and workforce_role.retired_at is not None:
        errors.setdefault("workforce_role", []).append(f"{workforce_role.name} is retired: choose another role.")
    if department is not None and department.retired_at is not None:
        errors.setdefault("department", []).append(f"{department.name} is retired: choose another department.")
    valid_groups = {k for k, _ in SSOClaimMapping.ACCESS_GROUPS}
    if access_group not in valid_groups:
        errors.setdefault("access_group", []).append("Choose one of the listed access groups.")
    if not (workforce_role or department or access_group):
        errors.setdefault("__all__", []).append(
            "Say what this value means: a workforce role, a department or an access group."
        )
    if errors:
        raise ValidationError(errors)
    return value


def mapping_create(
    *,
    actor: User | None,
    claim_value: str,
    provider_id: str = "",
    workforce_role: WorkforceRole | None = None,
    department: Department | None = None,
    access_group: str = "",
) -> SSOClaimMapping:
    with transaction.atomic():
        value = mapping_check(
            provider_id=provider_id,
            claim_value=claim_value,
            workforce_role=workforce_role,
            department=department,
            access_group=access_group,
        )
        mapping = SSOClaimMapping.objects.create(
            provider_id=provider_id,
            claim_value=value,
            workforce_role=workforce_role,
            department=department,
            access_group=access_group,
        )
        audit.record(
            "sso.mapping_created", actor=actor, subject=mapping, data={"before": None, "after": describe(mapping)}
        )
    return mapping


def _locked(mapping: SSOClaimMapping, expected_version: str | None) -> SSOClaimMapping:
    current = SSOClaimMapping.objects.select_for_update(of=("self",)).select_related("workforce_role", "department")
    row = current.filter(pk=mapping.pk).first()
    if row is None:
        raise MappingChanged(None)
    if expected_version is not None and mapping_version(row) != expected_version:
        raise MappingChanged(row)
    return row


def mapping_update(
    *, mapping: SSOClaimMapping, actor: User | None, expected_version: str | None = None, **changes: Any
) -> SSOClaimMapping:
    """Change some of FIELDS; `expected_version` (from `mapping_version`) refuses a stale edit with the current row."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"not a mapping field: {sorted(unknown)}")
    with transaction.atomic():
        row = _locked(mapping, expected_version)
        before = describe(row)
        values = {name: changes.get(name, getattr(row, name)) for name in FIELDS}
        values["claim_value"] = mapping_check(mapping=row, **values)
        for name, value in values.items():
            setattr(row, name, value)
        after = describe(row)
        if after == before:
            return row
        row.save()
        audit.record("sso.mapping_updated", actor=actor, subject=row, data={"before": before, "after": after})
    return row


def mapping_delete(*, mapping: SSOClaimMapping, actor: User | None, expected_version: str | None = None) -> None:
    with transaction.atomic():
        row = _locked(mapping, expected_version)
        audit.record("sso.mapping_deleted", actor=actor, subject=row, data={"before": describe(row), "after": None})
        row.delete()
