from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from hipaa_training.admin_utils import ReadOnlyAdmin
from roles.models import User

from .models import AttestationSignature, Certificate, CertificateRevocation, Completion, QuizAttempt
from .services import certificate_revoke


@admin.register(QuizAttempt)
class QuizAttemptAdmin(ReadOnlyAdmin):
    list_display = ["assignment", "number", "score", "passed", "submitted_at"]
    list_select_related = ["assignment__user", "assignment__course"]


@admin.register(AttestationSignature)
class AttestationSignatureAdmin(ReadOnlyAdmin):
    list_display = ["typed_name", "version", "signed_at", "ip_address"]


@admin.register(Completion)
class CompletionAdmin(ReadOnlyAdmin):
    list_display = ["user", "version", "score", "attempts", "completed_at"]
    list_select_related = ["user", "version"]
    search_fields = ["user__email", "user__full_name"]


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ["code", "completion", "issued_at", "valid_until"]


@admin.register(CertificateRevocation)
class CertificateRevocationAdmin(ReadOnlyAdmin):
    """Revoking is adding a revocation (through certificate_revoke); nothing is ever changed or deleted."""

    list_display = ["certificate", "revoked_at", "revoked_by"]
    fields = ["certificate", "reason"]
    raw_id_fields = ["certificate"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("records.add_certificaterevocation")

    def save_model(self, request: HttpRequest, obj: CertificateRevocation, form: Any, change: bool) -> None:
        assert isinstance(request.user, User)  # the admin is behind a staff login
        try:
            revocation = certificate_revoke(certificate=obj.certificate, reason=obj.reason, actor=request.user)
        except ValidationError as error:
            raise PermissionDenied("; ".join(error.messages)) from error
        obj.pk = revocation.pk
