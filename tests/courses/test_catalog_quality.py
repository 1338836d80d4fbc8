"""The knowledge checks must test knowledge: the length of a choice must not give the answer away.

Every module in the repository is read from its files and held to the rules of courses.quality, the same
rules the loader warns on for content an officer writes.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from courses.loader import parse_course
from courses.quality import choice_length_warnings

CATALOG = Path(__file__).resolve().parents[2] / "courses" / "catalog"
MODULES = sorted(p.name for p in CATALOG.iterdir() if (p / "questions.toml").is_file())

MIN_CHOICES, MAX_CHOICES = 3, 5


def test_the_catalogue_has_modules_to_check():
    assert len(MODULES) >= 8, MODULES


@pytest.mark.parametrize("module", MODULES)
def test_every_question_has_three_to_five_choices(module: str):
    questions = tomllib.loads((CATALOG / module / "questions.toml").read_text(encoding="utf-8"))["question"]
    wrong = [
        f"{module}: question {n} has {len(q.get('choice', []))} choices"
        for n, q in enumerate(questions, start=1)
        if not MIN_CHOICES <= len(q.get("choice", [])) <= MAX_CHOICES
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("module", MODULES)
def test_choice_lengths_do_not_give_the_answer_away(module: str):
    spec = parse_course(CATALOG / module)
    warnings = choice_length_warnings(module, spec.questions)
    assert not warnings, "\n".join(warnings)
