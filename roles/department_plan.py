"""What adding, changing or removing a department's own requirement would do, planned by the assignment engine
itself (`sync_assignments(dry_run=True, department_requirements=...)`), as the roles grid's preview is; writes
nothing. The write is `services.department_requirement_set` / `department_requirement_remove`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from courses.models import Course

from .assignments import sync_assignments
from .models import Department, DepartmentRequirement, User


def _every(months: int | None) -> str:
    return f"every {months} months" if months else "once"


@dataclass
class DepartmentPlan:
    department: Department
    course: Course
    before: DepartmentRequirement | None
    required: bool
    due_within_days: int | None
    recurrence_months: int | None
    assigned: int = 0
    cancelled: int = 0
    people: int = 0
    ids: list[list[int]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        return "removed" if not self.required else "changed"

    @property
    def unchanged(self) -> bool:
        before = self.before
        return (before is None and not self.required) or (
            before is not None
            and self.required
            and (before.due_within_days, before.recurrence_months) == (self.due_within_days, self.recurrence_months)
        )

    def describe(self) -> str:
        where = f"{self.department.name}: {self.course.title}"
        if not self.required:
            return f"{where} is no longer required by the department"
        terms = f"within {self.due_within_days} days of hire, {_every(self.recurrence_months)}"
        return f"{where} is required {terms}" if self.kind == "added" else f"{where} is now required {terms}"

    def sentences(self) -> list[str]:
        title = self.course.title
        out = []
        who = f"{self.assigned} {'person' if self.assigned == 1 else 'people'}"
        if self.required:
            out.append(
                f"{who} will be assigned {title}, due within {self.due_within_days} days."
                if self.assigned
                else f"No one in the department is newly assigned {title}."
            )
        if self.cancelled or not self.required:
            n = self.cancelled
            out.append(
                f"{n} open assignment{'s' if n != 1 else ''} will be cancelled; completed ones are kept "
                "(where their role requires it, its own terms apply again)."
            )
        return out

    def digest(self) -> str:
        """Applying refuses unless this still matches what the officer saw."""
        body = [
            self.department.pk,
            self.course.pk,
            self.required,
            self.due_within_days,
            self.recurrence_months,
            self.before.pk if self.before else None,
            self.ids,
        ]
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def department_requirement_plan(
    *,
    department: Department,
    course: Course,
    required: bool,
    due_within_days: int | None = None,
    recurrence_months: int | None = None,
) -> DepartmentPlan:
    """The consequence of the department requiring `course` on these terms (or no longer, `required=False`)."""
    current = list(DepartmentRequirement.objects.filter(department=department).select_related("course"))
    before = next((r for r in current if r.course_id == course.pk), None)
    planned = [r for r in current if r.course_id != course.pk]
    if required:
        planned.append(
            DepartmentRequirement(
                department=department,
                course=course,
                due_within_days=due_within_days or 90,
                recurrence_months=recurrence_months,
            )
        )
    people = User.objects.filter(department=department)
    baseline = sync_assignments(people=people, dry_run=True, department_requirements=current)
    after = sync_assignments(people=people, dry_run=True, department_requirements=planned)
    was_created = {(a.user_id, a.course_id, a.cycle) for a in baseline.created}
    created = sorted(
        (a.user_id, a.course_id, a.cycle) for a in after.created if (a.user_id, a.course_id, a.cycle) not in was_created
    )
    cancelled = sorted(set(after.cancelled_ids) - set(baseline.cancelled_ids))
    return DepartmentPlan(
        department=department,
        course=course,
        before=before,
        required=required,
        due_within_days=due_within_days if required else None,
        recurrence_months=recurrence_months if required else None,
        assigned=len(created),
        cancelled=len(cancelled),
        people=people.filter(is_active=True, terminated_on__isnull=True).count(),
        ids=[[u for u, _, _ in created], cancelled],
    )
