"""The SSO groups mapping page in chromium at 1280 and 375 px: it fits, axe-core finds nothing, and an officer
adds a mapping by keyboard and sees a refused one explained next to its field.
Screenshots go to tmp_path, or to $SCREENSHOT_DIR when set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client

from roles import access
from roles.oidc import mapping_services
from tests.browser.test_pages_fit import MEASURE, WIDTHS
from tests.browser.test_take_course import ARGS, AXE
from tests.conftest import just_signed_in
from tests.factories import DepartmentFactory, role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalog")]


def test_the_mapping_page_fits_and_is_keyboard_usable(live_server, compliance_officer, tmp_path):
    from playwright.sync_api import sync_playwright

    department = DepartmentFactory(name="Billing Operations")
    billing = mapping_services.mapping_create(
        actor=None, claim_value="hipaa-billing", workforce_role=role("billing"), department=department
    )
    mapping_services.mapping_create(
        actor=None, claim_value="a1b2c3d4-5e6f-7a8b-9c0d-e1f2a3b4c5d6", access_group=access.MANAGER
    )
    client = Client()
    client.force_login(compliance_officer, backend="django.contrib.auth.backends.ModelBackend")
    just_signed_in(client, compliance_officer)
    cookie = client.cookies["sessionid"].value
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
            page = context.new_page()
            page.goto(live_server.url + "/dashboard/settings/sso/")
            assert "/accounts/" not in page.url
            page.screenshot(path=str(shots / f"sso-mapping-{width}.png"), full_page=True)
            if width == 375:  # a refused add, by keyboard: the message stands next to the field
                page.get_by_label("Access group").select_option("manager")
                page.get_by_label("Value of the groups claim").focus()
                page.keyboard.type("HIPAA-Billing")
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                assert "already has a mapping" in page.inner_text("#mapping-form")
                page.screenshot(path=str(shots / f"sso-mapping-refused-{width}.png"), full_page=True)
            for name in ("list", "edit"):
                if name == "edit":
                    page.goto(f"{live_server.url}/dashboard/settings/sso/{billing.pk}/")
                    page.screenshot(path=str(shots / f"sso-mapping-edit-{width}.png"), full_page=True)
                found = page.evaluate(MEASURE, width)
                if found["overflow"] > 0 or found["wide"] or found["cut"]:
                    problems.append(f"{name} at {width}px: {found}")
                page.evaluate(AXE.read_text() + "\n;void 0")
                result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
                problems += [
                    f"{name} at {width}px: axe {v['id']} {[n['target'] for n in v['nodes']][:3]}"
                    for v in result["violations"]
                ]
            context.close()
        browser.close()
    assert problems == []
