"""The officer's settings page: the sign-in policy, the organisation's name and logo on certificates (a logo
upload checked for type, size and being a real image), the reminder calendar's link; audited, re-authenticated."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from hipaa_training.models import AuditEvent
from records.models import Certificate
from roles.models import Organization, SecurityPolicy
from tests.factories import PASSWORD
from tests.records.helpers import assignment_of, take

pytestmark = pytest.mark.usefixtures("catalog")


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (120, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (11, 92, 173)).save(out, format=fmt)
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_settings_ask_anonymous_people_to_sign_in(client):
    for name in ("roles:settings", "roles:organization_logo"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response.url
    response = client.post(reverse("roles:settings_sign_in"), {"require_mfa_for_everyone": "on"})
    assert response.status_code == 302 and "/login/" in response.url
    assert not SecurityPolicy.current().require_mfa_for_everyone


def test_employees_and_auditors_may_not_open_or_change_settings(login, employee, auditor):
    for person in (employee, auditor):
        client = login(person)
        assert client.get(reverse("roles:settings")).status_code == 403
        assert client.post(reverse("roles:settings_sign_in"), {"require_mfa_for_everyone": "on"}).status_code == 403
        assert client.post(reverse("roles:settings_organization"), {"name": "Evil Corp"}).status_code == 403
    assert not SecurityPolicy.current().require_mfa_for_everyone
    assert Organization.current().name == ""


def test_the_officer_sees_every_setting_and_the_reminder_link(login, compliance_officer):
    page = login(compliance_officer).get(reverse("roles:settings")).content.decode()
    for text in (
        "Sign-in policy",
        "Everyone must use a second factor",
        "Single sign-on may create accounts",
        "Organisation on certificates",
        "Reminder calendar",
        reverse("roles:reminder_policy"),
    ):
        assert text in page, text
    assert reverse("roles:settings") in page  # the nav link


def test_the_officer_changes_the_sign_in_policy_audited(login, compliance_officer):
    client = login(compliance_officer)
    response = client.post(reverse("roles:settings_sign_in"), {"require_mfa_for_everyone": "on"}, follow=True)
    assert "The sign-in policy was saved." in response.content.decode()
    policy = SecurityPolicy.current()
    assert policy.require_mfa_for_everyone and not policy.sso_may_create_accounts
    event = AuditEvent.objects.get(action="security.policy_changed")
    assert event.data == {"require_mfa_for_everyone": {"from": False, "to": True}}
    assert event.actor_id == compliance_officer.pk


def test_an_administrator_may_change_settings(login, administrator):
    client = login(administrator)
    assert client.get(reverse("roles:settings")).status_code == 200
    assert client.post(reverse("roles:settings_sign_in"), {"sso_may_create_accounts": "on"}).status_code == 302
    assert SecurityPolicy.current().sso_may_create_accounts


def test_a_settings_change_needs_a_fresh_sign_in(client, login, compliance_officer):
    login(compliance_officer)
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=6), tick=False):
        response = client.post(reverse("roles:settings_sign_in"), {"require_mfa_for_everyone": "on"})
        assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
        response = client.post(reverse("roles:settings_organization"), {"name": "Renamed Billing LLC"})
        assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
        assert not SecurityPolicy.current().require_mfa_for_everyone
        assert Organization.current().name == ""
        client.post(response.url, {"password": PASSWORD})  # the password again: the change goes through
    assert Organization.current().name == "Renamed Billing LLC"


def test_the_name_and_logo_appear_on_new_certificates(
    login, compliance_officer, employee, django_capture_on_commit_callbacks
):
    client = login(compliance_officer)
    response = client.post(
        reverse("roles:settings_organization"),
        {"name": "  Acme   Revenue Cycle, LLC ", "logo": upload("logo.png", image_bytes())},
        follow=True,
    )
    assert "new certificates use them" in response.content.decode()
    org = Organization.current()
    assert org.name == "Acme Revenue Cycle, LLC" and org.logo_type == "image/png"
    assert Image.open(io.BytesIO(bytes(org.logo))).size == (120, 60)
    assert client.get(reverse("roles:organization_logo")).content == bytes(org.logo)
    event = AuditEvent.objects.get(action="organization.changed")
    assert event.data["name"]["to"] == "Acme Revenue Cycle, LLC" and event.data["logo"]["to"] == org.logo_sha256
    header = '<span class="org">Acme Revenue Cycle, LLC</span>'
    assert header in client.get(reverse("records:training")).content.decode()  # every page's header too

    with django_capture_on_commit_callbacks(execute=True):
        take(assignment_of(employee))
    cert = Certificate.objects.get(completion__user=employee)
    reader = PdfReader(io.BytesIO(default_storage.open(cert.file).read()))
    assert len(reader.pages) == 1
    assert "Acme Revenue Cycle, LLC" in reader.pages[0].extract_text()
    assert len(reader.pages[0].images) == 2  # the logo and the QR code


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("logo.png", b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024 + 10), "the limit is 1,048,576 bytes"),
        ("logo.png", b"<html><script>alert(1)</script></html>", "not a readable image"),
        ("logo.png", image_bytes()[:60], "not a readable image"),
        ("logo.gif", image_bytes("GIF"), "Upload a PNG or JPEG image"),
        ("logo.png", image_bytes("GIF"), "is a GIF image; upload a PNG or JPEG"),
        ("logo.png", image_bytes("JPEG"), "is named .png but is a JPEG image"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>', "Upload a PNG or JPEG"),
        ("logo.png", image_bytes(size=(4, 4)), "use one from 16 to 4000 pixels a side"),
        ("logo", image_bytes(), "Upload a PNG or JPEG image"),
    ],
)
def test_a_bad_logo_is_refused_with_a_message_and_nothing_saved(login, compliance_officer, name, content, message):
    response = login(compliance_officer).post(
        reverse("roles:settings_organization"), {"name": "Should Not Be Saved", "logo": upload(name, content)}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    org = Organization.current()
    assert org.name == "" and not org.logo  # the name was not saved either
    assert not AuditEvent.objects.filter(action="organization.changed").exists()


def test_a_blank_name_is_refused(login, compliance_officer):
    response = login(compliance_officer).post(reverse("roles:settings_organization"), {"name": "   "})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    assert Organization.current().name == ""


def test_the_logo_can_be_removed(login, compliance_officer):
    client = login(compliance_officer)
    client.post(reverse("roles:settings_organization"), {"name": "Acme", "logo": upload("l.jpg", image_bytes("JPEG"))})
    assert Organization.current().logo_type == "image/png"  # re-encoded: nothing of the upload but its pixels
    client.post(reverse("roles:settings_organization"), {"name": "Acme", "remove_logo": "on"})
    assert not Organization.current().logo
    assert client.get(reverse("roles:organization_logo")).status_code == 404
    assert AuditEvent.objects.filter(action="organization.changed").count() == 2


def test_invitations_and_reminders_carry_the_officers_name_for_the_organisation(
    login, compliance_officer, employee, django_capture_on_commit_callbacks
):
    from django.core import mail

    from roles.reminders.nudges import reminder_nudge
    from roles.services import person_create

    login(compliance_officer).post(reverse("roles:settings_organization"), {"name": "Acme Revenue Cycle, LLC"})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reminder_nudge(assignment=assignment_of(employee), actor=compliance_officer)
        person_create(email="newbie@example.test", full_name="Nina Newbie")
    bodies = {m.to[0]: m.body for m in mail.outbox}
    assert "Acme Revenue Cycle, LLC" in bodies[employee.email]
    assert "Acme Revenue Cycle, LLC" in bodies["newbie@example.test"]
