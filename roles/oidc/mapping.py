"""Claims mapping: the person's name, and the groups claim's values -> workforce role, department, access groups.

Applied at every SSO sign-in through the same services as the workforce import (roles.services person_create /
person_update: audited, assignments kept in step), plus one "person.sso_mapping_applied" event naming what the
provider sent. The compliance officer edits the table (SSOClaimMapping) at /dashboard/settings/sso/, through
mapping_services.py. A provider that sends no groups claim changes no role, department or group; an access
group that some mapping names is the provider's to give and to take away, the others (and "administrator",
which no mapping can name) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q

from hipaa_training import audit

from .. import services
from ..models import Department, SSOClaimMapping, User, WorkforceRole

DEFAULT_GROUPS_CLAIM = "groups"


@dataclass
class Mapped:
    groups_sent: bool = False
    values: list[str] = field(default_factory=list)
    workforce_role: WorkforceRole | None = None
    department: Department | None = None
    access_groups: set[str] = field(default_factory=set)
    managed_groups: set[str] = field(default_factory=set)  # every access group a mapping of this provider names


def full_name(claims: dict[str, Any]) -> str:
    name = str(claims.get("name") or "").strip()
    if not name:
        name = " ".join(str(claims.get(k) or "").strip() for k in ("given_name", "family_name")).strip()
    return name[:200]


def resolve(provider_id: str, claims: dict[str, Any], groups_claim: str = DEFAULT_GROUPS_CLAIM) -> Mapped:
    raw = claims.get(groups_claim)
    mappings = list(
        SSOClaimMapping.objects.filter(Q(provider_id="") | Q(provider_id=provider_id)).select_related(
            "workforce_role", "department"
        )
    )
    mapped = Mapped(managed_groups={m.access_group for m in mappings if m.access_group})
    if raw is None:
        return mapped
    values = [raw] if isinstance(raw, str) else [str(v) for v in raw]
    mapped.groups_sent, mapped.values = True, values
    for m in sorted((m for m in mappings if m.claim_value in values), key=lambda m: (m.provider_id == "", m.pk)):
        mapped.workforce_role = mapped.workforce_role or m.workforce_role
        mapped.department = mapped.department or m.department
        if m.access_group:
            mapped.access_groups.add(m.access_group)
    return mapped


def _set_access_groups(person: User, mapped: Mapped) -> dict[str, list[str]]:
    have = set(person.groups.filter(name__in=mapped.managed_groups).values_list("name", flat=True))
    add, remove = mapped.access_groups - have, have - mapped.access_groups
    if add:
        person.groups.add(*Group.objects.filter(name__in=add))
    if remove:
        person.groups.remove(*Group.objects.filter(name__in=remove))
    if add or remove:
        audit.record(
            "person.access_groups_changed",
            subject=person,
            data={"person": person.email, "added": sorted(add), "removed": sorted(remove), "via": "sso"},
        )
    return {"added": sorted(add), "removed": sorted(remove)}


def sso_claims_apply(
    *, person: User, provider_id: str, claims: dict[str, Any], groups_claim: str = DEFAULT_GROUPS_CLAIM
) -> None:
    """Bring an existing person in line with what the provider says now (audited; nothing when nothing changed)."""
    mapped = resolve(provider_id, claims, groups_claim)
    changes: dict[str, Any] = {}
    name = full_name(claims)
    if name and name != person.full_name:
        changes["full_name"] = name
    if mapped.groups_sent:
        if mapped.workforce_role is not None and mapped.workforce_role != person.workforce_role:
            changes["workforce_role"] = mapped.workforce_role
        if mapped.department is not None and mapped.department != person.department:
            changes["department"] = mapped.department
    with transaction.atomic():
        if changes:
            services.person_update(person=person, actor=None, **changes)
        groups = _set_access_groups(person, mapped) if mapped.groups_sent else {"added": [], "removed": []}
        if changes or groups["added"] or groups["removed"]:
            audit.record(
                "person.sso_mapping_applied",
                subject=person,
                data={
                    "person": person.email,
                    "provider": provider_id,
                    "claim_values": mapped.values[:50],
                    "changed": sorted(changes),
                    **groups,
                },
            )


def sso_person_create(
    *, email: str, provider_id: str, claims: dict[str, Any], groups_claim: str = DEFAULT_GROUPS_CLAIM
) -> User:
    """A person single sign-on brings in (when the policy allows): created with their role, so with their training."""
    mapped = resolve(provider_id, claims, groups_claim)
    with transaction.atomic():
        person = services.person_create(
            email=email,
            full_name=full_name(claims) or email,
            workforce_role=mapped.workforce_role,
            department=mapped.department,
            invite=False,  # they sign in with the provider: no password to set
        )
        groups = _set_access_groups(person, mapped) if mapped.groups_sent else {"added": [], "removed": []}
        audit.record(
            "account.created_by_sso",
            subject=person,
            data={
                "person": person.email,
                "provider": provider_id,
                "claim_values": mapped.values[:50],
                "role": str(mapped.workforce_role) if mapped.workforce_role else None,
                **groups,
            },
        )
    return person
