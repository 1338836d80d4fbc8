"""Auditor accounts are read-only, and access that has expired ends the session that is already open.

- Every non-safe request (POST, PUT, PATCH, DELETE) by a member of the auditor group is refused with 403,
  except the URL names in settings.AUDITOR_WRITE_ALLOWED (log out, second-factor steps, asking for a report).
- A signed-in person whose access_expires_on has passed is logged out on their next request, and the
  event is audited; logging in again is refused by the account adapter.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import timezone

from hipaa_training import audit

from .access import is_auditor, is_client_auditor

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
DEFAULT_ALLOWED = (
    "account_logout",
    "mfa_*",
    "account_reauthenticate",
    "records:audit_request",
    "records:audit_client_pack",
)


def _allowed(url_name: str) -> bool:
    for pattern in getattr(settings, "AUDITOR_WRITE_ALLOWED", DEFAULT_ALLOWED):
        if pattern.endswith("*") and url_name.startswith(pattern[:-1]) or url_name == pattern:
            return True
    return False


def _url_name(path: str) -> str:
    try:
        return resolve(path).view_name
    except Resolver404:
        return ""


class AuditorAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            expires = getattr(user, "access_expires_on", None)
            if expires is not None and expires < timezone.localdate():
                with transaction.atomic():
                    audit.record("auth.session_ended", actor=user, subject=user, data={"why": "access expired"})
                logout(request)
                messages.error(request, f"Your access ended on {expires:%B %-d, %Y}. You have been logged out.")
                return redirect(settings.LOGIN_URL)
            if request.method not in SAFE_METHODS and (is_auditor(user) or is_client_auditor(user)):
                name = _url_name(request.path_info)
                if not _allowed(name):
                    with transaction.atomic():
                        audit.record(
                            "auth.write_refused",
                            actor=user,
                            data={"method": request.method, "path": request.path_info[:300], "why": "auditor"},
                        )
                    raise PermissionDenied("Auditor accounts are read-only.")
        return self.get_response(request)
