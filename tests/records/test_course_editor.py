"""The course editor as officers, auditors and learners meet it: /dashboard/courses/."""

from __future__ import annotations

import html
import io
import re
import zipfile

import pytest
from django.test import TestCase
from django.urls import reverse

from courses.archive import content_zip, read_zip
from courses.drafts import draft_start
from courses.models import Course, CourseDraft, CourseDraftRevision, CourseVersion
from courses.publishing import content_hash_of
from hipaa_training.models import AuditEvent
from records.models import LessonView, QuizAttempt
from roles.models import Assignment
from tests.records.helpers import assignment_of, take
from tests.security.test_input import EVENT_HANDLER, MARKDOWN_PAYLOADS, XSS_PAYLOADS, assert_inert

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(catalog) -> CourseVersion:
    found = CourseVersion.objects.current_for(Course.objects.get(slug="security-awareness"))
    assert found is not None
    return found


@pytest.fixture
def draft(version, compliance_officer) -> CourseDraft:
    return draft_start(version=version, actor=compliance_officer)


def _main(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1].split("</main>", 1)[0]


# --- who may do what: every URL, three cases (and the auditor, who reads) ---

READ = ["course_list", "course_draft", "course_draft_history", "course_preview", "course_preview_lesson",
        "course_preview_check", "course_version", "course_version_download"]  # fmt: skip
EDIT_GET = ["course_draft_new", "course_upload", "course_lesson", "course_question", "course_publish"]
POST_ONLY = ["course_lesson_change", "course_question_change", "course_markdown_preview"]


def _url(name: str, draft: CourseDraft, version: CourseVersion) -> str:
    args: list[int] = []
    if name in ("course_draft", "course_draft_history", "course_preview", "course_preview_check", "course_publish"):
        args = [draft.pk]
    elif name in ("course_preview_lesson", "course_lesson", "course_question", "course_lesson_change",
                  "course_question_change"):  # fmt: skip
        args = [draft.pk, 1]
    elif name in ("course_version", "course_version_download"):
        args = [version.pk]
    return reverse(f"records:{name}", args=args)


@pytest.mark.parametrize("name", READ + EDIT_GET)
def test_anonymous_is_sent_to_sign_in(client, draft, version, name):
    response = client.get(_url(name, draft, version))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("name", READ + EDIT_GET + POST_ONLY)
def test_a_learner_and_a_manager_are_refused(login, employee, manager, draft, version, name):
    for person in (employee, manager):
        client = login(person)
        assert client.get(_url(name, draft, version)).status_code == 403
        assert client.post(_url(name, draft, version), {"revision": draft.revision, "action": "up"}).status_code == 403
    assert CourseDraft.objects.get(pk=draft.pk).revision == 1


@pytest.mark.parametrize("name", READ + EDIT_GET)
def test_officers_and_administrators_open_every_page(login, compliance_officer, administrator, draft, version, name):
    for person in (compliance_officer, administrator):
        response = login(person).get(_url(name, draft, version))
        assert response.status_code == 200, (person, name)


@pytest.mark.parametrize("name", READ)
def test_auditors_read_everything(login, auditor, draft, version, name):
    response = login(auditor).get(_url(name, draft, version))
    assert response.status_code == 200


@pytest.mark.parametrize("name", EDIT_GET + POST_ONLY)
def test_auditors_do_not_edit(login, auditor, draft, version, name):
    client = login(auditor)
    assert client.get(_url(name, draft, version)).status_code == 403
    assert client.post(_url(name, draft, version), {"revision": 1, "action": "up"}).status_code == 403
    assert CourseDraft.objects.get(pk=draft.pk).revision == 1


def test_an_auditor_cannot_save_the_overview(login, auditor, draft):
    response = login(auditor).post(reverse("records:course_draft", args=[draft.pk]), {"revision": 1, "title": "X"})
    assert response.status_code == 403  # auditor accounts are read-only (roles/readonly.py)
    assert CourseDraft.objects.get(pk=draft.pk).revision == 1


