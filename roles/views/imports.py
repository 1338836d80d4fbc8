"""The compliance officer's workforce import: upload -> preview -> apply (/dashboard/import/)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .. import access
from ..http import AuthenticatedHttpRequest
from ..imports import COLUMNS, ImportRejected, max_bytes, workforce_import_apply, workforce_import_upload


class UploadForm(forms.Form):
    file = forms.FileField(label="Workforce CSV file", help_text=f"Columns: {', '.join(COLUMNS)}.")


class ApplyForm(forms.Form):
    upload = forms.IntegerField(widget=forms.HiddenInput)
    plan = forms.CharField(max_length=64, min_length=64, widget=forms.HiddenInput)


@require_http_methods(["GET", "POST"])
@access.access_required(access.COMPLIANCE_OFFICER)
@access.reauth_required
def import_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    context = {"form": form, "columns": COLUMNS, "max_bytes": max_bytes()}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        # Never more than one byte past the limit in memory: enough to refuse a file that is too large.
        content = upload.read(max_bytes() + 1)
        plan, stored = workforce_import_upload(
            content=content, filename=upload.name, actor=request.user, size=max(upload.size or 0, len(content))
        )
        apply_form = ApplyForm(initial={"upload": stored.pk, "plan": plan.digest()}) if stored else None
        return render(
            request,
            "roles/import_preview.html",
            {**context, "plan": plan, "apply_form": apply_form},
            status=200 if plan.ok else 400,
        )
    return render(request, "roles/import.html", context, status=400 if form.errors else 200)


@require_POST
@access.access_required(access.COMPLIANCE_OFFICER)
@access.reauth_required
def import_apply(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ApplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was imported: the preview form was incomplete. Upload the file again.")
        return redirect("roles:import")
    try:
        plan = workforce_import_apply(
            upload_id=form.cleaned_data["upload"], plan_sha256=form.cleaned_data["plan"], actor=request.user
        )
    except ImportRejected as exc:
        messages.error(request, f"Nothing was imported. {exc}")
        return redirect("roles:import")
    c = plan.counts()
    messages.success(
        request,
        f"Imported {plan.filename}: {c['created']} added (invited), {c['updated']} updated, "
        f"{c['deactivated']} deactivated, {c['reactivated']} reactivated, {c['unchanged']} unchanged.",
    )
    return redirect("roles:import")
