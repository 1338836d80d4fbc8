"""The officer's page for the SSO claims mapping (/dashboard/settings/sso/): which value of the identity
provider's groups claim gives which workforce role, department and access group (applied at each SSO sign-in,
roles/oidc/mapping.py). Listing, adding, editing and removing; every write through roles/oidc/mapping_services.py
(audited) and after a fresh sign-in. Like the settings page it links from: officers and administrators only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .. import access
from ..http import AuthenticatedHttpRequest
from ..models import Department, SSOClaimMapping, WorkforceRole
from ..oidc import mapping_services
from ..oidc.config import configured_apps
from .settings import WRITERS


def _active_choices(queryset: Any, current: Any, empty: str) -> list[tuple[Any, str]]:
    """What the drop-down offers: the ones not retired, and the current one (so an edit shows it)."""
    rows = [r for r in queryset if r.retired_at is None or (current is not None and r.pk == current)]
    return [("", empty), *((r.pk, r.name + (" (retired)" if r.retired_at else "")) for r in rows)]


class MappingForm(forms.Form):
    provider_id = forms.ChoiceField(label="Identity provider", required=False)
    claim_value = forms.CharField(
        label="Value of the groups claim",
        max_length=200,
        required=False,  # the service says what is missing, next to the field
        help_text="Exactly as the provider sends it, e.g. hipaa-billing or an Entra ID group's object ID.",
    )
    workforce_role = forms.ModelChoiceField(
        label="Workforce role", queryset=WorkforceRole.objects.order_by("name"), required=False
    )
    department = forms.ModelChoiceField(
        label="Department", queryset=Department.objects.order_by("name"), required=False
    )
    access_group = forms.ChoiceField(label="Access group", choices=SSOClaimMapping.ACCESS_GROUPS, required=False)
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, mapping: SSOClaimMapping | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        providers = [str(a.get("provider_id")) for a in configured_apps() if a.get("provider_id")]
        if mapping is not None and mapping.provider_id and mapping.provider_id not in providers:
            providers.append(mapping.provider_id)  # a provider no longer configured: still shown as it is
        provider_field = self.fields["provider_id"]
        assert isinstance(provider_field, forms.ChoiceField)
        provider_field.choices = [("", "Every provider"), *((p, p) for p in providers)]
        role = self.fields["workforce_role"]
        department = self.fields["department"]
        role.widget.choices = _active_choices(  # type: ignore[attr-defined]
            WorkforceRole.objects.order_by("name"), mapping and mapping.workforce_role_id, "No change"
        )
        department.widget.choices = _active_choices(  # type: ignore[attr-defined]
            Department.objects.order_by("name"), mapping and mapping.department_id, "No change"
        )
        if mapping is None:
            del self.fields["version"]

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "provider_id": data.get("provider_id") or "",
            "claim_value": data.get("claim_value") or "",
            "workforce_role": data.get("workforce_role"),
            "department": data.get("department"),
            "access_group": data.get("access_group") or "",
        }


def _initial(mapping: SSOClaimMapping) -> dict[str, Any]:
    return {
        "provider_id": mapping.provider_id,
        "claim_value": mapping.claim_value,
        "workforce_role": mapping.workforce_role_id,
        "department": mapping.department_id,
        "access_group": mapping.access_group,
        "version": mapping_services.mapping_version(mapping),
    }


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _mappings() -> list[SSOClaimMapping]:
    return list(SSOClaimMapping.objects.select_related("workforce_role", "department"))


def _mapping(mapping_id: int) -> SSOClaimMapping:
    mapping = SSOClaimMapping.objects.select_related("workforce_role", "department").filter(pk=mapping_id).first()
    if mapping is None:
        raise Http404("No such mapping.")
    return mapping


def _fresh_for_writes(request: AuthenticatedHttpRequest) -> None:
    if request.method == "POST":
        access.require_recent_authentication(request)


def _list_page(request: AuthenticatedHttpRequest, form: MappingForm | None = None, status: int = 200) -> HttpResponse:
    context = {
        "mappings": [(m, mapping_services.mapping_version(m)) for m in _mappings()],
        "form": form or MappingForm(),
        "providers": [str(a.get("provider_id")) for a in configured_apps()],
    }
    return render(request, "roles/settings_sso.html", context, status=status)


def _edit_page(
    request: AuthenticatedHttpRequest, mapping: SSOClaimMapping, form: MappingForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "mapping": mapping,
        "version": mapping_services.mapping_version(mapping),
        "form": form or MappingForm(initial=_initial(mapping), mapping=mapping),
    }
    return render(request, "roles/settings_sso_edit.html", context, status=status)


def _stale(request: AuthenticatedHttpRequest, exc: mapping_services.MappingChanged) -> HttpResponse:
    messages.error(request, exc.messages[0])
    if exc.current is None:
        return _list_page(request, status=409)
    return _edit_page(request, _mapping(exc.current.pk), status=409)


@require_http_methods(["GET", "POST"])
@access.access_required(*WRITERS)
def mapping_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _fresh_for_writes(request)
    if request.method != "POST":
        return _list_page(request)
    form = MappingForm(request.POST)
    if form.is_valid():
        try:
            mapping = mapping_services.mapping_create(actor=request.user, **form.values())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, f"The mapping of “{mapping.claim_value}” was added; it applies at the next sign-in."
            )
            return redirect("roles:settings_sso")
    return _list_page(request, form=form, status=400)


@require_http_methods(["GET", "POST"])
@access.access_required(*WRITERS)
def mapping_edit(request: AuthenticatedHttpRequest, mapping_id: int) -> HttpResponse:
    _fresh_for_writes(request)
    mapping = _mapping(mapping_id)
    if request.method != "POST":
        return _edit_page(request, mapping)
    form = MappingForm(request.POST, mapping=mapping)
    if form.is_valid():
        try:
            mapping_services.mapping_update(
                mapping=mapping,
                actor=request.user,
                expected_version=form.cleaned_data.get("version") or "missing",
                **form.values(),
            )
        except mapping_services.MappingChanged as exc:
            return _stale(request, exc)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "The mapping was saved; it applies at the next sign-in.")
            return redirect("roles:settings_sso")
    return _edit_page(request, _mapping(mapping_id), form=form, status=400)


@require_POST
@access.access_required(*WRITERS)
@access.reauth_required
def mapping_delete(request: AuthenticatedHttpRequest, mapping_id: int) -> HttpResponse:
    mapping = _mapping(mapping_id)
    try:
        mapping_services.mapping_delete(
            mapping=mapping, actor=request.user, expected_version=request.POST.get("version") or "missing"
        )
    except mapping_services.MappingChanged as exc:
        return _stale(request, exc)
    messages.success(
        request,
        f"The mapping of “{mapping.claim_value}” was removed: it no longer applies at sign-in, and what it already "
        "gave people is left as it is.",
    )
    return redirect("roles:settings_sso")
