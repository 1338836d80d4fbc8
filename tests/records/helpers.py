"""Walking an assignment through the player's services, for tests that need a step done (records.walkthrough)."""

from __future__ import annotations

import html
import re
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


CHOICE = re.compile(r'name="q(\d+)" value="(\d+)" id="[^"]+"[^>]*>\s*<label for="[^"]+">(.*?)</label>', re.S)
LAYOUT = re.compile(r'name="layout" value="([^"]+)"')


def shown_choices(page: str) -> dict[int, list[str]]:
    """The knowledge-check page as the person sees it: question id -> choice texts, top to bottom."""
    shown: dict[int, list[str]] = {}
    for question, position, text in CHOICE.findall(page):
        texts = shown.setdefault(int(question), [])
        assert int(position) == len(texts) + 1, "choices are numbered by their place on the page"
        texts.append(html.unescape(text))
    return shown


def check_form(page: str, version: CourseVersion, *, right: bool) -> dict[str, object]:
    """The form a person would send from this page: each answer is the place on the page of the choice meant."""
    layout = LAYOUT.search(page)
    assert layout, "the page carries the order it shows"
    data: dict[str, object] = {"version": version.pk, "layout": html.unescape(layout.group(1))}
    texts = {c.pk: c.text for q in version.questions.prefetch_related("choices") for c in q.choices.all()}
    shown = shown_choices(page)
    for question, choice_ids in answers(version, right=right).items():
        data[f"q{question}"] = [shown[question].index(texts[c]) + 1 for c in choice_ids]
    return data
