"""Every write to the workforce goes through these functions: they validate, save, audit and keep
assignments in step, in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from hipaa_training import audit

from .assignments import SyncResult, sync_assignments
from .identity import email_change_record
from .models import Assignment, Department, Requirement, User, WorkforceRole
from .validators import check_person_dates

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
    check_person_dates({"hire_date": hire_date, "access_expires_on": access_expires_on})
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
    context = {"person": person, "url": invitation_url(person), "organization": settings.ORGANIZATION_NAME}
    message = EmailMultiAlternatives(
        subject=f"Your HIPAA training account at {settings.ORGANIZATION_NAME}",
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
    check_person_dates({k: v for k, v in changes.items() if getattr(person, k) != v})
    with transaction.atomic():
        before = {name: getattr(person, name) for name in changes}
        for name, value in changes.items():
            setattr(person, name, value)
        person.full_clean(exclude=["password"])
        if "email" in changes and before["email"] != person.email:
            email_change_record(person=person, old=before["email"], actor=actor)
            changes = {k: v for k, v in changes.items() if k != "email"}
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
