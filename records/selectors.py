"""Read-side queries for the learner's pages, each with a constant number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, cast

from django.db.models import Prefetch
from django.utils import timezone

from courses.models import Choice, CourseVersion, Lesson, Question
from roles.models import Assignment, User

from .models import Certificate, Completion, LessonView, QuizAttempt

DUE_SOON_DAYS = 14


@dataclass
class AssignmentRow:
    """One line of /training/: an assignment, its progress in the current course version and the next step."""

    pk: int
    title: str
    due_on: dt.date
    completed_at: dt.datetime | None
    score: int | None = None  # the completion's, once there is one
    certificate_code: str | None = None
    lessons_total: int = 0
    lessons_seen: int = 0
    passed: bool = False

    @property
    def completed(self) -> bool:
        return self.score is not None

    @property
    def is_overdue(self) -> bool:
        """Open and past due (the rows are open or completed: cancelled assignments are not listed)."""
        return self.completed_at is None and self.due_on < timezone.localdate()

    @property
    def percent(self) -> int:
        if self.completed:
            return 100
        steps = self.lessons_total + 2  # lessons, the knowledge check, the attestation
        return (100 * (self.lessons_seen + (1 if self.passed else 0))) // steps

    @property
    def next_step(self) -> str:
        if self.completed:
            return "done"
        if self.passed:
            return "attest"
        if self.lessons_total and self.lessons_seen >= self.lessons_total:
            return "check"
        return "resume" if self.lessons_seen else "start"


@dataclass
class TrainingGroups:
    overdue: list[AssignmentRow] = field(default_factory=list)
    due_soon: list[AssignmentRow] = field(default_factory=list)
    later: list[AssignmentRow] = field(default_factory=list)
    completed: list[AssignmentRow] = field(default_factory=list)

    @property
    def next_up(self) -> AssignmentRow | None:
        for group in (self.overdue, self.due_soon, self.later):
            if group:
                return group[0]
        return None

    def __bool__(self) -> bool:
        return bool(self.overdue or self.due_soon or self.later or self.completed)


def _completed_at(row: AssignmentRow) -> dt.datetime:
    assert row.completed_at is not None  # only completed rows are sorted by it
    return row.completed_at


# /training/ is the page every learner opens, so its rows come from one plain query (no ORM compilation, no model
# instances): each open or completed assignment with its course's title, its completion's score and certificate
# (once completed), and its progress in the course's current version (CourseVersionQuerySet.current: the highest
# number): lessons in it, those the person saw, and whether a knowledge check on it was passed.
_TRAINING_SQL = """
SELECT a.id, a.course_id, a.due_on, a.completed_at, c.title AS course_title,
    CASE WHEN a.completed_at IS NULL THEN NULL ELSE comp.score END AS completion_score,
    CASE WHEN a.completed_at IS NULL THEN NULL ELSE cert.code END AS certificate_code,
    (SELECT COUNT(*) FROM courses_lesson l WHERE l.version_id = cv.id) AS lessons_total,
    (SELECT COUNT(*) FROM records_lessonview lv INNER JOIN courses_lesson l ON l.id = lv.lesson_id
        WHERE lv.assignment_id = a.id AND l.version_id = cv.id) AS lessons_seen,
    EXISTS (SELECT 1 FROM records_quizattempt q
        WHERE q.assignment_id = a.id AND q.version_id = cv.id AND q.passed) AS passed
FROM roles_assignment a
INNER JOIN courses_course c ON c.id = a.course_id
LEFT OUTER JOIN records_completion comp ON comp.assignment_id = a.id
LEFT OUTER JOIN records_certificate cert ON cert.completion_id = comp.id
LEFT OUTER JOIN courses_courseversion cv ON cv.id = (
    SELECT v.id FROM courses_courseversion v WHERE v.course_id = a.course_id ORDER BY v.number DESC LIMIT 1
)
WHERE a.user_id = %s AND a.cancelled_at IS NULL
ORDER BY a.due_on, c.title, a.id
"""


class _TrainingRecord(Protocol):
    """A row of _TRAINING_SQL as the raw queryset gives it: an Assignment with the query's other columns."""

    pk: int
    due_on: dt.date
    completed_at: dt.datetime | None
    course_title: str
    completion_score: int | None
    certificate_code: str | None
    lessons_total: int
    lessons_seen: int
    passed: bool | int  # SQLite answers EXISTS with 0 or 1


