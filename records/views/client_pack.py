"""A client's evidence pack (/dashboard/clients/<id>/pack/ for officers, /audit/clients/<id>/pack/ for that client's
auditor): choose the period, ask for the pack (built in the background), download it when ready.

Compliance officers and administrators reach every client's; a client auditor only their own client's (any other
client is 404); everyone else 403.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from roles import access
from roles.http import AuthenticatedHttpRequest

from ..access import get_client_for_user
from ..documents.client_pack import client_filters, client_period
from ..exports import EARLIEST_DAY
from ..models import ReportJob
from ..services import report_request

PACK_READERS = (access.COMPLIANCE_OFFICER, access.ADMINISTRATOR, access.CLIENT_AUDITOR)


class PackForm(forms.Form):
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Empty: the BAA date."
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Empty: today."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        today = timezone.localdate()
        for name, day in (("start", start), ("end", end)):
            if day and day > today:
                self.add_error(name, "Choose today or a day in the past.")
            elif day and day < EARLIEST_DAY:
                self.add_error(name, f"Choose a day from {EARLIEST_DAY:%B %-d, %Y} on.")
        if start and end and start > end and not self.errors:
            raise forms.ValidationError("The start of the period is after its end.")
        return data


@require_http_methods(["GET", "POST"])
@access.access_required(*PACK_READERS)
def client_pack(request: AuthenticatedHttpRequest, client_id: int) -> HttpResponse:
    client = get_client_for_user(request.user, client_id)
    form = PackForm(request.POST if request.method == "POST" else None)
    here = request.resolver_match.view_name if request.resolver_match else "records:client_pack"
    if request.method == "POST":
        access.require_recent_authentication(request)
        if form.is_valid():
            filters = client_filters(client, form.cleaned_data.get("start"), form.cleaned_data.get("end"))
            report_request(kind=ReportJob.BUNDLE, requested_by=request.user, filters=filters, client=client)
            messages.success(
                request,
                f"The evidence pack for {client.name} ({filters.start:%B %-d, %Y} to {filters.end:%B %-d, %Y}) was "
                "requested. This page shows a download link when it is ready.",
            )
            return redirect(here, client_id=client.pk)
    start, end = client_period(client)
    jobs = list(
        ReportJob.objects.filter(requested_by=request.user, filters__client=client.pk).order_by("-requested_at", "-pk")[
            :20
        ]
    )
    return render(
        request,
        "records/client_pack.html",
        {
            "client": client,
            "form": form,
            "jobs": jobs,
            "default_start": start,
            "default_end": end,
            "officer": not access.is_client_auditor(request.user),
            "action": here,
        },
        status=400 if form.errors else 200,
    )
