"""Policies in chromium, by keyboard: the officer adds a policy for the billing role and publishes it;
billing@demo.example reads it and acknowledges it, with a wrong name first (refused, nothing saved), then the
right one; the acknowledgement shows in the dashboard's coverage and in the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.browser.demo import seed_demo
from tests.browser.steps import sign_in, type_into
from tests.browser.test_officer_people import shoot
from tests.browser.test_take_course import ARGS, check_page, press

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Clean desk and printing"


def orm(query: Callable[[], Any]) -> Any:
    """Run a query outside Playwright's thread (its event loop forbids the ORM there)."""

    def run() -> Any:
        from django.db import connection

        try:
            return query()
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def acknowledgements() -> int:
    from records.models import PolicyAcknowledgement

    return PolicyAcknowledgement.objects.filter(version__policy__title=TITLE).count()


@pytest.fixture
def demo(live_server):
    seed_demo()
    from roles.models import User
    from tests.conftest import enrol_totp

    enrol_totp(User.objects.get(email="officer@demo.example"))
    billing = User.objects.filter(workforce_role__slug="billing", is_active=True).count()
    return {"billing_people": billing}


@pytest.fixture
def browser(demo):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


def test_officer_publishes_a_policy_and_billing_acknowledges_it(live_server, demo, browser):
    checked: set[str] = set()
    csp_violations: list[str] = []
    officer = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}).new_page()
    officer.on("console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(officer, "officer@demo.example", totp=True)

    press(officer, officer.get_by_role("navigation", name="Main").get_by_role("link", name="Policies"))
    officer.wait_for_url("**/dashboard/policies/")
    check_page(officer, checked, "policies")
    shoot(officer, "policies")
    assert "Review date approaching" in officer.locator("main").inner_text()  # the demo's sanctions policy
    press(officer, officer.get_by_role("link", name="Add a policy"))
    officer.wait_for_url("**/dashboard/policies/new/")
    check_page(officer, checked, "policy-new")
    type_into(officer, "#id_title", TITLE)
    type_into(officer, "#id_owner", "Olivia Officer, privacy officer")
    officer.get_by_label("Only the workforce roles chosen below").focus()
    officer.keyboard.press("Space")
    officer.get_by_label("Billing and revenue cycle", exact=True).focus()
    officer.keyboard.press("Space")
    press(officer, officer.get_by_role("button", name="Add the policy"))
    officer.wait_for_url("**/publish/")
    check_page(officer, checked, "policy-publish")
    type_into(officer, "#id_body_markdown", "## Printing\n\nDo not print claims. Shred any page with PHI **today**.")
    type_into(officer, "#id_change_note", "First version.")
    press(officer, officer.get_by_role("button", name="Publish"))
    officer.wait_for_selector(".message.success")
    check_page(officer, checked, "policy")
    shoot(officer, "policy-published")
    coverage = officer.locator("#coverage-heading + ul").inner_text()
    assert f"Billing and revenue cycle: 0/{demo['billing_people']} acknowledged" in coverage

    learner = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}).new_page()
    learner.on("console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(learner, "billing@demo.example", totp=False)
    learner.wait_for_url("**/training/")
    section = learner.locator("section", has=learner.get_by_role("heading", name="Policies to acknowledge"))
    assert TITLE in section.inner_text()
    press(learner, section.get_by_role("link", name=TITLE))
    learner.wait_for_selector(f"h1:has-text('{TITLE}')")
    check_page(learner, checked, "policy-read")
    shoot(learner, "policy-read")
    assert "Shred any page with PHI" in learner.locator("#policy-text").inner_text()

    type_into(learner, "#id_typed_name", "Billy Biller")
    press(learner, learner.get_by_role("button", name="I have read this policy and will follow it"))
    learner.wait_for_selector("#name-error")
    assert "Type your full name exactly" in learner.locator("#name-error").inner_text()
    check_page(learner, checked, "policy-refused")
    assert orm(acknowledgements) == 0  # refused: nothing saved

    learner.locator("#id_typed_name").fill("")
    type_into(learner, "#id_typed_name", "Billie Biller")
    press(learner, learner.get_by_role("button", name="I have read this policy and will follow it"))
    learner.wait_for_selector(".message.success")
    assert "You acknowledged this version" in learner.locator("main").inner_text()
    assert orm(acknowledgements) == 1

    officer.goto("/dashboard/")
    dashboard = officer.locator("#policies-heading").locator("..").inner_text()
    assert TITLE in dashboard and f"Billing and revenue cycle: 1/{demo['billing_people']} acknowledged" in dashboard

    officer.goto("/audit/")
    with officer.expect_download() as download:
        press(officer, officer.get_by_role("link", name="Policy acknowledgements"))
    with open(download.value.path(), encoding="utf-8") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    mine = [r for r in rows if r["policy"] == TITLE]
    assert len(mine) == 1 and mine[0]["email"] == "billing@demo.example" and mine[0]["typed_name"] == "Billie Biller"
    assert len(mine[0]["content_sha256"]) == 64
    assert csp_violations == [], csp_violations
