"""What the middleware asks on every request is cached (issue 14), and every change to it still applies at once.

Per request the middleware reads the session, the person and one cache entry (their access groups, whether they
have a second factor, the policy flag, the organisation's name); allauth's session record (last seen, IP,
browser) is written at most once a minute.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from roles import access
from roles.models import User
from roles.organization import organization_update
from roles.security import security_policy_update
from roles.services import person_deactivate
from tests.conftest import enrol_totp, make_person
from tests.factories import role
from tests.records.test_player_pages import make_assignments

pytestmark = pytest.mark.usefixtures("catalog")

# The middleware's reads: the session, the person, the cached facts (one get_many with the database cache).
MIDDLEWARE_MARKS = ('FROM "django_session"', 'SELECT "roles_user"."id"', 'FROM "django_cache"')
# What the middleware no longer reads on each request.
NOT_PER_REQUEST = ("usersessions_usersession", "auth_group", "roles_securitypolicy", "mfa_authenticator")


def later(seconds: float) -> time_machine.travel:
    return time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(seconds=seconds), tick=False)


def learner(n: int, email: str) -> User:
    """A workforce member with exactly `n` assignments (made by hand, so no role requirement adds any)."""
    person = make_person(email, "Lee Learner", None)
    make_assignments(person, n)
    User.objects.filter(pk=person.pk).update(workforce_role=role("billing"))
    person.refresh_from_db()
    assert person.assignments.count() == n
    return person


def queries_of(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


# /training/: the 3 of the middleware, its modules in one plain query, the policies and security reminders to sign.
@pytest.mark.parametrize(("page", "total"), [("training", 6), ("lesson", 11)])
def test_learner_pages_read_the_same_few_queries_with_1_or_10_assignments(login, page, total):
    counts = []
    for n in (1, 10):
        person = learner(n, f"lee{n}@example.test")
        a = person.assignments.order_by("pk").first()
        url = reverse("records:training") if page == "training" else reverse("records:lesson", args=[a.pk, 1])
        client = login(person)
        client.get(url)  # the session's first page records it (allauth) and fills the cache
        sql = queries_of(client, url)
        middleware = [q for q in sql if any(mark in q for mark in MIDDLEWARE_MARKS)]
        assert len(middleware) == 3, middleware
        assert not [q for q in sql if any(table in q for table in NOT_PER_REQUEST)]
        counts.append(len(sql))
        client.logout()
    assert counts == [total, total]


def test_the_session_record_is_written_once_a_minute_and_at_once_for_a_new_address(login, employee):
    client = login(employee)
    url = reverse("records:training")
    client.get(url)
    record = UserSession.objects.get(session_key=client.session.session_key)
    first_seen = record.last_seen_at
    with later(30):
        sql = queries_of(client, url)
    assert not [q for q in sql if "usersessions_usersession" in q]
    record.refresh_from_db()
    assert record.last_seen_at == first_seen
    with later(61):
        client.get(url)
    record.refresh_from_db()
    assert record.last_seen_at > first_seen
    seen = record.last_seen_at
    with later(70):
        client.get(url, REMOTE_ADDR="10.1.2.3")  # another address: recorded without waiting for the minute
    record.refresh_from_db()
    assert record.ip == "10.1.2.3" and record.last_seen_at > seen


def test_a_group_change_applies_on_the_next_request(login, employee):
    client = login(employee)
    team = reverse("records:team")
    assert client.get(team).status_code == 403
    manager = Group.objects.get(name=access.MANAGER)
    employee.groups.add(manager)
    assert client.get(team).status_code == 200
    employee.groups.remove(manager)
    assert client.get(team).status_code == 403
    manager.user_set.add(employee)  # from the group's side
    assert client.get(team).status_code == 200
    manager.user_set.clear()
    assert client.get(team).status_code == 403


def test_a_renamed_group_applies_on_the_next_request(login, manager):
    client = login(manager)
    team = reverse("records:team")
    assert client.get(team).status_code == 200
    group = Group.objects.get(name=access.MANAGER)
    group.name = "former managers"
    group.save()
    assert client.get(team).status_code == 403


def test_removing_or_adding_a_second_factor_applies_on_the_next_request(login, compliance_officer):
    client = login(compliance_officer)
    dashboard = reverse("records:dashboard")
    assert client.get(dashboard).status_code == 200
    Authenticator.objects.filter(user=compliance_officer).delete()
    response = client.get(dashboard)
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
    enrol_totp(compliance_officer)
    assert client.get(dashboard).status_code == 200


def test_the_policy_requiring_a_second_factor_applies_on_the_next_request(login, employee, compliance_officer):
    client = login(employee)
    training = reverse("records:training")
    assert client.get(training).status_code == 200
    security_policy_update(actor=compliance_officer, require_mfa_for_everyone=True)
    response = client.get(training)
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
    security_policy_update(actor=compliance_officer, require_mfa_for_everyone=False)
    assert client.get(training).status_code == 200


def test_a_new_organisation_name_shows_on_the_next_page(login, employee, compliance_officer):
    client = login(employee)
    training = reverse("records:training")
    client.get(training)
    organization_update(actor=compliance_officer, name="Acme Revenue Cycle")
    assert "Acme Revenue Cycle" in client.get(training).content.decode()


def test_a_deactivated_person_is_signed_out_on_the_next_request(login, employee, compliance_officer):
    client = login(employee)
    training = reverse("records:training")
    assert client.get(training).status_code == 200
    person_deactivate(person=employee, actor=compliance_officer)
    response = client.get(training)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session


def test_deactivation_without_the_service_still_signs_the_person_out(login, employee):
    client = login(employee)
    training = reverse("records:training")
    assert client.get(training).status_code == 200
    User.objects.filter(pk=employee.pk).update(is_active=False)  # no signal: the person row is read each request
    response = client.get(training)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
