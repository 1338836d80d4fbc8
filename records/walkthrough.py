"""Walking an assignment through the learner's services, as the player does: read every lesson in order,
take the knowledge check, sign the attestation. The person acts for themself.

The one walk used by the demo data (seed_demo), the benchmarks and the tests; each step goes through
records.services, so it writes the same evidence and audit events as the browser.
"""

from __future__ import annotations

from typing import Any

from courses.models import CourseVersion
from roles.models import Assignment

from . import services
from .models import Completion, QuizAttempt


def answers_for(version: CourseVersion, *, right: bool) -> dict[int, list[int]]:
    """Every correct choice of each question (`right`), or one wrong choice of each."""
    out = {}
    for q in version.questions.prefetch_related("choices"):
        choices = list(q.choices.all())
        out[q.pk] = [c.pk for c in choices if c.correct] if right else [next(c.pk for c in choices if not c.correct)]
    return out


def lessons_read(assignment: Assignment) -> None:
    version = services.current_version(assignment)
    for lesson in version.lessons.order_by("position"):
        services.lesson_view_record(
            assignment=assignment, lesson_id=lesson.pk, version_id=version.pk, actor=assignment.user
        )


def quiz_take(assignment: Assignment, *, right: bool) -> QuizAttempt:
    version = services.current_version(assignment)
    layout = services.quiz_layout_for(assignment, version)
    return services.quiz_attempt_submit(
        assignment=assignment,
        version_id=version.pk,
        question_order=layout.question_order,
        choice_order=layout.choice_order,
        answers=answers_for(version, right=right),
        actor=assignment.user,
    )


def attestation_complete(
    assignment: Assignment, *, ip_address: str, user_agent: str, **overrides: Any
) -> tuple[Completion, bool]:
    """Sign the attestation with the person's own name and record the completion; `overrides` replace any
    argument of services.completion_record."""
    arguments: dict[str, Any] = {
        "assignment": assignment,
        "version_id": services.current_version(assignment).pk,
        "typed_name": assignment.user.full_name,
        "agreed": True,
        "ip_address": ip_address,
        "user_agent": user_agent,
        "actor": assignment.user,
        **overrides,
    }
    return services.completion_record(**arguments)


def module_walk(
    assignment: Assignment, *, fail_first: bool = False, ip_address: str = "127.0.0.1", user_agent: str = "walkthrough"
) -> Completion:
    """Take a module from start to completion; with `fail_first`, fail the knowledge check once before passing."""
    lessons_read(assignment)
    if fail_first:
        quiz_take(assignment, right=False)
    quiz_take(assignment, right=True)
    completion, _ = attestation_complete(assignment, ip_address=ip_address, user_agent=user_agent)
    return completion
