"""The starter policy templates shipped with the product: five, each marked as a template, plain Markdown."""

from __future__ import annotations

import pytest

from courses.markdown import render_markdown
from courses.policies import TEMPLATE_MARK, policy_templates


def test_the_five_starter_policies_are_templates_to_adapt():
    templates = policy_templates()
    assert [t.slug for t in templates] == [
        "acceptable-use",
        "incident-reporting",
        "minimum-necessary",
        "sanctions",
        "workstation-remote-work",
    ]
    for t in templates:
        assert t.title and TEMPLATE_MARK in t.body_markdown.split("\n\n", 1)[0], t.slug
        assert "<" not in t.body_markdown.replace("<strong>", ""), t.slug  # no raw HTML
        assert len(t.body_markdown.split()) > 150, t.slug
        assert "<h2>" in render_markdown(t.body_markdown)


def test_a_template_without_the_mark_is_refused(tmp_path):
    (tmp_path / "bad.md").write_text("# A policy\n\nNo mark here.\n")
    with pytest.raises(ValueError, match="template mark"):
        policy_templates(tmp_path)
