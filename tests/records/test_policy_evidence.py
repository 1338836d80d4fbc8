"""Policy acknowledgements as evidence: the audit trail, the transcript, the dashboard, the CSV export, the PDF
report and the evidence bundle (with each acknowledged document itself)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from hipaa_training.models import AuditEvent
from records import report_sections
from records.documents.bundle import build_bundle, verify_bundle
from records.documents.report import render_report
from records.exports import ExportFilters
from records.models import PolicyAcknowledgement
from records.services import policy_acknowledge
from roles.assignments import sync_policy_assignments
from roles.models import PolicyAssignment
from tests.conftest import make_person
from tests.records.policy_helpers import BODY, pdf_bytes, publish
from tests.records.test_audit_exports import read_csv

pytestmark = pytest.mark.django_db


def acknowledge(person, version):
    assignment = PolicyAssignment.objects.get(user=person, policy_version=version)
    return policy_acknowledge(
        assignment=assignment,
        version_id=version.pk,
        typed_name=person.full_name,
        ip_address="198.51.100.7",
        user_agent="Firefox",
        actor=person,
    )


@pytest.fixture
def acknowledged(employee, compliance_officer):
    """An acceptable-use policy (Markdown) and a PDF one, both for the billing role; the employee acknowledged
    both, their manager neither."""
    text = publish(compliance_officer, roles=("billing",), review_on=timezone.localdate() + dt.timedelta(days=10))
    pdf = publish(compliance_officer, roles=("billing",), title="Sanctions", body_markdown="", pdf=pdf_bytes())
    sync_policy_assignments()
    return text, pdf, acknowledge(employee, text), acknowledge(employee, pdf)


def test_the_transcript_and_the_audit_trail_show_the_acknowledgement(login, acknowledged, employee, auditor):
    _, _, ack, _ = acknowledged
    page = login(auditor).get(reverse("records:transcript", args=[employee.pk])).content.decode()
    assert "Policies acknowledged" in page and "Acceptable use v1" in page and "Sanctions v1" in page
    assert ack.content_sha256[:8] in page
    event = AuditEvent.objects.get(action="policy.acknowledged", subject_id=str(ack.pk))
    assert event.data["person"] == employee.email


def test_the_dashboard_shows_coverage_and_the_review_date_approaching(login, acknowledged, compliance_officer):
    page = login(compliance_officer).get(reverse("records:dashboard")).content.decode()
    assert "Policies and procedures" in page
    assert "Billing and revenue cycle: <strong>1/2</strong> acknowledged" in page
    review = page.split("Review date approaching", 1)[1].split("</p>", 1)[0]
    assert "Acceptable use" in review and "Sanctions" not in review
    listing = login(compliance_officer).get(reverse("records:policies")).content.decode()
    assert "Review date approaching" in listing


def test_the_csv_export_has_one_row_per_acknowledgement(login, acknowledged, auditor, employee):
    text, _, ack, _ = acknowledged
    rows = read_csv(login(auditor).get(reverse("records:audit_export", args=["policy-acknowledgements"])))
    assert rows[0][:4] == ["person", "email", "workforce_role", "policy"]
    mine = [r for r in rows[1:] if r[3] == "Acceptable use"]
    assert len(rows) == 3 and len(mine) == 1
    row = dict(zip(rows[0], mine[0], strict=True))
    assert row["email"] == employee.email and row["content_sha256"] == ack.content_sha256
    assert (row["typed_name"], row["ip_address"], row["user_agent"]) == ("Billie Biller", "198.51.100.7", "Firefox")
    assert row["content_sha256"] == hashlib.sha256(BODY.strip().encode()).hexdigest() == text.content_sha256
    assert AuditEvent.objects.filter(action="export.downloaded", data__export="policy-acknowledgements").exists()


def test_the_bundle_holds_each_acknowledged_document_and_still_verifies(acknowledged):
    text, pdf, ack, pdf_ack = acknowledged
    out = io.BytesIO()
    build_bundle(ExportFilters(), out)
    out.seek(0)
    with zipfile.ZipFile(out) as zf:
        markdown = zf.read("policies/acceptable-use/v1/policy.md")
        document = zf.read("policies/sanctions/v1/policy.pdf")
        csv_text = zf.read("csv/policy_acknowledgements.csv").decode()
        meta = zf.read("policies/sanctions/v1/policy.json").decode()
    assert hashlib.sha256(markdown).hexdigest() == ack.content_sha256
    assert hashlib.sha256(document).hexdigest() == pdf_ack.content_sha256 == pdf.pdf_sha256
    assert ack.content_sha256 in csv_text and pdf.content_sha256 in meta
    out.seek(0)
    result = verify_bundle(out)
    assert result.ok, result.problems


def test_the_pdf_report_has_a_policy_section(acknowledged):
    pdf = render_report(ExportFilters())
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Policies and procedures" in text
    section = text.split("Policies and procedures", 2)[-1]
    assert "Acceptable use" in section and "Billie Biller" in section and "Sanctions" in section


def test_the_report_section_reads_two_queries_whatever_the_size(
    acknowledged, compliance_officer, django_assert_num_queries
):
    period = report_sections.Period.of(ExportFilters())
    with django_assert_num_queries(2):
        few = report_sections.policies(period)
    for n in range(3):
        person = make_person(f"biller{n}@example.test", f"Biller {n}", "billing")
        acknowledge(person, acknowledged[0])
    with django_assert_num_queries(2):
        more = report_sections.policies(period)
    assert len(more.acknowledgements) == len(few.acknowledgements) + 3
    first = next(v for v in more.versions if v.policy.slug == "acceptable-use")
    assert (first.asked, first.acked) == (5, 4)
    assert PolicyAcknowledgement.objects.count() == 5
