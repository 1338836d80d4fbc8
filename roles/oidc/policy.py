"""The "single sign-on only" policy: passwords off for everyone but the named break-glass administrator."""

from __future__ import annotations

from typing import Any

from ..models import SecurityPolicy
from .config import configured_apps


def provider_names() -> str:
    names = [str(app.get("name") or "your identity provider") for app in configured_apps()]
    return " or ".join(names) if names else "your identity provider"


def sso_only_in_force() -> SecurityPolicy | None:
    """The policy, when it turns passwords off (and a provider is configured to sign in with instead)."""
    if not configured_apps():
        return None
    policy = SecurityPolicy.current()
    return policy if policy.sso_only else None


def is_break_glass(policy: SecurityPolicy, login: str | Any) -> bool:
    account = policy.break_glass_account
    if account is None or not account.is_active:
        return False
    email = login if isinstance(login, str) else getattr(login, "email", "")
    return account.email.lower() == email.strip().lower()


def password_refused(login: str | Any) -> bool:
    """Whether a password may not be used for this login (an e-mail address or a user)."""
    policy = sso_only_in_force()
    return policy is not None and not is_break_glass(policy, login)


def password_refused_message() -> str:
    return (
        f"Passwords are not used here: sign in with {provider_names()}. If you cannot sign in there or need to "
        f"reset your password, use your organisation's identity provider ({provider_names()}) or ask your IT "
        "administrator."
    )