@pytest.mark.parametrize("name", POST_ONLY)
def test_post_only_pages_answer_get_with_405(login, compliance_officer, draft, version, name):
    assert login(compliance_officer).get(_url(name, draft, version)).status_code == 405


# --- the list ---


def test_the_list_shows_each_course_its_version_assignments_and_drafts(login, compliance_officer, employee, draft):
    response = login(compliance_officer).get(reverse("records:course_list"))
    page = _main(response)
    assert "Security awareness" in page and "Version 1" in page
    assert f'href="/dashboard/courses/drafts/{draft.pk}/"' in page
    assigned = Assignment.objects.filter(course__slug="security-awareness", cancelled_at__isnull=True).count()
    row = page.split("Security awareness</th>", 1)[1].split("</tr>", 1)[0]
    assert f"{assigned} people" in row or f"{assigned} person" in row


def test_the_list_takes_the_same_queries_for_more_courses_and_drafts(
    login, compliance_officer, version, django_assert_num_queries
):
    client = login(compliance_officer)
    client.get(reverse("records:course_list"))  # session and sign-in state warmed up
    draft_start(version=version, actor=compliance_officer)

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("records:course_list")).status_code == 200
        return len(queries)

    small = count()
    for v in CourseVersion.objects.current().exclude(pk=version.pk):
        draft_start(version=v, actor=compliance_officer)
        draft_start(version=v, actor=compliance_officer)
    draft_start(slug="our-own-module", title="Our own module", actor=compliance_officer)
    with django_assert_num_queries(small):
        assert client.get(reverse("records:course_list")).status_code == 200


# --- editing, with the rules next to the fields ---


def _overview(draft: CourseDraft, **changes) -> dict:
    c = draft.content
    data = {k: c[k] for k in ("title", "summary", "audience", "regulation", "estimated_minutes", "pass_mark")}
    data["attestation"] = c["attestation"]
    return {**data, "revision": draft.revision, **changes}


def test_the_overview_is_saved(login, compliance_officer, draft):
    response = login(compliance_officer).post(
        reverse("records:course_draft", args=[draft.pk]), _overview(draft, pass_mark=90, minutes=5)
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.content["pass_mark"] == 90 and draft.revision == 2
    assert draft.revisions.latest("revision").what == "overview"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pass_mark", "0", "from 1 to 100"),
        ("pass_mark", "abc", "Enter a whole number"),
        ("estimated_minutes", "601", "from 1 to 600"),
        ("attestation", "  ", "must be non-empty text"),
        ("title", "x" * 300, "at most 200"),
    ],
)
def test_a_bad_overview_field_is_shown_next_to_it_and_nothing_is_saved(
    login, compliance_officer, draft, field, value, message
):
    response = login(compliance_officer).post(
        reverse("records:course_draft", args=[draft.pk]), _overview(draft, **{field: value})
    )
    assert response.status_code == 400
    page = response.content.decode()
    field_block = page.split(f'name="{field}"', 1)[1].split("</p>", 1)[0]
    assert message in field_block
    draft.refresh_from_db()
    assert draft.revision == 1 and CourseDraftRevision.objects.filter(draft=draft).count() == 1


def _lesson_url(draft: CourseDraft, position: int) -> str:
    return reverse("records:course_lesson", args=[draft.pk, position])


def test_a_lesson_is_edited_added_moved_and_removed(login, compliance_officer, draft):
    client = login(compliance_officer)
    count = len(draft.content["lessons"])
    first = draft.content["lessons"][0]["title"]
    assert (
        client.post(_lesson_url(draft, 1), {"revision": 1, "title": "Changed", "body": "New **text**."}).status_code
        == 302
    )
    assert (
        client.post(_lesson_url(draft, count + 1), {"revision": 2, "title": "Added", "body": "More."}).status_code
        == 302
    )
    change = reverse("records:course_lesson_change", args=[draft.pk, count + 1])
    assert client.post(change, {"revision": 3, "action": "up"}).status_code == 302
    draft.refresh_from_db()
    titles = [lesson["title"] for lesson in draft.content["lessons"]]
    assert titles[0] == "Changed" and titles[-2] == "Added" and len(titles) == count + 1
    remove = reverse("records:course_lesson_change", args=[draft.pk, 1])
    assert client.post(remove, {"revision": 4, "action": "remove"}).status_code == 302
    draft.refresh_from_db()
    assert "Changed" not in [lesson["title"] for lesson in draft.content["lessons"]] and draft.revision == 5
    assert first not in [lesson["title"] for lesson in draft.content["lessons"]]
    assert list(draft.revisions.values_list("what", flat=True))[1:] == [
        "edited lesson 1",
        f"added lesson {count + 1}",
        f"moved up lesson {count + 1}",
        "removed lesson 1",
    ]


