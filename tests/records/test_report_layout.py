"""The auditor's PDF report never cuts anything off: rendered for a workforce with long names, every module and
many roles, every word lies inside its page and every certificate code can be read back whole."""

from __future__ import annotations

import datetime as dt
import io
import os
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
import pytest

from courses.models import Course
from records.documents.report import render_report
from records.exports import ExportFilters
from records.models import Certificate
from records.report_sections import GRID_COLUMNS_PER_TABLE, column_chunks
from roles.models import Assignment, WorkforceRole
from roles.services import requirement_set, role_create
from tests.records.evidence import at, complete, person, today

pytestmark = pytest.mark.usefixtures("catalog")

ROLES = 14
LONG = "Konstantinopoulou-Oyelaran-Vanderwesthuizen"


@pytest.fixture
def wide_workforce(compliance_officer) -> list[Any]:
    """Fourteen more roles with long names, each requiring every module of the catalogue; one person in each
    with a long name, e-mail and department; most of their modules done, some late, each with a certificate."""
    t = today()
    courses = list(Course.objects.order_by("title"))
    people = []
    for i in range(ROLES):
        role = role_create(name=f"Revenue integrity, denials and appeals specialist {i + 1} (night shift)")
        for course in courses:
            requirement_set(role=role, course=course, due_within_days=30)
        someone = person(
            f"maria-fernanda.{LONG.lower()}.{i}@billing-and-revenue-cycle-operations.example.test",
            f"Maria-Fernanda Alexandrovna {LONG} de la Cruz y Montenegro {i}",
            role.slug,
            f"Patient financial services, eligibility verification and prior authorisation {i % 3}",
            hired=t - dt.timedelta(days=60),
        )
        assignments = list(Assignment.objects.filter(user=someone).order_by("course__title"))
        Assignment.objects.filter(user=someone).update(
            assigned_on=t - dt.timedelta(days=60),
            due_on=t - dt.timedelta(days=30),
            created_at=at(t - dt.timedelta(days=60), 2),
        )
        for n, a in enumerate(assignments[: len(assignments) - (i % 3)]):
            complete(a, at(t - dt.timedelta(days=40 if n % 2 else 20)), failed_first=n % 3 == 0)
        people.append(someone)
    return people


def _words_outside(pdf: pdfplumber.PDF) -> list[str]:
    outside = []
    for number, page in enumerate(pdf.pages, start=1):
        for w in page.extract_words():
            if w["x0"] < 0 or w["top"] < 0 or w["x1"] > page.width + 0.5 or w["bottom"] > page.height + 0.5:
                outside.append(f"page {number}: {w['text']!r} at x {w['x0']:.0f}-{w['x1']:.0f} of {page.width:.0f}")
    return outside


def test_nothing_is_cut_off_and_every_certificate_code_reads_back_whole(wide_workforce):
    assert WorkforceRole.objects.count() >= ROLES + 6
    codes = list(Certificate.objects.values_list("code", flat=True))
    assert len(codes) > ROLES * 4
    data = render_report(ExportFilters())
    if os.environ.get("REPORT_PDF_DIR"):  # to look at it: REPORT_PDF_DIR=/tmp pytest this file
        with open(os.path.join(os.environ["REPORT_PDF_DIR"], "report-layout.pdf"), "wb") as out:
            out.write(data)
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert _words_outside(pdf) == []
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
        landscape = [p.width > p.height for p in pdf.pages]
    words = set(text.split())
    missing = [code for code in codes if code not in words]
    assert missing == [], f"{len(missing)} certificate codes not whole in the text"
    assert any(landscape) and not all(landscape)  # the wide tables on landscape pages, the rest portrait
    flat = " ".join(text.split())
    for i in range(ROLES):  # each long name whole (it may wrap between words, never inside one)
        assert f"Maria-Fernanda Alexandrovna {LONG} de la Cruz y Montenegro {i}" in flat


def test_a_grid_wider_than_a_page_is_cut_into_tables_that_repeat_the_role():
    header = ["Workforce role", *[f"Module {n}" for n in range(1, 20)]]
    rows = [[f"Role {r}", *[f"{r}.{n}" for n in range(1, 20)]] for r in range(3)]
    chunks = column_chunks(header, rows)
    assert [len(c["header"]) - 1 for c in chunks] == [GRID_COLUMNS_PER_TABLE, GRID_COLUMNS_PER_TABLE, 3]
    assert all(c["header"][0] == "Workforce role" and c["parts"] == 3 for c in chunks)
    assert [c["rows"][1][0] for c in chunks] == ["Role 1"] * 3
    # every cell is in exactly one chunk, under its own column
    cells = {
        (c["rows"][r][0], h): c["rows"][r][k] for c in chunks for r in range(3) for k, h in enumerate(c["header"]) if k
    }
    assert cells == {(row[0], header[k]): row[k] for row in rows for k in range(1, 20)}


def test_the_reports_user_agent_stylesheet_draws_every_page_as_weasyprints_full_one(wide_workforce):
    """REPORT_UA (only the rules for the elements the report uses) against WeasyPrint's HTML stylesheet: the same
    pixels on every page, so no element of the report lost a default style."""
    from django.template.loader import render_to_string

    from hipaa_training.pdf import REPORT_UA, render_pdf
    from records.documents.report import people_parts, report_context, report_people

    context = report_context(ExportFilters())
    front = render_to_string("records/audit_report_pdf.html", context)
    people, scope = report_people(ExportFilters())
    parts = [front, *people_parts(context, people, scope, ExportFilters(), size=8, sections_before=6)]
    assert len(parts) == 5  # the front, then two chunks of each per-person section

    def pixels(html: str, ua: str | None) -> list[bytes]:
        return [
            page.render(scale=1).to_pil().tobytes()
            for page in pdfium.PdfDocument(render_pdf(html, user_agent_stylesheet=ua))
        ]

    fast = [pixels(html, REPORT_UA) for html in parts]
    for number, (html, pages) in enumerate(zip(parts, fast, strict=True)):
        full = pixels(html, None)
        assert len(full) == len(pages) >= 1
        for n in range(len(full)):
            assert full[n] == pages[n], f"part {number}, page {n + 1}"
    assert [pixels(html, "css/pdf_minimal_ua.css") for html in parts] != fast
