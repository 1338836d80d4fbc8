from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject


def site(request: HttpRequest) -> dict[str, Any]:
    return {"ORGANIZATION_NAME": settings.ORGANIZATION_NAME}


@dataclass(frozen=True)
class AuditStatus:
    """What the compliance officer's banner says about the last check of the audit trail."""

    ok: bool
    checked_at: dt.datetime | None
    message: str


def _audit_status() -> AuditStatus:
    from .models import AuditVerification

    last = AuditVerification.objects.order_by("-checked_at", "-pk").first()
    if last is None:
        return AuditStatus(False, None, "The audit trail has not been verified yet: run verify_audit_chain.")
    if not last.ok and last.problem_seq is None:
        return AuditStatus(False, last.checked_at, f"Audit trail {last.problem_kind}: {last.detail}")
    if not last.ok:
        return AuditStatus(
            False,
            last.checked_at,
            f"Audit trail BROKEN at seq {last.problem_seq}: {last.problem_kind}. {last.detail}",
        )
    if timezone.now() - last.checked_at > dt.timedelta(hours=settings.AUDIT_VERIFICATION_STALE_HOURS):
        hours = settings.AUDIT_VERIFICATION_STALE_HOURS
        return AuditStatus(
            False,
            last.checked_at,
            f"The audit trail has not been verified for over {hours} hours: is the nightly job running?",
        )
    return AuditStatus(True, last.checked_at, "Audit trail verified at")


def audit_status(request: HttpRequest) -> dict[str, Any]:
    """The last verification of the audit trail, queried only when a page shows it (officers' pages)."""
    return {"audit_status": SimpleLazyObject(_audit_status)}
