from __future__ import annotations

from django.contrib import admin

from .admin_utils import ReadOnlyAdmin
from .models import AuditEvent, AuditVerification


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "actor_label", "action", "subject_type", "subject_id"]
    list_filter = ["action"]
    search_fields = ["actor_label", "action", "subject_id"]
    date_hierarchy = "at"


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin):
    list_display = ["checked_at", "ok", "events", "head_seq", "problem_seq", "problem_kind", "anchored_seq"]
    list_filter = ["ok"]
