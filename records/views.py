from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .selectors import training_for


@login_required
def training(request: HttpRequest) -> HttpResponse:
    groups = training_for(request.user)
    return render(request, "records/training.html", {"groups": groups, "today": timezone.localdate()})
