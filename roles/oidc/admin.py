"""The SSO claims mapping in the Django admin, for administrators; the compliance officer edits it at
/dashboard/settings/sso/ (roles/views/sso_mapping.py). Both write through roles/oidc/mapping_services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from ..access import require_recent_authentication
from ..models import SSOClaimMapping, User
from . import mapping_services


class SSOClaimMappingForm(forms.ModelForm):
    class Meta:
        model = SSOClaimMapping
        fields = ["provider_id", "claim_value", "workforce_role", "department", "access_group"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        fields: dict[str, Any] = {
            name: data.get(name) or ("" if name in ("provider_id", "access_group") else None)
            for name in mapping_services.FIELDS
        }
        try:
            data["claim_value"] = mapping_services.mapping_check(
                mapping=self.instance if self.instance.pk else None, **fields
            )
        except ValidationError as exc:
            self.add_error(None, exc)
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
        """Through the same services as the officer's page (roles/oidc/mapping_services.py)."""
        fields: dict[str, Any] = {name: form.cleaned_data.get(name) for name in mapping_services.FIELDS}
        fields["provider_id"] = fields["provider_id"] or ""
        fields["access_group"] = fields["access_group"] or ""
        actor = request.user if isinstance(request.user, User) else None
        if change:
            saved = mapping_services.mapping_update(mapping=obj, actor=actor, **fields)
        else:
            saved = mapping_services.mapping_create(actor=actor, **fields)
        obj.pk, obj.updated_at = saved.pk, saved.updated_at

    def delete_model(self, request: HttpRequest, obj: SSOClaimMapping) -> None:
        actor = request.user if isinstance(request.user, User) else None
        mapping_services.mapping_delete(mapping=obj, actor=actor)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SSOClaimMapping]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
