"""Clients (/dashboard/clients/): each covered entity, the modules its agreement adds, who works its accounts (as
history) and its client auditor accounts.

Compliance officers and administrators change them; auditors of the whole organisation read them. Client auditors
never see these pages (403): their one client's evidence is on /audit/.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from courses.models import Course

from .. import access
from ..clients import (
    client_auditor_grant,
    client_auditor_revoke,
    client_create,
    client_requirement_remove,
    client_requirement_set,
    client_retire,
    client_scope_add,
    client_scope_remove,
    client_update,
    people_on,
    scope_history,
)
from ..http import AuthenticatedHttpRequest
from ..models import (
    MAX_DUE_WITHIN_DAYS,
    MAX_RECURRENCE_MONTHS,
    Client,
    ClientAuditor,
    ClientRequirement,
    Department,
    User,
    WorkforceRole,
)
from ..validators import ACCESS_MAX_AHEAD

WRITERS = (access.COMPLIANCE_OFFICER, access.ADMINISTRATOR)
READERS = (*WRITERS, access.AUDITOR)
EARLIEST = dt.date(1990, 1, 1)


def _plausible(day: dt.date | None, what: str) -> dt.date | None:
    if day is not None and not EARLIEST <= day <= timezone.localdate() + dt.timedelta(days=366):
        raise forms.ValidationError(f"{what} must be between {EARLIEST.year} and a year from today.")
    return day


class ClientForm(forms.Form):
    name = forms.CharField(label="Name of the client", max_length=200)
    baa_effective_on = forms.DateField(
        label="BAA effective on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The day the business associate agreement took effect: the start of the client's evidence.",
    )
    due_within_days = forms.IntegerField(
        label="Days to complete the client's modules",
        min_value=1,
        max_value=MAX_DUE_WITHIN_DAYS,
        required=False,
        help_text="Only if the agreement asks for a shorter window; empty: the usual 30 days.",
    )
    notes = forms.CharField(label="Notes", required=False, max_length=2000, widget=forms.Textarea({"rows": 2}))

    def clean_baa_effective_on(self) -> dt.date | None:
        return _plausible(self.cleaned_data["baa_effective_on"], "The BAA date")


class ClientRequirementForm(forms.Form):
    course = forms.ModelChoiceField(
        label="Module the agreement adds",
        queryset=Course.objects.filter(retired_at__isnull=True, versions__isnull=False).distinct().order_by("title"),
        empty_label="Choose a module",
        error_messages={"invalid_choice": "That module is retired or unknown: choose one from the list."},
    )
    recurrence_months = forms.IntegerField(
        label="Retrain every (months)",
        min_value=1,
        max_value=MAX_RECURRENCE_MONTHS,
        required=False,
        initial=12,
        help_text="Empty: once.",
    )


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name)


class ScopeForm(forms.Form):
    ACTIONS = [("add", "Starts working the client's accounts"), ("remove", "Stops working the client's accounts")]

    action = forms.ChoiceField(label="Change", choices=ACTIONS, initial="add")
    department = forms.ModelChoiceField(
        label="Department", queryset=Department.objects.all(), required=False, empty_label="(none)"
    )
    workforce_role = forms.ModelChoiceField(
        label="Workforce role", queryset=WorkforceRole.objects.all(), required=False, empty_label="(none)"
    )
    person = PersonChoiceField(
        label="Person",
        queryset=User.objects.filter(workforce_role__isnull=False).order_by("full_name"),
        required=False,
        empty_label="(none)",
    )
    valid_from = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date"}), required=False, help_text="Empty: today."
    )
    reason = forms.CharField(label="Why (for the record)", max_length=200)

    def clean_valid_from(self) -> dt.date | None:
        return _plausible(self.cleaned_data["valid_from"], "The day")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = [n for n in ("department", "workforce_role", "person") if data.get(n)]
        if len(chosen) != 1 and not self.errors:
            raise forms.ValidationError("Choose exactly one of a department, a workforce role or a person.")
        return data


class ClientAuditorForm(forms.Form):
    email = forms.EmailField(label="E-mail address of the client's auditor", max_length=254)
    full_name = forms.CharField(
        label="Full name", max_length=200, required=False, help_text="For a new account; an existing one keeps its."
    )
    access_expires_on = forms.DateField(
        label="Access ends on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Sign-in is refused after this day (at most two years ahead).",
    )

    def clean_access_expires_on(self) -> dt.date:
        day: dt.date = self.cleaned_data["access_expires_on"]
        today = timezone.localdate()
        if day < today:
            raise forms.ValidationError("Access cannot end in the past.")
        if day > today + ACCESS_MAX_AHEAD:
            raise forms.ValidationError("Access can be granted for at most two years.")
        return day


def _may_write(request: AuthenticatedHttpRequest) -> bool:
    return bool(access.groups_of(request.user) & set(WRITERS))


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _client(client_id: int) -> Client:
    return get_object_or_404(Client, pk=client_id)


@require_http_methods(["GET", "POST"])
@access.access_required(*READERS)
def client_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ClientForm(request.POST or None)
    if request.method == "POST":
        if not _may_write(request):
            raise PermissionDenied("Auditors read the clients; officers change them.")
        if form.is_valid():
            try:
                client = client_create(**form.cleaned_data, actor=request.user)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, f"{client.name} was added. Say who works its accounts and what it requires.")
                return redirect("roles:client", client_id=client.pk)
    clients = Client.objects.order_by("retired_at", "name")
    return render(
        request,
        "roles/clients.html",
        {"form": form, "clients": clients, "can_write": _may_write(request)},
        status=400 if form.errors else 200,
    )


def _client_page(
    request: AuthenticatedHttpRequest,
    client: Client,
    *,
    form: ClientForm | None = None,
    requirement_form: ClientRequirementForm | None = None,
    scope_form: ScopeForm | None = None,
    status: int | None = None,
) -> HttpResponse:
    initial = {
        "name": client.name,
        "baa_effective_on": client.baa_effective_on,
        "due_within_days": client.due_within_days,
        "notes": client.notes,
    }
    errors = any(f is not None and f.errors for f in (form, requirement_form, scope_form))
    return render(
        request,
        "roles/client.html",
        {
            "client": client,
            "can_write": _may_write(request) and client.retired_at is None,
            "may_pack": _may_write(request),
            "form": form or ClientForm(initial=initial),
            "requirement_form": requirement_form or ClientRequirementForm(auto_id="req_%s"),
            "scope_form": scope_form or ScopeForm(auto_id="scope_%s"),
            "requirements": list(client.requirements.select_related("course").order_by("course__title")),
            "history": scope_history(client),
            "people": people_on(client) if client.retired_at is None else [],
            "today": timezone.localdate(),
        },
        status=status or (400 if errors else 200),
    )


@require_http_methods(["GET", "POST"])
@access.access_required(*READERS)
def client_detail(request: AuthenticatedHttpRequest, client_id: int) -> HttpResponse:
    client = _client(client_id)
    if request.method != "POST":
        return _client_page(request, client)
    if not _may_write(request):
        raise PermissionDenied("Auditors read the clients; officers change them.")
    form = ClientForm(request.POST)
    if form.is_valid():
        try:
            client_update(client=client, **form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "The client's details were saved.")
            return redirect("roles:client", client_id=client.pk)
    return _client_page(request, client, form=form)


@require_POST
@access.access_required(*WRITERS)
def client_requirement(request: AuthenticatedHttpRequest, client_id: int) -> HttpResponse:
    client = _client(client_id)
    form = ClientRequirementForm(request.POST, auto_id="req_%s")
    if form.is_valid():
        try:
            client_requirement_set(client=client, **form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, f"{form.cleaned_data['course'].title} is now required of everyone who works {client.name}."
            )
            return redirect("roles:client", client_id=client.pk)
    return _client_page(request, client, requirement_form=form)


@require_POST
@access.access_required(*WRITERS)
def client_requirement_remove_view(
    request: AuthenticatedHttpRequest, client_id: int, requirement_id: int
) -> HttpResponse:
    client = _client(client_id)
    requirement = get_object_or_404(
        ClientRequirement.objects.select_related("course"), pk=requirement_id, client=client
    )
    client_requirement_remove(requirement=requirement, actor=request.user)
    messages.success(request, f"{client.name} no longer requires {requirement.course.title}: open ones were cancelled.")
    return redirect("roles:client", client_id=client.pk)


@require_POST
@access.access_required(*WRITERS)
def client_scope(request: AuthenticatedHttpRequest, client_id: int) -> HttpResponse:
    client = _client(client_id)
    form = ScopeForm(request.POST, auto_id="scope_%s")
    if form.is_valid():
        data = form.cleaned_data
        change = client_scope_add if data["action"] == "add" else client_scope_remove
        try:
            row = change(
                client=client,
                department=data["department"],
                workforce_role=data["workforce_role"],
                person=data["person"],
                valid_from=data["valid_from"],
                reason=data["reason"],
                actor=request.user,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            verb = "works" if data["action"] == "add" else "no longer works"
            messages.success(
                request, f"Saved: {row.target_label} {verb} {client.name}'s accounts from {row.valid_from:%B %-d, %Y}."
            )
            return redirect("roles:client", client_id=client.pk)
    return _client_page(request, client, scope_form=form)


@require_POST
@access.access_required(*WRITERS)
def client_retire_view(request: AuthenticatedHttpRequest, client_id: int) -> HttpResponse:
    client = _client(client_id)
    try:
        client_retire(client=client, actor=request.user)
    except ValidationError as exc:
        messages.error(request, "Not retired. " + " ".join(exc.messages))
        return _client_page(request, client, status=400)
    messages.success(request, f"{client.name} is retired: kept for the records, its modules no longer assigned.")
    return redirect("roles:clients")


def _auditors_page(
    request: AuthenticatedHttpRequest, client: Client, form: ClientAuditorForm, status: int = 200
) -> HttpResponse:
    bindings = list(ClientAuditor.objects.filter(client=client).select_related("user").order_by("user__full_name"))
    today = timezone.localdate()
    for binding in bindings:
        expires = binding.user.access_expires_on
        binding.active = (  # type: ignore[attr-defined]
            binding.user.is_active
            and expires is not None
            and expires >= today
            and binding.user.groups.filter(name=access.AUDITOR).exists()
        )
    return render(
        request,
        "roles/client_auditors.html",
        {"client": client, "form": form, "bindings": bindings, "can_write": client.retired_at is None},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@access.access_required(*WRITERS)
def client_auditors(request: AuthenticatedHttpRequest, client_id: int) -> HttpResponse:
    client = _client(client_id)
    form = ClientAuditorForm(request.POST or None)
    if request.method == "POST":
        access.require_recent_authentication(request)
        if form.is_valid():
            try:
                binding = client_auditor_grant(client=client, **form.cleaned_data, actor=request.user)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"{binding.user.email} may read {client.name}'s evidence until "
                    f"{form.cleaned_data['access_expires_on']:%B %-d, %Y}.",
                )
                return redirect("roles:client_auditors", client_id=client.pk)
        return _auditors_page(request, client, form, status=400)
    return _auditors_page(request, client, form)


@require_POST
@access.access_required(*WRITERS)
def client_auditor_revoke_view(request: AuthenticatedHttpRequest, client_id: int, binding_id: int) -> HttpResponse:
    client = _client(client_id)
    binding = get_object_or_404(ClientAuditor.objects.select_related("user", "client"), pk=binding_id, client=client)
    access.require_recent_authentication(request)
    client_auditor_revoke(binding=binding, actor=request.user)
    messages.success(request, f"{binding.user.email} can no longer sign in.")
    return redirect("roles:client_auditors", client_id=client.pk)