@pytest.mark.parametrize("payload", [p for p in XSS_PAYLOADS if p not in MARKDOWN_PAYLOADS])
def test_a_lesson_with_raw_html_is_refused_next_to_its_text(login, compliance_officer, draft, payload):
    response = login(compliance_officer).post(
        _lesson_url(draft, 1), {"revision": 1, "title": "Hostile", "body": f"Text.\n\n{payload}\n"}
    )
    assert response.status_code == 400
    page = _main(response)
    assert "raw HTML is not allowed" in page.split('name="body"', 1)[1]
    assert not EVENT_HANDLER.search(page.split('id="lesson-preview"', 1)[1])
    assert "<script" not in page.lower() and "<img" not in page.lower() and "<svg" not in page.lower()
    draft.refresh_from_db()
    assert draft.revision == 1


def test_hostile_markdown_is_inert_in_the_editor_the_preview_and_the_published_page(
    login, compliance_officer, employee, draft
):
    client = login(compliance_officer)
    body = "Read this.\n\n" + "\n\n".join(MARKDOWN_PAYLOADS) + "\n"
    saved = client.post(_lesson_url(draft, 1), {"revision": 1, "title": "Hostile links", "body": body})
    assert saved.status_code == 302
    editor = client.get(_lesson_url(draft, 1))
    assert_inert(_main(editor).split('id="lesson-preview"', 1)[1].split("</div>", 1)[0])
    live = client.post(reverse("records:course_markdown_preview"), {"body": "\n\n".join(XSS_PAYLOADS)})
    assert live.status_code == 200 and "raw HTML is not allowed" in live.content.decode()
    assert_inert(live.content.decode().split("</p>", 1)[1])
    player = client.get(reverse("records:course_preview_lesson", args=[draft.pk, 1]))
    assert "Read this." in _main(player)
    assert_inert(_main(player).split('class="lesson-body">', 1)[1].split("</article>", 1)[0])
    with TestCase.captureOnCommitCallbacks(execute=True):
        published = client.post(
            reverse("records:course_publish", args=[draft.pk]),
            {"revision": 2, "change_note": "Links.", "material": "no"},
        )
    assert published.status_code == 302
    lesson = CourseVersion.objects.current_for(draft.course).lessons.get(position=1)
    assert_inert(lesson.body_html)
    assignment = assignment_of(employee)
    page = login(employee).get(reverse("records:lesson", args=[assignment.pk, 1]))
    assert "Read this." in _main(page)
    assert_inert(_main(page).split('class="lesson-body">', 1)[1].split("</article>", 1)[0])


def test_the_no_script_preview_button_saves_nothing(login, compliance_officer, draft):
    response = login(compliance_officer).post(
        _lesson_url(draft, 1), {"revision": 1, "title": "T", "body": "## Heading\n\n*new*", "action": "preview"}
    )
    assert response.status_code == 200
    assert "<h2>Heading</h2>" in _main(response)
    draft.refresh_from_db()
    assert draft.revision == 1


def _question(**changes) -> dict:
    data = {
        "revision": 1,
        "prompt": "Which of these is a strong password habit?",
        "kind": "single",
        "explanation": "Long, unique passphrases resist guessing.",
        "choice_1_text": "A long passphrase used for one account only",
        "choice_1_correct": "on",
        "choice_2_text": "The same strong password on every account",
        "choice_2_why": "One breach then opens every account.",
        "choice_3_text": "A short password changed every single week",
        "choice_3_why": "Short passwords are guessed; forced changes weaken them.",
    }
    return {**data, **changes}


