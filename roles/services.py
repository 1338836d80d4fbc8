"""Every write to the workforce goes through these functions: they validate, save, audit and keep
assignments in step, in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from hipaa_training import audit

from .assignments import SyncResult, sync_assignments
from .grid import GridChange, GridStale, grid_plan, grid_state
from .models import Assignment, Department, Requirement, User, WorkforceRole
from .organization import organization_name

TRACKED_FIELDS = {
    "workforce_role": "person.role_changed",
    "department": "person.department_changed",
    "manager": "person.manager_changed",
}


def _label(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, User):
        return value.email
    return str(value)


def _refuse_retired(role: WorkforceRole | None, department: Department | None) -> None:
    """A retired role or department is kept for the records and never given to anyone again."""
    if role is not None and role.retired_at is not None:
        raise ValidationError({"workforce_role": f"{role.name} is retired: choose another workforce role."})
    if department is not None and department.retired_at is not None:
        raise ValidationError({"department": f"{department.name} is retired: choose another department."})


def person_create(
    *,
    email: str,
    full_name: str,
    actor: User | None = None,
    workforce_role: WorkforceRole | None = None,
    department: Department | None = None,
    manager: User | None = None,
    hire_date: dt.date | None = None,
    access_expires_on: dt.date | None = None,
    password: str | None = None,
    invite: bool = True,
) -> User:
    """Add a workforce member, assign what their role requires, and invite them (45 CFR 164.530(b)(2)(i)(B))."""
    _refuse_retired(workforce_role, department)
    with transaction.atomic():
        person = User.objects.create_user(
            email=email,
            password=password,
            full_name=full_name.strip(),
            workforce_role=workforce_role,
            department=department,
            manager=manager,
            hire_date=hire_date,
            access_expires_on=access_expires_on,
        )
        audit.record(
            "account.created",
            actor=actor,
            subject=person,
            data={
                "person": person.email,
                "role": _label(workforce_role),
                "department": _label(department),
                "manager": _label(manager),
                "hire_date": hire_date.isoformat() if hire_date else None,
            },
        )
        sync_assignments(people=[person], actor=actor)
        if invite:
            person_invite(person=person, actor=actor)
    return person


def invitation_url(person: User) -> str:
    key = default_token_generator.make_token(person)
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(person), "key": key})
    return f"{settings.SITE_URL}{path}"


def person_invite(*, person: User, actor: User | None = None) -> None:
    """E-mail the person a link to set their password (sent after commit)."""
    name = organization_name()
    context = {"person": person, "url": invitation_url(person), "organization": name}
    message = EmailMultiAlternatives(
        subject=f"Your HIPAA training account at {name}",
        body=render_to_string("emails/invitation.txt", context),
        to=[person.email],
    )
    message.attach_alternative(render_to_string("emails/invitation.html", context), "text/html")
    with transaction.atomic():
        audit.record("account.invited", actor=actor, subject=person, data={"person": person.email})
        transaction.on_commit(lambda: message.send(fail_silently=False))


def person_update(*, person: User, actor: User | None = None, **changes: Any) -> SyncResult | None:
    """Change a person's details; role, department and manager changes are audited, a role change re-syncs."""
    unknown = set(changes) - {f.name for f in User._meta.get_fields()}
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    _refuse_retired(
        changes.get("workforce_role") if changes.get("workforce_role") != person.workforce_role else None,
        changes.get("department") if changes.get("department") != person.department else None,
    )
    with transaction.atomic():
        before = {name: getattr(person, name) for name in changes}
        for name, value in changes.items():
            setattr(person, name, value)
        person.full_clean(exclude=["password"])
        person.save()
        for name, action in TRACKED_FIELDS.items():
            if name in changes and before[name] != changes[name]:
                audit.record(
                    action,
                    actor=actor,
                    subject=person,
                    data={"from": _label(before[name]), "to": _label(changes[name])},
                )
        other = {k: v for k, v in changes.items() if k not in TRACKED_FIELDS and before[k] != v}
        if other:
            audit.record("person.changed", actor=actor, subject=person, data={k: _label(v) for k, v in other.items()})
        if "workforce_role" in changes and before["workforce_role"] != changes["workforce_role"]:
            return sync_assignments(people=[person], reason_hint=Assignment.ROLE_CHANGE, actor=actor)
    return None


