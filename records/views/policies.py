"""Policies and procedures: the officer writes, publishes and follows them (/dashboard/policies/), auditors read
everything, each person reads and acknowledges theirs (/policies/<id>/)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from courses.models import Policy, PolicyVersion
from courses.policies import (
    MAX_ACK_WITHIN_DAYS,
    RETIRED_MESSAGE,
    pdf_max_bytes,
    policy_create,
    policy_retire,
    policy_version_publish,
)
from hipaa_training.net import client_ip
from roles import access
from roles.forms import IdsMultipleChoiceField
from roles.http import AuthenticatedHttpRequest
from roles.models import PolicyAssignment, WorkforceRole
from roles.policies import audience_of, policy_audience_set

from ..access import get_policy_assignment_for_user, get_policy_version_for_user
from ..models import PolicyAcknowledgement
from ..policy_reports import policy_rows, version_people
from ..services import policy_acknowledge

WRITERS = (access.COMPLIANCE_OFFICER, access.ADMINISTRATOR)
READERS = (*WRITERS, access.AUDITOR)
AUDIENCES = [("everyone", "The whole workforce"), ("roles", "Only the workforce roles chosen below")]


class AudienceForm(forms.Form):
    audience = forms.ChoiceField(label="Who must acknowledge it", choices=AUDIENCES, widget=forms.RadioSelect)
    roles = IdsMultipleChoiceField(
        label="Workforce roles",
        queryset=WorkforceRole.objects.active(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("audience") == "roles" and not data.get("roles"):
            self.add_error("roles", "Choose at least one workforce role, or the whole workforce.")
        return data


class PolicyForm(AudienceForm):
    title = forms.CharField(max_length=200)
    owner = forms.CharField(max_length=200, help_text="Who keeps it up to date, for example the privacy officer.")

    field_order = ["title", "owner", "audience", "roles"]


class VersionForm(forms.Form):
    body_markdown = forms.CharField(
        label="Text of the policy",
        required=False,
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text="Markdown: ## headings, **bold**, lists, links. Or upload a PDF instead.",
    )
    pdf = forms.FileField(label="Or the policy as a PDF", required=False)
    effective_on = forms.DateField(label="Effective from", widget=forms.DateInput(attrs={"type": "date"}))
    review_on = forms.DateField(label="Review by", widget=forms.DateInput(attrs={"type": "date"}))
    ack_within_days = forms.IntegerField(
        label="Days to acknowledge", min_value=1, max_value=MAX_ACK_WITHIN_DAYS, initial=30
    )
    change_note = forms.CharField(
        label="Change note", widget=forms.Textarea(attrs={"rows": 3}), help_text="What changed, and why."
    )
    material = forms.ChoiceField(
        label="Is this a material change?",
        choices=[
            ("yes", "Material: everyone in the audience must acknowledge it again"),
            ("no", "Not material (wording, typos): nobody is asked again"),
        ],
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["effective_on"].initial = today
        self.fields["review_on"].initial = today + dt.timedelta(days=365)

    def clean_pdf(self) -> bytes | None:
        upload = self.cleaned_data.get("pdf")
        if not upload:
            return None
        if upload.size > pdf_max_bytes():
            raise forms.ValidationError(f"The PDF is larger than {pdf_max_bytes() // (1024 * 1024)} MB.")
        data: bytes = upload.read()
        return data

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("effective_on", "review_on"):
            day = data.get(name)
            if day and not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
                self.add_error(name, "Choose a date between 2000 and 2100.")
        return data


class AcknowledgeForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)
    typed_name = forms.CharField(label="Your full name", max_length=200)


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- the officer's pages (auditors read them) ---


@require_GET
@access.access_required(*READERS)
def policy_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = policy_rows()
    today = timezone.localdate()
    return render(
        request,
        "records/policies/list.html",
        {
            "rows": rows,
            "review_due": [r for r in rows if r.review_due(today) and not r.policy.is_retired],
            "can_write": bool(access.groups_of(request.user) & set(WRITERS)),
        },
    )


@access.access_required(*WRITERS)
def policy_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = PolicyForm(request.POST or None, initial={"audience": "everyone"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():  # the policy and its audience, or neither
            policy = policy_create(title=data["title"], owner=data["owner"], actor=request.user)
            policy_audience_set(
                policy=policy, everyone=data["audience"] == "everyone", roles=data["roles"], actor=request.user
            )
        messages.success(request, "The policy was added. Write its first version and publish it.")
        return redirect("records:policy_publish", policy.pk)
    return render(request, "records/policies/new.html", {"form": form})


@require_GET
@access.access_required(*READERS)
def policy_detail(request: AuthenticatedHttpRequest, policy_id: int) -> HttpResponse:
    policy = get_object_or_404(Policy, pk=policy_id)
    versions = list(PolicyVersion.objects.filter(policy=policy).defer("pdf").order_by("-number"))
    current = versions[0] if versions else None
    audience = audience_of(policy)
    initial = {
        "audience": "everyone" if audience is None or audience.everyone else "roles",
        "roles": list(audience.roles.all()) if audience else [],
    }
    row = next((r for r in policy_rows() if r.policy.pk == policy.pk), None)
    return render(
        request,
        "records/policies/detail.html",
        {
            "policy": policy,
            "versions": versions,
            "current": current,
            "row": row,
            "people": version_people(current) if current else [],
            "audience_form": AudienceForm(initial=initial),
            "can_write": bool(access.groups_of(request.user) & set(WRITERS)),
        },
    )


@require_POST
@access.access_required(*WRITERS)
def policy_audience(request: AuthenticatedHttpRequest, policy_id: int) -> HttpResponse:
    policy = get_object_or_404(Policy, pk=policy_id)
    form = AudienceForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = policy_audience_set(
                policy=policy, everyone=data["audience"] == "everyone", roles=data["roles"], actor=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"The audience was saved: {len(result.created)} people newly asked.")
    else:
        messages.error(
            request, "The audience was not saved: " + " ".join(str(m) for e in form.errors.values() for m in e)
        )
    return redirect("records:policy_detail", policy.pk)


@access.access_required(*WRITERS)
def policy_publish(request: AuthenticatedHttpRequest, policy_id: int) -> HttpResponse:
    policy = get_object_or_404(Policy, pk=policy_id)
    if policy.is_retired:
        messages.error(request, RETIRED_MESSAGE)
        return redirect("records:policy_detail", policy.pk)
    current = PolicyVersion.objects.current_for(policy)
    initial: dict[str, Any] = {"material": "yes"}
    if current:
        initial = {"body_markdown": current.body_markdown, "ack_within_days": current.ack_within_days}
    form = VersionForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = request.FILES.get("pdf")
        try:
            version = policy_version_publish(
                policy=policy,
                body_markdown=data["body_markdown"],
                pdf=data["pdf"],
                pdf_name=(upload.name or "") if upload else "",
                effective_on=data["effective_on"],
                review_on=data["review_on"],
                change_note=data["change_note"],
                material=data["material"] == "yes",
                ack_within_days=data["ack_within_days"],
                actor=request.user,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Version {version.number} of {policy.title} is published.")
            return redirect("records:policy_detail", policy.pk)
    return render(request, "records/policies/publish.html", {"policy": policy, "current": current, "form": form})


@require_POST
@access.access_required(*WRITERS)
def policy_retire_view(request: AuthenticatedHttpRequest, policy_id: int) -> HttpResponse:
    """Retire a policy, asked twice: the first POST shows what retiring does (who is no longer asked, what is
    kept), the second (`confirmed=yes`) retires it."""
    policy = get_object_or_404(Policy, pk=policy_id)
    if policy.is_retired:
        messages.error(request, f"{policy.title} is retired already: nothing was changed.")
        return redirect("records:policy_detail", policy.pk)
    if request.POST.get("confirmed") != "yes":
        return render(
            request,
            "records/policies/retire.html",
            {
                "policy": policy,
                "open": PolicyAssignment.objects.open().filter(policy=policy).count(),
                "acknowledged": PolicyAcknowledgement.objects.filter(version__policy=policy).count(),
                "versions": PolicyVersion.objects.filter(policy=policy).count(),
            },
        )
    try:
        policy_retire(policy=policy, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"{policy.title} is retired: nobody is asked to acknowledge it any more; its versions and "
            "acknowledgements are kept.",
        )
    return redirect("records:policy_detail", policy.pk)


@require_GET
@access.access_required(*READERS)
def policy_version(request: AuthenticatedHttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(PolicyVersion.objects.select_related("policy").defer("pdf"), pk=version_id)
    return render(
        request,
        "records/policies/version.html",
        {"version": version, "people": version_people(version)},
    )


# --- the learner ---


@login_required
def policy_read(request: AuthenticatedHttpRequest, policy_assignment_id: int) -> HttpResponse:
    assignment = get_policy_assignment_for_user(request.user, policy_assignment_id)
    version = assignment.policy_version
    form = AcknowledgeForm(request.POST or None, initial={"version": version.pk})
    if request.method == "POST" and form.is_valid():
        try:
            policy_acknowledge(
                assignment=assignment,
                version_id=form.cleaned_data["version"],
                typed_name=form.cleaned_data["typed_name"],
                ip_address=client_ip(request) or None,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                actor=request.user,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Thank you: your acknowledgement of {version.policy.title} is recorded.")
            return redirect("records:policy_read", assignment.pk)
    acknowledgement = PolicyAcknowledgement.objects.filter(assignment=assignment).first()
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "records/policies/read.html",
        {"assignment": assignment, "version": version, "form": form, "acknowledgement": acknowledgement},
        status=status,
    )


@require_GET
@login_required
def policy_pdf(request: AuthenticatedHttpRequest, version_id: int) -> HttpResponse:
    version = get_policy_version_for_user(request.user, version_id)
    if not version.is_pdf:
        raise Http404("This policy has no PDF.")
    response = HttpResponse(bytes(version.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{version.policy.slug}-v{version.number}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
