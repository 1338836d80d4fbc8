"""Behind the TLS proxy: the client's address comes from X-Forwarded-For, as many hops as
TRUSTED_PROXY_COUNT says, for the sign-in limits, /verify/, the audit trail and the evidence."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from hipaa_training.models import AuditEvent
from records.models import AttestationSignature
from roles.adapters import LOCKED_MESSAGE
from roles.models import BulletinAcknowledgement
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("catalog")

PROXY = "10.0.0.2"  # the TLS proxy: every request reaches the product from it


@pytest.fixture
def behind_proxy(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1


def via_proxy(client, method, url, client_address, data=None, forged=None):
    """A request as the proxy forwards it: it appends the address it was reached from to what the client sent."""
    xff = f"{forged}, {client_address}" if forged else client_address
    return getattr(client, method)(url, data or {}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=xff)


def sign_in(client, email, password, client_address, forged=None):
    return via_proxy(
        client, "post", reverse("account_login"), client_address, {"login": email, "password": password}, forged
    )


def test_failed_sign_ins_of_one_client_do_not_slow_down_anyone_else(behind_proxy, client, employee, manager):
    for n in range(12):
        sign_in(client, f"guess{n}@example.test", "wrong guess", "203.0.113.66")
    assert "from your network" in sign_in(client, employee.email, PASSWORD, "203.0.113.66").content.decode()
    # Everyone else reaches the product through the same proxy, and signs in.
    assert sign_in(client, employee.email, PASSWORD, "198.51.100.7").status_code == 302
    client.logout()
    assert sign_in(client, manager.email, PASSWORD, "198.51.100.8").status_code == 302
    failed = AuditEvent.objects.filter(action="auth.login_failed")
    assert {e.data["ip"] for e in failed} == {"203.0.113.66"}
    assert AuditEvent.objects.filter(action="auth.login", actor_id=employee.pk).get().data["ip"] == "198.51.100.7"


def test_the_account_lock_still_holds_from_every_address(behind_proxy, client, employee):
    start = dt.datetime.now(tz=dt.UTC)
    for n in range(5):  # a minute apart, each from another address: past the slow-down, into the lock
        with time_machine.travel(start + dt.timedelta(minutes=n), tick=False):
            sign_in(client, employee.email, "wrong guess", f"203.0.113.{n + 1}")
    with time_machine.travel(start + dt.timedelta(minutes=5), tick=False):
        response = sign_in(client, employee.email, PASSWORD, "198.51.100.99")
        assert LOCKED_MESSAGE in response.content.decode()
        assert "_auth_user_id" not in client.session


def test_a_forged_header_is_not_believed(behind_proxy, client, employee):
    # The client writes X-Forwarded-For itself, naming a colleague's address; the proxy appends the real one.
    for n in range(12):
        sign_in(client, f"guess{n}@example.test", "wrong guess", "203.0.113.66", forged="198.51.100.7")
    assert {e.data["ip"] for e in AuditEvent.objects.filter(action="auth.login_failed")} == {"203.0.113.66"}
    assert sign_in(client, employee.email, PASSWORD, "198.51.100.7").status_code == 302


def test_without_a_trusted_proxy_the_header_is_ignored(client, employee):
    response = client.post(
        reverse("account_login"),
        {"login": employee.email, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.5",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.login").get().data["ip"] == "203.0.113.5"


def test_a_header_with_fewer_hops_than_proxies_falls_back_to_the_socket(settings, client, employee):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    response = client.post(
        reverse("account_login"),
        {"login": employee.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.3",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert response.status_code == 302  # not a server error
    assert AuditEvent.objects.filter(action="auth.login").get().data["ip"] == "10.0.0.3"


def test_verify_is_limited_per_client(behind_proxy, client, settings):
    settings.CERTIFICATE_VERIFY_RATE = (3, 60)
    url = reverse("records:verify", args=["NOPE"])
    for _ in range(3):
        assert via_proxy(client, "get", url, "203.0.113.66").status_code == 404
    assert via_proxy(client, "get", url, "203.0.113.66").status_code == 429
    assert via_proxy(client, "get", url, "198.51.100.7").status_code == 404  # another person behind the proxy


def test_the_attestation_records_the_clients_address(behind_proxy, login, employee):
    from tests.records.helpers import assignment_of, attempt, see_lessons, version_of

    assignment = assignment_of(employee, "security-awareness")
    see_lessons(assignment)
    attempt(assignment, right=True)
    client = login(employee)
    response = via_proxy(
        client,
        "post",
        reverse("records:attest", args=[assignment.pk]),
        "198.51.100.23",
        {"typed_name": employee.full_name, "agreed": "on", "version": version_of(assignment).pk},
        forged="192.0.2.1",
    )
    assert response.status_code == 302
    assert AttestationSignature.objects.get(assignment=assignment).ip_address == "198.51.100.23"


def test_a_bulletin_acknowledgement_records_the_clients_address(behind_proxy, login, employee, compliance_officer):
    from django.utils import timezone

    from roles.bulletins import bulletin_create

    bulletin = bulletin_create(title="Phishing", body="Read this.", send_at=timezone.now(), actor=compliance_officer)
    client = login(employee)
    response = via_proxy(client, "post", reverse("roles:bulletin_ack", args=[bulletin.pk]), "198.51.100.24")
    assert response.status_code == 302
    assert BulletinAcknowledgement.objects.get(person=employee).ip_address == "198.51.100.24"
