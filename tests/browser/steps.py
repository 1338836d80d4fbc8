"""What every browser journey does the same way: type as a person would, and sign in with the demo password."""

from __future__ import annotations

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
        page.wait_for_selector("input[name=code]")
        type_into(page, "input[name=code]", totp_code())
        page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/" not in url)
