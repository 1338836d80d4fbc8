"""Course drafts: start one from a version (or blank), save each part with the revision it was read at, publish.

Every save is checked against the revision the editor read: a save made against an older one is refused
(StaleDraft, carrying the draft as it now is), so two officers editing one draft never lose each other's work.
Each save leaves an append-only CourseDraftRevision, the draft's history auditors read.
"""

from __future__ import annotations

import copy

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from hipaa_training import audit

from .models import Course, CourseDraft, CourseDraftRevision, CourseVersion
from .publishing import (
    CatalogError,
    Content,
    ContentInvalid,
    Problem,
    PublishResult,
    blank_content,
    content_problems,
    lesson_problems,
    normalised,
    overview_problems,
    publish_version,
    question_problems,
    version_content,
)


class StaleDraft(Exception):
    """The draft was saved by someone else since it was read; `draft` is its current state."""

    def __init__(self, draft: CourseDraft) -> None:
        self.draft = draft
        super().__init__(
            f"{draft.updated_by_label or 'Someone'} saved this draft (revision {draft.revision}) after you opened it. "
            "Your change was not saved: here is the draft as it is now."
        )


class DraftClosed(CatalogError):
    """A published or discarded draft is not edited again: start a new one from the version."""


def _who(actor: AbstractBaseUser | None) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    return actor.pk, str(getattr(actor, "email", "") or actor.get_username())


def slug_problem(slug: str) -> str | None:
    if not slug or slug != slugify(slug) or len(slug) > 50:
        return "use lower-case letters, digits and hyphens only (at most 50)"
    if Course.objects.filter(slug=slug).exists():
        return "a course with this slug exists already: start the draft from its version instead"
    if CourseDraft.objects.filter(slug=slug, course__isnull=True, published_version__isnull=True).exists():
        return "another draft of a new course uses this slug"
    return None


def draft_start(
    *,
    version: CourseVersion | None = None,
    slug: str = "",
    title: str = "",
    content: Content | None = None,
    what: str = "",
    actor: AbstractBaseUser | None,
) -> CourseDraft:
    """A new draft: a copy of `version`, or a new course under `slug` (blank, or `content` from an upload)."""
    if version is not None:
        course: Course | None = version.course
        start = content if content is not None else version_content(version)
        slug = version.course.slug
    else:
        course = None
        problem = slug_problem(slug)
        if problem:
            raise ContentInvalid([Problem("slug", "", f"slug: {problem}")])
        start = content if content is not None else blank_content(title.strip())
    who_id, who = _who(actor)
    now = timezone.now()
    with transaction.atomic():
        draft = CourseDraft.objects.create(
            course=course,
            slug=slug,
            based_on=version,
            content=copy.deepcopy(start),
            created_by_id=who_id,
            created_by_label=who,
            updated_by_id=who_id,
            updated_by_label=who,
            updated_at=now,
        )
        what = what or (f"started from version {version.number}" if version else "started a new course")
        CourseDraftRevision.objects.create(
            draft=draft,
            revision=1,
            what=what,
            content=draft.content,
            saved_by_id=who_id,
            saved_by_label=who,
            saved_at=now,
        )
        audit.record(
            "catalog.draft_started",
            actor=actor,
            subject=draft,
            data={"course": slug, "based_on": version.number if version else None, "what": what},
        )
    return draft


def section_problems(content: Content, section: str) -> list[Problem]:
    """The rules for the part of the draft a save changed ("overview", "lessons.N", "questions.N", "order")."""
    kind, _, number = section.partition(".")
    if kind == "overview":
        return [p for p in overview_problems(content) if p.field not in ("change_note", "material")]
    if kind == "lessons" and number:
        return lesson_problems(int(number), content["lessons"][int(number) - 1])
    if kind == "questions" and number:
        return question_problems(int(number), content["questions"][int(number) - 1])
    return []


def draft_save(
    *, draft: CourseDraft, revision: int, content: Content, section: str, what: str, actor: AbstractBaseUser | None
) -> CourseDraft:
    """Save a changed part of a draft, if it is valid and nobody saved the draft since `revision` was read."""
    problems = section_problems(content, section)
    if problems:
        raise ContentInvalid(problems)
    who_id, who = _who(actor)
    now = timezone.now()
    with transaction.atomic():
        updated = CourseDraft.objects.filter(
            pk=draft.pk, revision=revision, published_version__isnull=True, discarded_at__isnull=True
        ).update(
            content=content,
            revision=F("revision") + 1,
            updated_by_id=who_id,
            updated_by_label=who,
            updated_at=now,
        )
        current = CourseDraft.objects.get(pk=draft.pk)
        if not updated:
            if not current.is_open:
                raise DraftClosed("This draft is published or discarded; start a new draft from the version.")
            raise StaleDraft(current)
        CourseDraftRevision.objects.create(
            draft=current,
            revision=current.revision,
            what=what[:200],
            content=content,
            saved_by_id=who_id,
            saved_by_label=who,
            saved_at=now,
        )
        audit.record(
            "catalog.draft_saved",
            actor=actor,
            subject=current,
            data={"course": current.slug, "revision": current.revision, "what": what[:200]},
        )
    return current


def draft_publish(
    *, draft: CourseDraft, revision: int, change_note: str, material: bool, actor: AbstractBaseUser | None
) -> PublishResult:
    """Publish the draft as the course's next immutable version, through the one publishing service; a material
    version assigns retraining (45 CFR 164.530(b)(2)(i)(C))."""
    if not change_note.strip():
        raise ContentInvalid([Problem("change_note", "course.toml", "say what changed in this version")])
    with transaction.atomic():
        locked = CourseDraft.objects.select_for_update().get(pk=draft.pk)
        if not locked.is_open:
            raise DraftClosed("This draft is published or discarded already.")
        if locked.revision != revision:
            raise StaleDraft(locked)
        result = publish_version(
            course=locked.course or locked.slug,
            content=locked.content,
            change_note=change_note,
            material=material,
            actor=actor,
            source="editor",
        )
        if not result.published:
            raise ContentInvalid([Problem("", "", "This draft has the same content as the current version.")])
        locked.published_version = result.version
        locked.course = result.version.course if result.version else locked.course
        locked.save(update_fields=["published_version", "course"])
        audit.record(
            "catalog.draft_published",
            actor=actor,
            subject=locked,
            data={"course": locked.slug, "number": result.number, "revision": revision},
        )
    return result


def draft_discard(*, draft: CourseDraft, revision: int, actor: AbstractBaseUser | None) -> CourseDraft:
    """Close an open draft without publishing it. Its saved revisions stay (the history auditors read); a draft
    saved by someone else since `revision` was read is refused (StaleDraft), as is a closed one (DraftClosed)."""
    with transaction.atomic():
        locked = CourseDraft.objects.select_for_update().get(pk=draft.pk)
        if not locked.is_open:
            raise DraftClosed("This draft is published or discarded already: nothing was changed.")
        if locked.revision != revision:
            raise StaleDraft(locked)
        locked.discarded_at = timezone.now()
        locked.save(update_fields=["discarded_at"])
        audit.record(
            "catalog.draft_discarded",
            actor=actor,
            subject=locked,
            data={"course": locked.slug, "revision": locked.revision},
        )
    return locked


def publish_problems(draft: CourseDraft) -> list[Problem]:
    """What stops the draft being published (the change note and material flag are asked at publication)."""
    return [p for p in content_problems(draft.content) if p.field not in ("change_note", "material")]


def normalised_content(draft: CourseDraft) -> Content:
    return normalised(draft.content)
