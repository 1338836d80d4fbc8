"""Automatic logoff (45 CFR 164.312(a)(2)(iii)) and ending every session of a person."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles.services import person_deactivate
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("catalog")

TRAINING = "records:training"


def later(minutes: float) -> time_machine.travel:
    return time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=minutes), tick=False)


def signed_in(client: Client) -> bool:
    return client.get(reverse(TRAINING)).status_code == 200


@pytest.mark.parametrize(
    ("persona", "idle_ok", "idle_out"),
    [("employee", 29, 31), ("manager", 29, 31), ("compliance_officer", 14, 16), ("auditor", 14, 16)],
)
def test_idle_sessions_end_after_15_minutes_for_privileged_and_30_for_others(
    request, login, persona, idle_ok, idle_out
):
    person = request.getfixturevalue(persona)
    client = login(person)
    # An auditor has no training page (no workforce role); any signed-in page will do.
    url = reverse("mfa_index") if persona == "auditor" else reverse(TRAINING)
    with later(idle_ok):
        assert client.get(url).status_code == 200
    with later(idle_ok + idle_out):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    page = client.get(response.url)
    assert "without activity" in page.content.decode()
    assert AuditEvent.objects.filter(action="auth.session_expired", actor_id=person.pk, data__why="idle").exists()


def test_activity_keeps_a_session_alive_until_the_absolute_limit_of_12_hours(login, employee):
    client = login(employee)
    for minutes in range(20, 12 * 60, 20):  # a page every 20 minutes, all day
        with later(minutes):
            assert signed_in(client), f"signed out after {minutes} minutes of activity"
    with later(12 * 60 + 1):
        response = client.get(reverse(TRAINING))
        assert response.status_code == 302
        assert "after 12 hours" in client.get(response.url).content.decode()
    assert AuditEvent.objects.filter(action="auth.session_expired", data__why="absolute").exists()


def test_logout_ends_every_session_of_that_person(employee):
    laptop, phone = Client(), Client()
    for device in (laptop, phone):
        assert device.post(reverse("account_login"), {"login": employee.email, "password": PASSWORD}).status_code == 302
        assert signed_in(device)
    laptop.post(reverse("account_logout"))
    assert not signed_in(phone)
    assert AuditEvent.objects.filter(action="auth.sessions_ended", subject_id=str(employee.pk)).exists()


def test_deactivation_ends_every_session(employee, login):
    client = login(employee)
    assert signed_in(client)
    person_deactivate(person=employee)
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=client.session.session_key).exists()
    assert not signed_in(client)


def test_a_password_change_ends_every_other_session(employee, login):
    other = Client()
    other.post(reverse("account_login"), {"login": employee.email, "password": PASSWORD})
    assert signed_in(other)
    client = login(employee)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "a new long passphrase 2026", "password2": "a new long passphrase 2026"},
    )
    assert response.status_code == 302
    assert not signed_in(other)
    assert not signed_in(client)  # ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE: this one too
