"""Response headers: CSP, HSTS (production), nosniff, referrer policy, no-store for signed-in pages and downloads."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from hipaa_training.security import SecurityHeadersMiddleware


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


@pytest.mark.django_db
def test_every_page_has_a_strict_content_security_policy(client):
    response = client.get(reverse("account_login"))
    csp = csp_directives(response)
    assert csp["script-src"] == "'self'" and "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert csp["style-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["base-uri"] == "'self'"
    assert csp["form-action"] == "'self'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_signed_in_page_is_never_stored(login, employee):
    response = login(employee).get(reverse("records:training"))
    assert "no-store" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]


def test_a_download_is_never_stored_even_without_a_session():
    def download(request):
        response = HttpResponse(b"name,completed\n", content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="records.csv"'
        return response

    request = RequestFactory().get("/some/export.csv")
    response = SecurityHeadersMiddleware(download)(request)
    assert "no-store" in response.headers["Cache-Control"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:index",
        "admin:roles_user_changelist",
        "admin:roles_user_add",
        "admin:roles_securitypolicy_changelist",
        "admin:hipaa_training_auditevent_changelist",
        "records:training",
        "mfa_index",
        "mfa_list_webauthn",
        "usersessions_list",
    ],
)
def test_pages_need_no_inline_script_handler_or_style_attribute(login, administrator, url_name):
    """The CSP forbids them; the Django admin (5.2) needs no exception: its scripts are files."""
    response = login(administrator).get(reverse(url_name))
    assert response.status_code == 200
    html = response.content.decode()
    assert not INLINE_SCRIPT.findall(html)
    assert not HANDLER.findall(html)
    assert not STYLE_ATTR.findall(html)


def test_hsts_and_secure_cookies_in_production():
    from tests.hipaa_training.test_deployment import _manage

    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN)",
        PRODUCTION="1",
        SECRET_KEY="y" * 60,
        ALLOWED_HOSTS="training.example.com",
    )
    assert result.stdout.strip().splitlines()[-1].split() == ["31536000", "True", "True", "True", "False"], (
        result.stderr
    )
