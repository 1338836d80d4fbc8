"""Grading a knowledge check: a pure function of the questions and the answers given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class GradedQuestion:
    question_id: int
    chosen: frozenset[int]
    correct: frozenset[int]

    @property
    def is_correct(self) -> bool:
        return self.chosen == self.correct


@dataclass(frozen=True)
class GradeResult:
    questions: tuple[GradedQuestion, ...]
    pass_mark: int

    @property
    def correct_count(self) -> int:
        return sum(q.is_correct for q in self.questions)

    @property
    def score(self) -> int:
        """Percent of questions answered exactly right, rounded down."""
        if not self.questions:
            return 0
        return (100 * self.correct_count) // len(self.questions)

    @property
    def passed(self) -> bool:
        return self.score >= self.pass_mark


class InvalidAnswers(ValueError):
    """Answers that name a question or choice not in the version."""


def grade(
    key: Mapping[int, frozenset[int]],
    valid_choices: Mapping[int, frozenset[int]],
    answers: Mapping[int, Sequence[int]],
    pass_mark: int,
) -> GradeResult:
    """Grade `answers` (question id -> chosen choice ids) against `key` (question id -> correct choice ids).

    A question counts as right only when exactly the correct choices are chosen.
    """
    unknown = set(answers) - set(key)
    if unknown:
        raise InvalidAnswers(f"answers name questions that are not in this knowledge check: {sorted(unknown)}")
    graded = []
    for question_id, correct in key.items():
        chosen = frozenset(answers.get(question_id, ()))
        if not chosen <= valid_choices[question_id]:
            raise InvalidAnswers(f"answer to question {question_id} names a choice that is not one of its own")
        graded.append(GradedQuestion(question_id, chosen, correct))
    return GradeResult(tuple(graded), pass_mark)
