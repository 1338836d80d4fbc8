"""A person signs in through a real OpenID Connect provider in Chromium, and signs out of both."""

from __future__ import annotations

import pytest

from tests.browser.test_take_course import ARGS
from tests.conftest import CHROMIUM

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


def test_a_person_signs_in_with_the_identity_provider_in_chromium(live_server, sso, person, chromium, tmp_path):
    page = chromium.new_page(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto("/accounts/login/")
    page.screenshot(path=str(tmp_path / "login-1280.png"), full_page=True)
    page.get_by_role("button", name="Sign in with Test IdP").click()

    page.wait_for_url(f"{sso.issuer}/**")  # the form POST's redirect reached the provider: form-action allowed it
    page.locator("input[name=login]").fill("billie")
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent page

    page.wait_for_url(f"{live_server.url}/training/")
    assert "Security awareness" in page.content()
    assert csp == []
