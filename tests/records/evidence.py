"""Test data for the dashboard, exports and bundles: evidence rows written straight with the ORM (these
tests read evidence; the completion service has its own), with the assignment's completed_at set in the same
transaction, as the real service does."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from courses.models import CourseVersion
from records.documents.certificate import new_certificate_code
from records.models import AttestationSignature, Certificate, Completion, QuizAttempt
from roles.models import Assignment, User
from roles.services import person_create
from tests.factories import DepartmentFactory, role


def today() -> dt.date:
    return timezone.localdate()


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def person(
    email: str, name: str, role_slug: str, department: str, *, hired: dt.date | None = None, **extra: Any
) -> User:
    return person_create(
        email=email,
        full_name=name,
        workforce_role=role(role_slug),
        department=DepartmentFactory(name=department),
        hire_date=hired,
        invite=False,
        **extra,
    )


def reschedule(person: User, *, assigned: dt.date, due: dt.date, course: str | None = None) -> None:
    """Move a person's assignments back in time, as if the engine had made them on `assigned`."""
    qs = Assignment.objects.filter(user=person)
    if course:
        qs = qs.filter(course__slug=course)
    qs.update(assigned_on=assigned, due_on=due, created_at=at(assigned, 2))


def complete(
    assignment: Assignment, when: dt.datetime, *, score: int = 90, failed_first: bool = False, certificate: bool = True
) -> Completion:
    version = CourseVersion.objects.current_for(assignment.course_id)
    with transaction.atomic():
        number = 1
        if failed_first:
            QuizAttempt.objects.create(
                assignment=assignment,
                version=version,
                number=1,
                question_order=[],
                answers={},
                score=40,
                passed=False,
                submitted_at=when - dt.timedelta(minutes=30),
            )
            number = 2
        QuizAttempt.objects.create(
            assignment=assignment,
            version=version,
            number=number,
            question_order=[],
            answers={},
            score=score,
            passed=True,
            submitted_at=when - dt.timedelta(minutes=5),
        )
        signature = AttestationSignature.objects.create(
            assignment=assignment,
            version=version,
            statement_sha256=hashlib.sha256(version.attestation_text.encode()).hexdigest(),
            typed_name=assignment.user.full_name,
            signed_at=when - dt.timedelta(minutes=1),
            ip_address="10.0.0.7",
            user_agent="pytest",
        )
        completion = Completion.objects.create(
            assignment=assignment,
            user=assignment.user,
            version=version,
            attestation=signature,
            score=score,
            attempts=number,
            time_spent_seconds=900,
            completed_at=when,
        )
        Assignment.objects.filter(pk=assignment.pk).update(completed_at=when)
        if certificate:
            code = new_certificate_code()
            body = b"%PDF-1.4\n% certificate " + code.encode() + b"\n%%EOF\n"
            path = default_storage.save(f"certificates/test/{code}.pdf", ContentFile(body))
            Certificate.objects.create(
                completion=completion,
                code=code,
                file=path,
                sha256=hashlib.sha256(body).hexdigest(),
                issued_at=when,
            )
    assignment.completed_at = when
    return completion


def grow(n: int, start: int, *, completed_every: int = 2) -> None:
    """`n` more people with their role's modules, written in bulk (for query-count tests, not behaviour)."""
    from roles.models import Requirement

    roles = [role("billing"), role("intake"), role("it")]
    department = DepartmentFactory(name="Billing Operations")
    people = User.objects.bulk_create(
        [
            User(
                email=f"grown{i}@example.test",
                full_name=f"Grown {i}",
                password="!",
                workforce_role=roles[i % 3],
                department=department,
                hire_date=today(),
            )
            for i in range(start, start + n)
        ]
    )
    courses = {r.pk: list(Requirement.objects.filter(role=r).values_list("course_id", flat=True)) for r in roles}
    Assignment.objects.bulk_create(
        [
            Assignment(user=p, course_id=c, reason=Assignment.NEW_HIRE, assigned_on=today(), due_on=today())
            for p in people
            for c in courses[p.workforce_role_id]
        ]
    )
    for i, p in enumerate(people):
        if i % completed_every == 0:
            complete(Assignment.objects.filter(user=p).first(), timezone.now(), certificate=i % 4 == 0)