def person_deactivate(*, person: User, actor: User | None = None, on: dt.date | None = None) -> SyncResult:
    """A person leaves: no new assignments, open ones cancelled, every record kept (45 CFR 164.316(b)(2))."""
    with transaction.atomic():
        person.is_active = False
        person.terminated_on = on or timezone.localdate()
        person.save(update_fields=["is_active", "terminated_on"])
        audit.record(
            "account.deactivated",
            actor=actor,
            subject=person,
            data={"person": person.email, "terminated_on": person.terminated_on.isoformat()},
        )
        return sync_assignments(people=[person], actor=actor)


def person_reactivate(*, person: User, actor: User | None = None) -> SyncResult:
    with transaction.atomic():
        person.is_active = True
        person.terminated_on = None
        person.save(update_fields=["is_active", "terminated_on"])
        audit.record("account.reactivated", actor=actor, subject=person, data={"person": person.email})
        return sync_assignments(people=[person], actor=actor)


def requirement_set(
    *,
    role: WorkforceRole,
    course: Any,
    recurrence_months: int | None = 12,
    due_within_days: int = 30,
    actor: User | None = None,
) -> Requirement:
    """Require `course` of everyone in `role`; assign it to them now."""
    with transaction.atomic():
        requirement, created = Requirement.objects.update_or_create(
            role=role,
            course=course,
            defaults={"recurrence_months": recurrence_months, "due_within_days": due_within_days},
        )
        audit.record(
            "requirement.added" if created else "requirement.changed",
            actor=actor,
            subject=requirement,
            data={
                "role": role.slug,
                "course": course.slug,
                "recurrence_months": recurrence_months,
                "due_within_days": due_within_days,
            },
        )
        sync_assignments(people=User.objects.filter(workforce_role=role), actor=actor)
    return requirement


def requirement_remove(*, requirement: Requirement, actor: User | None = None) -> None:
    with transaction.atomic():
        role = requirement.role
        audit.record(
            "requirement.removed",
            actor=actor,
            subject=requirement,
            data={"role": role.slug, "course": requirement.course.slug},
        )
        requirement.delete()
        sync_assignments(people=User.objects.filter(workforce_role=role), actor=actor)


# The roles grid, workforce roles and departments (the officer's /dashboard/roles/ and /dashboard/departments/).


