"""Every write to the workforce goes through these functions: they validate, save, audit and keep
assignments in step, in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
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

from courses.models import Course, CourseVersion
from hipaa_training import audit

from . import history
from .assignments import SyncResult, sync_assignments
from .grid import GridChange, GridStale, grid_plan, grid_state
from .identity import email_change_record
from .models import Assignment, Department, DepartmentRequirement, Requirement, User, WorkforceRole
from .organization import organization_name
from .validators import check_person_dates, hire_date_problem

TRACKED_FIELDS = {
    "workforce_role": "person.role_changed",
    "department": "person.department_changed",
    "manager": "person.manager_changed",
}


class PersonChanged(ValidationError):
    """Someone else changed the person after the form was shown: nothing was saved."""

    def __init__(self, current: User) -> None:
        super().__init__(
            f"Someone else changed {current.full_name} after this page was opened, so nothing was saved. "
            "The page now shows their current details; make your change again if it is still needed."
        )
        self.current = current


def person_version(person: User) -> str:
    """A short fingerprint of what the officer's pages show and change: a form carries it to detect a stale edit."""
    fields = (
        person.email,
        person.full_name,
        person.workforce_role_id,
        person.department_id,
        person.manager_id,
        person.hire_date,
        person.is_active,
        person.terminated_on,
    )
    return hashlib.sha256(repr(fields).encode()).hexdigest()[:20]


def check_hire_date(day: dt.date | None, today: dt.date | None = None) -> None:
    """A plausible hire date (`validators.hire_date_problem`), as a ValidationError on the field."""
    problem = hire_date_problem(day, today)
    if problem:
        raise ValidationError({"hire_date": problem})


def check_manager(person: User, manager: User | None) -> None:
    """A manager may not be the person, nor anyone who reports to them (directly or through others)."""
    if manager is None:
        return
    if manager.pk == person.pk:
        raise ValidationError({"manager": "A person cannot be their own manager."})
    chain = [manager.full_name]
    seen = {manager.pk}
    above = manager.manager_id
    while above is not None and above not in seen:
        if above == person.pk:
            path = " reports to ".join([*chain, person.full_name])
            raise ValidationError(
                {"manager": f"{manager.full_name} cannot manage {person.full_name}: {path}, which would make a loop."}
            )
        seen.add(above)
        row = User.objects.filter(pk=above).values_list("full_name", "manager_id").first()
        if row is None:
            break
        chain.append(row[0])
        above = row[1]


def _locked(person: User, expected_version: str | None) -> None:
    """Lock the person's row; refuse if it changed since `expected_version` was read."""
    current = User.objects.select_for_update().get(pk=person.pk)
    if expected_version is not None and person_version(current) != expected_version:
        raise PersonChanged(current)


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
    check_person_dates({"hire_date": hire_date, "access_expires_on": access_expires_on})
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
        history.record_state(person, day=history.first_day(person), reason="joined", actor=actor)
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
    if not person.is_active or person.terminated_on is not None:
        raise ValidationError(f"{person.full_name} has left; reactivate them before inviting them again.")
    context = {"person": person, "url": invitation_url(person), "organization": organization_name()}
    message = EmailMultiAlternatives(
        subject=f"Your HIPAA training account at {context['organization']}",
        body=render_to_string("emails/invitation.txt", context),
        to=[person.email],
    )
    message.attach_alternative(render_to_string("emails/invitation.html", context), "text/html")
    with transaction.atomic():
        audit.record("account.invited", actor=actor, subject=person, data={"person": person.email})
        transaction.on_commit(lambda: message.send(fail_silently=False))


