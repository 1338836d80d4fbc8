"""Publish the catalogue from files in the repo (format: courses/catalog/FORMAT.md).

Loading twice changes nothing; changed content publishes a new version and keeps the old one.
A malformed file stops the load with a message naming the file and the problem, and nothing is published.
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from hipaa_training import audit

from .markdown import render_markdown
from .models import Choice, Course, CourseVersion, Lesson, Question
from .quality import choice_length_warnings
from .signals import version_published

logger = logging.getLogger(__name__)


class CatalogError(Exception):
    """A catalogue file that cannot be published; the message names the file."""


@dataclass
class ChoiceSpec:
    text: str
    correct: bool
    why: str


@dataclass
class QuestionSpec:
    prompt: str
    kind: str
    explanation: str
    choices: list[ChoiceSpec]


@dataclass
class LessonSpec:
    title: str
    body: str


@dataclass
class CourseSpec:
    slug: str
    title: str
    summary: str
    audience: str
    regulation: str
    estimated_minutes: int
    pass_mark: int
    change_note: str
    material: bool
    attestation: str
    content_hash: str
    lessons: list[LessonSpec] = field(default_factory=list)
    questions: list[QuestionSpec] = field(default_factory=list)


@dataclass
class LoadResult:
    slug: str
    number: int
    published: bool
    warnings: list[str] = field(default_factory=list)


def default_catalog_dir() -> Path:
    return Path(getattr(settings, "CATALOG_DIR", settings.BASE_DIR / "courses" / "catalog"))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"{path}: file is missing") from None
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML ({exc})") from None


def _text(data: dict[str, Any], key: str, path: Path, where: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{path}: {where}'{key}' must be non-empty text")
    return value.strip()


def _int(data: dict[str, Any], key: str, path: Path, low: int, high: int) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise CatalogError(f"{path}: '{key}' must be a whole number from {low} to {high}")
    return value


def content_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def parse_course(folder: Path) -> CourseSpec:
    meta_path = folder / "course.toml"
    meta = _read_toml(meta_path)
    material = meta.get("material", True)
    if not isinstance(material, bool):
        raise CatalogError(f"{meta_path}: 'material' must be true or false")
    spec = CourseSpec(
        slug=folder.name,
        title=_text(meta, "title", meta_path),
        summary=_text(meta, "summary", meta_path),
        audience=_text(meta, "audience", meta_path),
        regulation=_text(meta, "regulation", meta_path),
        estimated_minutes=_int(meta, "estimated_minutes", meta_path, 1, 600),
        pass_mark=_int(meta, "pass_mark", meta_path, 1, 100),
        change_note=str(meta.get("change_note", "")).strip(),
        material=material,
        attestation=_text(meta, "attestation", meta_path),
        content_hash=content_hash(folder),
    )

    lesson_paths = sorted((folder / "lessons").glob("*.md"))
    if not lesson_paths:
        raise CatalogError(f"{folder / 'lessons'}: no lessons (*.md) found")
    for path in lesson_paths:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CatalogError(f"{path}: not UTF-8 text") from None
        first, _, body = text.partition("\n")
        if not first.startswith("# ") or not first[2:].strip():
            raise CatalogError(f"{path}: the first line must be the lesson title, as '# Title'")
        if not body.strip():
            raise CatalogError(f"{path}: the lesson has no body")
        spec.lessons.append(LessonSpec(title=first[2:].strip(), body=body.strip() + "\n"))

    questions_path = folder / "questions.toml"
    raw_questions = _read_toml(questions_path).get("question")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise CatalogError(f"{questions_path}: no [[question]] entries")
    for number, raw in enumerate(raw_questions, start=1):
        where = f"question {number}: "
        kind = raw.get("kind")
        if kind not in (Question.SINGLE, Question.MULTIPLE):
            raise CatalogError(f'{questions_path}: {where}\'kind\' must be "single" or "multiple"')
        raw_choices = raw.get("choice")
        if not isinstance(raw_choices, list) or not 2 <= len(raw_choices) <= 6:
            raise CatalogError(f"{questions_path}: {where}needs 2 to 6 [[question.choice]] entries")
        choices = []
        for c_number, raw_choice in enumerate(raw_choices, start=1):
            c_where = f"{where}choice {c_number}: "
            correct = raw_choice.get("correct")
            if not isinstance(correct, bool):
                raise CatalogError(f"{questions_path}: {c_where}'correct' must be true or false")
            why = str(raw_choice.get("why", "")).strip()
            if not correct and not why:
                raise CatalogError(f"{questions_path}: {c_where}a wrong choice needs a 'why'")
            choices.append(ChoiceSpec(_text(raw_choice, "text", questions_path, c_where), correct, why))
        n_correct = sum(c.correct for c in choices)
        if kind == Question.SINGLE and n_correct != 1:
            raise CatalogError(f"{questions_path}: {where}a single-answer question needs exactly one correct choice")
        if kind == Question.MULTIPLE and n_correct < 2:
            raise CatalogError(f"{questions_path}: {where}a multiple-answer question needs two or more correct choices")
        spec.questions.append(
            QuestionSpec(
                prompt=_text(raw, "prompt", questions_path, where),
                kind=kind,
                explanation=_text(raw, "explanation", questions_path, where),
                choices=choices,
            )
        )
    return spec


def parse_catalog(root: Path) -> list[CourseSpec]:
    """Parse every course folder; raise CatalogError listing every problem found."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    specs, errors = [], []
    for folder in folders:
        try:
            specs.append(parse_course(folder))
        except CatalogError as exc:
            errors.append(str(exc))
    if errors:
        raise CatalogError("\n".join(errors))
    return specs