def test_a_question_is_added(login, compliance_officer, draft):
    position = len(draft.content["questions"]) + 1
    response = login(compliance_officer).post(
        reverse("records:course_question", args=[draft.pk, position]), _question()
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    added = draft.content["questions"][-1]
    assert added["kind"] == "single" and len(added["choices"]) == 3 and added["choices"][0]["correct"] is True


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {f"choice_{n}_text": f"Choice number {n} text" for n in (4, 5, 6)}
            | {f"choice_{n}_why": "Because." for n in (4, 5, 6)},
            None,
            "needs 3 to 5 choices",
        ),
        ({"choice_3_text": "", "choice_3_why": ""}, None, "needs 3 to 5 choices"),
        ({"choice_2_correct": "on"}, None, "exactly one correct choice"),
        ({"kind": "multiple"}, None, "two or more correct choices"),
        ({"choice_2_why": ""}, "choice_2_why", "a wrong choice needs a 'why'"),
        ({"explanation": ""}, "explanation", "'explanation' must be non-empty text"),
        ({"kind": ""}, "kind", 'must be "single" or "multiple"'),
    ],
)
def test_a_bad_question_is_refused_with_the_problem_and_saves_nothing(
    login, compliance_officer, draft, changes, field, message
):
    response = login(compliance_officer).post(
        reverse("records:course_question", args=[draft.pk, 1]), _question(**changes)
    )
    assert response.status_code == 400
    page = response.content.decode()
    if field:
        page = page.split(f'name="{field}"', 1)[1].split("</p>", 1)[0]
    assert message in html.unescape(page)
    draft.refresh_from_db()
    assert draft.revision == 1


# --- two officers, one draft ---


def test_the_later_save_on_a_stale_revision_is_refused_with_409_and_nothing_is_lost(
    client, compliance_officer, administrator, draft
):
    from tests.conftest import just_signed_in

    def signed_in(person):
        from django.test import Client

        other = Client()
        other.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
        just_signed_in(other, person)
        return other

    officer, admin = signed_in(compliance_officer), signed_in(administrator)
    url = _lesson_url(draft, 1)
    assert admin.post(url, {"revision": 1, "title": "Admin's title", "body": "Admin's text."}).status_code == 302
    response = officer.post(url, {"revision": 1, "title": "Officer's title", "body": "Officer's text."})
    assert response.status_code == 409
    page = _main(response)
    assert "Admin&#x27;s text." in page  # the draft as it now is, in the form
    assert "Officer&#x27;s text." in page  # the refused change, kept to copy
    draft.refresh_from_db()
    assert draft.content["lessons"][0]["body"] == "Admin's text.\n" or draft.content["lessons"][0]["body"].startswith(
        "Admin's text."
    )
    assert draft.revision == 2
    overview = officer.post(reverse("records:course_draft", args=[draft.pk]), _overview(draft, revision=1))
    assert overview.status_code == 409
    moved = officer.post(reverse("records:course_lesson_change", args=[draft.pk, 2]), {"revision": 1, "action": "up"})
    assert moved.status_code == 409
    assert CourseDraft.objects.get(pk=draft.pk).revision == 2


# --- preview as a learner: the real player, nothing recorded ---


def test_the_preview_uses_the_player_and_records_nothing(login, compliance_officer, draft):
    client = login(compliance_officer)
    client.post(_lesson_url(draft, 1), {"revision": 1, "title": "Brand new first lesson", "body": "Draft-only words."})
    views, attempts = LessonView.objects.count(), QuizAttempt.objects.count()
    overview = client.get(reverse("records:course_preview", args=[draft.pk]))
    assert "Brand new first lesson" in _main(overview) and "Nothing here is recorded" in _main(overview)
    for position in range(1, len(draft.content["lessons"]) + 1):
        page = client.get(reverse("records:course_preview_lesson", args=[draft.pk, position]))
        assert page.status_code == 200
    first = client.get(reverse("records:course_preview_lesson", args=[draft.pk, 1]))
    assert "Draft-only words." in _main(first)
    assert {t.name for t in first.templates} >= {"records/lesson.html", "records/_player_head.html"}
    check = client.get(reverse("records:course_preview_check", args=[draft.pk]), {"q1": "1"})
    assert check.status_code == 200 and "records/check.html" in {t.name for t in check.templates}
    assert draft.content["questions"][0]["prompt"][:40] in check.content.decode()
    assert (LessonView.objects.count(), QuizAttempt.objects.count()) == (views, attempts)
    assert client.get(reverse("records:course_preview_lesson", args=[draft.pk, 99])).status_code == 404


