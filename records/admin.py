from __future__ import annotations

from django.contrib import admin

from hipaa_training.admin_utils import ReadOnlyAdmin

from .models import AttestationSignature, Certificate, CertificateRevocation, Completion, QuizAttempt


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
    list_display = ["certificate", "revoked_at", "revoked_by"]
