"""The PDF training report and the evidence bundle: built by a task, downloaded by who asked, checked offline."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from hipaa_training.models import AuditEvent
from records.documents.bundle import verify_bundle
from records.models import Certificate, ReportJob
from roles.models import Assignment
from tests.records.evidence import at, complete, person, reschedule, today

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def records(compliance_officer):
    t = today()
    ana = person("ana@example.test", "Ana Alvarez", "billing", "Billing Operations", hired=t - dt.timedelta(days=40))
    reschedule(ana, assigned=t - dt.timedelta(days=40), due=t - dt.timedelta(days=10))
    for a in Assignment.objects.filter(user=ana)[:2]:
        complete(a, at(t - dt.timedelta(days=20)))
    person("ben@example.test", "Ben Brooks", "intake", "Patient Services", hired=t)
    return ana


def _request(client, kind, capture, **filters):
    with capture(execute=True):
        response = client.post(reverse("records:audit_request"), {"kind": kind, **filters})
    assert response.status_code == 302
    return ReportJob.objects.latest("pk")


def _download(client, job) -> bytes:
    response = client.get(reverse("records:audit_download", args=[job.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_a_requested_pdf_report_is_built_and_downloaded(login, auditor, records, django_capture_on_commit_callbacks):
    client = login(auditor)
    job = _request(client, "report", django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ReportJob.DONE, job.error
    page = client.get(reverse("records:audit")).content.decode()
    assert reverse("records:audit_download", args=[job.pk]) in page
    pdf = _download(client, job)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "HIPAA workforce training report" in text
    for expected in ("Billing and revenue cycle", "Isolated (no PHI access)", "45 CFR", "Ana Alvarez", "Ben Brooks"):
        assert expected in text, expected
    for code in Certificate.objects.values_list("code", flat=True):
        assert code in text.replace(" ", "")
    assert "New hires" in text and "Retraining after material changes" in text
    actions = list(
        AuditEvent.objects.filter(subject_id=str(job.pk), subject_type="records.reportjob").values_list(
            "action", flat=True
        )
    )
    assert actions == ["report.requested", "report.built", "report.downloaded"]


def test_only_who_asked_can_download_a_report(
    login, auditor, compliance_officer, records, django_capture_on_commit_callbacks
):
    job = _request(login(compliance_officer), "report", django_capture_on_commit_callbacks)
    assert login(auditor).get(reverse("records:audit_download", args=[job.pk])).status_code == 404


def test_the_report_download_needs_a_login_and_the_right_role(client, login, employee, auditor):
    job = ReportJob.objects.create(kind="report", requested_by=auditor, status=ReportJob.DONE)
    url = reverse("records:audit_download", args=[job.pk])
    assert client.get(url).status_code == 302
    assert login(employee).get(url).status_code == 403


def test_building_twice_changes_nothing(auditor, records, django_capture_on_commit_callbacks):
    from records.documents.jobs import report_build

    job = ReportJob.objects.create(kind="report", requested_by=auditor)
    first = report_build(job_id=job.pk)
    second = report_build(job_id=job.pk)
    assert first.sha256 == second.sha256 and AuditEvent.objects.filter(action="report.built").count() == 1


@pytest.fixture
def bundle(tmp_path, login, auditor, records, django_capture_on_commit_callbacks):
    client = login(auditor)
    job = _request(client, "bundle", django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == ReportJob.DONE, job.error
    path = tmp_path / "bundle.zip"
    path.write_bytes(_download(client, job))
    return path


def test_a_fresh_bundle_holds_the_evidence_and_passes_verify_bundle(bundle, capsys):
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        head = json.loads(zf.read("audit/chain_head.json"))
        training = zf.read("csv/training_records.csv").decode()
    for name in (
        "csv/training_records.csv",
        "csv/attestations.csv",
        "csv/quiz_attempts.csv",
        "csv/security_reminders.csv",
        "csv/audit_events.csv",
        "report/training_report.pdf",
        "README.txt",
        "manifest.sha256",
        "courses/security-awareness/v1/course.json",
        "courses/security-awareness/v1/questions.json",
        "courses/security-awareness/v1/lessons/01.md",
    ):
        assert name in names, name
    for code in Certificate.objects.values_list("code", flat=True):
        assert f"certificates/{code}.pdf" in names
    assert set(manifest["files"]) == names - {"manifest.json", "manifest.sha256"}
    assert head["anchor"] is None and len(head["hash"]) == 64 and manifest["chain_head"]["hash"] == head["hash"]
    assert "Ana Alvarez" in training
    call_command("verify_bundle", str(bundle))
    out = capsys.readouterr().out
    assert f"OK: {len(manifest['files'])} files match the manifest." in out
    event = AuditEvent.objects.get(action="bundle.built")
    assert event.data["manifest_sha256"] in out


def _rewrite(src, dst, target: str) -> None:
    """Copy the ZIP, changing one byte of `target`'s content."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = bytearray(zin.read(item.filename))
            if item.filename == target:
                data[len(data) // 2] ^= 0x01
            zout.writestr(item, bytes(data))


def test_verify_bundle_names_the_file_after_one_byte_of_it_changes(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
    assert len(names) > 20
    for name in names:
        tampered = tmp_path / "tampered.zip"
        _rewrite(bundle, tampered, name)
        result = verify_bundle(tampered)
        assert not result.ok, name
        assert result.problems[0].startswith(f"{name}: "), (name, result.problems)


def test_the_verify_bundle_command_fails_and_says_which_file(bundle, tmp_path, capsys):
    tampered = tmp_path / "tampered.zip"
    _rewrite(bundle, tampered, "csv/training_records.csv")
    with pytest.raises(CommandError, match="does not match its manifest"):
        call_command("verify_bundle", str(tampered))
    assert "MISMATCH csv/training_records.csv: does not match" in capsys.readouterr().err


def test_a_corrupted_zip_or_an_added_file_is_named(bundle, tmp_path):
    raw = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as zf:
        info = zf.getinfo("report/training_report.pdf")
    name_len, extra_len = (
        int.from_bytes(raw[info.header_offset + i : info.header_offset + i + 2], "little") for i in (26, 28)
    )
    raw[info.header_offset + 30 + name_len + extra_len + info.compress_size // 2] ^= 0xFF  # in the data: CRC fails
    broken = tmp_path / "broken.zip"
    broken.write_bytes(bytes(raw))
    assert any(p.startswith("report/training_report.pdf") for p in verify_bundle(broken).problems)

    extra = tmp_path / "extra.zip"
    extra.write_bytes(bundle.read_bytes())
    with zipfile.ZipFile(extra, "a") as zf:
        zf.writestr("certificates/forged.pdf", b"%PDF-1.4")
    assert verify_bundle(extra).problems == ["certificates/forged.pdf: in the bundle but not in the manifest"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_report(login, auditor, records):
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings

    from hipaa_training.celery import app

    app.conf.update(task_always_eager=False, broker_url=settings.REDIS_URL)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        client = login(auditor)
        client.post(reverse("records:audit_request"), {"kind": "report"})
        job = ReportJob.objects.get(requested_by=auditor)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and job.status not in (ReportJob.DONE, ReportJob.FAILED):
            time.sleep(0.2)
            job.refresh_from_db()
    assert job.status == ReportJob.DONE, job.error
    assert _download(client, job).startswith(b"%PDF")
    assert timezone.now() - job.finished_at < dt.timedelta(minutes=2)


def test_a_bundle_carries_the_signed_anchor_of_the_chain(login, auditor, records, django_capture_on_commit_callbacks):
    from hipaa_training.anchor import signature_valid

    call_command("audit_anchor", stdout=io.StringIO())
    anchored = AuditEvent.objects.order_by("-seq").first()
    client = login(auditor)
    job = _request(client, "bundle", django_capture_on_commit_callbacks)
    job.refresh_from_db()
    with zipfile.ZipFile(io.BytesIO(_download(client, job))) as zf:
        head = json.loads(zf.read("audit/chain_head.json"))
        events = list(csv.reader(io.StringIO(zf.read("csv/audit_events.csv").decode())))
    anchor = head["anchor"]
    assert anchor["seq"] == anchored.seq and anchor["hash"] == anchored.hash
    assert signature_valid(anchor)
    header = events[0]
    by_seq = {row[header.index("seq")]: row for row in events[1:]}
    assert by_seq[str(anchored.seq)][header.index("hash")] == anchored.hash  # the anchor matches the exported chain


def test_a_version_published_in_the_editor_is_in_the_bundle_with_its_diff(
    tmp_path, login, auditor, compliance_officer, records, django_capture_on_commit_callbacks, capsys
):
    from courses.drafts import draft_publish, draft_save, draft_start
    from courses.models import CourseVersion
    from courses.publishing import files_hash

    v1 = CourseVersion.objects.get(course__slug="security-awareness", number=1)
    draft = draft_start(version=v1, actor=compliance_officer)
    content = {**draft.content, "attestation": draft.content["attestation"] + " I report incidents within one hour."}
    draft = draft_save(draft=draft, revision=1, content=content, section="overview", what="statement", actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        v2 = draft_publish(draft=draft, revision=2, change_note="Our reporting window.", material=True, actor=None)
    assert v2.version is not None
    client = login(auditor)
    job = _request(client, "bundle", django_capture_on_commit_callbacks)
    path = tmp_path / "bundle.zip"
    path.write_bytes(_download(client, job))
    base = "courses/security-awareness/v2"
    with zipfile.ZipFile(path) as zf:
        diff = json.loads(zf.read(f"{base}/diff.json"))
        folder = {n[len(base) + 8 :]: zf.read(n) for n in zf.namelist() if n.startswith(f"{base}/folder/")}
        course = json.loads(zf.read(f"{base}/course.json"))
    assert diff["against_version"] == 1 and "I report incidents within one hour." in "".join(diff["statement"]["lines"])
    assert diff["lessons"] == [] and diff["questions"] == []
    assert files_hash(folder) == course["content_hash"] == v2.version.content_hash
    call_command("verify_bundle", str(path))
    assert "OK:" in capsys.readouterr().out
