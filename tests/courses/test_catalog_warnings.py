"""The loader warns, without refusing, when choice lengths give answers away in content an officer wrote."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from django.core.management import call_command

from courses.models import CourseVersion

COURSE = """title = "Officer module"
summary = "A module written by the compliance officer."
audience = "Everyone."
regulation = "45 CFR 164.530(b)"
estimated_minutes = 10
pass_mark = 80
attestation = "I confirm that I took this module."
"""


def question(prompt: str, right: str, *wrong: str) -> str:
    text = f'[[question]]\nprompt = "{prompt}"\nkind = "single"\nexplanation = "Because."\n'
    text += f'  [[question.choice]]\n  text = "{right}"\n  correct = true\n'
    for choice in wrong:
        text += f'  [[question.choice]]\n  text = "{choice}"\n  correct = false\n  why = "Not this."\n'
    return text


@pytest.fixture
def officer_catalog(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog" / "officer-module"
    (folder / "lessons").mkdir(parents=True)
    (folder / "course.toml").write_text(COURSE)
    (folder / "lessons" / "01-intro.md").write_text("# Introduction\n\nWhat the module covers.\n")
    (folder / "questions.toml").write_text(
        question("A caller asks for a balance. What first?", "Verify who is calling first", "Tell them", "Hang up")
        + question("A fax went astray. Who hears?", "The privacy officer now", "Your team lead", "Nobody at all")
        + question("A vendor needs PHI. What first?", "Check there is a BAA", "Send it by mail", "Ask a colleague")
    )
    return tmp_path / "catalog"


@pytest.mark.django_db
def test_choice_lengths_that_give_answers_away_are_warned_on_and_still_published(officer_catalog, caplog):
    err = io.StringIO()
    with caplog.at_level(logging.WARNING, logger="courses.loader"):
        call_command("load_catalog", dir=officer_catalog, stdout=io.StringIO(), stderr=err)
    warnings = err.getvalue()
    assert "warning: officer-module: question 1 (A caller asks for a balance. What first?)" in warnings
    assert "over twice its shortest" in warnings
    assert "correct choice is the longest in 3 of 3 single-answer questions" in warnings
    assert "question 2 (A fax went astray. Who hears?)" in warnings and "question 3" in warnings
    assert [r.getMessage() for r in caplog.records] == [
        f"catalogue: {line.removeprefix('warning: ')}" for line in warnings.splitlines()
    ]
    assert CourseVersion.objects.filter(course__slug="officer-module").count() == 1  # a warning, not an error


@pytest.mark.django_db
def test_the_real_catalogue_loads_without_warnings():
    err = io.StringIO()
    call_command("load_catalog", stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == ""
