"""What every browser journey does the same way: type as a person would, and sign in with the demo password."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import totp_code

DEMO_PASSWORD = "hipaa-demo-2026"


def type_into(page: Any, selector: str, value: str) -> None:
    """Focus the field and type, key by key (a fill() would skip the page's own input handling)."""
    page.locator(selector).focus()
    page.keyboard.type(value)


def sign_in(page: Any, email: str, *, totp: bool = False) -> None:
    """Sign in at /accounts/login/ with the keyboard; `totp`: answer the second-factor step with the test
    personas' authenticator code. Returns once the browser has left /accounts/ (a goto before that would cut the
    POST short)."""
    page.goto("/accounts/login/")
    type_into(page, "input[name=login]", email)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    if totp:
        _second_factor(page)
    page.wait_for_url(lambda url: "/accounts/" not in url)


def _second_factor(page: Any, tries: int = 3) -> None:
    """Type the authenticator code. A code is accepted once (allauth keeps it as used for its whole window, in the
    cache, which outlives each test's database): if the same code signed this person in a moment ago, it is
    refused, so wait for the next one, as a person would; and a code about to change is not typed (on a loaded
    machine the typing and the POST can take longer than the seconds it has left)."""
    for _ in range(tries):
        page.wait_for_selector("input[name=code]")
        if 30 - time.time() % 30 < 8:  # the code on screen is about to change: typed slowly, it would arrive late
            time.sleep(30 - time.time() % 30 + 0.5)
        shown = totp_code()
        type_into(page, "input[name=code]", shown)
        with page.expect_navigation():  # the answer to the POST: onwards, or the form again with its error
            page.keyboard.press("Enter")
        if "/accounts/2fa/authenticate" not in page.url:
            return
        while totp_code() == shown:
            time.sleep(1)
    raise AssertionError(f"the second factor was refused {tries} times")
