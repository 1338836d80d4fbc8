"""Security reminder pages: officers write and follow bulletins; each person reads and acknowledges theirs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from courses.markdown import render_markdown
from hipaa_training.net import client_ip

from ..access import COMPLIANCE_OFFICER, access_required
from ..bulletins import audience, bulletin_acknowledge, bulletin_create, bulletins_for
from ..forms import BulletinForm
from ..http import AuthenticatedHttpRequest
from ..models import Bulletin, BulletinAcknowledgement, BulletinDelivery, WorkforceRole


@access_required(COMPLIANCE_OFFICER)
def bulletin_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    bulletins = (
        Bulletin.objects.select_related("created_by")
        .prefetch_related(Prefetch("roles", queryset=WorkforceRole.objects.order_by("name")))
        .annotate(
            delivered=Count("sent_to", distinct=True),
            acknowledged=Count("acknowledgements", distinct=True),
        )
    )
    return render(request, "roles/bulletin_list.html", {"bulletins": bulletins})


@access_required(COMPLIANCE_OFFICER)
def bulletin_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = BulletinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bulletin = bulletin_create(
                title=data["title"],
                body=data["body"],
                send_at=data["send_at"],
                everyone=data["audience"] == "everyone",
                roles=data["roles"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The security reminder was scheduled.")
            return redirect("roles:bulletin_report", bulletin.pk)
    return render(request, "roles/bulletin_form.html", {"form": form})


@access_required(COMPLIANCE_OFFICER)
def bulletin_report(request: AuthenticatedHttpRequest, bulletin_id: int) -> HttpResponse:
    bulletin = get_object_or_404(Bulletin.objects.select_related("created_by"), pk=bulletin_id)
    sent = BulletinDelivery.objects.filter(bulletin=bulletin, person=OuterRef("pk"))
    acked = BulletinAcknowledgement.objects.filter(bulletin=bulletin, person=OuterRef("pk"))
    people = (
        audience(bulletin)
        .select_related("workforce_role")
        .annotate(
            sent_at=sent.values("sent_at")[:1],
            acknowledged_at=acked.values("acknowledged_at")[:1],
            was_sent=Exists(sent),
        )
        .order_by("full_name")
    )
    return render(
        request,
        "roles/bulletin_report.html",
        {"bulletin": bulletin, "body": render_markdown(bulletin.body), "people": people},
    )


def _visible_bulletin(request: AuthenticatedHttpRequest, bulletin_id: int) -> Bulletin:
    bulletin = bulletins_for(request.user).filter(pk=bulletin_id).first()
    if bulletin is None:
        raise Http404("No such security reminder.")
    return bulletin


@login_required
def bulletin(request: AuthenticatedHttpRequest, bulletin_id: int) -> HttpResponse:
    item = _visible_bulletin(request, bulletin_id)
    ack = BulletinAcknowledgement.objects.filter(bulletin=item, person=request.user).first()
    return render(
        request, "roles/bulletin.html", {"bulletin": item, "body": render_markdown(item.body), "acknowledgement": ack}
    )


@require_POST
@login_required
def bulletin_ack(request: AuthenticatedHttpRequest, bulletin_id: int) -> HttpResponse:
    item = _visible_bulletin(request, bulletin_id)
    try:
        bulletin_acknowledge(
            bulletin=item,
            person=request.user,  # type: ignore[arg-type]
            ip_address=client_ip(request) or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Thank you: your acknowledgement is recorded.")
    return redirect("roles:bulletin", item.pk)