def requirements_grid_apply(
    *, changes: list[GridChange], version: str, plan_digest: str, actor: User | None = None
) -> SyncResult:
    """Apply the roles grid's changes as previewed, in one transaction: each requirement added, changed or
    removed is one audit event, then the engine brings the people of those roles in step
    (45 CFR 164.530(b)(2)(i): training as necessary and appropriate for each person's function).

    Refused (GridStale, nothing saved) when the grid or its consequences differ from what was previewed:
    another officer saved the grid, or the workforce changed, in between.
    """
    with transaction.atomic():
        list(WorkforceRole.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        state = grid_state()
        if state.version != version:
            raise GridStale("Someone changed the roles grid after you opened it.")
        plan = grid_plan(state, changes)
        if plan.digest != plan_digest:
            raise GridStale("The workforce or the grid changed since your preview, so its consequences differ.")
        for change in changes:
            if change.before is None and change.course.retired_at is not None:
                raise ValidationError(f"{change.course.title} is retired: no role can newly require it.")
            data: dict[str, Any] = {"role": change.role.slug, "course": change.course.slug}
            if change.before is not None:
                data["from"] = {
                    "due_within_days": change.before.due_within_days,
                    "recurrence_months": change.before.recurrence_months,
                }
            if not change.required:
                assert change.before is not None
                audit.record("requirement.removed", actor=actor, subject=change.before, data=data)
                change.before.delete()
                continue
            requirement = change.before or Requirement(role=change.role, course=change.course)
            requirement.due_within_days = change.due_within_days or 0
            requirement.recurrence_months = change.recurrence_months
            requirement.full_clean()
            requirement.save()
            data["to"] = {
                "due_within_days": requirement.due_within_days,
                "recurrence_months": requirement.recurrence_months,
            }
            audit.record(f"requirement.{change.kind}", actor=actor, subject=requirement, data=data)
        people = User.objects.filter(workforce_role__in={c.role.pk for c in changes})
        return sync_assignments(people=people, actor=actor)


def _unique_name(model: type[WorkforceRole] | type[Department], name: str, exclude: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Give it a name."})
    clash = model.objects.filter(name__iexact=name).exclude(pk=exclude).first()
    if clash is not None:
        retired = " (retired)" if clash.retired_at else ""
        raise ValidationError({"name": f"There is already a {model._meta.verbose_name} named {clash.name}{retired}."})
    return name


def role_create(
    *, name: str, description: str = "", handles_phi: bool = True, actor: User | None = None
) -> WorkforceRole:
    """A new workforce role, requiring nothing until the officer says so in the grid."""
    with transaction.atomic():
        name = _unique_name(WorkforceRole, name)
        base = slugify(name)[:40] or "role"
        slug, n = base, 1
        while WorkforceRole.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        role = WorkforceRole(name=name, slug=slug, description=description.strip(), handles_phi=handles_phi)
        role.full_clean()
        role.save()
        audit.record("role.created", actor=actor, subject=role, data={"role": role.slug, "name": role.name})
    return role


def role_rename(*, role: WorkforceRole, name: str, actor: User | None = None) -> WorkforceRole:
    """A role's new name; its slug (what imports and the audit trail use) stays."""
    with transaction.atomic():
        role = WorkforceRole.objects.select_for_update().get(pk=role.pk)
        name = _unique_name(WorkforceRole, name, exclude=role.pk)
        if name != role.name:
            before, role.name = role.name, name
            role.full_clean()
            role.save(update_fields=["name"])
            audit.record(
                "role.renamed", actor=actor, subject=role, data={"role": role.slug, "from": before, "to": name}
            )
    return role


def role_retire(*, role: WorkforceRole, actor: User | None = None) -> WorkforceRole:
    """Retire a role nobody is in any more: never deleted (the records say who had to take what), no longer
    offered for people. Refused while active people are in it: move them first."""
    with transaction.atomic():
        role = WorkforceRole.objects.select_for_update().get(pk=role.pk)
        if role.retired_at is not None:
            raise ValidationError(f"{role.name} is already retired.")
        active = role.people.filter(is_active=True, terminated_on__isnull=True).count()
        if active:
            raise ValidationError(
                f"{role.name} still has {active} {'person' if active == 1 else 'people'} in it: "
                "move them to another role first. A role with people in it is never deleted."
            )
        role.retired_at = timezone.now()
        role.save(update_fields=["retired_at"])
        audit.record("role.retired", actor=actor, subject=role, data={"role": role.slug, "name": role.name})
    return role


def department_create(*, name: str, actor: User | None = None) -> Department:
    with transaction.atomic():
        department = Department(name=_unique_name(Department, name))
        department.full_clean()
        department.save()
        audit.record("department.created", actor=actor, subject=department, data={"name": department.name})
    return department


def department_rename(*, department: Department, name: str, actor: User | None = None) -> Department:
    with transaction.atomic():
        department = Department.objects.select_for_update().get(pk=department.pk)
        name = _unique_name(Department, name, exclude=department.pk)
        if name != department.name:
            before, department.name = department.name, name
            department.full_clean()
            department.save(update_fields=["name"])
            audit.record("department.renamed", actor=actor, subject=department, data={"from": before, "to": name})
    return department


def department_retire(*, department: Department, actor: User | None = None) -> Department:
    """Retire a department nobody active is in: kept for the records, no longer offered for people."""
    with transaction.atomic():
        department = Department.objects.select_for_update().get(pk=department.pk)
        if department.retired_at is not None:
            raise ValidationError(f"{department.name} is already retired.")
        active = department.people.filter(is_active=True, terminated_on__isnull=True).count()
        if active:
            raise ValidationError(
                f"{department.name} still has {active} {'person' if active == 1 else 'people'} in it: "
                "move them to another department first."
            )
        department.retired_at = timezone.now()
        department.save(update_fields=["retired_at"])
        audit.record("department.retired", actor=actor, subject=department, data={"name": department.name})
    return department
