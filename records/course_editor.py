"""Read side of the course editor: the list of courses, a draft shown in the real player, a version's diff.

Queries here are constant in number, whatever the number of courses, drafts or people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from courses.diff import VersionDiff, content_diff
from courses.markdown import render_markdown
from courses.models import Choice, Course, CourseDraft, CourseVersion, Lesson, Question
from courses.publishing import Content, normalised, version_content
from roles.models import Assignment


@dataclass
class CourseRow:
    course: Course
    current: CourseVersion | None
    assigned: int
    drafts: list[CourseDraft]


def open_drafts() -> Any:
    return CourseDraft.objects.filter(published_version__isnull=True, discarded_at__isnull=True).order_by("-updated_at")


def course_rows() -> tuple[list[CourseRow], list[CourseDraft]]:
    """Every course with its current version, how many people it is assigned to (not cancelled, active), its open
    drafts; and the drafts of courses not yet published (four queries)."""
    newest = CourseVersion.objects.filter(course=OuterRef("pk")).order_by("-number").values("pk")[:1]
    assigned = (
        Assignment.objects.filter(course=OuterRef("pk"), cancelled_at__isnull=True, user__is_active=True)
        .order_by()
        .values("course")
        .annotate(n=Count("user", distinct=True))
        .values("n")
    )
    courses = list(
        Course.objects.annotate(
            current_id=Subquery(newest),
            assigned=Coalesce(Subquery(assigned, output_field=IntegerField()), Value(0)),
        )
        .prefetch_related(Prefetch("drafts", queryset=open_drafts(), to_attr="open_drafts"))
        .order_by("title")
    )
    versions = CourseVersion.objects.in_bulk([c.current_id for c in courses if c.current_id])  # type: ignore[attr-defined]
    rows = [
        CourseRow(c, versions.get(c.current_id), c.assigned, c.open_drafts)  # type: ignore[attr-defined]
        for c in courses
    ]
    return rows, list(open_drafts().filter(course__isnull=True))


# --- the draft in the real player ---


@dataclass
class PreviewState:
    """What the player templates read from a PlayerState, for a learner who has just started: nothing recorded."""

    lessons: list[Lesson]
    seen_ids: set[int] = field(default_factory=set)
    attempts: list[Any] = field(default_factory=list)
    completion: None = None
    passed_attempt: None = None
    lessons_done: bool = False

    @property
    def next_lesson(self) -> Lesson | None:
        return self.lessons[0] if self.lessons else None

    @property
    def seen_count(self) -> int:
        return 0


@dataclass
class DraftPreview:
    version: CourseVersion
    state: PreviewState
    questions: list[Question]
    choices: dict[int, list[Choice]]
    assignment: SimpleNamespace


def draft_preview(draft: CourseDraft) -> DraftPreview:
    """The draft as unsaved version, lesson, question and choice objects (no query, nothing written); its
    Markdown rendered and sanitised exactly as a publication would."""
    c: Content = normalised(draft.content)
    version = CourseVersion(
        pk=None,
        course=draft.course,
        number=(draft.based_on.number + 1) if draft.based_on else 1,
        published_at=timezone.now(),
        title=c["title"] or draft.slug,
        summary=c["summary"] or "",
        audience=c["audience"] or "",
        regulation=c["regulation"] or "",
        estimated_minutes=c["estimated_minutes"] if isinstance(c["estimated_minutes"], int) else 0,
        pass_mark=c["pass_mark"] if isinstance(c["pass_mark"], int) else 0,
        attestation_text=c["attestation"] or "",
    )
    lessons = [
        Lesson(pk=i, position=i, title=lesson["title"] or "", body_markdown=lesson["body"] or "")
        for i, lesson in enumerate(c["lessons"], start=1)
    ]
    for lesson in lessons:
        lesson.body_html = render_markdown(lesson.body_markdown)
    questions, choices = [], {}
    for i, q in enumerate(c["questions"], start=1):
        question = Question(pk=i, position=i, prompt=q["prompt"] or "", kind=q["kind"] or "single")
        questions.append(question)
        choices[i] = [
            Choice(pk=i * 10 + j, position=j, text=ch["text"] or "", correct=bool(ch["correct"]))
            for j, ch in enumerate(q["choices"], start=1)
        ]
    assignment = SimpleNamespace(pk=0, due_on=timezone.localdate() + dt.timedelta(days=30))
    return DraftPreview(version, PreviewState(lessons), questions, choices, assignment)


# --- versions and their diffs ---


def previous_version(version: CourseVersion) -> CourseVersion | None:
    return (
        CourseVersion.objects.filter(course_id=version.course_id, number__lt=version.number).order_by("-number").first()
    )


def version_diff(version: CourseVersion) -> tuple[CourseVersion | None, VersionDiff]:
    before = previous_version(version)
    return before, content_diff(version_content(before) if before else None, version_content(version))


def versions_with_diffs(versions: list[CourseVersion]) -> list[tuple[CourseVersion, VersionDiff]]:
    """Each version with its diff against the one before it (for the evidence bundle): three queries a course."""
    by_course: dict[int, list[CourseVersion]] = {}
    for v in versions:
        by_course.setdefault(v.course_id, []).append(v)
    out = []
    for course_id in by_course:
        chain = list(
            CourseVersion.objects.filter(course_id=course_id)
            .prefetch_related("lessons", Prefetch("questions", queryset=Question.objects.prefetch_related("choices")))
            .order_by("number")
        )
        contents = [version_content(v) for v in chain]
        wanted = {v.pk for v in by_course[course_id]}
        for i, v in enumerate(chain):
            if v.pk in wanted:
                out.append((v, content_diff(contents[i - 1] if i else None, contents[i])))
    return out
