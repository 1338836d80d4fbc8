"""billing@demo.example takes security awareness in chromium, by keyboard, and checks the certificate."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.demo import seed_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def demo(live_server):
    """The demo company, seeded before the browser starts (Playwright's loop forbids the ORM in this thread)."""
    seed_demo()
    from courses.models import CourseVersion

    version = CourseVersion.objects.current().get(course__slug="security-awareness")
    right, wrong = [], []  # (prompt, choice text): the choices are shuffled, so they are found by what they say
    for q in version.questions.prefetch_related("choices"):
        choices = list(q.choices.all())
        right += [(q.prompt, c.text) for c in choices if c.correct]
        wrong.append((q.prompt, next(c.text for c in choices if not c.correct)))
    return {"version": version, "lessons": version.lessons.count(), "right": right, "wrong": wrong}


@pytest.fixture
def browser(demo):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


def check_page(page, checked: set[str], kind: str) -> None:
    """axe-core finds no violations, and at phone width nothing scrolls sideways (once per page type)."""
    if kind in checked:
        return
    checked.add(kind)
    assert AXE.exists(), "run `npm install` for axe-core"
    # Evaluated through the DevTools protocol: a <script> tag would be (rightly) refused by our CSP.
    page.evaluate(AXE.read_text() + "\n;void 0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert violations == [], f"{kind}: {violations}"
    size = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 800})
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 376)"
        ".slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    page.set_viewport_size(size)
    assert overflow <= 0, f"{kind} overflows a 375px screen by {overflow}px: {wide}"


def press(page, locator) -> None:
    locator.focus()
    page.keyboard.press("Enter")


def answer(page, picks: list[tuple[str, str]]) -> None:
    for prompt, text in picks:
        question = page.locator("fieldset").filter(has=page.get_by_text(prompt, exact=True))
        question.get_by_label(text, exact=True).focus()
        page.keyboard.press("Space")


def test_billing_employee_takes_security_awareness_end_to_end(live_server, demo, browser):
    version = demo["version"]
    checked: set[str] = set()
    page = browser.new_page(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    csp_violations: list[str] = []
    page.on("console", lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto("/accounts/login/")
    check_page(page, checked, "login")
    page.locator("input[name=login]").focus()
    page.keyboard.type("billing@demo.example")
    page.keyboard.press("Tab")
    page.keyboard.type("hipaa-demo-2026")
    page.keyboard.press("Enter")
    page.wait_for_url("**/training/")
    check_page(page, checked, "training")
    assert "Security awareness" in page.content()

    row = page.get_by_role("row").filter(has_text="Security awareness")
    press(page, row.get_by_role("link"))
    page.wait_for_selector("h1:has-text('Security awareness')")
    check_page(page, checked, "overview")
    assert version.regulation in page.content()
    press(page, page.get_by_role("link", name="Start the first lesson"))

    for position in range(1, demo["lessons"] + 1):
        page.wait_for_url(f"**/lessons/{position}/")
        check_page(page, checked, "lesson")
        press(page, page.get_by_role("button", name="Continue"))

    page.wait_for_url("**/check/")
    check_page(page, checked, "check")
    answer(page, demo["wrong"])
    press(page, page.get_by_role("button", name="Submit my answers"))
    page.wait_for_url("**/attempts/1/")
    check_page(page, checked, "attempt")
    assert "You did not pass" in page.content() and "Explanation" in page.content()
    press(page, page.get_by_role("link", name="Try the knowledge check again"))

    page.wait_for_url("**/check/")
    answer(page, demo["right"])
    press(page, page.get_by_role("button", name="Submit my answers"))
    page.wait_for_url("**/attempts/2/")
    assert "You passed" in page.content()
    press(page, page.get_by_role("link", name="Continue to the attestation"))

    page.wait_for_url("**/attestation/")
    check_page(page, checked, "attestation")
    page.locator("#id_typed_name").focus()
    page.keyboard.type("billie  biller")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    page.wait_for_url("**/done/")
    check_page(page, checked, "done")
    assert "Download your certificate" in page.content()
    with page.expect_download() as download:
        press(page, page.get_by_role("link", name="Download your certificate (PDF)"))
    from pypdf import PdfReader

    reader = PdfReader(download.value.path())
    text = " ".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) == 1
    assert "Billie Biller" in text and "Security awareness" in text

    page.goto("/certificates/")
    check_page(page, checked, "certificates")
    press(page, page.get_by_role("link", name="verification page"))
    page.wait_for_url("**/verify/**")
    check_page(page, checked, "verify")
    assert page.locator("[role=status]").inner_text() == "Status: Valid"
    assert "Billie Biller" in page.content()
    assert csp_violations == [], csp_violations  # every page works under the strict CSP
