"""What changed between two versions of a course: the overview, each lesson, each question, the statement."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from .publishing import Content, normalised

OVERVIEW = (
    ("title", "Title"),
    ("summary", "Summary"),
    ("audience", "Audience"),
    ("regulation", "Regulation"),
    ("estimated_minutes", "Estimated minutes"),
    ("pass_mark", "Pass mark"),
)


@dataclass
class Change:
    """One changed item: `status` is "added", "removed" or "changed"; `lines` a unified diff of its text."""

    label: str
    status: str
    lines: list[str] = field(default_factory=list)


@dataclass
class VersionDiff:
    overview: list[Change]
    lessons: list[Change]
    questions: list[Change]
    statement: Change | None

    @property
    def is_empty(self) -> bool:
        return not (self.overview or self.lessons or self.questions or self.statement)

    def as_dict(self) -> dict[str, Any]:
        def one(c: Change) -> dict[str, Any]:
            return {"label": c.label, "status": c.status, "lines": c.lines}

        return {
            "overview": [one(c) for c in self.overview],
            "lessons": [one(c) for c in self.lessons],
            "questions": [one(c) for c in self.questions],
            "statement": one(self.statement) if self.statement else None,
        }


def _lines(old: str, new: str) -> list[str]:
    diff = difflib.unified_diff(old.splitlines(), new.splitlines(), "before", "after", lineterm="", n=2)
    return [line for line in diff if not line.startswith(("---", "+++"))]


def _lesson_text(lesson: dict[str, Any]) -> str:
    return f"# {lesson['title']}\n\n{lesson['body']}"


def _question_text(q: dict[str, Any]) -> str:
    rows = [f"{q['prompt']}", f"({q['kind']} answer)"]
    for c in q["choices"]:
        rows.append(f"[{'x' if c['correct'] else ' '}] {c['text']}")
        if c["why"]:
            rows.append(f"    why: {c['why']}")
    rows.append(f"Explanation: {q['explanation']}")
    return "\n".join(rows)


def _items(kind: str, old: list[str], new: list[str], titles: list[str], old_titles: list[str]) -> list[Change]:
    """Items compared by position; the rest added or removed at the end."""
    changes = []
    for i in range(max(len(old), len(new))):
        label = f"{kind} {i + 1}: {titles[i] if i < len(new) else old_titles[i]}"
        if i >= len(old):
            changes.append(Change(label, "added", [f"+{line}" for line in new[i].splitlines()]))
        elif i >= len(new):
            changes.append(Change(label, "removed", [f"-{line}" for line in old[i].splitlines()]))
        elif old[i] != new[i]:
            changes.append(Change(label, "changed", _lines(old[i], new[i])))
    return changes


def content_diff(before: Content | None, after: Content) -> VersionDiff:
    """The diff of `after` against `before` (None: the first version, everything added)."""
    new = normalised(after)
    old = normalised(before) if before is not None else normalised({"lessons": [], "questions": []})
    overview = [
        Change(label, "changed", _lines(str(old.get(key) or ""), str(new.get(key) or "")))
        for key, label in OVERVIEW
        if old.get(key) != new.get(key)
    ]
    lessons = _items(
        "Lesson",
        [_lesson_text(x) for x in old["lessons"]],
        [_lesson_text(x) for x in new["lessons"]],
        [x["title"] for x in new["lessons"]],
        [x["title"] for x in old["lessons"]],
    )
    questions = _items(
        "Question",
        [_question_text(x) for x in old["questions"]],
        [_question_text(x) for x in new["questions"]],
        [x["prompt"][:80] for x in new["questions"]],
        [x["prompt"][:80] for x in old["questions"]],
    )
    statement = None
    if (old.get("attestation") or "") != new["attestation"]:
        statement = Change("Attestation statement", "changed", _lines(old.get("attestation") or "", new["attestation"]))
    return VersionDiff(overview, lessons, questions, statement)
