"""The request type of a view behind a login: `request.user` is a `User`, never anonymous."""

from __future__ import annotations

from django.http import HttpRequest

from roles.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """An `HttpRequest` whose user has signed in (the view is wrapped in a login check)."""

    user: User


def signed_in_user(request: HttpRequest) -> User:
    """The user of a request a login check has already let through (the admin's, say)."""
    user = request.user
    assert isinstance(user, User), "reached only behind a login check"
    return user
