"""Clients (covered entities) and what their business associate agreements ask of the company's training.

Every write validates, saves, writes its audit event and brings the assignments of the people it touches in step,
in one transaction. Who works a client's accounts is append-only history (`ClientScope`): adding or removing a
department, a role or a person is a new row from a day, so "who worked client X on day D" stays answerable
(`people_on`, `people_between`, from roles/client_scope.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from hipaa_training import audit

from .access import ADMINISTRATOR, AUDITOR, COMPLIANCE_OFFICER, MANAGER
from .assignments import sync_assignments
from .client_scope import days_worked, people_between, people_on
from .models import Client, ClientAuditor, ClientRequirement, ClientScope, Department, User, WorkforceRole
from .services import person_create
from .validators import access_expires_problem

__all__ = [
    "client_auditor_grant",
    "client_auditor_revoke",
    "client_create",
    "client_requirement_remove",
    "client_requirement_set",
    "client_retire",
    "client_scope_add",
    "client_scope_remove",
    "client_update",
    "days_worked",
    "people_between",
    "people_on",
    "scope_history",
]


def _clean_name(name: str, exclude: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Give the client a name."})
    clash = Client.objects.filter(name__iexact=name).exclude(pk=exclude).first()
    if clash is not None:
        retired = " (retired)" if clash.retired_at else ""
        raise ValidationError({"name": f"There is already a client named {clash.name}{retired}."})
    return name


def _data(client: Client) -> dict[str, Any]:
    return {
        "client": client.name,
        "baa_effective_on": client.baa_effective_on.isoformat(),
        "due_within_days": client.due_within_days,
    }


def client_create(
    *,
    name: str,
    baa_effective_on: dt.date,
    due_within_days: int | None = None,
    notes: str = "",
    actor: User | None = None,
) -> Client:
    """A new client under a business associate agreement (45 CFR 164.504(e)), requiring nothing until told."""
    with transaction.atomic():
        client = Client(
            name=_clean_name(name),
            baa_effective_on=baa_effective_on,
            due_within_days=due_within_days,
            notes=notes.strip(),
        )
        client.full_clean()
        client.save()
        audit.record("client.created", actor=actor, subject=client, data=_data(client))
    return client


def client_update(
    *,
    client: Client,
    name: str,
    baa_effective_on: dt.date,
    due_within_days: int | None,
    notes: str = "",
    actor: User | None = None,
) -> Client:
    """Change a client's name, BAA date, window or notes. A new window applies to new assignments."""
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        if client.retired_at is not None:
            raise ValidationError(f"{client.name} is retired: it can no longer change.")
        before = _data(client)
        client.name = _clean_name(name, exclude=client.pk)
        client.baa_effective_on = baa_effective_on
        client.due_within_days = due_within_days
        client.notes = notes.strip()
        client.full_clean()
        client.save()
        after = _data(client)
        if before != after:
            audit.record("client.changed", actor=actor, subject=client, data={"from": before, "to": after})
    return client


def _people_of(client: Client) -> QuerySet[User]:
    """Everyone whose client modules a change of `client` may touch: who works it today, by their record now."""
    return User.objects.filter(pk__in=[p.pk for p in people_on(client)])


def client_retire(*, client: Client, actor: User | None = None) -> Client:
    """No longer a client: kept for the records (its packs can still be built); its open modules are cancelled."""
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        if client.retired_at is not None:
            raise ValidationError(f"{client.name} is already retired.")
        people = list(_people_of(client))
        client.retired_at = timezone.now()
        client.save(update_fields=["retired_at"])
        audit.record("client.retired", actor=actor, subject=client, data={"client": client.name})
        sync_assignments(people=people, actor=actor)
    return client


def client_requirement_set(
    *, client: Client, course: Any, recurrence_months: int | None = 12, actor: User | None = None
) -> ClientRequirement:
    """Require `course` of everyone who works `client`'s accounts (the BAA's training obligation); assign it now."""
    if client.retired_at is not None:
        raise ValidationError(f"{client.name} is retired: its requirements can no longer change.")
    if course.retired_at is not None and not client.requirements.filter(course=course).exists():
        raise ValidationError({"course": f"{course.title} is retired: no client can newly require it."})
    with transaction.atomic():
        requirement = ClientRequirement(client=client, course=course, recurrence_months=recurrence_months)
        existing = ClientRequirement.objects.filter(client=client, course=course).first()
        if existing is not None:
            requirement.pk = existing.pk
        requirement.full_clean(validate_unique=False)
        requirement.save()
        audit.record(
            "client.requirement_changed" if existing else "client.requirement_added",
            actor=actor,
            subject=requirement,
            data={"client": client.name, "course": course.slug, "recurrence_months": recurrence_months},
        )
        sync_assignments(people=_people_of(client), actor=actor)
    return requirement


