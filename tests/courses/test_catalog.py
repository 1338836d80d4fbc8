from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from courses.loader import CatalogError, default_catalog_dir, load_catalog
from courses.models import Course, CourseVersion, Lesson, Question
from hipaa_training.models import AuditEvent

EXPECTED = {
    "security-awareness",
    "privacy-essentials",
    "confidentiality-basics",
    "billing-privacy",
    "patient-communication",
    "privileged-access-security",
    "leadership-oversight",
    "compliance-program",
}


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), target)
    return target


@pytest.fixture
def empty_catalog_dir(tmp_path: Path) -> Path:
    """The real catalogue under new slugs, so that it loads into a database that already holds it."""
    target = tmp_path / "fresh"
    target.mkdir()
    for folder in default_catalog_dir().iterdir():
        if folder.is_dir():
            shutil.copytree(folder, target / f"fresh-{folder.name}")
    return target


@pytest.mark.django_db
def test_the_catalogue_loads_every_module_of_the_design(empty_catalog_dir: Path):
    assert {c.slug for c in Course.objects.all()} == EXPECTED  # published once for the test database
    versions, events = (
        CourseVersion.objects.count(),
        AuditEvent.objects.filter(action="catalog.version_published").count(),
    )

    results = load_catalog(empty_catalog_dir)

    assert {r.slug for r in results} == {f"fresh-{slug}" for slug in EXPECTED}
    assert all(r.published and r.number == 1 for r in results)
    assert CourseVersion.objects.count() == versions + 8
    assert AuditEvent.objects.filter(action="catalog.version_published").count() == events + 8


@pytest.mark.django_db
def test_loading_twice_changes_nothing(capsys):
    call_command("load_catalog")
    before = (CourseVersion.objects.count(), Lesson.objects.count(), Question.objects.count())
    call_command("load_catalog")
    assert (CourseVersion.objects.count(), Lesson.objects.count(), Question.objects.count()) == before
    out = capsys.readouterr().out
    assert "version 1 unchanged" in out
    assert "published" not in out


@pytest.mark.django_db
def test_a_changed_lesson_publishes_version_2_and_keeps_version_1(catalog_copy: Path):
    lesson = sorted((catalog_copy / "billing-privacy" / "lessons").glob("*.md"))[0]
    lesson.write_text(lesson.read_text() + "\n## A new section\n\nNew guidance on payer portals.\n")

    results = {r.slug: r for r in load_catalog(catalog_copy)}

    assert results["billing-privacy"].published and results["billing-privacy"].number == 2
    assert sum(r.published for r in results.values()) == 1
    course = Course.objects.get(slug="billing-privacy")
    v1, v2 = course.versions.order_by("number")
    assert v1.content_hash != v2.content_hash
    assert "New guidance on payer portals" not in v1.lessons.get(position=1).body_markdown
    assert "New guidance on payer portals" in v2.lessons.get(position=1).body_markdown
    assert CourseVersion.objects.current_for(course) == v2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("relative", "content", "problem"),
    [
        ("questions.toml", "[[question]\nprompt = ", "not valid TOML"),
        ("course.toml", 'title = ""\n', "'title' must be non-empty text"),
        ("lessons/01-x.md", "No title line\n\nbody", "first line must be the lesson title"),
    ],
)
def test_a_malformed_file_is_rejected_naming_the_file_and_nothing_is_published(
    catalog_copy: Path, relative: str, content: str, problem: str
):
    versions = CourseVersion.objects.count()
    course_dir = catalog_copy / "patient-communication"
    (course_dir / "lessons" / "02-extra.md").write_text("# A changed course\n\nThat would be version 2.\n")
    target = course_dir / relative
    if relative.startswith("lessons/"):
        for old in (course_dir / "lessons").glob("01-*.md"):
            old.unlink()
    target.write_text(content)

    with pytest.raises(CommandError) as excinfo:
        call_command("load_catalog", dir=catalog_copy)

    message = str(excinfo.value)
    assert str(target) in message
    assert problem in message
    assert Course.objects.get(slug="patient-communication").versions.count() == 1  # nothing new published
    assert CourseVersion.objects.count() == versions


@pytest.mark.django_db
def test_a_single_answer_question_with_two_correct_choices_is_rejected(catalog_copy: Path):
    path = catalog_copy / "security-awareness" / "questions.toml"
    text = path.read_text()
    first_question_end = text.index("[[question]]", 10)
    head = text[:first_question_end].replace("correct = false", "correct = true")
    path.write_text(head + text[first_question_end:])
    with pytest.raises(CatalogError, match=r"questions\.toml: question 1: a single-answer question"):
        load_catalog(catalog_copy)


@pytest.mark.django_db
def test_every_module_has_substantive_content():
    load_catalog()
    for version in CourseVersion.objects.prefetch_related("lessons", "questions__choices"):
        lessons = list(version.lessons.all())
        questions = list(version.questions.all())
        assert len(lessons) >= 4, version
        assert all(len(lesson.body_markdown.split()) >= 300 for lesson in lessons), version
        assert len(questions) >= 8, version
        assert any(q.kind == Question.MULTIPLE for q in questions), version
        for q in questions:
            assert q.explanation
            assert all(c.why for c in q.choices.all() if not c.correct), q
        assert "45 CFR" in version.regulation
        assert len(version.attestation_text) > 100
        assert "sanction" in version.attestation_text.lower(), version


@pytest.mark.django_db
def test_security_awareness_covers_the_four_addressable_specifications():
    load_catalog()
    version = CourseVersion.objects.get(course__slug="security-awareness")
    text = " ".join(lesson.title + " " + lesson.body_markdown for lesson in version.lessons.all()).lower()
    for topic in ("security reminders", "malicious software", "log-in monitoring", "password management"):
        assert topic in text, topic
    assert "164.308(a)(5)" in text


@pytest.mark.django_db
def test_lesson_html_is_sanitised():
    from courses.markdown import render_markdown

    html = render_markdown("Hi <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>")
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html
