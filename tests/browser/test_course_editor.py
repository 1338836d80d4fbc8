"""The compliance officer, in chromium and by keyboard, edits a lesson of security awareness, previews it as a
learner, and publishes it as a material change; a learner who had completed the course is assigned retraining and
reads the new text."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.browser.demo import seed_demo
from tests.browser.steps import sign_in, type_into
from tests.browser.test_take_course import ARGS, check_page, press

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_TEXT = "Report a suspected phishing e-mail to privacy@demo.example within one hour."


@pytest.fixture
def demo(live_server):
    """The demo company, the officer's authenticator enrolled, and a learner who completed security awareness."""
    seed_demo()
    from django.db.models import Exists, OuterRef

    from roles.access import is_privileged
    from roles.models import Assignment, User
    from tests.conftest import enrol_totp

    enrol_totp(User.objects.get(email="officer@demo.example"))
    mine = Assignment.objects.filter(user=OuterRef("pk"), course__slug="security-awareness")
    candidates = (
        User.objects.filter(is_active=True, workforce_role__isnull=False, terminated_on__isnull=True)
        .filter(Exists(mine.filter(completed_at__isnull=False)))
        .exclude(Exists(mine.filter(completed_at__isnull=True, cancelled_at__isnull=True)))
        .order_by("email")
    )
    learner = next(p for p in candidates if not is_privileged(p))
    return {"learner": learner.email, "learner_id": learner.pk}


@pytest.fixture
def browser(demo):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


def test_officer_edits_previews_and_publishes_a_lesson_and_the_learner_is_retrained(live_server, demo, browser):
    checked: set[str] = set()
    page = browser.new_page(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    csp_violations: list[str] = []
    page.on("console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, "officer@demo.example", totp=True)

    press(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Courses"))
    page.wait_for_url("**/dashboard/courses/")
    check_page(page, checked, "courses")
    press(page, page.get_by_role("button", name="Start a draft of Security awareness"))
    page.wait_for_url("**/dashboard/courses/drafts/*/")
    check_page(page, checked, "draft")

    press(page, page.locator("#lessons ol a").first)
    page.wait_for_url("**/lessons/1/")
    page.locator("#id_body").focus()
    page.keyboard.press("Control+End")
    page.keyboard.type(f"\n\n{NEW_TEXT}\n")
    page.wait_for_function(
        "(text) => document.getElementById('lesson-preview').innerText.includes(text)", arg=NEW_TEXT
    )  # the live preview, rendered and sanitised by the server
    check_page(page, checked, "lesson editor")
    press(page, page.get_by_role("button", name="Save the lesson"))
    page.wait_for_url("**/dashboard/courses/drafts/*/#lessons")
    assert "Lesson 1 was saved." in page.content()

    press(page, page.get_by_role("link", name="Preview as a learner"))
    page.wait_for_url("**/preview/")
    check_page(page, checked, "preview overview")
    press(page, page.get_by_role("link", name="Start the first lesson"))
    page.wait_for_url("**/preview/lessons/1/")
    check_page(page, checked, "preview lesson")
    assert NEW_TEXT in page.inner_text("article")
    assert "Nothing here is recorded" in page.inner_text("main")

    press(page, page.get_by_role("link", name="Draft of Security awareness"))
    press(page, page.get_by_role("link", name="Publish", exact=True))
    page.wait_for_url("**/publish/")
    check_page(page, checked, "publish")
    assert "<ins>+" in page.content()  # the diff against the current version
    type_into(page, "#id_change_note", "Our one-hour reporting window for phishing.")
    page.get_by_label("Material: everyone who completed the course is assigned retraining").focus()
    page.keyboard.press("Space")
    press(page, page.get_by_role("button", name="Publish", exact=True))
    page.wait_for_selector("text=This material change assigns retraining to")
    press(page, page.get_by_role("button", name="Publish and assign retraining"))
    page.wait_for_url("**/dashboard/courses/versions/*/")
    check_page(page, checked, "version")
    assert "What changed since version" in page.inner_text("main")
    assert NEW_TEXT in page.content()  # inside the lesson's closed disclosure
    assert csp_violations == []

    learner = browser.new_page(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    sign_in(learner, demo["learner"])
    learner.wait_for_url("**/training/")
    row = learner.get_by_role("row").filter(has_text="Security awareness")
    press(learner, row.get_by_role("link").first)
    learner.wait_for_selector("h1:has-text('Security awareness')")
    press(learner, learner.get_by_role("link", name="Start the first lesson"))
    learner.wait_for_url("**/lessons/1/")
    assert NEW_TEXT in learner.inner_text("article")

    def open_retraining() -> bool:
        from django.db import connection

        from roles.models import Assignment

        try:
            return (
                Assignment.objects.filter(
                    user_id=demo["learner_id"], course__slug="security-awareness", reason=Assignment.NEW_VERSION
                )
                .open()
                .exists()
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:  # the ORM, outside Playwright's event loop
        assert pool.submit(open_retraining).result()
