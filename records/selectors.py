"""Read-side queries for the learner's pages, each with a constant number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch
from django.utils import timezone

from courses.models import Choice, Course, CourseVersion, Lesson, Question
from roles.models import Assignment, User

from .models import Certificate, Completion, LessonView, QuizAttempt

DUE_SOON_DAYS = 14


@dataclass
class AssignmentRow:
    """One line of /training/: the assignment, its progress in the current version and the next step."""

    assignment: Assignment
    lessons_total: int = 0
    lessons_seen: int = 0
    passed: bool = False
    completion: Completion | None = None
    certificate: Certificate | None = None

    @property
    def course(self) -> Course:
        return self.assignment.course

    @property
    def due_on(self) -> dt.date:
        return self.assignment.due_on

    @property
    def completed_at(self) -> dt.datetime | None:
        return self.assignment.completed_at

    @property
    def percent(self) -> int:
        if self.completion:
            return 100
        steps = self.lessons_total + 2  # lessons, the knowledge check, the attestation
        return (100 * (self.lessons_seen + (1 if self.passed else 0))) // steps

    @property
    def next_step(self) -> str:
        if self.completion:
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


def training_for(person: User, today: dt.date | None = None) -> TrainingGroups:
    """A person's assignments grouped as overdue, due soon, later and completed, with progress (5 queries)."""
    today = today or timezone.localdate()
    groups = TrainingGroups()
    assignments = list(
        Assignment.objects.filter(user=person, cancelled_at__isnull=True)
        .select_related("course", "completion__certificate", "completion__version")
        .order_by("due_on", "course__title")
    )
    if not assignments:
        return groups
    ids = [a.pk for a in assignments]
    versions = {
        v.course_id: v
        for v in CourseVersion.objects.current()
        .filter(course_id__in={a.course_id for a in assignments})
        .annotate(lesson_count=Count("lessons"))
    }
    version_ids = [v.pk for v in versions.values()]
    seen: dict[int, int] = dict(
        LessonView.objects.filter(assignment_id__in=ids, lesson__version_id__in=version_ids)
        .values("assignment_id")
        .annotate(n=Count("id"))
        .values_list("assignment_id", "n")
    )
    passed = set(
        QuizAttempt.objects.filter(assignment_id__in=ids, version_id__in=version_ids, passed=True).values_list(
            "assignment_id", flat=True
        )
    )
    for a in assignments:
        version = versions.get(a.course_id)
        completion = getattr(a, "completion", None) if a.completed_at else None
        row = AssignmentRow(
            assignment=a,
            lessons_total=getattr(version, "lesson_count", 0),
            lessons_seen=seen.get(a.pk, 0),
            passed=a.pk in passed,
            completion=completion,
            certificate=getattr(completion, "certificate", None) if completion else None,
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
