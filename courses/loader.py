"""Publish the catalogue from files in the repo (format: courses/catalog/FORMAT.md).

Loading twice changes nothing; changed content publishes a new version and keeps the old one.
A malformed file stops the load with a message naming the file and the problem, and nothing is published.
The rules, the content hash and the publication itself are courses.publishing's, shared with the browser editor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser

from .publishing import (
    CatalogError,
    Content,
    PublishResult,
    content_hash_of,
    parse_files,
    publish_version,
)

logger = logging.getLogger(__name__)

__all__ = ["CatalogError", "LoadResult", "content_hash", "load_catalog", "parse_catalog", "parse_course"]

LoadResult = PublishResult


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

    def content(self) -> Content:
        return {
            "title": self.title,
            "summary": self.summary,
            "audience": self.audience,
            "regulation": self.regulation,
            "estimated_minutes": self.estimated_minutes,
            "pass_mark": self.pass_mark,
            "change_note": self.change_note,
            "material": self.material,
            "attestation": self.attestation,
            "lessons": [{"title": lesson.title, "body": lesson.body} for lesson in self.lessons],
            "questions": [
                {
                    "prompt": q.prompt,
                    "kind": q.kind,
                    "explanation": q.explanation,
                    "choices": [{"text": c.text, "correct": c.correct, "why": c.why} for c in q.choices],
                }
                for q in self.questions
            ],
        }


def default_catalog_dir() -> Path:
    return Path(getattr(settings, "CATALOG_DIR", settings.BASE_DIR / "courses" / "catalog"))


def read_folder(folder: Path) -> dict[str, bytes]:
    """The files of a course folder that the format knows (course.toml, questions.toml, lessons/*.md)."""
    files = {
        name: (folder / name).read_bytes() for name in ("course.toml", "questions.toml") if (folder / name).is_file()
    }
    for path in (folder / "lessons").glob("*.md"):
        if path.is_file():
            files[f"lessons/{path.name}"] = path.read_bytes()
    return files


def spec_of(slug: str, content: Content) -> CourseSpec:
    return CourseSpec(
        slug=slug,
        title=content["title"],
        summary=content["summary"],
        audience=content["audience"],
        regulation=content["regulation"],
        estimated_minutes=content["estimated_minutes"],
        pass_mark=content["pass_mark"],
        change_note=content["change_note"],
        material=content["material"],
        attestation=content["attestation"],
        content_hash=content_hash_of(content),
        lessons=[LessonSpec(lesson["title"], lesson["body"]) for lesson in content["lessons"]],
        questions=[
            QuestionSpec(
                q["prompt"],
                q["kind"],
                q["explanation"],
                [ChoiceSpec(c["text"], c["correct"], c["why"]) for c in q["choices"]],
            )
            for q in content["questions"]
        ],
    )


def parse_course(folder: Path) -> CourseSpec:
    return spec_of(folder.name, parse_files(read_folder(folder), where=f"{folder}/"))


def content_hash(folder: Path) -> str:
    """The content hash of a course folder: of its content in the catalogue-folder form (courses.publishing)."""
    return content_hash_of(parse_files(read_folder(folder), where=f"{folder}/"))


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
    return publish_version(
        course=spec.slug, content=spec.content(), change_note=spec.change_note, material=spec.material, actor=actor
    )


def load_catalog(root: Path | None = None, *, actor: AbstractBaseUser | None = None) -> list[LoadResult]:
    """Validate the whole catalogue, then publish what changed. Nothing is published if any file is bad.

    Choices whose lengths give answers away (courses.quality) are warnings, logged and returned with each
    result: they do not stop a publication.
    """
    specs = parse_catalog(root or default_catalog_dir())
    results = []
    for spec in specs:
        result = publish_course(spec, actor=actor)
        for warning in result.warnings:
            logger.warning("catalogue: %s", warning)
        results.append(result)
    return results
