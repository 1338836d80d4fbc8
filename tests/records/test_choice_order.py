"""Choices are shuffled per attempt, the order is written with the attempt, answers are read by their place on
the page, and a past attempt is shown exactly as it was."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from records import services
from records.models import QuizAttempt

from .helpers import assignment_of, check_form, see_lessons, shown_choices, version_of

pytestmark = pytest.mark.usefixtures("catalog")

REPLAYED = re.compile(r'<p class="prompt">(.*?)</p>\s*<ol class="shown-choices">(.*?)</ol>', re.S)
ITEM = re.compile(r"<li[^>]*>(.*?)</li>", re.S)


@pytest.fixture(autouse=True)
def seeded(monkeypatch):
    """The same shuffles on every run."""
    seeds = iter(range(1000, 2000))
    monkeypatch.setattr(services.secrets, "randbits", lambda bits: next(seeds))


def replayed(page: str) -> list[tuple[str, list[str]]]:
    """The attempt page as the person sees it: each prompt with its choice texts, top to bottom."""
    return [
        (html.unescape(prompt), [html.unescape(item.split(" <strong>")[0]) for item in ITEM.findall(items)])
        for prompt, items in REPLAYED.findall(page)
    ]


def texts_of(attempt: QuizAttempt) -> list[tuple[str, list[str]]]:
    questions = {q.pk: q for q in attempt.version.questions.prefetch_related("choices")}
    out = []
    for q in attempt.question_order:
        choices = {c.pk: c.text for c in questions[q].choices.all()}
        out.append((questions[q].prompt, [choices[c] for c in attempt.choice_order[str(q)]]))
    return out


def test_each_attempt_shows_and_records_its_own_order_and_the_attempt_page_replays_it(login, employee):
    a = assignment_of(employee)
    see_lessons(a)
    v = version_of(a)
    c = login(employee)
    check = reverse("records:check", args=[a.pk])
    pages = []
    for right in (False, True):
        page = c.get(check).content.decode()
        pages.append(page)
        response = c.post(check, check_form(page, v, right=right))
        assert response.status_code == 302
    first, second = QuizAttempt.objects.order_by("number")
    assert first.choice_order != second.choice_order
    file_order = {q.pk: [ch.text for ch in q.choices.order_by("position")] for q in v.questions.all()}
    assert shown_choices(pages[0]) != file_order  # the choices are not in file order...
    assert shown_choices(pages[0]) != shown_choices(pages[1])  # ...nor in the same order twice
    for attempt, page in zip((first, second), pages, strict=True):
        shown = shown_choices(page)
        recorded = texts_of(attempt)
        assert recorded == [(prompt, shown[q]) for (prompt, _), q in zip(recorded, attempt.question_order, strict=True)]
        replay = c.get(reverse("records:attempt", args=[a.pk, attempt.number])).content.decode()
        assert replayed(replay) == recorded


def test_an_answer_is_read_by_its_place_on_the_page_as_shown(login, employee):
    a = assignment_of(employee)
    see_lessons(a)
    v = version_of(a)
    c = login(employee)
    check = reverse("records:check", args=[a.pk])
    page = c.get(check).content.decode()
    by_place = check_form(page, v, right=True)
    by_file = dict(by_place)
    for q in v.questions.prefetch_related("choices"):
        by_file[f"q{q.pk}"] = [ch.position for ch in q.choices.all() if ch.correct]
    assert by_file != by_place  # some correct choice is shown away from its place in the file

    c.post(check, by_file)  # the places the file gives them, which are not where the page showed them
    assert QuizAttempt.objects.get(number=1).score < 100
    page = c.get(check).content.decode()
    response = c.post(check, check_form(page, v, right=True), follow=True)
    assert "Your score: 100%" in response.content.decode()
    assert QuizAttempt.objects.get(number=2).passed


def test_an_attempt_from_before_the_shuffle_is_shown_in_file_order(login, employee):
    a = assignment_of(employee)
    see_lessons(a)
    v = version_of(a)
    questions = list(v.questions.order_by("-position"))
    QuizAttempt.objects.create(
        assignment=a, version=v, number=1, question_order=[q.pk for q in questions], answers={}, score=0, passed=False
    )
    page = login(employee).get(reverse("records:attempt", args=[a.pk, 1])).content.decode()
    assert replayed(page) == [(q.prompt, [ch.text for ch in q.choices.order_by("position")]) for q in questions]
