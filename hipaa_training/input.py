"""Requests no page of the product can use, refused (400, saying why) before any view runs.

- A NUL character cannot be stored in a PostgreSQL text column; a path, query or form value carrying one would
  reach a query and fail there. Nothing the product accepts contains one.
- A query string over 16 KB: no link or filter of the product makes one (414).
- The admin trusts two kinds of parameter further than it should: the rows an action is asked to run on
  (`_selected_action`, primary keys: numbers) and a date hierarchy's `<field>__year|month|day` (a year past 9999
  overflows). Both come from the admin's own forms and links; anything else was typed by someone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.urls import reverse

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_QUERY_STRING = 16 * 1024  # no link or filter of the product comes near; proxies commonly stop at 8 KB
DATE_PART = re.compile(r"__(year|month|day)$")
DATE_RANGE = {"year": (1, 9999), "month": (1, 12), "day": (1, 31)}


def _has_nul(values: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in v for v in items) for key, items in values.lists())


def _admin_problem(request: HttpRequest) -> str | None:
    for key, items in request.GET.lists():
        part = DATE_PART.search(key)
        if part:
            low, high = DATE_RANGE[part.group(1)]
            for value in items:
                if not (value.isdigit() and len(value) <= 4 and low <= int(value) <= high):
                    return f"{key} must be a {part.group(1)} from {low} to {high}."
    if request.method == "POST" and request.content_type in FORM_TYPES:
        selected = request.POST.getlist("_selected_action")
        if any(not value.isdigit() or len(value) > 18 for value in selected):
            return "The rows chosen for the action are not rows of this list. Go back and tick them again."
    return None


class RejectUnusableInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._admin: str | None = None

    def admin_prefix(self) -> str:
        if self._admin is None:
            self._admin = reverse("admin:index")
        return self._admin

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if len(request.META.get("QUERY_STRING", "")) > MAX_QUERY_STRING:
            return HttpResponse("The address is too long.", status=414, content_type="text/plain; charset=utf-8")
        problem = None
        if "\x00" in request.path or _has_nul(request.GET):
            problem = "The request contains a NUL character, which no page here accepts."
        elif request.method == "POST" and request.content_type in FORM_TYPES and _has_nul(request.POST):
            problem = "The form contains a NUL character, which no field here accepts."
        elif request.path.startswith(self.admin_prefix()):
            problem = _admin_problem(request)
        if problem:
            return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
