"""The compliance officer's reminder pages: the calendar's settings and the "nudge now" button."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from ..access import COMPLIANCE_OFFICER, access_required
from ..forms import ReminderPolicyForm
from ..http import AuthenticatedHttpRequest
from ..models import Assignment, Delivery, ReminderPolicy
from ..reminders.nudges import reminder_nudge
from ..reminders.policy import reminder_policy_update


@access_required(COMPLIANCE_OFFICER)
def policy(request: AuthenticatedHttpRequest) -> HttpResponse:
    current = ReminderPolicy.current()
    form = ReminderPolicyForm(request.POST or None, instance=ReminderPolicy.current())  # unsaved copy
    if request.method == "POST" and form.is_valid():
        reminder_policy_update(actor=request.user, **{k: form.cleaned_data[k] for k in form.Meta.fields})
        messages.success(request, "The reminder calendar was saved. The next hourly run uses it.")
        return redirect("roles:reminder_policy")
    week_ago = timezone.now() - dt.timedelta(days=7)
    sent = dict(
        Delivery.objects.filter(sent_at__gte=week_ago)
        .exclude(kind=Delivery.DIGEST)
        .values("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    last_week = [(label, sent.get(kind, 0)) for kind, label in Delivery.KINDS if kind != Delivery.DIGEST]
    return render(request, "roles/reminder_policy.html", {"form": form, "policy": current, "last_week": last_week})


@require_POST
@access_required(COMPLIANCE_OFFICER)
def nudge(request: AuthenticatedHttpRequest, person_id: int, assignment_id: int) -> HttpResponse:
    assignment = get_object_or_404(
        Assignment.objects.select_related("user", "course"), pk=assignment_id, user_id=person_id
    )
    try:
        reminder_nudge(assignment=assignment, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{assignment.user.full_name} was reminded about {assignment.course.title}.")
    # Back to the page the button was on, when `next` is a path of this site; anything else is ignored.
    target = request.POST.get("next", "")
    local = target.startswith("/") and not target.startswith("//") and "\\" not in target
    if local and url_has_allowed_host_and_scheme(target, allowed_hosts=None, require_https=request.is_secure()):
        return HttpResponseRedirect(target)
    return redirect("roles:reminder_policy")
