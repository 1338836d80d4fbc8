from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse

from roles.access import groups_of

register = template.Library()


@register.filter
def in_access_group(user: Any, group: str) -> bool:
    return group in groups_of(user)


@register.filter
def extra_nav(user: Any) -> list[dict[str, str]]:
    """Links to the pages a person's access groups open, from settings.NAV_ITEMS (label, url name, groups)."""
    groups = groups_of(user)
    items = []
    for label, url_name, allowed in getattr(settings, "NAV_ITEMS", []):
        if groups & set(allowed):
            try:
                items.append({"label": label, "url": reverse(url_name)})
            except NoReverseMatch:
                continue
    return items
