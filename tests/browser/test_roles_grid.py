"""The compliance officer adds a requirement to a role in the roles grid, in chromium and by keyboard: sees how
many people will be assigned, applies it, and those people see the module on /training/. Every page passes
axe-core and fits a 375 px screen (the grid scrolls inside its own box)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.demo import seed_demo
from tests.browser.steps import sign_in
from tests.browser.test_take_course import ARGS, check_page, press
from tests.conftest import enrol_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/hipaa-screenshots"))


@pytest.fixture
def demo(live_server):
    """The demo company and what the test needs from the database, read before the browser starts."""
    seed_demo()
    from courses.models import Course
    from roles.models import Requirement, User, WorkforceRole

    officer = User.objects.get(email="officer@demo.example")
    enrol_totp(officer)
    billing = WorkforceRole.objects.get(slug="billing")
    course = Course.objects.get(slug="patient-communication")
    assert not Requirement.objects.filter(role=billing, course=course).exists()
    people = User.objects.filter(workforce_role=billing, is_active=True, terminated_on__isnull=True).count()
    return {"cell": f"r{billing.pk}-c{course.pk}", "people": people}


@pytest.fixture
def browser(demo):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(SHOTS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(SHOTS / f"{name}-375.png"), full_page=True)
    page.set_viewport_size(size)


def test_officer_adds_a_requirement_and_the_role_sees_it_on_training(live_server, demo, browser):
    checked: set[str] = set()
    page = browser.new_page(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    csp_violations: list[str] = []
    page.on("console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None)

    sign_in(page, "officer@demo.example", totp=True)
    page.wait_for_url("**/dashboard/**")
    press(page, page.get_by_role("link", name="Roles and modules"))
    page.wait_for_url("**/dashboard/roles/")
    check_page(page, checked, "grid")
    shoot(page, "roles-grid")
    grid_box = page.locator(".grid-scroll")
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375  # the page never scrolls sideways
    assert grid_box.evaluate("e => e.scrollWidth > e.clientWidth")  # the grid scrolls inside its own box
    page.set_viewport_size({"width": 1280, "height": 900})

    cell = demo["cell"]
    required = page.locator(f"#{cell}-required")
    assert page.get_by_label("Required for Billing and revenue cycle: Patient communication").count() == 1
    required.focus()
    page.keyboard.press("Space")
    assert required.is_checked()
    page.keyboard.press("Tab")  # the due window, by keyboard
    assert page.evaluate("() => document.activeElement.id") == f"{cell}-due"
    page.keyboard.press("Control+A")
    page.keyboard.type("30")
    with page.expect_navigation():
        press(page, page.get_by_role("button", name="Preview the changes"))
    page.wait_for_selector("h1:has-text('What these changes will do')")
    check_page(page, checked, "preview")
    shoot(page, "roles-grid-preview")
    n = demo["people"]
    assert f"{n} people will be assigned Patient communication, due in 30 days." in page.content()
    with page.expect_navigation():
        press(page, page.get_by_role("button", name="Apply these changes"))
    page.wait_for_selector("text=The grid was saved")
    assert "The grid was saved" in page.content()
    assert f"{n} assignments made" in page.content()
    assert page.locator(f"#{cell}-required").is_checked()
    assert "Patient communication now required" in page.locator("#change-log").inner_text()

    press(page, page.get_by_role("link", name="Billing and revenue cycle"))
    page.wait_for_url("**/dashboard/roles/*/")
    shoot(page, "role")
    check_page(page, checked, "role")
    page.goto("/dashboard/departments/")
    check_page(page, checked, "departments")
    press(page, page.get_by_role("link", name="Settings"))
    page.wait_for_url("**/dashboard/settings/")
    check_page(page, checked, "settings")
    shoot(page, "settings")

    with page.expect_navigation():
        press(page, page.get_by_role("button", name="Log out"))
    sign_in(page, "billing@demo.example")
    page.wait_for_url("**/training/")
    assert page.get_by_role("row").filter(has_text="Patient communication").count() == 1
    assert csp_violations == [], csp_violations
