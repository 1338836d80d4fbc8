"""The training report rendered in parts (records/documents/report.py, parts.py): a report of several chunks of
people reads as one document: every person's transcript once and in name order, the sections numbered on, "page N
of M" right on every page, the bookmarks in place, and the bundle holding it still verifies."""

from __future__ import annotations

import io
import re
import zipfile

import pdfplumber
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from records import summaries
from records.documents.bundle import build_bundle, verify_bundle
from records.documents.report import render_report, write_report
from records.exports import ExportFilters
from roles.models import User
from tests.records.evidence import grow

pytestmark = pytest.mark.usefixtures("catalog")

PEOPLE = 23
TOTAL = PEOPLE + 1  # and the compliance officer, who has modules of her own
CHUNK = 5


def workforce(n: int = PEOPLE, start: int = 0) -> list[str]:
    """`n` people whose names sort in another order than they were made in; their names in name order."""
    grow(n, start)
    names = []
    for k, user in enumerate(User.objects.filter(email__startswith="grown").order_by("pk")):
        user.full_name = f"Grown {(k * 7) % 97:02d} {k}"
        user.save(update_fields=["full_name"])
        names.append(user.full_name)
    return sorted(names)


def pages_text(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def who_lines(text: str) -> list[str]:
    """The names at the head of each person's block ("Grown 07 3 · grown3@example.test · ...")."""
    return re.findall(r"^(Grown \d\d \d+) · grown\d+@example\.test", text, flags=re.MULTILINE)


def sections(pages: list[str]) -> tuple[str, str]:
    text = "\n".join(pages)
    start = text.index("7. Transcripts")
    middle = text.index("8. Should have been trained vs was trained")
    return text[start:middle], text[middle:]


def test_a_report_of_several_chunks_has_everyone_once_in_name_order_and_every_page_numbered(compliance_officer):
    names = workforce()
    data = render_report(ExportFilters(), chunk_people=CHUNK)
    pages = pages_text(data)

    footers = [re.findall(r"page (\d+) of (\d+)", text) for text in pages]
    assert footers == [[(str(n), str(len(pages)))] for n in range(1, len(pages) + 1)]
    assert all("HIPAA training report · as of" in text for text in pages)  # the running header on each

    transcripts, should_vs_was = sections(pages)
    assert who_lines(transcripts) == names
    assert who_lines(should_vs_was) == names
    for start in range(CHUNK + 1, TOTAL + 1, CHUNK):
        end = min(start + CHUNK - 1, TOTAL)
        assert f"Transcripts, continued: people {start} to {end} of {TOTAL}." in transcripts
        assert f"Should have been trained vs was trained, continued: people {start} to {end} of {TOTAL}." in (
            should_vs_was
        )
    assert f"{TOTAL} people, in name order." in transcripts
    text = "\n".join(pages)
    for n, title in enumerate(["The training program", "Completion and timeliness", "Security reminders"], 1):
        assert f"{n}. {title}" in text


def test_the_bookmarks_of_every_part_point_at_their_pages(compliance_officer):
    workforce()
    reader = PdfReader(io.BytesIO(render_report(ExportFilters(), chunk_people=CHUNK)))
    top, children = reader.outline[0], reader.outline[1]
    assert top.title == "HIPAA workforce training report" and len(reader.outline) == 2
    titles = [item.title for item in children if not isinstance(item, list)]
    assert titles[-2:] == ["Transcripts", "Should have been trained vs was trained"]  # the heading without its number
    for item in children[-2:]:
        page = reader.pages[reader.get_destination_page_number(item)].extract_text()
        assert item.title in page


def test_chunks_do_not_change_what_the_report_says(compliance_officer):
    workforce()
    whole, chunked = (render_report(ExportFilters(), chunk_people=n) for n in (1000, CHUNK))
    one, many = pages_text(whole), pages_text(chunked)
    assert who_lines("\n".join(one)) == who_lines("\n".join(many))
    assert len(many) > len(one)  # each chunk starts a page


def test_each_chunk_reads_a_fixed_number_of_queries(compliance_officer):
    def count(n: int, start: int) -> int:
        grow(n, start)
        summaries.store_today()  # today's dashboard figures stored, as a worker keeps them
        with CaptureQueriesContext(connection) as ctx:
            write_report(ExportFilters(), io.BytesIO(), chunk_people=1000)
        return len(ctx)

    assert count(10, 0) == count(90, 10)


def test_a_bundle_with_a_report_of_several_chunks_verifies(compliance_officer, settings):
    settings.REPORT_CHUNK_PEOPLE = CHUNK
    names = workforce()
    out = io.BytesIO()
    build_bundle(ExportFilters(), out)
    out.seek(0)
    assert verify_bundle(out).ok
    with zipfile.ZipFile(out) as zf:
        pages = pages_text(zf.read("report/training_report.pdf"))
    transcripts, _ = sections(pages)
    assert who_lines(transcripts) == names
    assert f"Transcripts, continued: people 21 to 24 of {TOTAL}." in transcripts


def test_page_numbers_sit_where_weasyprints_own_footer_put_them(compliance_officer):
    """ "page N of M" is drawn over the merged pages (records/documents/parts.py), where report.css's bottom-right
    margin box puts it when WeasyPrint draws it: same size, right edge and baseline, on portrait and landscape."""
    from django.template.loader import render_to_string

    from hipaa_training.pdf import REPORT_UA, render_pdf
    from records.documents.report import report_context

    workforce()
    own = render_pdf(
        render_to_string("records/audit_report_pdf.html", report_context(ExportFilters())),
        user_agent_stylesheet=REPORT_UA,
    )
    ours = render_report(ExportFilters(), chunk_people=CHUNK)

    def footer(data: bytes, n: int) -> tuple[float, float, float, float]:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            page = pdf.pages[n]
            chars = [c for c in page.chars if c["top"] > page.height - 30]
            return page.width, max(c["x1"] for c in chars), chars[0]["matrix"][5], chars[0]["size"]

    landscape = next(n for n, p in enumerate(PdfReader(io.BytesIO(own)).pages) if p.mediabox.width > p.mediabox.height)
    for n in (0, landscape):
        width, right, baseline, size = footer(own, n)
        assert footer(ours, n) == pytest.approx((width, right, baseline, size), abs=0.05)