def client_requirement_remove(*, requirement: ClientRequirement, actor: User | None = None) -> None:
    """The agreement no longer asks for the module: open client-only assignments of it are cancelled."""
    with transaction.atomic():
        client = requirement.client
        audit.record(
            "client.requirement_removed",
            actor=actor,
            subject=requirement,
            data={"client": client.name, "course": requirement.course.slug},
        )
        requirement.delete()
        sync_assignments(people=_people_of(client), actor=actor)


def _target(department: Department | None, workforce_role: WorkforceRole | None, person: User | None) -> Q:
    given = [t for t in (department, workforce_role, person) if t is not None]
    if len(given) != 1:
        raise ValidationError("Choose exactly one of a department, a workforce role or a person.")
    if department is not None:
        return Q(department=department)
    if workforce_role is not None:
        return Q(workforce_role=workforce_role)
    return Q(person=person)


def _target_label(department: Department | None, workforce_role: WorkforceRole | None, person: User | None) -> str:
    if department is not None:
        return f"the department {department.name}"
    if workforce_role is not None:
        return f"the role {workforce_role.name}"
    assert person is not None
    return person.full_name


def _affected(department: Department | None, workforce_role: WorkforceRole | None, person: User | None) -> Q:
    if department is not None:
        return Q(department=department)
    if workforce_role is not None:
        return Q(workforce_role=workforce_role)
    assert person is not None
    return Q(pk=person.pk)


def _scope_change(
    *,
    client: Client,
    added: bool,
    department: Department | None,
    workforce_role: WorkforceRole | None,
    person: User | None,
    valid_from: dt.date | None,
    reason: str,
    actor: User | None,
) -> ClientScope:
    target = _target(department, workforce_role, person)
    label = _target_label(department, workforce_role, person)
    today = timezone.localdate()
    day = valid_from or today
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": "Say why (for the record: who decided, which accounts)."})
    if day > today:
        raise ValidationError({"valid_from": "A change of who works a client takes effect today or on an earlier day."})
    if day < client.baa_effective_on:
        raise ValidationError(
            {
                "valid_from": f"{client.name}'s agreement took effect on {client.baa_effective_on.isoformat()}: "
                "choose that day or a later one."
            }
        )
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        if client.retired_at is not None:
            raise ValidationError(f"{client.name} is retired: who works its accounts can no longer change.")
        if added and any(t is not None and t.retired_at is not None for t in (department, workforce_role)):
            raise ValidationError(f"{label.removeprefix('the ').capitalize()} is retired: choose another.")
        latest = (
            ClientScope.objects.filter(target, client=client).order_by("-valid_from", "-recorded_at", "-pk").first()
        )
        active_now = latest is not None and latest.action == ClientScope.ADDED
        if added and active_now:
            raise ValidationError(f"{label} already works {client.name}'s accounts.")
        if not added and not active_now:
            raise ValidationError(f"{label} does not work {client.name}'s accounts: there is nothing to remove.")
        if latest is not None and day < latest.valid_from:
            raise ValidationError(
                {
                    "valid_from": f"The last change for {label} was from {latest.valid_from.isoformat()}: "
                    "choose that day or a later one."
                }
            )
        row = ClientScope.objects.create(
            client=client,
            department=department,
            workforce_role=workforce_role,
            person=person,
            action=ClientScope.ADDED if added else ClientScope.REMOVED,
            valid_from=day,
            reason=reason[:200],
            actor=actor,
        )
        data: dict[str, Any] = {"client": client.name, "valid_from": day.isoformat(), "reason": row.reason}
        if department is not None:
            data["department"] = department.name
        elif workforce_role is not None:
            data["role"] = workforce_role.slug
        elif person is not None:
            data["person"] = person.email
        audit.record("client.scope_added" if added else "client.scope_removed", actor=actor, subject=client, data=data)
        sync_assignments(people=User.objects.filter(_affected(department, workforce_role, person)), actor=actor)
    return row


