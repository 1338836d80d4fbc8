"""Discarding a course draft (/dashboard/courses/drafts/<id>/discard/): who may, the confirmation step, the history
kept, the list no longer showing it, and a closed or stale draft left as it was."""

from __future__ import annotations

import pytest
from django.urls import reverse

from courses.drafts import DraftClosed, StaleDraft, draft_discard, draft_publish, draft_start
from courses.models import Course, CourseDraft, CourseDraftRevision, CourseVersion
from hipaa_training.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(catalog, compliance_officer) -> CourseDraft:
    version = CourseVersion.objects.current_for(Course.objects.get(slug="security-awareness"))
    assert version is not None
    return draft_start(version=version, actor=compliance_officer)


def discard_url(draft: CourseDraft) -> str:
    return reverse("records:course_discard", args=[draft.pk])


def _main(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1].split("</main>", 1)[0]


def _discarded() -> int:
    return AuditEvent.objects.filter(action="catalog.draft_discarded").count()


def _save_lesson(client, draft: CourseDraft, revision: int) -> None:
    url = reverse("records:course_lesson", args=[draft.pk, 1])
    assert client.post(url, {"revision": revision, "title": "Retitled", "body": "Changed text."}).status_code == 302


def test_discarding_checks_access(client, login, draft, employee, manager, auditor, compliance_officer, administrator):
    url = discard_url(draft)
    data = {"revision": 1, "confirmed": "yes"}
    anonymous = client.post(url, data)
    assert anonymous.status_code == 302 and "/login/" in anonymous.url
    for person in (employee, manager, auditor):  # auditors read drafts and their history, never discard
        assert login(person).post(url, data).status_code == 403
    assert login(compliance_officer).get(url).status_code == 405  # POST only
    assert login(administrator).post(url, {"revision": 1}).status_code == 200  # the confirmation step
    assert CourseDraft.objects.get(pk=draft.pk).is_open and _discarded() == 0
    done = login(compliance_officer).post(url, data)
    assert done.status_code == 302 and done.url == reverse("records:course_list")
    assert CourseDraft.objects.get(pk=draft.pk).discarded_at is not None
    event = AuditEvent.objects.get(action="catalog.draft_discarded")
    assert (event.actor_id, event.data) == (compliance_officer.pk, {"course": "security-awareness", "revision": 1})


def test_the_draft_page_asks_to_confirm_first_and_auditors_see_no_button(login, draft, compliance_officer, auditor):
    officer = login(compliance_officer)
    _save_lesson(officer, draft, 1)
    page = _main(officer.get(reverse("records:course_draft", args=[draft.pk])))
    assert f'action="{discard_url(draft)}"' in page and "Discard this draft" in page
    asked = _main(officer.post(discard_url(draft), {"revision": 2}))
    assert "Discard the draft of Security awareness?" in asked
    assert "Version 1 stays the current version" in asked and "2 saved revisions" in asked
    assert 'name="revision" value="2"' in asked and 'name="confirmed" value="yes"' in asked
    assert CourseDraft.objects.get(pk=draft.pk).is_open and _discarded() == 0
    assert discard_url(draft) not in _main(login(auditor).get(reverse("records:course_draft", args=[draft.pk])))


def test_a_discarded_draft_keeps_its_history_and_leaves_the_list(login, draft, compliance_officer, auditor):
    officer = login(compliance_officer)
    _save_lesson(officer, draft, 1)
    revisions = list(CourseDraftRevision.objects.filter(draft=draft).order_by("revision").values())
    draft_link = f'href="{reverse("records:course_draft", args=[draft.pk])}"'
    assert draft_link in _main(officer.get(reverse("records:course_list")))

    listed = officer.post(discard_url(draft), {"revision": 2, "confirmed": "yes"}, follow=True)
    assert "The draft of Security awareness was discarded; its history is kept." in listed.content.decode()
    assert draft_link not in _main(listed)  # no longer an open draft of the course
    assert list(CourseDraftRevision.objects.filter(draft=draft).order_by("revision").values()) == revisions
    assert CourseVersion.objects.filter(course__slug="security-awareness").count() == 1

    history = _main(login(auditor).get(reverse("records:course_draft_history", args=[draft.pk])))
    assert "Revision 2: edited lesson 1" in history and compliance_officer.email in history
    page = _main(login(auditor).get(reverse("records:course_draft", args=[draft.pk])))
    assert '<span class="badge">discarded' in page
    closed = _main(login(compliance_officer).get(reverse("records:course_draft", args=[draft.pk])))
    assert discard_url(draft) not in closed and '<form method="post" class="card editor"' not in closed


def test_discarding_a_published_or_discarded_draft_changes_nothing(login, draft, compliance_officer):
    officer = login(compliance_officer)
    _save_lesson(officer, draft, 1)
    draft_publish(draft=draft, revision=2, change_note="Retitled lesson 1.", material=False, actor=compliance_officer)
    other = draft_start(version=CourseVersion.objects.get(course__slug="privacy-essentials"), actor=compliance_officer)
    draft_discard(draft=other, revision=1, actor=compliance_officer)
    before = {d.pk: (d.published_version_id, d.discarded_at, d.revision) for d in CourseDraft.objects.all()}
    events = _discarded()
    for closed, revision in ((draft, 2), (other, 1)):
        for data in ({"revision": revision}, {"revision": revision, "confirmed": "yes"}):
            response = officer.post(discard_url(closed), data, follow=True)
            assert response.redirect_chain[-1][0] == reverse("records:course_draft", args=[closed.pk])
            assert "This draft is published or discarded already: nothing was changed." in response.content.decode()
        with pytest.raises(DraftClosed):
            draft_discard(draft=closed, revision=revision, actor=compliance_officer)
    assert {d.pk: (d.published_version_id, d.discarded_at, d.revision) for d in CourseDraft.objects.all()} == before
    assert _discarded() == events


@pytest.mark.parametrize("revision", ["1", "", "x", "-1", "99"])
def test_a_stale_or_bad_revision_is_refused_and_the_draft_stays_open(login, draft, compliance_officer, revision):
    officer = login(compliance_officer)
    _save_lesson(officer, draft, 1)  # someone saved revision 2 after the page at revision 1 was read
    for data in ({"revision": revision}, {"revision": revision, "confirmed": "yes"}):
        response = officer.post(discard_url(draft), data, follow=True)
        assert response.redirect_chain[-1][0] == reverse("records:course_draft", args=[draft.pk])
        assert "The draft was not discarded." in response.content.decode()
    assert CourseDraft.objects.get(pk=draft.pk).is_open and _discarded() == 0
    with pytest.raises(StaleDraft):
        draft_discard(draft=draft, revision=1, actor=compliance_officer)
    assert CourseDraft.objects.get(pk=draft.pk).is_open


def test_an_unknown_draft_is_404(login, compliance_officer, catalog):
    assert (
        login(compliance_officer).post(reverse("records:course_discard", args=[999999]), {"revision": 1}).status_code
        == 404
    )
