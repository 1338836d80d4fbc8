"""The one way a course version is published, whether from the catalogue files (loader.py) or the browser editor.

A course's content is one structure (`Content`, the catalogue folder's fields as JSON). It is validated by one set
of rules (`content_problems`), written out as the catalogue folder (`course_files`, format in catalog/FORMAT.md)
and hashed in that folder form (`files_hash`), so a version downloaded and uploaded again keeps its hash. A
published `CourseVersion` and its lessons, questions and choices are never changed afterwards.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from hipaa_training import audit

from .markdown import render_markdown
from .models import Choice, Course, CourseVersion, Lesson, Question
from .quality import choice_length_warnings
from .signals import version_published

Content = dict[str, Any]

MIN_CHOICES, MAX_CHOICES = 3, 5
TEXT_FIELDS = ("title", "summary", "audience", "regulation")
MAX_FILE_BYTES = 1024 * 1024  # one lesson or one TOML file
MAX_LINE = 200  # titles and the regulation: one line each
MAX_TEXT = 100_000  # any other text (a lesson body included)
MAX_LESSONS, MAX_QUESTIONS = 99, 200


class CatalogError(Exception):
    """Content that cannot be published; the message names the file (or the field) and the problem."""


@dataclass(frozen=True)
class Problem:
    """One problem with content: `field` says where in the editor ("questions.2.choices"), `file` where in the
    catalogue folder ("questions.toml"), `text` what is wrong."""

    field: str
    file: str
    text: str

    def __str__(self) -> str:
        return f"{self.file}: {self.text}"


class ContentInvalid(CatalogError):
    def __init__(self, problems: list[Problem], where: str = "") -> None:
        self.problems = problems
        super().__init__("\n".join(f"{where}{p}" for p in problems))


@dataclass
class PublishResult:
    slug: str
    number: int
    published: bool
    version: CourseVersion | None = None
    warnings: list[str] = field(default_factory=list)


# --- the content structure ---


def blank_content(title: str = "") -> Content:
    return {
        "title": title,
        "summary": "",
        "audience": "",
        "regulation": "",
        "estimated_minutes": 30,
        "pass_mark": 80,
        "change_note": "",
        "material": True,
        "attestation": "",
        "lessons": [],
        "questions": [],
    }


def version_content(version: CourseVersion) -> Content:
    """A published version as content, from its rows (three queries)."""
    return {
        "title": version.title,
        "summary": version.summary,
        "audience": version.audience,
        "regulation": version.regulation,
        "estimated_minutes": version.estimated_minutes,
        "pass_mark": version.pass_mark,
        "change_note": version.change_note,
        "material": version.material,
        "attestation": version.attestation_text,
        "lessons": [{"title": lesson.title, "body": lesson.body_markdown} for lesson in version.lessons.all()],
        "questions": [
            {
                "prompt": q.prompt,
                "kind": q.kind,
                "explanation": q.explanation,
                "choices": [{"text": c.text, "correct": c.correct, "why": c.why} for c in q.choices.all()],
            }
            for q in _questions(version)
        ],
    }


def _questions(version: CourseVersion) -> Any:
    if "questions" in getattr(version, "_prefetched_objects_cache", {}):
        return version.questions.all()
    return version.questions.prefetch_related("choices")


def normalised(content: Content) -> Content:
    """The content as it is stored and hashed: texts stripped, each lesson body ending in one newline."""

    def text(value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    out = {key: text(content.get(key)) for key in blank_content()}
    out["lessons"] = [
        {"title": text(lesson.get("title")), "body": _body(lesson.get("body"))} for lesson in content.get("lessons", [])
    ]
    out["questions"] = [
        {
            "prompt": text(q.get("prompt")),
            "kind": q.get("kind"),
            "explanation": text(q.get("explanation")),
            "choices": [
                {"text": text(c.get("text")), "correct": c.get("correct"), "why": text(c.get("why", "")) or ""}
                for c in q.get("choices", [])
            ],
        }
        for q in content.get("questions", [])
    ]
    return out


def _body(value: Any) -> Any:
    return value.strip() + "\n" if isinstance(value, str) and value.strip() else value


# --- validation: the same rules for files and the editor ---

_CODE_BLOCK = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_RAW_HTML = re.compile(r"(?<!\\)<(?:/?[A-Za-z][A-Za-z0-9-]*(?=[\s/>])|!|\?)")
_IMAGE = re.compile(r"!\[[^\]]*\]\(")


def markdown_problem(body: str) -> str | None:
    """Why a lesson's Markdown is refused, or None: no raw HTML (tags, comments), no images."""
    prose = _CODE_SPAN.sub("", _CODE_BLOCK.sub("", body))
    found = _RAW_HTML.search(prose)
    if found:
        snippet = prose[found.start() : found.start() + 30].split("\n")[0]
        return f"raw HTML is not allowed in a lesson (found {snippet!r}); write Markdown only"
    if _IMAGE.search(prose):
        return "images are not allowed in a lesson"
    return None


