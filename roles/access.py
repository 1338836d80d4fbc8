"""Who may see and do what: the one place views ask.

Access groups: employee (every workforce member), manager, compliance officer, auditor, administrator.
A member of the auditor group bound to one client (`ClientAuditor`) is a client auditor instead: `groups_of` gives
them CLIENT_AUDITOR and not AUDITOR, so no page open to auditors of the whole organisation lets them in unless it
names client auditors too, and then it shows only their client.
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

from .models import ClientAuditor

EMPLOYEE = "employee"
MANAGER = "manager"
COMPLIANCE_OFFICER = "compliance officer"
AUDITOR = "auditor"
ADMINISTRATOR = "administrator"
ACCESS_GROUPS = (EMPLOYEE, MANAGER, COMPLIANCE_OFFICER, AUDITOR, ADMINISTRATOR)
CLIENT_AUDITOR = "client auditor"  # not a Group: an auditor bound to one client (roles.models.ClientAuditor)


# What every request asks about the signed-in person (their access groups, whether they have a second factor),
# and the policy flag and organisation name every page reads, kept in the cache for a short while instead of
# queried each time: with the database cache they cost one query (get_many), with Redis none of the database.
# Every change deletes the entry at once (roles.security: group membership, a second factor added or removed,
# the policy or the organisation's name, a group renamed or deleted, a deactivation); the short life bounds
# what a request racing a change could put back.
FACTS_TIMEOUT = 60
POLICY_FACTS_KEY = "roles.access.policy"


def facts_key(user_id: Any) -> str:
    return f"roles.access.person.{user_id}"


def request_facts(user: Any) -> dict[str, Any]:
    """{"groups": names from the database, "second_factor": bool, "mfa_for_everyone": bool, "organization_name"}.

    One cache read per request (kept on the user object); on a miss the few queries that fill it."""
    facts = getattr(user, "_request_facts", None)
    if facts is not None:
        return facts
    from django.core.cache import cache

    key = facts_key(user.pk)
    found = cache.get_many([key, POLICY_FACTS_KEY])
    policy = found.get(POLICY_FACTS_KEY)
    if policy is None:
        from .models import SecurityPolicy
        from .organization import organization_name

        # The generation ties every person's entry to this policy entry: deleting it renews them all.
        policy = {
            "mfa_for_everyone": SecurityPolicy.current().require_mfa_for_everyone,
            "organization_name": organization_name(),
            "generation": time.time_ns(),
        }
        cache.set(POLICY_FACTS_KEY, policy, FACTS_TIMEOUT)
    mine = found.get(key)
    if mine is None or mine.get("generation") != policy["generation"]:
        from allauth.mfa.models import Authenticator

        mine = {
            "groups": sorted(user.groups.values_list("name", flat=True)),
            "second_factor": Authenticator.objects.filter(
                user_id=user.pk, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
            ).exists(),
            "generation": policy["generation"],
        }
        cache.set(key, mine, FACTS_TIMEOUT)
    facts = {
        "groups": mine["groups"],
        "second_factor": mine["second_factor"],
        "mfa_for_everyone": policy["mfa_for_everyone"],
        "organization_name": policy["organization_name"],
    }
    user._request_facts = facts
    return facts


def forget_facts(*user_ids: Any, everyone: bool = False) -> None:
    """Drop the cached facts of these people (or of everyone) now and again when the transaction commits (a
    request reading the old rows before the commit could otherwise put them back)."""
    from django.core.cache import cache
    from django.db import transaction

    keys = [POLICY_FACTS_KEY] if everyone else [facts_key(pk) for pk in user_ids]
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def groups_of(user: Any) -> frozenset[str]:
    """The access groups a user belongs to (the cached facts, kept on the user object for the request).

    Superuser and workforce role are read from the user row itself, which every request loads anyway."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_access_groups", None)
    if cached is None:
        cached = frozenset(request_facts(user)["groups"])
        if user.is_superuser:
            cached |= {ADMINISTRATOR}
        if user.workforce_role_id is not None:
            cached |= {EMPLOYEE}
        if AUDITOR in cached:
            client_id = ClientAuditor.objects.filter(user_id=user.pk).values_list("client_id", flat=True).first()
            user._audited_client_id = client_id
            if client_id is not None:
                cached = (cached - {AUDITOR}) | {CLIENT_AUDITOR}
        user._access_groups = cached
    return cached


def is_client_auditor(user: Any) -> bool:
    return CLIENT_AUDITOR in groups_of(user)


def audited_client_id(user: Any) -> int | None:
    """The one client a client auditor sees; None for everyone else."""
    if not is_client_auditor(user):
        return None
    return user._audited_client_id  # type: ignore[no-any-return]


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
