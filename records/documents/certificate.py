"""Certificates: the one-page PDF, its verification code and QR code, and what a verifier is told.

The only module that renders certificates (through hipaa_training.pdf); issuing runs in a Celery task
(records.tasks), never in a view. The verification page only looks a certificate up.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import segno
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from hipaa_training import audit
from hipaa_training.pdf import MINIMAL_UA, render_pdf
from roles.assignments import add_months
from roles.models import Requirement, User
from roles.organization import organization_logo_uri, organization_name

from ..models import Certificate, Completion

VALID = "valid"
EXPIRED = "expired"
SUPERSEDED = "superseded"
REVOKED = "revoked"
STATUS_LABELS = {
    VALID: "Valid",
    EXPIRED: "Expired",
    SUPERSEDED: "Superseded by a newer completion",
    REVOKED: "Revoked",
}


def new_certificate_code() -> str:
    """160 random bits, base32: unguessable and easy to read aloud or type."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def verification_url(code: str) -> str:
    return settings.SITE_URL + reverse("records:verify", args=[code])


def valid_until_for(completion: Completion) -> dt.date | None:
    """The next due date of a recurring module (the person's role's requirement); None when it is taken once."""
    user = completion.user
    if user.workforce_role_id is None:
        return None
    months = (
        Requirement.objects.filter(role_id=user.workforce_role_id, course_id=completion.version.course_id)
        .values_list("recurrence_months", flat=True)
        .first()
    )
    if not months:
        return None
    return add_months(timezone.localdate(completion.completed_at), months)


# Mask pattern 0 of the eight a QR code may use (any of them is a valid code that every reader decodes): choosing
# the "best" one scores all eight and was a sixth of each certificate's render time.
QR_MASK = 0


def certificate_qr(url: str) -> str:
    """The QR code of `url` as a PNG data: URI, one pixel a module. A PNG: WeasyPrint draws an SVG path of ~1,000
    modules in Python, a bitmap it only embeds; one pixel a module, which the page scales up without smoothing
    (certificate.css: `image-rendering: pixelated`), is as sharp as four and a tenth of the work to encode and
    embed (about 2 ms of each certificate)."""
    return segno.make(url, error="m", mask=QR_MASK).png_data_uri(scale=1, border=2, dark="#111")


def certificate_html(completion: Completion, code: str, valid_until: dt.date | None) -> str:
    """The certificate page; its stylesheets are applied by `certificate_pdf` (parsed once per process)."""
    url = verification_url(code)
    qr = certificate_qr(url)
    return render_to_string(
        "records/certificate_pdf.html",
        {
            "organization": organization_name(),
            "logo": organization_logo_uri(),
            "completion": completion,
            "person": completion.user.full_name,
            "version": completion.version,
            "completed_on": timezone.localdate(completion.completed_at),
            "valid_until": valid_until,
            "code": code,
            "url": url,
            "qr": qr,
        },
    )


CERTIFICATE_CSS = "css/certificate.css"


def certificate_pdf(completion: Completion, code: str, valid_until: dt.date | None) -> bytes:
    """The one-page certificate PDF: the page's own stylesheet and a minimal user-agent one, both parsed once."""
    return render_pdf(
        certificate_html(completion, code, valid_until),
        stylesheets=(CERTIFICATE_CSS,),
        user_agent_stylesheet=MINIMAL_UA,
    )


def certificate_issue(*, completion_id: int) -> Certificate:
    """Render and store the certificate for a completion; running it twice leaves one certificate."""
    existing = Certificate.objects.filter(completion_id=completion_id).first()
    if existing:
        return existing
    completion = Completion.objects.select_related("user", "version").get(pk=completion_id)
    code = new_certificate_code()
    valid_until = valid_until_for(completion)
    pdf = certificate_pdf(completion, code, valid_until)
    name = default_storage.save(f"certificates/{code}.pdf", ContentFile(pdf))
    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(
                completion=completion,
                code=code,
                file=name,
                sha256=hashlib.sha256(pdf).hexdigest(),
                valid_until=valid_until,
            )
            audit.record(
                "certificate.issued",
                subject=certificate,
                data={"completion_id": completion.pk, "code": code, "sha256": certificate.sha256},
            )
    except IntegrityError:
        default_storage.delete(name)  # another run issued it first; this file was never referenced
        return Certificate.objects.get(completion_id=completion_id)
    return certificate


def certificates_missing(limit: int = 500) -> list[int]:
    return list(
        Completion.objects.filter(certificate__isnull=True)
        .order_by("completed_at")
        .values_list("pk", flat=True)[:limit]
    )


@dataclass(frozen=True)
class Verification:
    certificate: Certificate
    status: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def certificate_status(certificate: Certificate, today: dt.date | None = None) -> str:
    today = today or timezone.localdate()
    completion = certificate.completion
    if hasattr(certificate, "revocation"):
        return REVOKED
    newer = Completion.objects.filter(
        user_id=completion.user_id,
        version__course_id=completion.version.course_id,
        completed_at__gt=completion.completed_at,
    ).exists()
    if newer:
        return SUPERSEDED
    if certificate.valid_until and certificate.valid_until < today:
        return EXPIRED
    return VALID


def certificate_verify(
    *, code: str, ip_address: str | None, actor: User | AnonymousUser | None = None
) -> Verification | None:
    """Look up a certificate by code for a verifier; every successful look-up is counted in the audit trail."""
    certificate = (
        Certificate.objects.select_related("completion__user", "completion__version", "revocation")
        .filter(code=code.strip().upper())
        .first()
    )
    if certificate is None:
        return None
    verification = Verification(certificate, certificate_status(certificate))
    audit.record(
        "certificate.verified",
        actor=actor,
        subject=certificate,
        data={"status": verification.status, "ip_address": ip_address},
    )
    return verification
