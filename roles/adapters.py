from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from hipaa_training import audit


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """No self-signup: people are added by the compliance officer and invited."""
        return False

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        expires = getattr(user, "access_expires_on", None)
        if expires is not None and expires < timezone.localdate():
            with transaction.atomic():
                audit.record("auth.login_refused", actor=user, subject=user, data={"why": "access expired"})
            messages.error(
                request,
                f"Your access ended on {expires:%B %-d, %Y}. Ask the compliance officer to extend it.",
            )
            return redirect("account_login")
        return super().pre_login(request, user, **kwargs)