def publish_course(spec: CourseSpec, *, actor: AbstractBaseUser | None = None) -> LoadResult:
    """Publish `spec` as a new version unless the newest version already has this exact content."""
    with transaction.atomic():
        course, _ = Course.objects.get_or_create(slug=spec.slug, defaults={"title": spec.title})
        current = CourseVersion.objects.current_for(course)
        if current is not None and current.content_hash == spec.content_hash:
            return LoadResult(spec.slug, current.number, published=False)
        if course.title != spec.title:
            course.title = spec.title
            course.save(update_fields=["title"])
        version = CourseVersion.objects.create(
            course=course,
            number=(current.number + 1) if current else 1,
            published_at=timezone.now(),
            content_hash=spec.content_hash,
            change_note=spec.change_note,
            material=spec.material,
            title=spec.title,
            summary=spec.summary,
            audience=spec.audience,
            regulation=spec.regulation,
            estimated_minutes=spec.estimated_minutes,
            pass_mark=spec.pass_mark,
            attestation_text=spec.attestation,
        )
        Lesson.objects.bulk_create(
            Lesson(
                version=version,
                position=i,
                title=lesson.title,
                body_markdown=lesson.body,
                body_html=render_markdown(lesson.body),
            )
            for i, lesson in enumerate(spec.lessons, start=1)
        )
        questions = Question.objects.bulk_create(
            Question(version=version, position=i, prompt=q.prompt, kind=q.kind, explanation=q.explanation)
            for i, q in enumerate(spec.questions, start=1)
        )
        Choice.objects.bulk_create(
            Choice(question=question, position=j, text=c.text, correct=c.correct, why=c.why)
            for question, q in zip(questions, spec.questions, strict=True)
            for j, c in enumerate(q.choices, start=1)
        )
        audit.record(
            "catalog.version_published",
            actor=actor,
            subject=version,
            data={
                "course": spec.slug,
                "number": version.number,
                "content_hash": spec.content_hash,
                "material": spec.material,
                "change_note": spec.change_note,
            },
        )
        transaction.on_commit(lambda: version_published.send(sender=CourseVersion, version=version))
    return LoadResult(spec.slug, version.number, published=True)


def load_catalog(root: Path | None = None, *, actor: AbstractBaseUser | None = None) -> list[LoadResult]:
    """Validate the whole catalogue, then publish what changed. Nothing is published if any file is bad.

    Choices whose lengths give answers away (courses.quality) are warnings, logged and returned with each
    result: they do not stop a publication.
    """
    specs = parse_catalog(root or default_catalog_dir())
    results = []
    for spec in specs:
        result = publish_course(spec, actor=actor)
        result.warnings = choice_length_warnings(spec.slug, spec.questions)
        for warning in result.warnings:
            logger.warning("catalogue: %s", warning)
        results.append(result)
    return results
