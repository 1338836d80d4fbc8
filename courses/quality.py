"""Knowledge checks must test knowledge: the length of a choice must not give the answer away.

One set of rules, used by the catalogue test (which fails on them) and by the loader (which warns, so content
an officer writes is flagged too without stopping a publication).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

MAX_SHARE_CORRECT_LONGEST = 0.40  # of a module's single-answer questions
MAX_LENGTH_RATIO = 2.0  # longest choice over shortest choice, in each question


class ChoiceLike(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def correct(self) -> bool: ...


class QuestionLike(Protocol):
    @property
    def prompt(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def choices(self) -> Sequence[ChoiceLike]: ...


def _name(course: str, number: int, question: QuestionLike) -> str:
    prompt = " ".join(question.prompt.split())
    return f"{course}: question {number} ({prompt[:70]}{'...' if len(prompt) > 70 else ''})"


def choice_length_warnings(course: str, questions: Sequence[QuestionLike]) -> list[str]:
    """Where choice lengths give answers away: any choice over twice as long as the shortest of its question,
    or, over the module, the correct choice the longest (ties count) in more than 40% of single-answer questions.
    Each warning names the question."""
    warnings = []
    longest = []
    single = 0
    for number, question in enumerate(questions, start=1):
        lengths = [len(c.text.strip()) for c in question.choices]
        if not lengths:
            continue
        if max(lengths) > MAX_LENGTH_RATIO * min(lengths):
            warnings.append(
                f"{_name(course, number, question)}: its longest choice has {max(lengths)} characters, "
                f"over twice its shortest ({min(lengths)})"
            )
        if question.kind == "single":
            single += 1
            correct = [len(c.text.strip()) for c in question.choices if c.correct]
            if correct and correct[0] >= max(lengths):
                longest.append(_name(course, number, question))
    if single and len(longest) / single > MAX_SHARE_CORRECT_LONGEST:
        warnings.append(
            f"{course}: the correct choice is the longest in {len(longest)} of {single} single-answer questions "
            f"({len(longest) / single:.0%}, at most {MAX_SHARE_CORRECT_LONGEST:.0%} allowed): " + "; ".join(longest)
        )
    return warnings
