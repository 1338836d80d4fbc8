"""Walking an assignment through the player's services, for tests that need a step done (records.walkthrough)."""

from __future__ import annotations

from typing import Any

from courses.models import CourseVersion
from records import services, walkthrough
from roles.models import Assignment

IP_ADDRESS = "203.0.113.7"
USER_AGENT = "pytest"


def assignment_of(person: Any, slug: str = "security-awareness") -> Assignment:
    """The person's latest assignment of the module (the open one, once a new cycle is assigned)."""
    return Assignment.objects.filter(user=person, course__slug=slug, cancelled_at__isnull=True).latest("cycle")


def version_of(assignment: Assignment) -> CourseVersion:
    return services.current_version(assignment)


def answers(version: CourseVersion, *, right: bool) -> dict[int, list[int]]:
    return walkthrough.answers_for(version, right=right)


def see_lessons(assignment: Assignment) -> None:
    walkthrough.lessons_read(assignment)


def attempt(assignment: Assignment, *, right: bool) -> Any:
    return walkthrough.quiz_take(assignment, right=right)


def complete(assignment: Assignment, **overrides: Any) -> Any:
    arguments = {"ip_address": IP_ADDRESS, "user_agent": USER_AGENT, **overrides}
    return walkthrough.attestation_complete(assignment, **arguments)


def take(assignment: Assignment) -> Any:
    return walkthrough.module_walk(assignment, ip_address=IP_ADDRESS, user_agent=USER_AGENT)
