"""A person signs in through a real OpenID Connect provider in Chromium, and signs out of both."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.test_take_course import ARGS
from tests.conftest import CHROMIUM

SCREENSHOTS = Path(os.environ["SSO_SCREENSHOTS"]) if os.environ.get("SSO_SCREENSHOTS") else None

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def person(catalog):
    """Billie, known to the product by the e-mail the provider vouches for (created before the browser starts)."""
    from tests.conftest import make_person

    manager = make_person("manager@example.test", "Morgan Manager", "billing")
    return make_person("billie@example.test", "Billie Biller", "billing", manager=manager)


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def test_a_person_signs_in_with_the_identity_provider_in_chromium(
    live_server, settings, sso, person, chromium, tmp_path
):
    settings.SITE_URL = live_server.url  # where the provider sends the browser after logout
    page = chromium.new_page(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto("/accounts/login/")
    page.screenshot(path=str(SCREENSHOTS / "login-1280.png") if SCREENSHOTS else str(tmp_path / "login-1280.png"))
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(SCREENSHOTS / "login-375.png") if SCREENSHOTS else str(tmp_path / "login-375.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Sign in with Test IdP").click()

    # The form POST's redirect reached the provider: form-action allowed it.
    page.wait_for_url(f"{sso.issuer}/**", wait_until="domcontentloaded")
    page.locator("input[name=login]").fill("billie")
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent page

    page.wait_for_url(f"{live_server.url}/training/")
    assert "Security awareness" in page.content()

    # Logging out ends the provider's session too (RP-initiated logout): the next person must sign in there.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{sso.issuer}/session/end**", wait_until="domcontentloaded")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in with Test IdP").click()
    page.wait_for_url(f"{sso.issuer}/**", wait_until="domcontentloaded")
    assert page.locator("input[name=login]").is_visible()  # not signed straight back in
    assert csp == []
