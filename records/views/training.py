"""Where each person lands (the home page redirect) and the learner's list of modules (/training/)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from roles.access import is_auditor, is_client_auditor, is_compliance_officer
from roles.http import AuthenticatedHttpRequest

from ..policy_reports import policies_to_acknowledge
from ..selectors import training_for


def home(request: HttpRequest) -> HttpResponse:
    """Send each person to where their work is."""
    if not request.user.is_authenticated:
        return redirect("account_login")
    if is_compliance_officer(request.user):
        return redirect("records:dashboard")
    if is_auditor(request.user) or is_client_auditor(request.user):
        return redirect("records:audit")
    return redirect("records:training")


@login_required
def training(request: AuthenticatedHttpRequest) -> HttpResponse:
    groups = training_for(request.user)
    return render(
        request,
        "records/training.html",
        {"groups": groups, "policies": policies_to_acknowledge(request.user), "today": timezone.localdate()},
    )
