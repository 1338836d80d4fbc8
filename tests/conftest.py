"""Shared fixtures: the catalogue, the default roles, and the personas every view test uses.

Tests that need a server are marked `postgres`, `redis` or `browser`. Without the server they are skipped,
saying so; with REQUIRE_SERVICES=1 (as in .ci/run) a missing server fails them instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from hipaa_training.celery import app as celery_app
from roles import access
from roles.models import User
from roles.services import person_create
from tests.factories import PASSWORD, DepartmentFactory, role

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the test personas' authenticator app (base32)

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _missing(marker: str) -> str | None:
    if marker == "postgres" and not os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql")):
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "redis" and not os.environ.get("REDIS_URL"):
        return "needs Redis: set REDIS_URL=redis://..."
    if marker == "browser":
        if not shutil.which(CHROMIUM):
            return f"needs chromium at {CHROMIUM} (apt-get install chromium)"
        try:
            import playwright  # noqa: F401
        except ImportError:
            return "needs the playwright package"
        if not (Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js").exists():
            return "needs axe-core (npm install; `make test` does it)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker):
            reason = _missing(marker)
            if reason:
                if REQUIRE_SERVICES:
                    pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
                pytest.skip(reason)


def pytest_report_header(config: Any) -> list[str]:
    lines = [f"database: {os.environ.get('DATABASE_URL') or 'SQLite (embedded default)'}"]
    lines.append(f"broker: {os.environ.get('REDIS_URL') or 'none (tasks in-process); Redis tests are skipped'}")
    if REQUIRE_SERVICES:
        lines.append("REQUIRE_SERVICES=1: a test that needs a missing server fails")
    return lines


@pytest.fixture(autouse=True)
def _tasks_in_process() -> Iterator[None]:
    """Tasks run in-process unless a test starts a real worker (see tests/test_celery.py)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = True


DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


@pytest.fixture(autouse=True)
def _fresh_cache(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[None]:
    """Rate-limit counters and cached state never leak from one test into the next.

    The cache is a table in the test database (as in production), so only a test that uses the database can
    have left anything there or needs it emptied.
    """
    from django.core.cache import cache

    if request.node.get_closest_marker("django_db") or DB_FIXTURES & set(request.fixturenames):
        request.getfixturevalue("django_db_setup")
        with django_db_blocker.unblock():
            cache.clear()
    yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """Publish the real catalogue and the default roles once per test database (tests roll back on top of it)."""
    from courses.loader import load_catalog
    from roles.defaults import load_default_roles

    with django_db_blocker.unblock():
        load_catalog()
        load_default_roles()


@pytest.fixture
def catalog(db: None) -> None:
    """The real course catalogue and the six default roles (reloaded after a transactional test's flush)."""
    from courses.loader import load_catalog
    from courses.models import Course
    from roles.defaults import load_default_roles

    if not Course.objects.exists():
        load_catalog()
    load_default_roles()


def make_person(
    email: str, name: str, role_slug: str | None = "billing", groups: tuple[str, ...] = (), **extra: Any
) -> User:
    person = person_create(
        email=email,
        full_name=name,
        workforce_role=role(role_slug) if role_slug else None,
        department=DepartmentFactory(name="Billing Operations") if role_slug else None,
        password=PASSWORD,
        invite=False,
        **extra,
    )
    for group in groups:
        from django.contrib.auth.models import Group

        person.groups.add(Group.objects.get(name=group))
    return person


@pytest.fixture
def manager(catalog: None) -> User:
    return make_person("manager@example.test", "Morgan Manager", "billing", groups=(access.MANAGER,))


@pytest.fixture
def employee(catalog: None, manager: User) -> User:
    return make_person("billie@example.test", "Billie Biller", "billing", manager=manager)


@pytest.fixture
def outsider(catalog: None) -> User:
    return make_person("oscar@example.test", "Oscar Outsider", "intake")


@pytest.fixture
def compliance_officer(catalog: None) -> User:
    """Runs the programme, and as a member of the workforce takes the compliance role's modules too."""
    person = make_person("officer@example.test", "Olivia Officer", "compliance", groups=(access.COMPLIANCE_OFFICER,))
    return enrol_totp(person)


@pytest.fixture
def auditor(catalog: None) -> User:
    return enrol_totp(make_person("auditor@example.test", "Aubrey Auditor", None, groups=(access.AUDITOR,)))


@pytest.fixture
def administrator(catalog: None) -> User:
    person = make_person("admin@example.test", "Ada Admin", "it", groups=(access.ADMINISTRATOR,))
    User.objects.filter(pk=person.pk).update(is_superuser=True, is_staff=True)
    person.refresh_from_db()
    return enrol_totp(person)


@pytest.fixture
def login(client: Any) -> Any:
    """login(person) signs `person` in on the test client and returns the client.

    The session looks as if the person had just signed in with their password (and second factor, where they
    have one), so pages that ask for a recent sign-in (roles.access.reauth_required) let them through.
    """

    def _login(person: User) -> Any:
        client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
        just_signed_in(client, person)
        return client

    return _login


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# Second factor.
def enrol_totp(person: User, secret: str = TOTP_SECRET) -> User:
    """Give `person` an authenticator app (privileged accounts must have one: roles.security)."""
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(person, secret)
    return person


def totp_code(secret: str = TOTP_SECRET, at: float | None = None) -> str:
    """The code the persona's authenticator app shows now (or at `at`)."""
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int((at or time.time()) // 30)))


def just_signed_in(client: Any, person: User) -> None:
    """Record on the client's session a password sign-in (and a second factor, if enrolled) made right now."""
    import time

    from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
    from allauth.mfa.models import Authenticator

    from hipaa_training.security import AUTH_AT_KEY, SEEN_AT_KEY

    now = time.time()
    records: list[dict[str, Any]] = [{"method": "password", "at": now, "email": person.email}]
    totp = Authenticator.objects.filter(user=person, type=Authenticator.Type.TOTP).first()
    if totp is not None:
        records.append({"method": "mfa", "at": now, "id": totp.pk, "type": "totp"})
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = records
    session["account_authentication_methods_user"] = str(person.pk)
    session[AUTH_AT_KEY] = now
    session[SEEN_AT_KEY] = now
    session.save()


# Audit anchors.
@pytest.fixture(autouse=True)
def _fresh_anchor_log(settings: Any, tmp_path: Any) -> None:
    """Each test signs its own anchors: the database is emptied between tests, an anchor log would not be."""
    settings.AUDIT_ANCHOR_LOG = tmp_path / "audit-anchors.jsonl"
