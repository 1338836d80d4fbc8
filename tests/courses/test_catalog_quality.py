"""The knowledge checks must test knowledge: the length of a choice must not give the answer away.

Read straight from the catalogue files, so the rule holds for every module in the repository, whatever
the loader does with them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

CATALOG = Path(__file__).resolve().parents[2] / "courses" / "catalog"
MODULES = sorted(p.name for p in CATALOG.iterdir() if (p / "questions.toml").is_file())

MAX_SHARE_CORRECT_LONGEST = 0.40  # of a module's single-answer questions
MAX_LENGTH_RATIO = 2.0  # longest choice over shortest choice, in each question
MIN_CHOICES, MAX_CHOICES = 3, 5


def _questions(module: str) -> list[dict[str, Any]]:
    data = tomllib.loads((CATALOG / module / "questions.toml").read_text(encoding="utf-8"))
    return list(data.get("question", []))


def _name(module: str, number: int, question: dict[str, Any]) -> str:
    prompt = str(question.get("prompt", ""))
    return f"{module}: question {number} ({prompt[:70]}...)"


def _lengths(question: dict[str, Any]) -> list[int]:
    return [len(str(choice["text"]).strip()) for choice in question.get("choice", [])]


def test_the_catalogue_has_modules_to_check():
    assert len(MODULES) >= 8, MODULES


@pytest.mark.parametrize("module", MODULES)
def test_every_question_has_three_to_five_choices(module: str):
    wrong = [
        f"{_name(module, n, q)} has {len(q.get('choice', []))} choices"
        for n, q in enumerate(_questions(module), start=1)
        if not MIN_CHOICES <= len(q.get("choice", [])) <= MAX_CHOICES
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("module", MODULES)
def test_no_choice_is_over_twice_the_length_of_the_shortest_in_its_question(module: str):
    wrong = []
    for n, q in enumerate(_questions(module), start=1):
        lengths = _lengths(q)
        if lengths and max(lengths) > MAX_LENGTH_RATIO * min(lengths):
            wrong.append(f"{_name(module, n, q)}: longest choice {max(lengths)} chars, shortest {min(lengths)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("module", MODULES)
def test_the_correct_choice_is_not_usually_the_longest(module: str):
    single = [(n, q) for n, q in enumerate(_questions(module), start=1) if q.get("kind", "single") == "single"]
    longest = []
    for n, q in single:
        lengths = _lengths(q)
        correct = [len(str(c["text"]).strip()) for c in q.get("choice", []) if c.get("correct")]
        if correct and correct[0] >= max(lengths):  # a tie counts as the longest
            longest.append(_name(module, n, q))
    share = len(longest) / len(single) if single else 0.0
    assert share <= MAX_SHARE_CORRECT_LONGEST, (
        f"{module}: the correct choice is the longest in {len(longest)} of {len(single)} single-answer "
        f"questions ({share:.0%}, at most {MAX_SHARE_CORRECT_LONGEST:.0%} allowed):\n" + "\n".join(longest)
    )
