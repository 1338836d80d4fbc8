"""The compliance officer's page for the SSO claims mapping (in the admin, like the security policy)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from hipaa_training import audit

from ..access import require_recent_authentication
from ..models import SSOClaimMapping


def _describe(mapping: SSOClaimMapping) -> dict[str, Any]:
    return {
        "provider": mapping.provider_id or "any",
        "claim_value": mapping.claim_value,
        "role": str(mapping.workforce_role) if mapping.workforce_role else None,
        "department": str(mapping.department) if mapping.department else None,
        "access_group": mapping.access_group or None,
    }


class SSOClaimMappingForm(forms.ModelForm):
    class Meta:
        model = SSOClaimMapping
        fields = ["provider_id", "claim_value", "workforce_role", "department", "access_group"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("workforce_role") or data.get("department") or data.get("access_group")):
            raise forms.ValidationError("Say what this value means: a role, a department or an access group.")
        return data


@admin.register(SSOClaimMapping)
class SSOClaimMappingAdmin(admin.ModelAdmin):
    """Applied at each SSO sign-in (roles/oidc/mapping.py); every change is audited."""

    form = SSOClaimMappingForm
    list_display = ["claim_value", "provider_id", "workforce_role", "department", "access_group", "updated_at"]
    search_fields = ["claim_value"]

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "POST":  # it decides people's roles and access: a fresh proof of identity first
            require_recent_authentication(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: SSOClaimMapping, form: forms.ModelForm, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record("sso.mapping_saved", actor=request.user, subject=obj, data=_describe(obj))

    def delete_model(self, request: HttpRequest, obj: SSOClaimMapping) -> None:
        with transaction.atomic():
            audit.record("sso.mapping_deleted", actor=request.user, subject=obj, data=_describe(obj))
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SSOClaimMapping]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
