"""Walking an assignment through the player's services, for tests that need a step done."""

from __future__ import annotations

from typing import Any

from courses.models import CourseVersion
from records import services
from roles.models import Assignment


def assignment_of(person: Any, slug: str = "security-awareness") -> Assignment:
    """The person's latest assignment of the module (the open one, once a new cycle is assigned)."""
    return Assignment.objects.filter(user=person, course__slug=slug, cancelled_at__isnull=True).latest("cycle")


def version_of(assignment: Assignment) -> CourseVersion:
    return services.current_version(assignment)


def answers(version: CourseVersion, *, right: bool) -> dict[int, list[int]]:
    out = {}
    for q in version.questions.prefetch_related("choices"):
        choices = list(q.choices.all())
        out[q.pk] = [c.pk for c in choices if c.correct] if right else [next(c.pk for c in choices if not c.correct)]
    return out


def see_lessons(assignment: Assignment) -> None:
    version = version_of(assignment)
    for lesson in version.lessons.order_by("position"):
        services.lesson_view_record(
            assignment=assignment, lesson_id=lesson.pk, version_id=version.pk, actor=assignment.user
        )


def attempt(assignment: Assignment, *, right: bool) -> Any:
    version = version_of(assignment)
    return services.quiz_attempt_submit(
        assignment=assignment,
        version_id=version.pk,
        question_order=services.question_order_for(assignment, version),
        answers=answers(version, right=right),
        actor=assignment.user,
    )


def complete(assignment: Assignment, **overrides: Any) -> Any:
    version = version_of(assignment)
    kwargs = dict(
        assignment=assignment,
        version_id=version.pk,
        typed_name=assignment.user.full_name,
        agreed=True,
        ip_address="203.0.113.7",
        user_agent="pytest",
        actor=assignment.user,
    )
    kwargs.update(overrides)
    return services.completion_record(**kwargs)


def take(assignment: Assignment) -> Any:
    see_lessons(assignment)
    attempt(assignment, right=True)
    return complete(assignment)[0]