# --- publishing ---


def test_publishing_needs_a_change_note_and_the_material_flag(login, compliance_officer, draft):
    client = login(compliance_officer)
    client.post(reverse("records:course_draft", args=[draft.pk]), _overview(draft, pass_mark=85))
    response = client.post(reverse("records:course_publish", args=[draft.pk]), {"revision": 2, "change_note": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page.split('name="change_note"', 1)[1].split("</p>", 1)[0]
    assert "Say whether the change is material." in page
    assert draft.course.versions.count() == 1


def test_a_material_change_shows_the_retraining_count_first_then_assigns_it(login, compliance_officer, employee, draft):
    take(assignment_of(employee))
    client = login(compliance_officer)
    client.post(_lesson_url(draft, 1), {"revision": 1, "title": "Phishing, revised", "body": "New guidance."})
    url = reverse("records:course_publish", args=[draft.pk])
    from roles.assignments import retraining_if_material

    expected = retraining_if_material(draft.course_id)
    assert expected >= 1
    first = client.post(url, {"revision": 2, "change_note": "New phishing guidance.", "material": "yes"})
    assert first.status_code == 200
    assert f"assigns retraining to {expected} " in _main(first)
    assert draft.course.versions.count() == 1  # nothing published yet
    before = Assignment.objects.filter(reason=Assignment.NEW_VERSION).count()
    with TestCase.captureOnCommitCallbacks(execute=True):
        second = client.post(
            url, {"revision": 2, "change_note": "New phishing guidance.", "material": "yes", "confirmed": str(expected)}
        )
    assert second.status_code == 302
    version = CourseVersion.objects.current_for(draft.course)
    assert version.number == 2 and version.material and version.change_note == "New phishing guidance."
    assert Assignment.objects.filter(reason=Assignment.NEW_VERSION).count() == before + expected
    assert Assignment.objects.filter(user=employee, course=draft.course, reason=Assignment.NEW_VERSION).exists()
    diff = client.get(reverse("records:course_version", args=[version.pk]))
    page = _main(diff)
    assert (
        "What changed since version 1" in page and "Phishing, revised" in page and "<ins>+New guidance.</ins>" in page
    )
    assert client.get(url).status_code == 404  # the draft is closed


# --- zips both ways ---


def test_a_downloaded_version_uploads_as_a_draft_with_the_same_hash(login, compliance_officer, version):
    client = login(compliance_officer)
    response = client.get(reverse("records:course_version_download", args=[version.pk]))
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    event = AuditEvent.objects.filter(action="catalog.version_downloaded").latest("seq")
    assert event.actor_id == compliance_officer.pk and event.data["number"] == version.number
    data = b"".join(response.streaming_content) if response.streaming else response.content
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "security-awareness/course.toml" in names and "security-awareness/questions.toml" in names
    upload = io.BytesIO(data)
    upload.name = "security-awareness-v1.zip"
    posted = client.post(reverse("records:course_upload"), {"file": upload})
    assert posted.status_code == 302
    draft = CourseDraft.objects.latest("pk")
    assert draft.course == version.course and draft.based_on == version
    assert content_hash_of(draft.content) == version.content_hash
    assert draft.revisions.get().what == "uploaded from security-awareness-v1.zip"


def _zip(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _good_files(version: CourseVersion) -> dict[str, bytes | str]:
    archive = zipfile.ZipFile(io.BytesIO(content_zip("my-course", _content(version))))
    return {name: archive.read(name) for name in archive.namelist()}


def _content(version: CourseVersion) -> dict:
    from courses.publishing import version_content

    return version_content(version)


def _bad_zips(version: CourseVersion) -> list[tuple[str, bytes, str]]:
    good = _good_files(version)
    lesson = next(n for n in good if "/lessons/" in n)
    questions = str(good["my-course/questions.toml"], "utf-8")
    six = questions.replace(
        "[[question]]",
        "[[question]]",
    )
    first_end = six.index("[[question]]", 5)
    extra = '\n  [[question.choice]]\n  text = "Extra choice"\n  correct = false\n  why = "No."\n'
    block = six[:first_end]
    while block.count("[[question.choice]]") < 6:
        block = block.rstrip("\n") + "\n" + extra
    six = block + "\n" + six[first_end:]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in good.items():
            archive.writestr(name, data)
        archive.writestr("my-course/lessons/99-bomb.md", b"# Bomb\n\n" + b"A" * (20 * 1024 * 1024))
    many = {**good, **{f"my-course/lessons/{i:03d}-x.md": "# X\n\nY\n" for i in range(250)}}
    return [
        ("not a zip", b"this is not a zip file at all", "not a zip file"),
        (
            "missing",
            _zip({k: v for k, v in good.items() if not k.endswith("questions.toml")}),
            "questions.toml: file is missing",
        ),
        (
            "raw html",
            _zip({**good, lesson: "# Hostile\n\n<script>alert(1)</script>\n"}),
            f"{lesson}: raw HTML is not allowed",
        ),
        (
            "six choices",
            _zip({**good, "my-course/questions.toml": six}),
            "questions.toml: question 1: needs 3 to 5 choices",
        ),
        ("traversal", _zip({**good, "my-course/../../etc/passwd": "x"}), "climbs out of its folder"),
        ("absolute", _zip({**good, "/etc/passwd": "x"}), "absolute"),
        ("bomb", bomb.getvalue(), "once uncompressed"),
        ("many members", _zip(many), "more than 200"),
        ("unknown file", _zip({**good, "my-course/run.sh": "rm -rf /"}), "not a file of the course format"),
    ]


@pytest.mark.parametrize("case", range(9))
def test_a_bad_zip_is_refused_naming_the_file_and_the_problem(login, compliance_officer, version, case):
    label, data, problem = _bad_zips(version)[case]
    upload = io.BytesIO(data)
    upload.name = f"{label}.zip"
    drafts = CourseDraft.objects.count()
    response = login(compliance_officer).post(reverse("records:course_upload"), {"file": upload})
    assert response.status_code == 400, label
    page = html.unescape(response.content.decode())
    assert problem in page, (label, re.findall(r"<li>(.*?)</li>", page))
    assert CourseDraft.objects.count() == drafts


def test_a_new_course_from_a_zip_and_its_round_trip(version):
    slug, content = read_zip(content_zip("my-course", _content(version)))
    assert slug == "my-course" and content_hash_of(content) == version.content_hash


def test_a_new_blank_course_is_started_and_a_taken_slug_refused(login, compliance_officer):
    client = login(compliance_officer)
    taken = client.post(reverse("records:course_draft_new"), {"slug": "security-awareness", "title": "Again"})
    assert taken.status_code == 400 and "exists already" in taken.content.decode()
    made = client.post(reverse("records:course_draft_new"), {"slug": "our-module", "title": "Our module"})
    assert made.status_code == 302
    draft = CourseDraft.objects.get(slug="our-module")
    assert draft.course is None and draft.content["title"] == "Our module"
    assert not Course.objects.filter(slug="our-module").exists()


def test_an_auditor_reads_the_drafts_history_with_who_changed_what(login, compliance_officer, auditor, draft):
    login(compliance_officer).post(_lesson_url(draft, 1), {"revision": 1, "title": "Retitled", "body": "Changed text."})
    page = _main(login(auditor).get(reverse("records:course_draft_history", args=[draft.pk])))
    assert "Revision 2: edited lesson 1" in page and compliance_officer.email in page
    assert "<ins>+Changed text.</ins>" in page
    draft_page = _main(login(auditor).get(reverse("records:course_draft", args=[draft.pk])))
    assert "Retitled" in draft_page and '<form method="post" class="card editor"' not in draft_page