def _nonempty(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def lesson_file_name(position: int, title: str) -> str:
    return f"lessons/{position:02d}-{(slugify(title)[:60].strip('-') or 'lesson')}.md"


def overview_problems(content: Content) -> list[Problem]:
    problems = []
    for key in (*TEXT_FIELDS, "attestation"):
        value = content.get(key)
        limit = MAX_LINE if key in ("title", "regulation") else MAX_TEXT
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(key, "course.toml", f"'{key}' must be non-empty text"))
        elif len(value.strip()) > limit:
            problems.append(Problem(key, "course.toml", f"'{key}' must be at most {limit:,} characters"))
        elif "\x00" in value:
            problems.append(Problem(key, "course.toml", f"'{key}' must not contain NUL characters"))
    if not _whole(content.get("estimated_minutes"), 1, 600):
        problems.append(
            Problem("estimated_minutes", "course.toml", "'estimated_minutes' must be a whole number from 1 to 600")
        )
    if not _whole(content.get("pass_mark"), 1, 100):
        problems.append(Problem("pass_mark", "course.toml", "'pass_mark' must be a whole number from 1 to 100"))
    if not isinstance(content.get("material", True), bool):
        problems.append(Problem("material", "course.toml", "'material' must be true or false"))
    note = content.get("change_note", "")
    if not isinstance(note, str) or len(note) > MAX_TEXT or "\x00" in note:
        problems.append(Problem("change_note", "course.toml", f"'change_note' must be text of at most {MAX_TEXT:,}"))
    return problems


def lesson_problems(number: int, lesson: dict[str, Any], file: str | None = None) -> list[Problem]:
    file = file or lesson_file_name(number, str(lesson.get("title") or ""))
    where = f"lessons.{number}"
    problems = []
    title, body = lesson.get("title"), lesson.get("body")
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem(f"{where}.title", file, "the lesson needs a title"))
    elif "\n" in title.strip() or len(title.strip()) > MAX_LINE or "\x00" in title:
        problems.append(Problem(f"{where}.title", file, f"the lesson title must be one line of at most {MAX_LINE}"))
    if not isinstance(body, str) or not body.strip():
        problems.append(Problem(f"{where}.body", file, "the lesson has no body"))
    elif len(body) > MAX_TEXT or "\x00" in body:
        problems.append(Problem(f"{where}.body", file, f"the lesson must be text of at most {MAX_TEXT:,} characters"))
    else:
        why = markdown_problem(body)
        if why:
            problems.append(Problem(f"{where}.body", file, why))
    return problems


def _long(value: Any) -> bool:
    return isinstance(value, str) and (len(value) > MAX_TEXT or "\x00" in value)