def person_update(
    *, person: User, actor: User | None = None, expected_version: str | None = None, **changes: Any
) -> SyncResult | None:
    """Change a person's details; role, department and manager changes are audited, a role or department change
    re-syncs (a department may require modules of its own).

    `expected_version` (from `person_version`, carried by a form) refuses the change with `PersonChanged`
    if someone else changed the person meanwhile."""
    unknown = set(changes) - {f.name for f in User._meta.get_fields()}
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    check_person_dates({k: v for k, v in changes.items() if getattr(person, k) != v})
    _refuse_retired(
        changes.get("workforce_role") if changes.get("workforce_role") != person.workforce_role else None,
        changes.get("department") if changes.get("department") != person.department else None,
    )
    with transaction.atomic():
        _locked(person, expected_version)
        before = {name: getattr(person, name) for name in changes}
        changed = {name for name in changes if before[name] != changes[name]}
        if "workforce_role" in changed and (not person.is_active or person.terminated_on is not None):
            raise ValidationError(
                {"workforce_role": f"{person.full_name} has left: reactivate them before changing their role."}
            )
        if "manager" in changed:
            check_manager(person, changes["manager"])
        if "hire_date" in changed:
            check_hire_date(changes["hire_date"])
        for name, value in changes.items():
            setattr(person, name, value)
        person.full_clean(exclude=["password"])
        if "email" in changes and before["email"] != person.email:
            email_change_record(person=person, old=before["email"], actor=actor)
            changes = {k: v for k, v in changes.items() if k != "email"}
        person.save()
        history.record_changes(person, changed=changed, actor=actor)
        for name, action in TRACKED_FIELDS.items():
            if name in changed:
                audit.record(
                    action,
                    actor=actor,
                    subject=person,
                    data={"person": person.email, "from": _label(before[name]), "to": _label(changes[name])},
                )
        other = {k: v for k, v in changes.items() if k not in TRACKED_FIELDS and k in changed}
        if other:
            audit.record(
                "person.changed",
                actor=actor,
                subject=person,
                data={"person": person.email, **{k: _label(v) for k, v in other.items()}},
            )
        if "workforce_role" in changed or "department" in changed:
            return sync_assignments(people=[person], reason_hint=Assignment.ROLE_CHANGE, actor=actor)
    return None


def person_deactivate(
    *, person: User, actor: User | None = None, on: dt.date | None = None, expected_version: str | None = None
) -> SyncResult:
    """A person leaves: no new assignments, open ones cancelled, every record kept (45 CFR 164.316(b)(2))."""
    day = on or timezone.localdate()
    with transaction.atomic():
        _locked(person, expected_version)
        if not person.is_active or person.terminated_on is not None:
            raise ValidationError(f"{person.full_name} is already marked as left.")
        if actor is not None and actor.pk == person.pk:
            raise ValidationError("You cannot mark yourself as left; ask another compliance officer.")
        if day > timezone.localdate():
            raise ValidationError({"on": "The leaving date cannot be in the future: mark them as left on the day."})
        if on is not None and person.hire_date is not None and on < person.hire_date:
            raise ValidationError({"on": f"The leaving date is before their hire date ({person.hire_date})."})
        person.is_active = False
        person.terminated_on = day
        person.save(update_fields=["is_active", "terminated_on"])
        history.record_departure(person, day=day, actor=actor)
        audit.record(
            "account.deactivated",
            actor=actor,
            subject=person,
            data={"person": person.email, "terminated_on": person.terminated_on.isoformat()},
        )
        return sync_assignments(people=[person], actor=actor)


def person_reactivate(*, person: User, actor: User | None = None, expected_version: str | None = None) -> SyncResult:
    """A person returns: active again, and assigned what their role requires now."""
    with transaction.atomic():
        _locked(person, expected_version)
        if person.is_active and person.terminated_on is None:
            raise ValidationError(f"{person.full_name} has not left; there is nothing to reactivate.")
        person.is_active = True
        person.terminated_on = None
        person.save(update_fields=["is_active", "terminated_on"])
        history.record_state(person, reason="returned", actor=actor)
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


def department_requirement_set(
    *,
    department: Department,
    course: Any,
    recurrence_months: int | None = 24,
    due_within_days: int = 90,
    actor: User | None = None,
) -> DepartmentRequirement:
    """Require `course` of everyone in `department` on the department's own terms, replacing their role's for
    that course (a state law such as Texas HB 300: within 90 days of hire, then a two-year cycle); assign it now."""
    if course.retired_at is not None and not department.requirements.filter(course=course).exists():
        raise ValidationError({"course": f"{course.title} is retired: no department can newly require it."})
    if department.retired_at is not None:
        raise ValidationError(f"{department.name} is retired: its requirements can no longer change.")
    with transaction.atomic():
        requirement, created = DepartmentRequirement.objects.update_or_create(
            department=department,
            course=course,
            defaults={"recurrence_months": recurrence_months, "due_within_days": due_within_days},
        )
        audit.record(
            "requirement.added" if created else "requirement.changed",
            actor=actor,
            subject=requirement,
            data={
                "department": department.name,
                "course": course.slug,
                "recurrence_months": recurrence_months,
                "due_within_days": due_within_days,
            },
        )
        sync_assignments(people=User.objects.filter(department=department), actor=actor)
    return requirement


def department_requirement_remove(*, requirement: DepartmentRequirement, actor: User | None = None) -> None:
    """Stop the department's own terms; its people fall back to what their role requires."""
    with transaction.atomic():
        department = requirement.department
        audit.record(
            "requirement.removed",
            actor=actor,
            subject=requirement,
            data={"department": department.name, "course": requirement.course.slug},
        )
        requirement.delete()
        sync_assignments(people=User.objects.filter(department=department), actor=actor)


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


