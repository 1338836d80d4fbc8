"""The roles x modules grid and its change log are evidence of who had to be trained in what: both are in the
auditor's PDF report (read back) and in the evidence bundle."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.urls import reverse
from pypdf import PdfReader

from records.models import ReportJob
from roles.grid import grid_plan, grid_state, read_grid_form
from roles.services import requirements_grid_apply
from tests.conftest import make_person
from tests.roles.test_roles_grid import ADD, grid_data

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def changed_grid(compliance_officer):
    make_person("bo@example.test", "Bo Biller", "billing")
    state = grid_state()
    changes, _ = read_grid_form(state, grid_data(**ADD, **{"isolated:confidentiality-basics": {"due": "14"}}))
    plan = grid_plan(state, changes)
    requirements_grid_apply(changes=changes, version=state.version, plan_digest=plan.digest, actor=compliance_officer)


def _build(client, kind, capture) -> bytes:
    with capture(execute=True):
        assert client.post(reverse("records:audit_request"), {"kind": kind}).status_code == 302
    job = ReportJob.objects.latest("pk")
    job.refresh_from_db()
    assert job.status == ReportJob.DONE, job.error
    return b"".join(client.get(reverse("records:audit_download", args=[job.pk])).streaming_content)


def test_the_pdf_report_shows_the_grid_and_who_changed_it(
    login, auditor, compliance_officer, changed_grid, django_capture_on_commit_callbacks
):
    pdf = _build(login(auditor), "report", django_capture_on_commit_callbacks)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Roles × modules, as configured now" in text
    assert "Changes to roles and requirements" in text
    assert "Billing and revenue cycle: Patient communication now required due within 30 days, every 12 months" in text
    assert "Isolated (no PHI access): Confidentiality basics changed to due within 14 days" in text
    assert compliance_officer.email in text
    assert "Default roles loaded" in text


def test_the_bundle_holds_the_grid_and_its_change_log(
    login, auditor, compliance_officer, changed_grid, django_capture_on_commit_callbacks
):
    data = _build(login(auditor), "bundle", django_capture_on_commit_callbacks)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        grid = list(csv.reader(io.StringIO(zf.read("roles/grid.csv").decode())))
        log = list(csv.DictReader(io.StringIO(zf.read("roles/grid_changes.csv").decode())))
        manifest = zf.read("manifest.json").decode()
    header, rows = grid[0], {r[0]: r for r in grid[1:]}
    billing = dict(zip(header, rows["Billing and revenue cycle"], strict=True))
    assert billing["Patient communication"] == "30 days, every 12 mo"
    assert billing["Confidentiality basics"] == ""  # not required of billing
    assert dict(zip(header, rows["Isolated (no PHI access)"], strict=True))["Confidentiality basics"].startswith(
        "14 days"
    )
    assert any(
        e["actor"] == compliance_officer.email and "Patient communication now required" in e["what"] for e in log
    )
    assert "roles/grid.csv" in manifest and "roles/grid_changes.csv" in manifest