def question_problems(number: int, raw: dict[str, Any]) -> list[Problem]:
    file, where, label = "questions.toml", f"questions.{number}", f"question {number}: "
    problems = []
    for key in ("prompt", "explanation"):
        if _long(raw.get(key)):
            problems.append(Problem(f"{where}.{key}", file, f"{label}'{key}' is over {MAX_TEXT:,} characters"))
    if not _nonempty(raw.get("prompt")):
        problems.append(Problem(f"{where}.prompt", file, f"{label}'prompt' must be non-empty text"))
    kind = raw.get("kind")
    if kind not in (Question.SINGLE, Question.MULTIPLE):
        problems.append(Problem(f"{where}.kind", file, f'{label}\'kind\' must be "single" or "multiple"'))
    if not _nonempty(raw.get("explanation")):
        problems.append(Problem(f"{where}.explanation", file, f"{label}'explanation' must be non-empty text"))
    choices = raw.get("choices")
    if not isinstance(choices, list) or not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        count = len(choices) if isinstance(choices, list) else 0
        problems.append(
            Problem(
                f"{where}.choices",
                file,
                f"{label}needs {MIN_CHOICES} to {MAX_CHOICES} choices ([[question.choice]] entries), not {count}",
            )
        )
        return problems
    for c_number, choice in enumerate(choices, start=1):
        c_where, c_label = f"{where}.choices.{c_number}", f"{label}choice {c_number}: "
        if not isinstance(choice, dict):
            problems.append(Problem(c_where, file, f"{c_label}must be a table"))
            continue
        if not _nonempty(choice.get("text")):
            problems.append(Problem(f"{c_where}.text", file, f"{c_label}'text' must be non-empty text"))
        if _long(choice.get("text")) or _long(choice.get("why")):
            problems.append(Problem(c_where, file, f"{c_label}text over {MAX_TEXT:,} characters"))
        correct = choice.get("correct")
        if not isinstance(correct, bool):
            problems.append(Problem(f"{c_where}.correct", file, f"{c_label}'correct' must be true or false"))
        elif not correct and not _nonempty(choice.get("why")):
            problems.append(Problem(f"{c_where}.why", file, f"{c_label}a wrong choice needs a 'why'"))
    n_correct = sum(isinstance(c, dict) and c.get("correct") is True for c in choices)
    if kind == Question.SINGLE and n_correct != 1:
        problems.append(
            Problem(f"{where}.choices", file, f"{label}a single-answer question needs exactly one correct choice")
        )
    if kind == Question.MULTIPLE and n_correct < 2:
        problems.append(
            Problem(f"{where}.choices", file, f"{label}a multiple-answer question needs two or more correct choices")
        )
    return problems


def content_problems(content: Content, lesson_files: list[str] | None = None) -> list[Problem]:
    """Every problem that stops `content` being published; empty when it may be."""
    problems = overview_problems(content)
    lessons = content.get("lessons") or []
    if not lessons:
        problems.append(Problem("lessons", "lessons/", "no lessons: a course needs at least one"))
    if len(lessons) > MAX_LESSONS:
        problems.append(Problem("lessons", "lessons/", f"at most {MAX_LESSONS} lessons"))
    for number, lesson in enumerate(lessons, start=1):
        file = lesson_files[number - 1] if lesson_files and len(lesson_files) >= number else None
        problems += lesson_problems(number, lesson, file)
    questions = content.get("questions") or []
    if not questions:
        problems.append(Problem("questions", "questions.toml", "no [[question]] entries: a course needs at least one"))
    if len(questions) > MAX_QUESTIONS:
        problems.append(Problem("questions", "questions.toml", f"at most {MAX_QUESTIONS} questions"))
    for number, question in enumerate(questions, start=1):
        problems += question_problems(number, question)
    return problems


# --- the catalogue folder form ---


