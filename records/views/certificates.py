"""Certificates for their holders and for anyone checking one: the list, the download, the public verification."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from hipaa_training import audit
from hipaa_training.net import client_ip
from roles.http import AuthenticatedHttpRequest

from ..access import get_certificate_for_user
from ..documents.certificate import certificate_verify
from ..selectors import certificates_of


@login_required
def my_certificates(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "records/certificates.html", {"certificates": certificates_of(request.user)})


@login_required
@require_GET
def certificate_download(request: AuthenticatedHttpRequest, code: str) -> FileResponse:
    certificate = get_certificate_for_user(request.user, code)
    owner = certificate.completion.user
    audit.record(
        "certificate.downloaded",
        actor=request.user,
        subject=certificate,
        data={"code": code, "person": owner.email, "own": owner.pk == request.user.pk},
    )
    response = FileResponse(
        default_storage.open(certificate.file, "rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"certificate-{certificate.completion.version.course.slug}-{code[:8]}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _rate_limited(ip: str) -> bool:
    limit, seconds = settings.CERTIFICATE_VERIFY_RATE
    key = f"verify-rate:{ip}"
    if cache.add(key, 1, timeout=seconds):
        return False
    try:
        return cache.incr(key) > limit
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=seconds)
        return False


@require_GET
@never_cache
def verify(request: HttpRequest, code: str) -> HttpResponse:
    ip = client_ip(request) or "unknown"
    if _rate_limited(ip):
        response = render(request, "records/verify_limited.html", status=429)
        response["Retry-After"] = str(settings.CERTIFICATE_VERIFY_RATE[1])
        return response
    verification = certificate_verify(code=code, ip_address=ip, actor=request.user)
    if verification is None:
        return render(request, "records/verify_not_found.html", {"code": code}, status=404)
    return render(request, "records/verify.html", {"v": verification, "c": verification.certificate})
