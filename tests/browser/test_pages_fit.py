"""The demo's first five minutes in chromium: the officer's dashboard and the learner's pages, at 1280 and 375 px.

Every disclosure is opened before measuring, so what hides behind one is checked too. On each page: no element
reaches past the viewport, no table is cut off (wider than the box it sits in) or has running text squeezed into
a sliver of a column, and axe-core finds nothing.
Screenshots go to tmp_path, or to $SCREENSHOT_DIR when set (the README's picture is taken this way).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.browser.demo import seed_demo
from tests.browser.test_take_course import ARGS, AXE
from tests.conftest import enrol_totp, just_signed_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 375)
MEASURE = """(width) => {
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > width + 1; })
    .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id);
  const cut = [...document.querySelectorAll('table')]
    .filter(t => t.getBoundingClientRect().width > 0)
    .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1 || t.getBoundingClientRect().right > width + 1)
    .map(t => (t.id || t.className) + ' ' + t.scrollWidth + '>' + t.parentElement.clientWidth);
  // A cell of running text squeezed into a sliver of a column (words broken letter by letter): the table should
  // stack its cells at this width instead (app.css, .table.stack).
  const cramped = [...document.querySelectorAll('td, th')]
    .filter(c => { const r = c.getBoundingClientRect(); return r.width > 0 && r.width < 100; })
    .filter(c => !c.querySelector('button, input, select, textarea') && c.innerText.trim().length > 40)
    .slice(0, 5).map(c => c.innerText.trim().slice(0, 30) + ' (' + Math.round(c.getBoundingClientRect().width) + 'px)');
  return {overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth, wide, cut, cramped};
}"""


def _session(email: str) -> str:
    from roles.models import User
    from roles.security import mfa_required

    person = User.objects.get(email=email)
    if mfa_required(person):
        enrol_totp(person)  # privileged accounts must have a second factor before any page opens
    client = Client()
    client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
    just_signed_in(client, person)
    return client.cookies["sessionid"].value


@pytest.fixture
def demo(live_server, settings, tmp_path):
    """The demo company on a fresh database, and the pages to look at (the ORM is done before the browser)."""
    from records.models import Certificate
    from roles.models import Assignment

    call_command("flush", interactive=False, verbosity=0)
    settings.AUDIT_ANCHOR_LOG = tmp_path / "anchors.jsonl"
    seed_demo()
    retrained = Assignment.objects.filter(
        user__email="executive@demo.example", reason=Assignment.NEW_VERSION, completed_at__isnull=False
    ).first()
    assert retrained is not None
    superseded = (
        Certificate.objects.filter(completion__user=retrained.user, completion__version__course=retrained.course)
        .order_by("issued_at")
        .first()
    )
    assert superseded is not None
    six_months_ago = (timezone.localdate() - dt.timedelta(days=183)).isoformat()
    from courses.models import Course
    from roles.models import Department
    from roles.services import department_requirement_set

    billing = Department.objects.get(name="Billing Operations")
    department_requirement_set(department=billing, course=Course.objects.get(slug="patient-communication"))
    from roles.clients import client_create, client_requirement_set, client_scope_add

    clinic = client_create(name="Riverside Clinic", baa_effective_on=timezone.localdate() - dt.timedelta(days=200))
    client_requirement_set(client=clinic, course=Course.objects.get(slug="leadership-oversight"))
    client_scope_add(client=clinic, department=billing, reason="The Riverside billing contract")
    from courses.models import Policy
    from roles.models import PolicyAssignment

    policy = Policy.objects.order_by("pk").first()
    assert policy is not None
    acknowledged = PolicyAssignment.objects.filter(user__email="executive@demo.example", policy=policy).get()
    from courses.drafts import draft_start
    from courses.models import CourseVersion
    from roles.models import User

    security = CourseVersion.objects.current().get(course__slug="security-awareness")
    draft = draft_start(version=security, actor=User.objects.get(email="officer@demo.example"))
    return {
        "officer": (
            _session("officer@demo.example"),
            [
                ("dashboard", "/dashboard/"),
                ("dashboard-as-of", f"/dashboard/?as_of={six_months_ago}"),
                ("overdue", "/dashboard/overdue/"),
                ("people-bulk-form", "/dashboard/people/?select=page"),
                ("department", f"/dashboard/departments/{billing.pk}/"),
                ("clients", "/dashboard/clients/"),
                ("client", f"/dashboard/clients/{clinic.pk}/"),
                ("should-vs-was", f"/dashboard/people/{retrained.user_id}/should-vs-was/"),
                ("policies", "/dashboard/policies/"),
                ("policy", f"/dashboard/policies/{policy.pk}/"),
                ("policy-publish", f"/dashboard/policies/{policy.pk}/publish/"),
                ("courses", "/dashboard/courses/"),
                ("course-draft", f"/dashboard/courses/drafts/{draft.pk}/"),
                ("course-lesson", f"/dashboard/courses/drafts/{draft.pk}/lessons/1/"),
                ("course-question", f"/dashboard/courses/drafts/{draft.pk}/questions/1/"),
                ("course-publish", f"/dashboard/courses/drafts/{draft.pk}/publish/"),
                ("course-history", f"/dashboard/courses/drafts/{draft.pk}/history/"),
                ("course-version", f"/dashboard/courses/versions/{security.pk}/"),
                ("course-preview-check", f"/dashboard/courses/drafts/{draft.pk}/preview/check/"),
            ],
        ),
        "learner": (
            _session("executive@demo.example"),
            [
                ("training", "/training/"),
                ("certificates", "/certificates/"),
                ("done", f"/training/{retrained.pk}/done/"),
                ("policy-read", f"/policies/{acknowledged.pk}/"),
                ("verify-superseded", f"/verify/{superseded.code}/"),
            ],
        ),
        "anonymous": (None, [("sign-in", "/accounts/login/")]),
    }


def test_the_dashboard_and_the_learner_pages_fit_at_1280_and_375_px(live_server, demo, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    axe = AXE.read_text()
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for who, (cookie, pages) in demo.items():
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": 900})
                if cookie:
                    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
                page = context.new_page()
                for name, path in pages:
                    page.goto(live_server.url + path)
                    assert "/accounts/" not in page.url or who == "anonymous", f"{name}: sent to {page.url}"
                    page.screenshot(path=str(shots / f"{name}-{width}.png"))
                    text = page.inner_text("main")
                    if name == "sign-in" and "sign up" in text.lower():
                        problems.append("the sign-in page invites people to a closed sign-up")
                    if name == "verify-superseded" and "Valid until" in text:
                        problems.append("a superseded certificate's page says 'Valid until'")
                    columns = page.evaluate(
                        "() => [...document.querySelectorAll('.facts')]"
                        ".map(e => getComputedStyle(e).gridTemplateColumns.split(' ').length)"
                    )
                    if width == 375 and any(n > 1 for n in columns):
                        problems.append(f"{name} at 375px: facts in {columns} columns")
                    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
                    if width == 375:
                        page.screenshot(path=str(shots / f"{name}-{width}-open.png"), full_page=True)
                    found = page.evaluate(MEASURE, width)
                    if found["overflow"] > 0 or found["wide"] or found["cut"] or found["cramped"]:
                        problems.append(f"{name} at {width}px: {found}")
                    page.evaluate(axe + "\n;void 0")
                    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
                    for v in result["violations"]:
                        problems.append(f"{name} at {width}px: axe {v['id']} {[n['target'] for n in v['nodes']][:3]}")
                context.close()
        browser.close()
    assert problems == [], "\n".join(problems)