# Assigning a module by hand (the officer's bulk action on the people list).

MANUAL_DUE_MAX_DAYS = 366 * 2  # a due date further ahead than two years is a typing mistake


@dataclass
class ManualResult:
    """What assign_manually did: who got the module, who already had it open, who has left."""

    course: Course
    assigned: list[Assignment] = field(default_factory=list)
    already_open: list[User] = field(default_factory=list)
    left: list[User] = field(default_factory=list)

    def sentence(self) -> str:
        parts = [f"{self.course.title} assigned to {_people_count(len(self.assigned))}"]
        if self.already_open:
            n = len(self.already_open)
            parts.append(f"{n} already had it open")
        if self.left:
            n = len(self.left)
            parts.append(f"{n} {'has' if n == 1 else 'have'} left and {'was' if n == 1 else 'were'} skipped")
        return "; ".join(parts) + "."


def _people_count(n: int) -> str:
    return f"{n} {'person' if n == 1 else 'people'}"


def check_manual_assignment(
    *, course: Course | None, due_on: dt.date | None, reason: str, today: dt.date | None = None
) -> None:
    """The bad inputs of a manual assignment, each named after its field; raises ValidationError."""
    today = today or timezone.localdate()
    errors: dict[str, str] = {}
    if course is None:
        errors["course"] = "Choose the module to assign."
    elif course.is_retired:
        errors["course"] = f"{course.title} is retired: it can no longer be assigned."
    elif not CourseVersion.objects.filter(course=course).exists():
        errors["course"] = f"{course.title} has no published version yet: it cannot be assigned."
    if due_on is None:
        errors["due_on"] = "Give the date it is due."
    elif due_on < today:
        errors["due_on"] = f"The due date {due_on.isoformat()} is in the past: choose today or later."
    elif due_on > today + dt.timedelta(days=MANUAL_DUE_MAX_DAYS):
        errors["due_on"] = "The due date is more than two years ahead: check the year."
    if not reason.strip():
        errors["reason"] = "Say why they must take it: the reason is kept with the assignment for the auditor."
    elif len(reason.strip()) > 500:
        errors["reason"] = "Keep the reason under 500 characters."
    if errors:
        raise ValidationError(errors)


def assign_manually(
    *,
    people: list[User],
    course: Course,
    due_on: dt.date,
    reason: str,
    actor: User | None,
    today: dt.date | None = None,
) -> ManualResult:
    """Assign `course` by hand to `people` (reason MANUAL, `reason` kept as the assignment's note), due `due_on`.

    Skips whoever already has it open and whoever has left. One audit event per assignment made, as the
    engine's ("assignment.created", key "person"), with the officer's reason. A constant number of queries,
    whatever the number of people; the role and requirement engine never cancels these (roles.assignments).
    """
    today = today or timezone.localdate()
    if not people:
        raise ValidationError({"person": "Select at least one person."})
    check_manual_assignment(course=course, due_on=due_on, reason=reason, today=today)
    reason = reason.strip()
    result = ManualResult(course=course)
    with transaction.atomic():
        # Lock the people (two officers assigning at once get one assignment each person, not two).
        locked = {p.pk: p for p in User.objects.select_for_update().filter(pk__in=[p.pk for p in people])}
        history: dict[int, list[tuple[int, bool]]] = {}
        for user_id, cycle, completed_at, cancelled_at in Assignment.objects.filter(
            user_id__in=list(locked), course=course
        ).values_list("user_id", "cycle", "completed_at", "cancelled_at"):
            history.setdefault(user_id, []).append((cycle, completed_at is None and cancelled_at is None))
        create: list[Assignment] = []
        for person in sorted(locked.values(), key=lambda p: (p.full_name, p.pk)):
            if not person.is_active or person.terminated_on is not None:
                result.left.append(person)
                continue
            rows = history.get(person.pk, [])
            if any(is_open for _, is_open in rows):
                result.already_open.append(person)
                continue
            create.append(
                Assignment(
                    user=person,
                    course=course,
                    cycle=max((cycle for cycle, _ in rows), default=0) + 1,
                    reason=Assignment.MANUAL,
                    note=reason,
                    assigned_on=today,
                    due_on=due_on,
                )
            )
        result.assigned = Assignment.objects.bulk_create(create)
        audit.record_many(
            audit.Event(
                "assignment.created",
                actor=actor,
                subject=("roles.assignment", a.pk) if a.pk else None,
                data={
                    "person": a.user.email,
                    "course_id": course.pk,
                    "course": course.slug,
                    "cycle": a.cycle,
                    "reason": Assignment.MANUAL,
                    "note": reason,
                    "due_on": due_on.isoformat(),
                },
            )
            for a in result.assigned
        )
    return result
