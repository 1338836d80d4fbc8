from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import ReminderPolicy, WorkforceRole


class ReminderPolicyForm(forms.ModelForm):
    class Meta:
        model = ReminderPolicy
        fields = ["before_due_days", "overdue_every_days", "manager_after_days", "officer_after_days"]
        labels = {
            "before_due_days": "Remind this many days before the due date",
            "overdue_every_days": "While overdue, remind every (days)",
            "manager_after_days": "Tell the manager when overdue for (days)",
            "officer_after_days": "Tell the compliance officers when overdue for (days)",
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for name in ("overdue_every_days", "manager_after_days", "officer_after_days"):
            if data.get(name) is not None and data[name] < 1:
                self.add_error(name, "Use at least 1 day.")
        return data


SEND_AT_GRACE = dt.timedelta(hours=1)  # the form's "now" ages while the officer writes
SEND_AT_MAX_AHEAD = dt.timedelta(days=366)


class IdsMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Choices by id: a value that is not an id the database can hold is an invalid choice, not a server error
    (SQLite overflows on integers past 64 bits)."""

    def _check_values(self, value: Any) -> Any:
        for pk in value:
            if not str(pk).isdigit() or int(pk) >= 2**63:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)  # type: ignore[misc]  # Django's, not in the stubs


class BulletinForm(forms.Form):
    AUDIENCES = [("everyone", "The whole workforce"), ("roles", "Only the workforce roles chosen below")]

    title = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}), help_text="Markdown: **bold**, lists, links.")
    audience = forms.ChoiceField(choices=AUDIENCES, widget=forms.RadioSelect, initial="everyone")
    roles = IdsMultipleChoiceField(
        queryset=WorkforceRole.objects.active(), required=False, widget=forms.CheckboxSelectMultiple
    )
    send_at = forms.DateTimeField(
        label="Send at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text="Leave as it is to send now.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["send_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("audience") == "roles" and not data.get("roles"):
            self.add_error("roles", "Choose at least one workforce role, or send it to the whole workforce.")
        return data

    def clean_send_at(self) -> Any:
        """Now or later, within a year: a reminder dated in the past would never be sent as scheduled, and one
        centuries ahead is a typo."""
        send_at = self.cleaned_data["send_at"]
        now = timezone.now()
        if send_at < now - SEND_AT_GRACE:
            raise forms.ValidationError("Choose now or a time in the future (this one has passed).")
        if send_at > now + SEND_AT_MAX_AHEAD:
            raise forms.ValidationError("Choose a time within the next year.")
        return send_at
