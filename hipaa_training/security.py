"""Security middleware: response headers and automatic logoff (45 CFR 164.312(a)(2)(iii)).

The rules that depend on a person's role (how long they may stay idle) are asked through a function named in
settings (SESSION_IDLE_TIMEOUT_FOR), so this infrastructure layer never imports the apps above it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.module_loading import import_string

AUTH_AT_KEY = "security_authenticated_at"
TRACKED_KEY = "security_session_tracked"  # [when, session key, IP address, browser] allauth last recorded
SEEN_AT_KEY = "security_last_seen_at"
# Writing the session on every request would be a database write per page; a minute's precision is enough.
SEEN_PRECISION = 60

Middleware = Callable[[HttpRequest], HttpResponse]


@cache
def _idle_timeout_for() -> Callable[[Any], int]:
    return import_string(settings.SESSION_IDLE_TIMEOUT_FOR)


def session_timeout_reason(request: HttpRequest, now: float) -> str | None:
    """Why this signed-in session has expired (idle or too old), or None while it is still good."""
    session = request.session
    authenticated_at = session.get(AUTH_AT_KEY)
    seen_at = session.get(SEEN_AT_KEY)
    if authenticated_at is None or seen_at is None:
        return None
    if now - authenticated_at > settings.SESSION_ABSOLUTE_TIMEOUT:
        return "absolute"
    if now - seen_at > _idle_timeout_for()(request.user):
        return "idle"
    return None


@receiver(user_logged_in, dispatch_uid="session_timeout_start")
def _start_the_clocks(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[AUTH_AT_KEY] = now
        request.session[SEEN_AT_KEY] = now


class SessionTimeoutMiddleware:
    """Signs a person out after a period without activity, and after an absolute limit whatever they do."""

    def __init__(self, get_response: Middleware) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            reason = session_timeout_reason(request, now)
            if reason is not None:
                from . import audit  # audit needs the app registry; imported late like the signals do

                audit.record("auth.session_expired", actor=user, subject=user, data={"why": reason})
                logout(request)
                minutes = (
                    settings.SESSION_ABSOLUTE_TIMEOUT // 3600
                    if reason == "absolute"
                    else _idle_timeout_for()(user) // 60
                )
                text = (
                    f"You were signed out after {minutes} hours; please sign in again."
                    if reason == "absolute"
                    else f"You were signed out after {minutes} minutes without activity; please sign in again."
                )
                messages.info(request, text)
                return redirect(f"{reverse(settings.LOGIN_URL)}?next={request.path}")
            session = request.session
            session.setdefault(AUTH_AT_KEY, now)
            if now - session.get(SEEN_AT_KEY, 0) >= SEEN_PRECISION:
                session[SEEN_AT_KEY] = now
        return self.get_response(request)


class UserSessionsMiddleware:
    """allauth's record of each session (last seen, IP address, browser: the sessions page), written at most once
    a minute per session, and at once when the IP address or the browser changes.

    allauth's own middleware writes it on every request: a read, a read of the person and an update per page."""

    def __init__(self, get_response: Middleware) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is not None and user.is_authenticated and session is not None and session.session_key:
            from allauth.account.adapter import get_adapter
            from allauth.usersessions.internal import usersessionkit

            now = time.time()
            client = [
                session.session_key,
                get_adapter().get_client_ip(request),
                request.META.get("HTTP_USER_AGENT", ""),
            ]
            noted = session.get(TRACKED_KEY)
            if not noted or now - noted[0] >= SEEN_PRECISION or noted[1:] != client:
                usersessionkit.track_activity(request, user=user, session=session)
                session[TRACKED_KEY] = [now, *client]
        return self.get_response(request)


@cache
def _form_action_origins_for() -> Callable[[], list[str]]:
    return import_string(settings.CSP_FORM_ACTION_ORIGINS_FOR)


def content_security_policy() -> str:
    """The CSP, with form-action widened to exactly the origins the sign-in forms must reach (identity providers).

    allauth starts single sign-on with a form POST answered by a redirect to the provider: browsers apply
    form-action to that redirect too, so 'self' alone would stop it.
    """
    policy = settings.CONTENT_SECURITY_POLICY
    name = getattr(settings, "CSP_FORM_ACTION_ORIGINS_FOR", "")
    origins = _form_action_origins_for()() if name else []
    if origins:
        policy = policy.replace("form-action 'self'", " ".join(["form-action 'self'", *origins]))
    return policy


class SecurityHeadersMiddleware:
    """CSP and friends on every response; no-store on every page for a signed-in person and every download."""

    def __init__(self, get_response: Middleware) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
        user = getattr(request, "user", None)
        is_download = "attachment" in response.headers.get("Content-Disposition", "")
        if (user is not None and user.is_authenticated) or is_download:
            add_never_cache_headers(response)  # Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private
            patch_vary_headers(response, ["Cookie"])
        return response