def training_for(person: User, today: dt.date | None = None) -> TrainingGroups:
    """A person's assignments grouped as overdue, due soon, later and completed, with progress (one query)."""
    today = today or timezone.localdate()
    groups = TrainingGroups()
    # A raw queryset on Assignment, so the backend's converters read the dates (SQLite returns them as text).
    for a in cast(Iterable[_TrainingRecord], Assignment.objects.raw(_TRAINING_SQL, [person.pk])):
        row = AssignmentRow(
            pk=a.pk,
            title=a.course_title,
            due_on=a.due_on,
            completed_at=a.completed_at,
            score=a.completion_score,
            certificate_code=a.certificate_code,
            lessons_total=a.lessons_total,
            lessons_seen=a.lessons_seen,
            passed=bool(a.passed),
        )
        if a.completed_at is not None:
            groups.completed.append(row)
        elif a.due_on < today:
            groups.overdue.append(row)
        elif a.due_on <= today + dt.timedelta(days=DUE_SOON_DAYS):
            groups.due_soon.append(row)
        else:
            groups.later.append(row)
    groups.completed.sort(key=_completed_at, reverse=True)
    return groups


@dataclass
class PlayerState:
    """Where one person stands in one assignment of the current course version."""

    assignment: Assignment
    version: CourseVersion
    lessons: list[Lesson]
    seen_ids: set[int]
    attempts: list[QuizAttempt]
    completion: Completion | None

    @property
    def lessons_done(self) -> bool:
        return all(lesson.pk in self.seen_ids for lesson in self.lessons)

    @property
    def next_lesson(self) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.pk not in self.seen_ids), None)

    @property
    def passed_attempt(self) -> QuizAttempt | None:
        return next((a for a in self.attempts if a.passed), None)

    @property
    def seen_count(self) -> int:
        return sum(lesson.pk in self.seen_ids for lesson in self.lessons)

    def may_open(self, lesson: Lesson) -> bool:
        """A lesson opens once the ones before it were seen (or the module is done)."""
        if self.completion:
            return True
        nxt = self.next_lesson
        return nxt is None or lesson.position <= nxt.position


def player_state(assignment: Assignment) -> PlayerState | None:
    """The person's progress in an assignment; None when the course has no published version (4 queries)."""
    completion = Completion.objects.select_related("version", "certificate").filter(assignment_id=assignment.pk).first()
    if completion:
        version = completion.version
    else:
        current = CourseVersion.objects.current_for(assignment.course_id)
        if current is None:
            return None
        version = current
    lessons = list(
        Lesson.objects.filter(version=version).order_by("position").only("id", "position", "title", "version_id")
    )
    seen = set(
        LessonView.objects.filter(assignment_id=assignment.pk, lesson__version=version).values_list(
            "lesson_id", flat=True
        )
    )
    attempts = list(QuizAttempt.objects.filter(assignment_id=assignment.pk, version=version).order_by("number"))
    return PlayerState(assignment, version, lessons, seen, attempts, completion)


def questions_in_order(version: CourseVersion, order: list[int]) -> list[Question]:
    questions = {
        q.pk: q
        for q in Question.objects.filter(version=version).prefetch_related(
            Prefetch("choices", queryset=Choice.objects.order_by("position"))
        )
    }
    return [questions[q] for q in order if q in questions]


def choices_as_shown(question: Question, shown: list[int] | None) -> list[Choice]:
    """The question's choices in the order a page showed them (file order for attempts before shuffling)."""
    choices = list(question.choices.all())
    if not shown:
        return choices
    by_id = {c.pk: c for c in choices}
    return [by_id[c] for c in shown if c in by_id]


@dataclass
class ReplayedChoice:
    choice: Choice
    chosen: bool


@dataclass
class ReplayedQuestion:
    """One question of a past attempt, its choices in the order that attempt showed them."""

    question: Question
    choices: list[ReplayedChoice]

    @property
    def right(self) -> bool:
        return all(c.chosen == c.choice.correct for c in self.choices)

    @property
    def chosen(self) -> list[Choice]:
        return [c.choice for c in self.choices if c.chosen]


def attempt_replay(version: CourseVersion, attempt: QuizAttempt) -> list[ReplayedQuestion]:
    """A past attempt exactly as it was shown, with the answers given (2 queries)."""
    replay = []
    for question in questions_in_order(version, attempt.question_order):
        chosen = set(attempt.answers.get(str(question.pk), []))
        shown = choices_as_shown(question, attempt.choice_order.get(str(question.pk)))
        replay.append(ReplayedQuestion(question, [ReplayedChoice(c, c.pk in chosen) for c in shown]))
    return replay


def certificates_of(person: User) -> list[Certificate]:
    return list(
        Certificate.objects.filter(completion__user=person)
        .select_related("completion__version", "revocation")
        .order_by("-issued_at")
    )
