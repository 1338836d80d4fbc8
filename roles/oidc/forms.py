"""allauth's password-reset forms (ACCOUNT_FORMS), refusing while "single sign-on only" is in force."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import ResetPasswordForm, ResetPasswordKeyForm
from django import forms
from django.db import transaction

from hipaa_training import audit

from .policy import password_refused, password_refused_message, sso_only_in_force


class SSOAwareResetPasswordForm(ResetPasswordForm):
    """The same answer for every address (no enumeration, the break-glass account included: its password is
    reset by another administrator or `manage.py changepassword`)."""

    def clean_email(self) -> str:
        if sso_only_in_force() is not None:
            with transaction.atomic():
                audit.record("auth.password_reset_refused", data={"why": "sso only"})
            raise forms.ValidationError(password_refused_message())
        return super().clean_email()


class SSOAwareResetPasswordKeyForm(ResetPasswordKeyForm):
    def clean(self) -> Any:
        if self.user is not None and password_refused(self.user):
            with transaction.atomic():
                audit.record(
                    "auth.password_reset_refused",
                    actor=self.user,
                    subject=self.user,
                    data={"why": "sso only", "person": self.user.email},
                )
            raise forms.ValidationError(password_refused_message())
        return super().clean()
