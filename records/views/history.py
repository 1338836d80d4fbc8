"""Should have been trained vs was trained, for one person over a period: a page and its CSV.

Compliance officers, administrators and auditors read it for anyone; a manager for their direct reports.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from hipaa_training import audit
from roles import access
from roles.http import AuthenticatedHttpRequest

from .. import should_vs_was
from ..access import get_person_history_for_user
from ..exports import EARLIEST_DAY, csv_chunks

READERS = (access.COMPLIANCE_OFFICER, access.ADMINISTRATOR, access.AUDITOR, access.MANAGER)


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        for name in ("start", "end"):
            day = data.get(name)
            if day and day > today:
                self.add_error(name, "Choose today or a day in the past.")
            elif day and day < EARLIEST_DAY:
                self.add_error(name, f"Choose a day from {EARLIEST_DAY:%B %-d, %Y} on.")
        start, end = data.get("start"), data.get("end")
        if start and end and start > end and not self.errors:
            self.add_error("start", "The start of the period is after its end.")
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        """The period asked for; by default the 12 months up to today."""
        end = self.cleaned_data.get("end") or timezone.localdate()
        start = self.cleaned_data.get("start") or max(EARLIEST_DAY, end - dt.timedelta(days=364))
        return min(start, end), end


@require_GET
@access.access_required(*READERS)
def person_should_vs_was(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person = get_person_history_for_user(request.user, person_id)
    form = PeriodForm(request.GET)
    plan = None
    if form.is_valid():
        start, end = form.period()
        plan = next(should_vs_was.plans([person], start, end))
    return render(
        request,
        "records/should_vs_was.html",
        {
            "person": person,
            "form": form,
            "plan": plan,
            "note": should_vs_was.REQUIREMENTS_NOTE,
            "query": request.GET.urlencode(),
        },
        status=200 if plan is not None else 400,
    )


@require_GET
@access.access_required(*READERS)
def person_should_vs_was_csv(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponseBase:
    person = get_person_history_for_user(request.user, person_id)
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "records/should_vs_was.html",
            {"person": person, "form": form, "plan": None, "note": should_vs_was.REQUIREMENTS_NOTE, "query": ""},
            status=400,
        )
    start, end = form.period()
    with transaction.atomic():
        audit.record(
            "export.downloaded",
            actor=request.user,
            subject=person,
            data={
                "export": "should-vs-was",
                "person": person.email,
                "filters": {"start": start.isoformat(), "end": end.isoformat()},
            },
        )
    rows = should_vs_was.csv_rows(should_vs_was.plans([person], start, end))
    response = StreamingHttpResponse(csv_chunks(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="should-vs-was-{person.pk}-{start}-{end}.csv"'
    response["Cache-Control"] = "no-store"
    return response
