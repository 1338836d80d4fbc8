"""The compliance officer's dashboard, one person's transcript, and the manager's team page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from roles import access
from roles.http import AuthenticatedHttpRequest

from .. import reports
from ..access import get_person_for_user
from ..exports import EARLIEST_DAY
from ..policy_reports import acknowledgements_of, policy_rows


class FilterForm(forms.Form):
    department = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    role = forms.TypedChoiceField(label="Workforce role", required=False, coerce=int, empty_value=None)
    module = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    as_of = forms.DateField(
        label="As of",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The status as it stood at the end of that day, rebuilt from the records.",
    )

    def __init__(self, *args: Any, choices: dict[str, list[Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = [("", "All")]
        for name, key in (("department", "departments"), ("role", "roles"), ("module", "courses")):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = everything + choices[key]

    def clean_as_of(self) -> Any:
        day = self.cleaned_data.get("as_of")
        if day and day > timezone.localdate():
            raise forms.ValidationError("Choose today or a day in the past.")
        if day and day < EARLIEST_DAY:
            raise forms.ValidationError(f"Choose a day from {EARLIEST_DAY:%B %-d, %Y} on.")
        return day

    def filters(self, **extra: Any) -> reports.Filters:
        data = self.cleaned_data if self.is_valid() else {}
        return reports.Filters(
            as_of=data.get("as_of") or timezone.localdate(),
            department_id=data.get("department"),
            role_id=data.get("role"),
            course_id=data.get("module"),
            **extra,
        )


def _page(request: HttpRequest, template: str, *, manager_id: int | None = None, **context: Any) -> HttpResponse:
    form = FilterForm(request.GET or None, choices=reports.filter_choices())
    filters = form.filters(manager_id=manager_id)
    data = reports.dashboard(filters, with_audit_state=manager_id is None)
    return render(
        request,
        template,
        {"form": form, "d": data, "today": timezone.localdate(), "query": request.GET.urlencode(), **context},
    )


@require_GET
@access.access_required(access.COMPLIANCE_OFFICER)
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = policy_rows()
    today = timezone.localdate()
    return _page(
        request,
        "records/dashboard.html",
        scope="workforce",
        policy_rows=rows,
        policies_review_due=[r for r in rows if r.review_due(today) and not r.policy.is_retired],
    )


LIST_TITLES = {"overdue": "Overdue training", "due-soon": "Training due in the next 30 days"}


def _list_page(request: HttpRequest, kind: str) -> HttpResponse:
    form = FilterForm(request.GET or None, choices=reports.filter_choices())
    filters = form.filters()
    count, rows = reports.assignment_list(filters, kind)
    return render(
        request,
        "records/dashboard_full_list.html",
        {
            "form": form,
            "d": {"filters": filters},
            "kind": kind,
            "title": LIST_TITLES[kind],
            "count": count,
            "rows": rows,
            "query": request.GET.urlencode(),
        },
    )


@require_GET
@access.access_required(access.COMPLIANCE_OFFICER)
def overdue(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _list_page(request, "overdue")


@require_GET
@access.access_required(access.COMPLIANCE_OFFICER)
def due_soon(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _list_page(request, "due-soon")


@require_GET
@access.access_required(access.MANAGER)
def team(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _page(request, "records/dashboard_team.html", manager_id=request.user.pk, scope="team")


@require_GET
@login_required
def person_transcript(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    """One person's transcript: theirs, their manager's, compliance officers' and auditors'; anyone else 404."""
    person = get_person_for_user(request.user, person_id)
    return render(
        request,
        "records/dashboard_transcript.html",
        {
            "person": person,
            "rows": reports.transcript(person),
            "policy_acknowledgements": acknowledgements_of(person),
            "today": timezone.localdate(),
            "can_nudge": access.is_compliance_officer(request.user) and person.is_active,
            "can_compare": access.is_privileged(request.user)
            or (access.is_manager(request.user) and person.manager_id == request.user.pk),
        },
    )
