"""The compliance officer, in chromium and by keyboard: adds a new hire and sees their modules; moves a billing
person to intake, sees what the change will do, applies it, and sees the new module on the person's page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.demo import seed_demo
from tests.browser.steps import sign_in, type_into
from tests.browser.test_take_course import ARGS, check_page, press

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SCREENSHOTS", "/tmp/hipaa-screenshots"))


@pytest.fixture
def demo(live_server):
    """The demo company, with the officer's authenticator app enrolled (before the browser's loop starts)."""
    seed_demo()
    from roles.models import User
    from tests.conftest import enrol_totp

    enrol_totp(User.objects.get(email="officer@demo.example"))
    billie = User.objects.get(email="billing@demo.example")
    intake = User.objects.get(email="intake@demo.example")
    return {
        "billing_id": billie.pk,
        "billing_name": billie.full_name,
        "intake_name": intake.full_name,
        "billing_department_id": billie.department_id,
    }


@pytest.fixture
def browser(demo):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


def shoot(page, name: str) -> None:
    """Screenshots at 1280 and 375 px, to look at (SCREENSHOTS=dir)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(SHOTS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(SHOTS / f"{name}-375.png"), full_page=True)
    page.set_viewport_size(size)


def test_officer_adds_a_new_hire_and_moves_a_billing_person_to_intake(live_server, demo, browser):
    from tests.conftest import totp_code

    checked: set[str] = set()
    page = browser.new_page(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    csp_violations: list[str] = []
    page.on("console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto("/accounts/login/")
    type_into(page, "input[name=login]", "officer@demo.example")
    page.keyboard.press("Tab")
    page.keyboard.type("hipaa-demo-2026")
    page.keyboard.press("Enter")
    page.wait_for_selector("input[name=code]")
    type_into(page, "input[name=code]", totp_code())
    page.keyboard.press("Enter")
    page.wait_for_load_state()

    press(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="People"))
    page.wait_for_url("**/dashboard/people/")
    check_page(page, checked, "people")
    shoot(page, "people-list")

    # a new hire
    press(page, page.get_by_role("link", name="Add a person"))
    page.wait_for_url("**/dashboard/people/new/")
    check_page(page, checked, "new")
    type_into(page, "#id_full_name", "Nia Newhire")
    type_into(page, "#id_email", "BILLING@demo.example")  # someone has it already
    page.locator("#id_workforce_role").focus()
    page.locator("#id_workforce_role").select_option(label="Intake and patient communication")
    type_into(page, "#id_manager", "manager@demo.example")
    press(page, page.get_by_role("button", name="Add and invite"))
    page.wait_for_selector(".errorlist")
    assert "already has the e-mail address billing@demo.example" in page.locator("main").inner_text()
    check_page(page, checked, "new-refused")
    shoot(page, "person-new-refused")
    page.locator("#id_email").fill("")
    type_into(page, "#id_email", "nia.newhire@demo.example")
    press(page, page.get_by_role("button", name="Add and invite"))
    page.wait_for_url("**/added/")
    check_page(page, checked, "added")
    shoot(page, "person-added")
    body = page.locator("main").inner_text()
    assert "Nia Newhire was added" in body and "nia.newhire@demo.example" in body
    modules = page.locator("#assignments tbody th").all_inner_texts()
    assert modules and "Patient communication" in modules and "Security awareness" in modules

    # a billing person moves to intake
    page.goto("/dashboard/people/")
    type_into(page, "#id_q", "billing@demo.example")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=billing%40demo.example**")
    press(page, page.get_by_role("link", name=f"Manage {demo['billing_name']}"))
    page.wait_for_url(f"**/dashboard/people/{demo['billing_id']}/manage/")
    check_page(page, checked, "manage")
    shoot(page, "person-manage")
    page.locator("#id_workforce_role").focus()
    page.locator("#id_workforce_role").select_option(label="Intake and patient communication")
    press(page, page.get_by_role("button", name="Save"))
    page.wait_for_selector("h1:has-text('Check the change')")
    check_page(page, checked, "preview")
    shoot(page, "role-change-preview")
    sentence = page.locator("#plan-sentence").inner_text()
    assert "adds Patient communication due" in sentence
    assert "cancels Privacy in billing" in sentence and "keeps Security awareness" in sentence
    assert "not started" in sentence  # Billie has kept all her modules open, untouched, for the demo
    press(page, page.get_by_role("button", name="Apply the change"))
    page.wait_for_selector(".message.success")  # the preview and the manage page share one URL
    assert "is now in Intake and patient communication" in page.locator("main").inner_text()
    assert "Patient communication" in page.locator("#assignments tbody").inner_text()

    press(page, page.get_by_role("link", name="Training transcript and evidence"))
    page.wait_for_url(f"**/dashboard/people/{demo['billing_id']}/")
    transcript = page.locator("main").inner_text()
    assert "Intake and patient communication" in transcript
    assert "Patient communication cycle 1 · Role change" in transcript
    shoot(page, "transcript-after")
    assert csp_violations == []


def test_officer_assigns_a_module_to_two_selected_people(live_server, demo, browser):
    """Select two people on the list (by keyboard), assign them a module by hand; the learner sees it."""
    checked: set[str] = set()
    page = browser.new_page(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    csp_violations: list[str] = []
    page.on("console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, "officer@demo.example", totp=True)

    page.goto("/dashboard/people/")
    check_page(page, checked, "people-bulk")
    for name in (demo["billing_name"], demo["intake_name"]):
        page.get_by_label(f"Select {name}", exact=True).focus()
        page.keyboard.press("Space")
    assert page.locator("#select-page").is_visible()  # the "everyone on this page" box (a few lines of JS)
    assert page.locator("#bulk_action_0").is_checked()  # "Assign a module" is the default
    page.locator("#bulk_course").focus()
    page.locator("#bulk_course").select_option(label="Leadership and vendor oversight")
    page.locator("#bulk_due_on").fill("2020-01-01")  # in the past: refused, the selection kept
    type_into(page, "#bulk_reason", "Covers for the practice manager this quarter")
    press(page, page.get_by_role("button", name="Apply to the selected people"))
    page.wait_for_selector("#bulk .errorlist")
    assert "is in the past" in page.locator("#bulk").inner_text()
    assert page.get_by_label(f"Select {demo['billing_name']}", exact=True).is_checked()
    check_page(page, checked, "people-bulk-refused")
    shoot(page, "people-bulk-refused")
    page.locator("#bulk_due_on").fill("")
    page.locator("#bulk_due_on").fill(_in_days(20))
    press(page, page.get_by_role("button", name="Apply to the selected people"))
    page.wait_for_selector(".message.success")
    assert "Leadership and vendor oversight assigned to 2 people." in page.locator("main").inner_text()
    shoot(page, "people-bulk-done")
    assert csp_violations == []

    learner = browser.new_page(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    sign_in(learner, "billing@demo.example", totp=False)
    learner.wait_for_url("**/training/")
    assert "Leadership and vendor oversight" in learner.locator("main").inner_text()


def _in_days(days: int) -> str:
    import datetime as dt

    from django.utils import timezone

    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def test_officer_requires_a_module_of_a_department(live_server, demo, browser):
    """The department page: the module and its terms, the consequence first, then applied."""
    checked: set[str] = set()
    page = browser.new_page(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    sign_in(page, "officer@demo.example", totp=True)
    page.goto(f"/dashboard/departments/{demo['billing_department_id']}/")
    check_page(page, checked, "department")
    page.locator("#req_course").focus()
    page.locator("#req_course").select_option(label="Patient communication")
    press(page, page.get_by_role("button", name="Show what it will do"))
    page.wait_for_selector("#requirement-preview")
    check_page(page, checked, "department-preview")
    shoot(page, "department-requirement-preview")
    sentences = page.locator("#plan-sentences").inner_text()
    assert "people will be assigned Patient communication, due within 90 days." in sentences
    press(page, page.get_by_role("button", name="Apply the change"))
    page.wait_for_selector(".message.success")
    assert "Patient communication" in page.locator("#department-requirements").inner_text()
    shoot(page, "department-requirements")
