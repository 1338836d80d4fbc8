"""Drafts: a mutable copy of a version, saved part by part against the revision read; its history kept."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from courses.drafts import DraftClosed, StaleDraft, draft_publish, draft_save, draft_start
from courses.models import Course, CourseDraftRevision, CourseVersion
from courses.publishing import ContentInvalid, content_hash_of
from hipaa_training.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(catalog) -> CourseVersion:
    found = CourseVersion.objects.current_for(Course.objects.get(slug="security-awareness"))
    assert found is not None
    return found


def test_a_draft_copies_its_version_and_keeps_its_hash(version, compliance_officer):
    draft = draft_start(version=version, actor=compliance_officer)
    assert draft.revision == 1 and draft.based_on == version and draft.course == version.course
    assert content_hash_of(draft.content) == version.content_hash
    assert draft.revisions.get().what == f"started from version {version.number}"
    assert AuditEvent.objects.filter(action="catalog.draft_started", actor_id=compliance_officer.pk).exists()


def test_the_later_of_two_saves_on_one_revision_is_refused_and_nothing_is_lost(
    version, compliance_officer, administrator
):
    draft = draft_start(version=version, actor=compliance_officer)
    first = {**draft.content, "title": "Security awareness, our edition"}
    second = {**draft.content, "summary": "Another officer's summary."}
    saved = draft_save(draft=draft, revision=1, content=first, section="overview", what="overview", actor=administrator)
    assert saved.revision == 2
    with pytest.raises(StaleDraft) as refused:
        draft_save(
            draft=draft, revision=1, content=second, section="overview", what="overview", actor=compliance_officer
        )
    assert refused.value.draft.content["title"] == "Security awareness, our edition"
    assert refused.value.draft.content["summary"] != "Another officer's summary."
    assert list(draft.revisions.values_list("revision", "saved_by_label")) == [
        (1, compliance_officer.email),
        (2, administrator.email),
    ]


def test_an_invalid_part_saves_nothing(version, compliance_officer):
    draft = draft_start(version=version, actor=compliance_officer)
    content = {**draft.content, "lessons": [dict(lesson) for lesson in draft.content["lessons"]]}
    content["lessons"][1]["body"] = "Click <a href=x>here</a>"
    with pytest.raises(ContentInvalid) as refused:
        draft_save(draft=draft, revision=1, content=content, section="lessons.2", what="lesson 2", actor=None)
    assert [p.field for p in refused.value.problems] == ["lessons.2.body"]
    draft.refresh_from_db()
    assert draft.revision == 1 and "<a href" not in draft.content["lessons"][1]["body"]
    assert draft.revisions.count() == 1


def test_a_published_draft_is_closed(version, compliance_officer):
    draft = draft_start(version=version, actor=compliance_officer)
    content = {**draft.content, "pass_mark": 90}
    draft = draft_save(draft=draft, revision=1, content=content, section="overview", what="pass mark", actor=None)
    result = draft_publish(
        draft=draft, revision=2, change_note="Pass mark 90.", material=False, actor=compliance_officer
    )
    assert result.published and result.version is not None and result.version.pass_mark == 90
    with pytest.raises(DraftClosed):
        draft_save(draft=draft, revision=2, content=content, section="overview", what="again", actor=None)


def test_a_publication_needs_a_change_note_and_new_content(version, compliance_officer):
    draft = draft_start(version=version, actor=compliance_officer)
    with pytest.raises(ContentInvalid, match="say what changed"):
        draft_publish(draft=draft, revision=1, change_note="  ", material=True, actor=compliance_officer)
    with pytest.raises(ContentInvalid, match="same content"):
        draft_publish(draft=draft, revision=1, change_note=version.change_note, material=version.material, actor=None)
    assert version.course.versions.count() == 1


def test_draft_history_is_append_only(version):
    draft = draft_start(version=version, actor=None)
    row = draft.revisions.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        CourseDraftRevision.objects.filter(pk=row.pk).update(what="rewritten")
