"""One publishing service for the files and the editor: the same rules, the same hash, immutable versions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from courses.loader import CatalogError, content_hash, default_catalog_dir, load_catalog, read_folder
from courses.models import Course, CourseVersion
from courses.publishing import (
    ContentInvalid,
    content_hash_of,
    content_problems,
    course_files,
    parse_files,
    publish_version,
    version_content,
)
from tests.security.test_input import XSS_PAYLOADS

SLUGS = sorted(p.name for p in default_catalog_dir().iterdir() if p.is_dir())


@pytest.mark.parametrize("slug", SLUGS)
def test_the_folder_form_reads_back_to_the_same_content_and_hash(slug: str):
    content = parse_files(read_folder(default_catalog_dir() / slug))
    files = course_files(content)
    assert parse_files(files) == content
    assert content_hash_of(parse_files(files)) == content_hash(default_catalog_dir() / slug)


@pytest.mark.django_db
def test_a_published_version_holds_its_content_and_its_hash(catalog):
    version = CourseVersion.objects.current_for(Course.objects.get(slug="security-awareness"))
    assert version is not None
    content = version_content(version)
    assert content == parse_files(read_folder(default_catalog_dir() / "security-awareness"))
    assert content_hash_of(content) == version.content_hash


@pytest.mark.django_db
def test_a_version_hashed_from_its_old_files_is_not_published_again(catalog, tmp_path: Path, monkeypatch):
    """Versions published before the hash was of the folder form hold the hash of their hand-written files."""
    import courses.publishing

    folder = _copy(tmp_path, "billing-privacy")
    folder = folder.rename(folder.parent / "legacy-course")
    with monkeypatch.context() as patched:
        patched.setattr(courses.publishing, "content_hash_of", lambda content: "0" * 64)
        load_catalog(folder.parent)
    course = Course.objects.get(slug="legacy-course")
    assert course.versions.get().content_hash == "0" * 64
    results = {r.slug: r for r in load_catalog(folder.parent)}
    assert not results["legacy-course"].published
    assert course.versions.count() == 1


@pytest.mark.django_db
def test_the_editor_and_the_files_publish_the_same_version(catalog):
    course = Course.objects.get(slug="security-awareness")
    content = version_content(CourseVersion.objects.current_for(course))
    content["lessons"][0]["body"] += "\nOne more paragraph.\n"
    result = publish_version(course=course, content=content, change_note="A paragraph.", material=False, actor=None)
    assert result.published and result.number == 2 and result.version is not None
    assert result.version.content_hash == content_hash_of({**content, "change_note": "A paragraph.", "material": False})
    again = publish_version(course=course, content=content, change_note="A paragraph.", material=False, actor=None)
    assert not again.published and again.number == 2


def _copy(tmp_path: Path, slug: str = "security-awareness") -> Path:
    folder = tmp_path / "catalog" / slug
    shutil.copytree(default_catalog_dir() / slug, folder)
    return folder


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [p for p in XSS_PAYLOADS if "<" in p.replace("`<script>alert(1)</script>`", "")])
def test_a_lesson_with_raw_html_is_refused_naming_the_file(tmp_path: Path, payload: str):
    folder = _copy(tmp_path)
    lesson = sorted((folder / "lessons").glob("*.md"))[1]
    lesson.write_text(f"# Hostile\n\nSome text.\n\n{payload}\n")
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(folder.parent)
    assert f"{lesson}: raw HTML is not allowed" in str(excinfo.value)


def test_markdown_with_code_and_escapes_is_not_raw_html():
    content = parse_files(read_folder(default_catalog_dir() / "security-awareness"))
    content["lessons"][0]["body"] = (
        "Type `<script>` literally, or \\<b\\>; a link <https://example.org>.\n\n```\n<p>\n```\n"
    )
    assert content_problems(content) == []


@pytest.mark.parametrize("count", [2, 6])
def test_a_question_needs_three_to_five_choices(count: int):
    content = parse_files(read_folder(default_catalog_dir() / "security-awareness"))
    question = content["questions"][0]
    wrong = {"text": "Another choice", "correct": False, "why": "Because."}
    question["choices"] = [question["choices"][0], *[wrong] * (count - 1)] if count < 4 else question["choices"]
    while len(question["choices"]) < count:
        question["choices"].append(wrong)
    question["choices"] = question["choices"][:count]
    question["choices"][0] = {**question["choices"][0], "correct": True}
    for c in question["choices"][1:]:
        c["correct"] = False
    problems = content_problems(content)
    assert [p.field for p in problems] == ["questions.1.choices"]
    assert f"not {count}" in problems[0].text


@pytest.mark.django_db
def test_invalid_content_publishes_nothing(catalog):
    course = Course.objects.get(slug="security-awareness")
    content = version_content(CourseVersion.objects.current_for(course))
    content["questions"][0]["explanation"] = ""
    content["lessons"][0]["body"] = "<script>alert(1)</script>"
    with pytest.raises(ContentInvalid) as excinfo:
        publish_version(course=course, content=content, change_note="x", material=True, actor=None)
    assert {p.field for p in excinfo.value.problems} == {"questions.1.explanation", "lessons.1.body"}
    assert course.versions.count() == 1
