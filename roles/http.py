"""The request type of a view behind a login: `request.user` is a `User`, never anonymous."""

from __future__ import annotations

from django.http import HttpRequest

from roles.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """An `HttpRequest` whose user has signed in (the view is wrapped in a login check)."""

    user: User
