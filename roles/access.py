"""Who may see and do what: the one place views ask.

Access groups: employee (every workforce member), manager, compliance officer, auditor, administrator.
Objects outside a person's scope are answered with 404, pages outside their role with 403.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

EMPLOYEE = "employee"
MANAGER = "manager"
COMPLIANCE_OFFICER = "compliance officer"
AUDITOR = "auditor"
ADMINISTRATOR = "administrator"
ACCESS_GROUPS = (EMPLOYEE, MANAGER, COMPLIANCE_OFFICER, AUDITOR, ADMINISTRATOR)


def groups_of(user: Any) -> frozenset[str]:
    """The access groups a user belongs to (one query, cached on the user object)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_access_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached |= {ADMINISTRATOR}
        if user.workforce_role_id is not None:
            cached |= {EMPLOYEE}
        user._access_groups = cached
    return cached


def is_manager(user: Any) -> bool:
    return MANAGER in groups_of(user)


def is_compliance_officer(user: Any) -> bool:
    return COMPLIANCE_OFFICER in groups_of(user)


def is_auditor(user: Any) -> bool:
    return AUDITOR in groups_of(user)


def is_administrator(user: Any) -> bool:
    return ADMINISTRATOR in groups_of(user)


# The course editor (records/views/course_editor.py): officers and administrators edit and publish; auditors
# read everything, drafts and their history included.
COURSE_EDITORS = (COMPLIANCE_OFFICER, ADMINISTRATOR)
COURSE_READERS = (COMPLIANCE_OFFICER, ADMINISTRATOR, AUDITOR)


def can_edit_courses(user: Any) -> bool:
    return bool(groups_of(user) & set(COURSE_EDITORS))


def is_privileged(user: Any) -> bool:
    """Accounts that see everyone's records (and, later, must use a second factor)."""
    return bool(groups_of(user) & {COMPLIANCE_OFFICER, AUDITOR, ADMINISTRATOR})


def can_see_all_records(user: Any) -> bool:
    return bool(groups_of(user) & {COMPLIANCE_OFFICER, AUDITOR})


def can_see_person(viewer: Any, person: Any) -> bool:
    """A person sees themself; a manager their direct reports; compliance officers and auditors everyone."""
    if not getattr(viewer, "is_authenticated", False):
        return False
    if viewer.pk == person.pk or can_see_all_records(viewer):
        return True
    return is_manager(viewer) and person.manager_id == viewer.pk


def require_person_visible(viewer: Any, person: Any) -> None:
    if not can_see_person(viewer, person):
        raise Http404("No such person.")


ViewFunc = Callable[..., HttpResponseBase]


def access_required(*groups: str) -> Callable[[ViewFunc], ViewFunc]:
    """Log in first; then 403 unless the user is in one of `groups`."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not groups_of(request.user) & set(groups):
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def recently_authenticated(request: HttpRequest) -> bool:
    """Whether the person proved who they are (sign-in or re-authentication) within the last 5 minutes."""
    from allauth.account import app_settings as account_settings
    from allauth.account.authentication import get_authentication_records

    records = get_authentication_records(request, request.user)
    if not records:
        return False
    return time.time() - records[-1]["at"] < account_settings.REAUTHENTICATION_TIMEOUT


def reauth_required(view: ViewFunc) -> ViewFunc:
    """Before an export, an import, a role change or an MFA change: a fresh proof of identity.

    Older than ACCOUNT_REAUTHENTICATION_TIMEOUT (5 minutes) -> allauth's re-authentication page (password or
    second factor), which then resumes the request, a POST included.
    """

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        require_recent_authentication(request)
        return view(request, *args, **kwargs)

    return wrapped


def require_recent_authentication(request: HttpRequest) -> None:
    """Raise allauth's ReauthenticationRequired (its middleware asks, then resumes) unless recently proven."""
    from allauth.core.exceptions import ReauthenticationRequired

    if not recently_authenticated(request):
        raise ReauthenticationRequired()