def _toml_string(value: str) -> str:
    def escape(text: str, keep_newlines: bool) -> str:
        out = []
        for ch in text:
            if ch == "\\":
                out.append("\\\\")
            elif ch == '"':
                out.append('\\"')
            elif ch == "\n" and keep_newlines:
                out.append("\n")
            elif ch == "\t":
                out.append("\t")
            elif ord(ch) < 0x20 or ord(ch) == 0x7F:
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(ch)
        return "".join(out)

    if "\n" in value:
        return '"""\n' + escape(value, keep_newlines=True) + '"""'
    return '"' + escape(value, keep_newlines=False) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _toml_string(str(value))


def course_files(content: Content) -> dict[str, bytes]:
    """The catalogue folder of `content` (valid, normalised): relative path -> bytes, as FORMAT.md describes."""
    c = normalised(content)
    meta = [
        f"{key} = {_toml_value(c[key])}"
        for key in (*TEXT_FIELDS, "estimated_minutes", "pass_mark", "change_note", "material")
    ]
    meta.append(f"attestation = {_toml_value(c['attestation'])}")
    files = {"course.toml": ("\n".join(meta) + "\n").encode()}
    for position, lesson in enumerate(c["lessons"], start=1):
        files[lesson_file_name(position, lesson["title"])] = f"# {lesson['title']}\n\n{lesson['body']}".encode()
    blocks = []
    for q in c["questions"]:
        lines = [
            "[[question]]",
            f"prompt = {_toml_value(q['prompt'])}",
            f"kind = {_toml_value(q['kind'])}",
            f"explanation = {_toml_value(q['explanation'])}",
        ]
        for choice in q["choices"]:
            lines += ["", "  [[question.choice]]", f"  text = {_toml_value(choice['text'])}"]
            lines.append(f"  correct = {_toml_value(choice['correct'])}")
            if choice["why"]:
                lines.append(f"  why = {_toml_value(choice['why'])}")
        blocks.append("\n".join(lines) + "\n")
    files["questions.toml"] = "\n".join(blocks).encode()
    return files


