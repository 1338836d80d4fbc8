from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles.models import User
from roles.services import person_create
from tests.factories import PASSWORD, role

pytestmark = pytest.mark.usefixtures("catalog")


def test_login_by_email_and_password(client, employee):
    response = client.post(reverse("account_login"), {"login": "BILLIE@example.test", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get(response.url, follow=True)
    assert "My training" in page.content.decode()
    assert AuditEvent.objects.filter(action="auth.login", actor_id=employee.pk).count() == 1


def test_a_wrong_password_gets_a_clear_message_and_is_audited(client, employee):
    response = client.post(reverse("account_login"), {"login": employee.email, "password": "not it"})
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.data["person"] == employee.email


def test_there_is_no_open_signup(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "walkin@example.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert "Sign Up Closed" in response.content.decode() or response.status_code == 403
    assert not User.objects.filter(email="walkin@example.test").exists()


def test_password_reset_sends_an_email_with_a_working_link(client, employee):
    client.post(reverse("account_reset_password"), {"email": employee.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[0].body).group(1)
    page = client.get(link, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    response = client.post(form_url, {"password1": "a brand new passphrase", "password2": "a brand new passphrase"})
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.check_password("a brand new passphrase")
    assert AuditEvent.objects.filter(action="auth.password_reset", actor_id=employee.pk).exists()


def test_a_new_person_is_invited_and_sets_their_password(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        person = person_create(email="Nia.New@Example.test", full_name="Nia New", workforce_role=role("intake"))
    assert person.email == "nia.new@example.test"
    assert not person.has_usable_password()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nia.new@example.test"]
    assert "Choose your password" in message.alternatives[0][0]
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", message.body).group(1)
    page = client.get(link, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    client.post(form_url, {"password1": "my own passphrase 2026", "password2": "my own passphrase 2026"})
    login = client.post(
        reverse("account_login"), {"login": "nia.new@example.test", "password": "my own passphrase 2026"}
    )
    assert login.status_code == 302
    assert AuditEvent.objects.filter(action="account.invited", subject_id=str(person.pk)).count() == 1


def test_logout_ends_the_session(client, employee):
    client.post(reverse("account_login"), {"login": employee.email, "password": PASSWORD})
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert client.get(reverse("records:training")).status_code == 302
    assert AuditEvent.objects.filter(action="auth.logout", actor_id=employee.pk).count() == 1


def test_a_deactivated_person_cannot_log_in(client, employee):
    from roles.services import person_deactivate

    person_deactivate(person=employee)
    response = client.post(reverse("account_login"), {"login": employee.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 302)
