from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def bulletins(request: HttpRequest) -> dict[str, Any]:
    """Security reminders the signed-in person has not acknowledged (queried only if a page shows them)."""
    from .bulletins import unacknowledged_for

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"pending_bulletins": lambda: list(unacknowledged_for(user).order_by("-send_at")[:5])}


def organization(request: HttpRequest) -> dict[str, Any]:
    """The organisation's name as the officer set it (read only if a page shows it; for a signed-in person from
    the request's cached facts, roles.access.request_facts)."""
    from .access import request_facts
    from .organization import organization_name

    def name() -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return str(request_facts(user)["organization_name"])
        return organization_name()

    return {"ORGANIZATION_NAME": SimpleLazyObject(name)}