def files_hash(files: dict[str, bytes]) -> str:
    """SHA-256 over the folder's files in path order: each relative path and its bytes, NUL-terminated."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0")
        digest.update(files[path] + b"\0")
    return digest.hexdigest()


def content_hash_of(content: Content) -> str:
    """The content hash: of the catalogue-folder form, so the files and the editor agree."""
    return files_hash(course_files(content))


def _read_toml(files: dict[str, bytes], name: str, where: str) -> dict[str, Any]:
    raw = files.get(name)
    if raw is None:
        raise CatalogError(f"{where}{name}: file is missing")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CatalogError(f"{where}{name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{where}{name}: not valid TOML ({exc})") from None


def parse_files(files: dict[str, bytes], where: str = "") -> Content:
    """Read a catalogue folder (relative path -> bytes) into content, validated; `where` prefixes each file name
    in messages (the folder's path). Raises CatalogError naming the file and the problem."""
    meta = _read_toml(files, "course.toml", where)
    raw_questions = _read_toml(files, "questions.toml", where).get("question")
    content: Content = {key: meta.get(key, blank_content()[key]) for key in (*TEXT_FIELDS, "attestation")}
    for key in ("estimated_minutes", "pass_mark"):
        content[key] = meta.get(key)
    content["change_note"] = meta.get("change_note", "")
    content["material"] = meta.get("material", True)
    lesson_names = sorted(name for name in files if name.startswith("lessons/") and name.endswith(".md"))
    if not lesson_names:
        raise CatalogError(f"{where}lessons: no lessons (*.md) found")
    content["lessons"] = []
    for name in lesson_names:
        try:
            text = files[name].decode("utf-8")
        except UnicodeDecodeError:
            raise CatalogError(f"{where}{name}: not UTF-8 text") from None
        first, _, body = text.partition("\n")
        if not first.startswith("# ") or not first[2:].strip():
            raise CatalogError(f"{where}{name}: the first line must be the lesson title, as '# Title'")
        content["lessons"].append({"title": first[2:].strip(), "body": body})
    if not isinstance(raw_questions, list):
        raw_questions = []
    content["questions"] = [
        {
            "prompt": q.get("prompt"),
            "kind": q.get("kind"),
            "explanation": q.get("explanation"),
            "choices": q.get("choice") if isinstance(q.get("choice"), list) else [],
        }
        if isinstance(q, dict)
        else {}
        for q in raw_questions
    ]
    problems = content_problems(content, lesson_files=lesson_names)
    if problems:
        raise ContentInvalid(problems, where)
    return normalised(content)


# --- publishing ---


def publish_version(
    *,
    course: Course | str,
    content: Content,
    change_note: str,
    material: bool,
    actor: AbstractBaseUser | None = None,
    source: str = "files",
) -> PublishResult:
    """Publish `content` as the course's next immutable version, unless the current version has this exact
    content (then nothing happens). A material version assigns retraining (45 CFR 164.530(b)(2)(i)(C)) through
    the `version_published` signal, after commit."""
    content = normalised({**content, "change_note": change_note, "material": material})
    problems = content_problems(content)
    if problems:
        raise ContentInvalid(problems)
    new_hash = content_hash_of(content)
    with transaction.atomic():
        if isinstance(course, str):
            course, _ = Course.objects.get_or_create(slug=course, defaults={"title": content["title"]})
        course = Course.objects.select_for_update().get(pk=course.pk)
        current = CourseVersion.objects.current_for(course)
        warnings = choice_length_warnings(course.slug, _QuestionView.of(content))
        # An older version's stored hash may be of its hand-written files: compare the content it holds too.
        if current is not None and new_hash in (current.content_hash, content_hash_of(version_content(current))):
            return PublishResult(course.slug, current.number, False, current, warnings)
        if course.title != content["title"]:
            course.title = content["title"]
            course.save(update_fields=["title"])
        version = CourseVersion.objects.create(
            course=course,
            number=(current.number + 1) if current else 1,
            published_at=timezone.now(),
            content_hash=new_hash,
            change_note=content["change_note"],
            material=content["material"],
            title=content["title"],
            summary=content["summary"],
            audience=content["audience"],
            regulation=content["regulation"],
            estimated_minutes=content["estimated_minutes"],
            pass_mark=content["pass_mark"],
            attestation_text=content["attestation"],
        )
        Lesson.objects.bulk_create(
            Lesson(
                version=version,
                position=i,
                title=lesson["title"],
                body_markdown=lesson["body"],
                body_html=render_markdown(lesson["body"]),
            )
            for i, lesson in enumerate(content["lessons"], start=1)
        )
        questions = Question.objects.bulk_create(
            Question(version=version, position=i, prompt=q["prompt"], kind=q["kind"], explanation=q["explanation"])
            for i, q in enumerate(content["questions"], start=1)
        )
        Choice.objects.bulk_create(
            Choice(question=question, position=j, text=c["text"], correct=c["correct"], why=c["why"])
            for question, q in zip(questions, content["questions"], strict=True)
            for j, c in enumerate(q["choices"], start=1)
        )
        audit.record(
            "catalog.version_published",
            actor=actor,
            subject=version,
            data={
                "course": course.slug,
                "number": version.number,
                "content_hash": new_hash,
                "material": version.material,
                "change_note": version.change_note,
                "source": source,
            },
        )
        transaction.on_commit(lambda: version_published.send(sender=CourseVersion, version=version))
    return PublishResult(course.slug, version.number, True, version, warnings)


@dataclass(frozen=True)
class _ChoiceView:
    text: str
    correct: bool


@dataclass(frozen=True)
class _QuestionView:
    prompt: str
    kind: str
    choices: list[_ChoiceView]

    @classmethod
    def of(cls, content: Content) -> list[_QuestionView]:
        return [
            cls(q["prompt"], q["kind"], [_ChoiceView(c["text"], c["correct"]) for c in q["choices"]])
            for q in content["questions"]
        ]


def content_json(content: Content) -> str:
    return json.dumps(normalised(content), sort_keys=True, ensure_ascii=False)
