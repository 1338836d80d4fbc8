"""The auditor's pages (/audit/): streamed CSV exports, the PDF report and the evidence bundle.

Auditors and compliance officers reach them. Every export and download is an audit event naming who,
what and with which filters.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hipaa_training import audit
from roles import access
from roles.http import AuthenticatedHttpRequest

from ..access import get_client_for_user, get_report_job_for_user
from ..exports import EARLIEST_DAY, EXPORTS, ExportFilters
from ..models import ReportJob
from ..services import report_request

AUDIT_READERS = (access.AUDITOR, access.COMPLIANCE_OFFICER)
# A client auditor lands on /audit/ too, sees only their client's pack there, and downloads only what they asked for;
# every organisation-wide export or report answers them 404.
WITH_CLIENT_AUDITORS = (*AUDIT_READERS, access.CLIENT_AUDITOR)


def _refuse_client_auditor(request: AuthenticatedHttpRequest) -> None:
    if access.is_client_auditor(request.user):
        raise Http404("Not part of your client's evidence.")


class ExportForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    as_of = forms.DateField(
        label="As of",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Show records as they stood at the end of that day.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end, as_of = data.get("start"), data.get("end"), data.get("as_of")
        if start and end and start > end:
            raise forms.ValidationError("The start of the range is after its end.")
        today = timezone.localdate()
        for name, day in (("start", start), ("end", end), ("as_of", as_of)):
            if day and day > today:
                self.add_error(name, "Choose today or a day in the past.")
            elif day and day < EARLIEST_DAY:
                self.add_error(name, f"Choose a day from {EARLIEST_DAY:%B %-d, %Y} on.")
        return data

    def export_filters(self) -> ExportFilters:
        data = self.cleaned_data
        return ExportFilters(start=data.get("start"), end=data.get("end"), as_of=data.get("as_of"))


class RequestForm(ExportForm):
    kind = forms.ChoiceField(choices=ReportJob.KINDS, widget=forms.HiddenInput)


def _jobs(request: AuthenticatedHttpRequest) -> list[ReportJob]:
    return list(ReportJob.objects.filter(requested_by=request.user).order_by("-requested_at", "-pk")[:20])


@require_GET
@access.access_required(*WITH_CLIENT_AUDITORS)
def audit_home(request: AuthenticatedHttpRequest) -> HttpResponse:
    client_id = access.audited_client_id(request.user)
    if client_id is not None:
        client = get_client_for_user(request.user, client_id)
        return render(request, "records/audit_client.html", {"client": client})
    form = ExportForm(request.GET or None)
    return render(
        request,
        "records/audit.html",
        {"form": form, "exports": EXPORTS.values(), "jobs": _jobs(request), "query": request.GET.urlencode()},
    )


@require_GET
@access.access_required(*WITH_CLIENT_AUDITORS)
@access.reauth_required
def export_csv(request: AuthenticatedHttpRequest, slug: str) -> HttpResponseBase:
    _refuse_client_auditor(request)
    export = EXPORTS.get(slug)
    if export is None:
        raise Http404("No such export.")
    form = ExportForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "records/audit.html",
            {"form": form, "exports": EXPORTS.values(), "jobs": _jobs(request), "query": ""},
            status=400,
        )
    filters = form.export_filters()
    with transaction.atomic():
        audit.record(
            "export.downloaded",
            actor=request.user,
            data={"export": export.slug, "file": export.filename, "filters": filters.as_dict()},
        )
    response = StreamingHttpResponse(export.chunks(filters), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{stamp}-{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@access.access_required(*WITH_CLIENT_AUDITORS)
@access.reauth_required
def request_report(request: AuthenticatedHttpRequest) -> HttpResponse:
    _refuse_client_auditor(request)
    form = RequestForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "The report was not requested: " + " ".join(str(m) for e in form.errors.values() for m in e)
        )
        return redirect("records:audit")
    job = report_request(kind=form.cleaned_data["kind"], requested_by=request.user, filters=form.export_filters())
    messages.success(request, f"{job.get_kind_display()} requested. This page shows a download link when it is ready.")
    return redirect("records:audit")


@require_GET
@access.access_required(*WITH_CLIENT_AUDITORS)
@access.reauth_required
def download_report(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponseBase:
    job = get_report_job_for_user(request.user, job_id)
    with transaction.atomic():
        audit.record(
            f"{job.kind}.downloaded",
            actor=request.user,
            subject=job,
            data={"sha256": job.sha256, "filters": job.filters},
        )
    response = FileResponse(
        default_storage.open(job.file, "rb"),
        as_attachment=True,
        filename=job.download_name,
        content_type="application/pdf" if job.kind == ReportJob.REPORT else "application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response
