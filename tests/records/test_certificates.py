"""Certificates: the PDF, one per completion, the sweep, the broker being down, verification, downloads, revocation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import logging

import pypdfium2 as pdfium
import pytest
import segno
from django.core.files.storage import default_storage
from django.test import override_settings
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from hipaa_training.celery import app
from hipaa_training.models import AuditEvent
from hipaa_training.pdf import render_pdf
from records import services
from records.documents.certificate import QR_MASK, certificate_html, certificate_issue, certificate_pdf
from records.models import Certificate, CertificateRevocation
from records.tasks import certificate_render_task, certificate_sweep_task

from .helpers import assignment_of
from .helpers import take as take_module

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def take(django_capture_on_commit_callbacks):
    """Take a module, running what is queued on commit (the certificate task, in-process) as a commit would."""

    def _take(assignment):
        with django_capture_on_commit_callbacks(execute=True):
            return take_module(assignment)

    return _take


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), " ".join(page.extract_text() for page in reader.pages)


def test_completing_renders_a_one_page_certificate_with_what_a_verifier_needs(employee, settings, take):
    completion = take(assignment_of(employee))
    cert = Certificate.objects.get(completion=completion)
    data = default_storage.open(cert.file).read()
    pages, text = pdf_text(data)
    assert pages == 1
    for expected in (
        settings.ORGANIZATION_NAME,
        "Billie Biller",
        "Security awareness",
        "version 1",
        "100%",
        cert.code,
        cert.valid_until.strftime("%B %-d, %Y"),
    ):
        assert expected in text, expected
    assert cert.sha256 == hashlib.sha256(data).hexdigest()
    assert cert.valid_until.year == completion.completed_at.year + 1  # billing: security awareness every 12 months
    assert len(cert.code) >= 26  # 160 random bits in base32
    url = f"http://testserver/verify/{cert.code}/"
    assert url in text.replace("\n", "")
    qr = segno.make(url, error="m", mask=QR_MASK).png_data_uri(scale=1, border=2, dark="#111")
    assert qr in certificate_html(completion, cert.code, cert.valid_until)  # the QR code encodes that address


def _png(data_uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1]))).convert("L")


def test_the_qr_code_in_the_pdf_is_the_verification_address(employee, take):
    completion = take(assignment_of(employee))
    cert = Certificate.objects.get(completion=completion)
    page = PdfReader(default_storage.open(cert.file)).pages[0]
    (embedded,) = [image.image.convert("L") for image in page.images]  # no logo configured: the QR code alone
    url = f"http://testserver/verify/{cert.code}/"
    expected = _png(segno.make(url, error="m", mask=QR_MASK).png_data_uri(scale=1, border=2, dark="#111"))
    assert embedded.size == expected.size and embedded.tobytes() == expected.tobytes()
    other = _png(
        segno.make(url.replace(cert.code[:4], "AAAA"), error="m", mask=QR_MASK).png_data_uri(scale=1, border=2)
    )
    assert embedded.tobytes() != other.tobytes()  # the comparison can tell two codes apart
    # One pixel a module, drawn 28 mm wide: unsmoothed, so a reader sees sharp squares, not a blur.
    (xobject,) = [x.get_object() for x in page["/Resources"]["/XObject"].values()]
    assert xobject["/Width"] == embedded.size[0] and xobject["/Interpolate"].value is False


def _raster(pdf: bytes) -> bytes:
    document = pdfium.PdfDocument(pdf)
    return document[0].render(scale=2).to_pil().tobytes()


def test_the_fast_render_draws_the_page_pixel_for_pixel_as_weasyprints_full_stylesheets(employee, take):
    """certificate_pdf (the stylesheet parsed once, a minimal user-agent stylesheet) against the plain render:
    the certificate's <link> to its stylesheet and WeasyPrint's full HTML user-agent stylesheet."""
    completion = take(assignment_of(employee))
    cert = Certificate.objects.get(completion=completion)
    html = certificate_html(completion, cert.code, cert.valid_until)
    plain = render_pdf(html.replace("<head>", '<head><link rel="stylesheet" href="css/certificate.css">', 1))
    fast = certificate_pdf(completion, cert.code, cert.valid_until)
    assert _raster(fast) == _raster(plain)
    assert _raster(render_pdf(html)) != _raster(plain)  # unstyled differs: the comparison can fail
    assert pdf_text(fast) == pdf_text(plain)


def test_rendering_twice_leaves_one_certificate(employee, take):
    completion = take(assignment_of(employee))
    first = Certificate.objects.get()
    assert certificate_render_task.apply(args=[completion.pk]).get() == first.code
    assert certificate_issue(completion_id=completion.pk) == first
    assert Certificate.objects.count() == 1


def test_the_sweep_renders_missing_certificates(employee, monkeypatch, take):
    monkeypatch.setattr(services, "send_after_commit", lambda *a: None)  # as if the task were lost
    completion = take(assignment_of(employee))
    assert not Certificate.objects.exists()
    assert certificate_sweep_task.apply().get() == 1
    assert Certificate.objects.get().completion == completion
    assert certificate_sweep_task.apply().get() == 0


def test_with_the_broker_down_a_completion_still_succeeds_and_the_sweep_catches_up(employee, caplog, take):
    previous = app.conf.broker_url
    app.conf.update(
        task_always_eager=False,
        broker_url="redis://127.0.0.1:1/0",
        broker_connection_timeout=0.5,
        task_publish_retry=False,
    )
    app._pool = None
    app.amqp._producer_pool = None  # publish through the dead broker, not a pool made for an earlier one
    try:
        with caplog.at_level(logging.WARNING, logger="hipaa_training.tasks"):
            completion = take(assignment_of(employee))
    finally:
        app.conf.update(task_always_eager=True, broker_url=previous, task_publish_retry=True)
        app._pool = None
        app.amqp._producer_pool = None
    assert "could not queue records.render_certificate" in caplog.text
    assignment = assignment_of(employee)
    assert assignment.completed_at == completion.completed_at
    assert not Certificate.objects.exists()
    certificate_sweep_task.apply()
    assert Certificate.objects.get().completion == completion


def test_verification_is_public_and_counted(client, employee, take):
    take(assignment_of(employee))
    cert = Certificate.objects.get()
    response = client.get(reverse("records:verify", args=[cert.code]))
    html = response.content.decode()
    assert response.status_code == 200
    for expected in ("Status: <strong>Valid</strong>", "Billie Biller", "Security awareness", cert.sha256):
        assert expected in html
    assert AuditEvent.objects.filter(action="certificate.verified", subject_id=str(cert.pk)).count() == 1


def test_an_unknown_code_is_plainly_not_found(client):
    response = client.get(reverse("records:verify", args=["NOTAREALCODE"]))
    assert response.status_code == 404 and "Certificate not found" in response.content.decode()


@override_settings(CERTIFICATE_VERIFY_RATE=(3, 60))
def test_verification_is_rate_limited_per_address(client):
    codes = [client.get(reverse("records:verify", args=[f"X{i}"])).status_code for i in range(4)]
    assert codes == [404, 404, 404, 429]
    response = client.get(reverse("records:verify", args=["X"]))
    assert "Too many look-ups" in response.content.decode() and response["Retry-After"] == "60"
    other = client.get(reverse("records:verify", args=["X"]), REMOTE_ADDR="198.51.100.9")
    assert other.status_code == 404


def status_of(client, cert: Certificate) -> str:
    html = client.get(reverse("records:verify", args=[cert.code])).content.decode()
    return html.split("Status: <strong>")[1].split("<")[0]


def test_expired_superseded_and_revoked_certificates_say_so(client, employee, compliance_officer, time_machine, take):
    from roles.assignments import sync_assignments

    first = take(assignment_of(employee))
    cert = Certificate.objects.get(completion=first)
    assert status_of(client, cert) == "Valid"

    time_machine.move_to(dt.datetime.combine(cert.valid_until + dt.timedelta(days=2), dt.time(12)), tick=False)
    assert status_of(client, cert) == "Expired"

    sync_assignments()
    take(assignment_of(employee))  # the next cycle
    assert status_of(client, cert) == "Superseded by a newer completion"

    newest = Certificate.objects.exclude(pk=cert.pk).get(completion__assignment__course__slug="security-awareness")
    services.certificate_revoke(certificate=newest, reason="Signed by someone else.", actor=compliance_officer)
    assert status_of(client, newest) == "Revoked"
    assert AuditEvent.objects.filter(action="certificate.revoked").count() == 1


def test_a_revocation_needs_a_reason_and_happens_once(employee, compliance_officer, take):
    take(assignment_of(employee))
    cert = Certificate.objects.get()
    with pytest.raises(services.ValidationError):
        services.certificate_revoke(certificate=cert, reason=" ", actor=compliance_officer)
    services.certificate_revoke(certificate=cert, reason="Wrong person.", actor=compliance_officer)
    with pytest.raises(services.ValidationError, match="already revoked"):
        services.certificate_revoke(certificate=cert, reason="Again.", actor=compliance_officer)
    assert CertificateRevocation.objects.count() == 1


def test_downloads_need_a_login(client, employee, take):
    take(assignment_of(employee))
    url = reverse("records:certificate_download", args=[Certificate.objects.get().code])
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize(
    "who, status",
    [("employee", 200), ("compliance_officer", 200), ("auditor", 200), ("outsider", 404), ("manager", 404)],
)
def test_who_may_download_a_certificate(request, login, employee, who, status, take):
    take(assignment_of(employee))
    cert = Certificate.objects.get()
    response = login(request.getfixturevalue(who)).get(reverse("records:certificate_download", args=[cert.code]))
    assert response.status_code == status
    if status == 200:
        data = b"".join(response.streaming_content)
        assert hashlib.sha256(data).hexdigest() == cert.sha256
        assert response["Content-Type"] == "application/pdf"
        event = AuditEvent.objects.get(action="certificate.downloaded")
        assert event.data["person"] == employee.email and event.data["own"] == (who == "employee")


def test_my_certificates_lists_only_my_own(login, employee, outsider, take):
    take(assignment_of(employee))
    cert = Certificate.objects.get()
    mine = login(employee).get(reverse("records:certificates")).content.decode()
    assert cert.code in mine and "Security awareness" in mine
    theirs = login(outsider).get(reverse("records:certificates")).content.decode()
    assert cert.code not in theirs and "no certificates yet" in theirs


def test_an_administrator_revokes_a_certificate_in_the_admin(client, login, employee, administrator, take):
    take(assignment_of(employee))
    cert = Certificate.objects.get()
    c = login(administrator)
    response = c.post(
        reverse("admin:records_certificaterevocation_add"), {"certificate": cert.pk, "reason": "Issued in error."}
    )
    assert response.status_code == 302
    revocation = CertificateRevocation.objects.get()
    assert (revocation.certificate, revocation.revoked_by) == (cert, administrator)
    assert AuditEvent.objects.filter(action="certificate.revoked").count() == 1
    client.logout()
    assert status_of(client, cert) == "Revoked"
