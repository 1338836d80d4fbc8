"""allauth's account pages that the product does not offer."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from ..http import AuthenticatedHttpRequest


@login_required
def email_managed(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Replaces allauth's e-mail management (/accounts/email/), for every method: nobody changes their own
    sign-in address. The compliance officer or an import does, through roles.services (audited)."""
    return render(request, "roles/email_managed.html", status=403)
