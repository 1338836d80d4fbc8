"""Security reminders (164.308(a)(5)(ii)(A)): schedule, delivery, banner, acknowledgement, evidence."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from hipaa_training.db import AppendOnlyError
from hipaa_training.models import AuditEvent
from roles.bulletins import bulletin_create, bulletins_deliver
from roles.models import Bulletin, BulletinAcknowledgement, BulletinDelivery, Delivery
from roles.tasks import deliver_bulletins_task
from tests.factories import role

pytestmark = pytest.mark.usefixtures("catalog")


def new_bulletin(compliance_officer, **extra):
    values = {
        "title": "Phishing wave: invoices from 'payers'",
        "body": "Do **not** open invoice links. <script>alert(1)</script>",
        "send_at": timezone.now() + dt.timedelta(days=1),
        "actor": compliance_officer,
    }
    return bulletin_create(**{**values, **extra})


def test_the_security_reminder_cycle(login, employee, outsider, compliance_officer, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        bulletin = new_bulletin(compliance_officer)
    assert mail.outbox == []  # scheduled for tomorrow: nothing yet
    assert "Phishing wave" not in login(employee).get(reverse("records:training")).content.decode()

    traveller = time_machine.travel(bulletin.send_at + dt.timedelta(minutes=5))
    traveller.start()
    deliver_bulletins_task.delay()
    deliver_bulletins_task.delay()  # the next tick finds nothing new
    page = login(employee).get(reverse("records:training")).content.decode()
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([employee.email, outsider.email, compliance_officer.email, "manager@example.test"])
    message = next(m for m in mail.outbox if m.to == [employee.email])
    assert message.subject == "Security reminder: Phishing wave: invoices from 'payers'"
    assert f"http://testserver/bulletins/{bulletin.pk}/" in message.body and not message.attachments
    assert BulletinDelivery.objects.filter(bulletin=bulletin).count() == 4
    assert AuditEvent.objects.filter(action="bulletin.delivered", subject_id=str(bulletin.pk)).count() == 4
    assert f'href="/bulletins/{bulletin.pk}/"' in page  # the banner on every page

    read = login(employee).get(reverse("roles:bulletin", args=[bulletin.pk])).content.decode()
    assert "<strong>not</strong>" in read and "<script>" not in read
    response = login(employee).post(reverse("roles:bulletin_ack", args=[bulletin.pk]), follow=True)
    assert "your acknowledgement is recorded" in response.content.decode()
    assert f'href="/bulletins/{bulletin.pk}/"' not in login(employee).get(reverse("records:training")).content.decode()
    again = login(employee).post(reverse("roles:bulletin_ack", args=[bulletin.pk]), follow=True)
    assert "already acknowledged" in again.content.decode()
    ack = BulletinAcknowledgement.objects.get(bulletin=bulletin, person=employee)
    assert ack.ip_address == "127.0.0.1"
    assert AuditEvent.objects.filter(action="bulletin.acknowledged", actor_id=employee.pk).count() == 1
    with pytest.raises(AppendOnlyError):
        ack.delete()

    report = login(compliance_officer).get(reverse("roles:bulletin_report", args=[bulletin.pk])).content.decode()
    assert "Billie Biller" in report and report.count('class="ok"') == 1
    listing = login(compliance_officer).get(reverse("roles:bulletin_list")).content.decode()
    assert "Phishing wave" in listing
    traveller.stop()


def test_a_bulletin_for_some_roles_reaches_only_them(login, employee, outsider, compliance_officer):
    bulletin = new_bulletin(compliance_officer, everyone=False, roles=[role("intake")], send_at=timezone.now())
    mail.outbox.clear()
    bulletins_deliver()
    assert [m.to for m in mail.outbox] == [[outsider.email]]
    assert login(employee).get(reverse("roles:bulletin", args=[bulletin.pk])).status_code == 404
    assert login(employee).post(reverse("roles:bulletin_ack", args=[bulletin.pk])).status_code == 404
    assert not BulletinAcknowledgement.objects.exists()


def test_bulletin_pages_check_access(client, login, employee, manager, compliance_officer):
    bulletin = new_bulletin(compliance_officer, send_at=timezone.now())
    for url in (
        reverse("roles:bulletin_list"),
        reverse("roles:bulletin_new"),
        reverse("roles:bulletin_report", args=[bulletin.pk]),
    ):
        client.logout()
        response = client.get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]
        assert login(employee).get(url).status_code == 403
        assert login(manager).get(url).status_code == 403
        ok = login(compliance_officer).get(url)
        assert ok.status_code == 200 and "ecurity reminder" in ok.content.decode()
    client.logout()
    person_url = reverse("roles:bulletin", args=[bulletin.pk])
    assert reverse("account_login") in client.get(person_url)["Location"]
    future = new_bulletin(compliance_officer)
    assert login(employee).get(reverse("roles:bulletin", args=[future.pk])).status_code == 404  # not sent yet
    page = login(employee).get(person_url)
    assert page.status_code == 200 and "I have read this security reminder" in page.content.decode()


def test_an_officer_schedules_a_bulletin(login, compliance_officer, django_capture_on_commit_callbacks):
    data = {
        "title": "Lock your screen",
        "body": "Press Win+L.",
        "audience": "roles",
        "roles": [role("billing").pk, role("it").pk],
        "send_at": (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }
    response = login(compliance_officer).post(reverse("roles:bulletin_new"), data, follow=True)
    assert "The security reminder was scheduled" in response.content.decode()
    bulletin = Bulletin.objects.get()
    assert not bulletin.everyone and {r.slug for r in bulletin.roles.all()} == {"billing", "it"}
    assert AuditEvent.objects.get(action="bulletin.created").data["audience"] == ["billing", "it"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": ""}, "This field is required"),
        ({"audience": "roles", "roles": []}, "Choose at least one workforce role"),
        ({"send_at": "next tuesday"}, "Enter a valid date/time"),
        ({"audience": "nobody"}, "Select a valid choice"),
    ],
)
def test_a_bad_bulletin_is_refused_and_nothing_saved(login, compliance_officer, change, message):
    data = {"title": "Lock your screen", "body": "Press Win+L.", "audience": "everyone", "send_at": "2030-01-01T09:00"}
    data.update(change)
    response = login(compliance_officer).post(reverse("roles:bulletin_new"), data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Bulletin.objects.exists() and not AuditEvent.objects.filter(action="bulletin.created").exists()


def test_bulletin_delivery_is_at_most_once_per_person(employee, compliance_officer):
    new_bulletin(compliance_officer, send_at=timezone.now())
    bulletins_deliver()
    bulletins_deliver()
    assert Delivery.objects.filter(kind=Delivery.BULLETIN).count() == BulletinDelivery.objects.count() == 3