def client_scope_add(
    *,
    client: Client,
    department: Department | None = None,
    workforce_role: WorkforceRole | None = None,
    person: User | None = None,
    valid_from: dt.date | None = None,
    reason: str,
    actor: User | None = None,
) -> ClientScope:
    """From `valid_from` (default today) a department, role or person works `client`'s accounts: its modules are
    assigned to them."""
    return _scope_change(
        client=client,
        added=True,
        department=department,
        workforce_role=workforce_role,
        person=person,
        valid_from=valid_from,
        reason=reason,
        actor=actor,
    )


def client_scope_remove(
    *,
    client: Client,
    department: Department | None = None,
    workforce_role: WorkforceRole | None = None,
    person: User | None = None,
    valid_from: dt.date | None = None,
    reason: str,
    actor: User | None = None,
) -> ClientScope:
    """From `valid_from` (default today) they no longer work `client`'s accounts: open client-only modules are
    cancelled, completed ones kept."""
    return _scope_change(
        client=client,
        added=False,
        department=department,
        workforce_role=workforce_role,
        person=person,
        valid_from=valid_from,
        reason=reason,
        actor=actor,
    )


def scope_history(client: Client) -> list[ClientScope]:
    """The client's scope rows, newest first, with their targets and actor (one query)."""
    return list(
        ClientScope.objects.filter(client=client)
        .select_related("department", "workforce_role", "person", "actor")
        .order_by("-valid_from", "-recorded_at", "-pk")
    )


# Client auditor accounts: read-only, time-limited, bound to one client.


def client_auditor_grant(
    *, client: Client, email: str, full_name: str, access_expires_on: dt.date, actor: User | None = None
) -> ClientAuditor:
    """Give the client's compliance team or auditor a read-only account that sees only this client, until
    `access_expires_on`. A new address gets a new account and an invitation; an existing one must be an auditor
    account that belongs to no one else's workforce or privileged group."""
    problem = access_expires_problem(access_expires_on)
    if access_expires_on is None:
        problem = "Say until when the account may sign in."
    if problem:
        raise ValidationError({"access_expires_on": problem})
    if client.retired_at is not None:
        raise ValidationError(f"{client.name} is retired: no new auditor accounts.")
    email = email.strip().lower()
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            if not full_name.strip():
                raise ValidationError({"full_name": "Give the auditor's full name."})
            user = person_create(email=email, full_name=full_name, access_expires_on=access_expires_on, actor=actor)
        else:
            binding = ClientAuditor.objects.filter(user=user).select_related("client").first()
            if binding is not None and binding.client_id != client.pk:
                raise ValidationError({"email": f"{email} already audits another client: revoke that access first."})
            others = set(user.groups.values_list("name", flat=True)) & {COMPLIANCE_OFFICER, ADMINISTRATOR, MANAGER}
            if user.workforce_role_id is not None or user.is_superuser or others:
                raise ValidationError(
                    {
                        "email": f"{email} belongs to a member of the workforce: a client auditor needs an account of "
                        "their own."
                    }
                )
            if binding is None and AUDITOR in set(user.groups.values_list("name", flat=True)):
                raise ValidationError(
                    {
                        "email": f"{email} is an auditor of the whole organisation: a client auditor needs an account "
                        "of their own."
                    }
                )
            user.access_expires_on = access_expires_on
            user.is_active = True
            user.save(update_fields=["access_expires_on", "is_active"])
        user.groups.add(Group.objects.get(name=AUDITOR))
        binding, created = ClientAuditor.objects.update_or_create(
            user=user, defaults={"client": client, "granted_by": actor, "granted_at": timezone.now()}
        )
        audit.record(
            "client.auditor_granted",
            actor=actor,
            subject=user,
            data={"person": user.email, "client": client.name, "access_expires_on": access_expires_on.isoformat()},
        )
    return binding


def client_auditor_revoke(*, binding: ClientAuditor, actor: User | None = None) -> None:
    """End a client auditor's access now: out of the auditor group, access ended yesterday (an open session ends
    on its next request). The account and its audit trail are kept."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=binding.user_id)
        user.groups.remove(Group.objects.get(name=AUDITOR))
        user.access_expires_on = timezone.localdate() - dt.timedelta(days=1)
        user.save(update_fields=["access_expires_on"])
        audit.record(
            "client.auditor_revoked",
            actor=actor,
            subject=user,
            data={"person": user.email, "client": binding.client.name},
        )
