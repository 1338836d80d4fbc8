"""Filters of the training e-mails (templates/emails/)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils.translation import get_language

register = template.Library()


@lru_cache(maxsize=4096)
def _day(value: dt.date, arg: str, language: str | None) -> str:
    return str(date_filter(value, arg))


@register.filter(expects_localtime=True, is_safe=False)
def day(value: Any, arg: str) -> str:
    """`date` for the due dates an escalation or a digest lists by the thousand: a day is written once per
    format and language (issue 14: the date filter was a third of rendering an officer's escalation)."""
    if type(value) is dt.date:
        return _day(value, arg, get_language())
    return str(date_filter(value, arg))
