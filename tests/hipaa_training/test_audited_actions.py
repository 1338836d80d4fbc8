"""Each auditable action writes exactly one event of its kind.

ACTIONS is the one list: code that adds an auditable action appends (action, callable) to it. The callable
gets pytest's `request`, so it can ask for any fixture (`request.getfixturevalue("employee")`), and does the
action the way a user or the product does it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.urls import reverse

from hipaa_training.models import AuditEvent
from tests.factories import PASSWORD, DepartmentFactory, role


def _client(request):
    return request.getfixturevalue("client")


def _logged_in(request, persona: str):
    return request.getfixturevalue("login")(request.getfixturevalue(persona))


def login(request) -> None:
    employee = request.getfixturevalue("employee")
    response = _client(request).post(reverse("account_login"), {"login": employee.email, "password": PASSWORD})
    assert response.status_code == 302


def login_failed(request) -> None:
    employee = request.getfixturevalue("employee")
    _client(request).post(reverse("account_login"), {"login": employee.email, "password": "wrong"})


def logout(request) -> None:
    assert _logged_in(request, "employee").post(reverse("account_logout")).status_code == 302


def password_reset(request) -> None:
    employee, client = request.getfixturevalue("employee"), _client(request)
    client.post(reverse("account_reset_password"), {"email": employee.email})
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[-1].body).group(1)
    page = client.get(link, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    client.post(form_url, {"password1": "a brand new passphrase", "password2": "a brand new passphrase"})


def password_change(request) -> None:
    client = _logged_in(request, "employee")
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "another long passphrase", "password2": "another long passphrase"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def account_created(request) -> None:
    from roles.services import person_create

    request.getfixturevalue("catalog")
    person_create(email="new@example.test", full_name="Nia New", workforce_role=role("intake"), invite=False)


def account_invited(request) -> None:
    from roles.services import person_invite

    person_invite(person=request.getfixturevalue("employee"))


def account_deactivated(request) -> None:
    from roles.services import person_deactivate

    person_deactivate(person=request.getfixturevalue("employee"))


def role_changed(request) -> None:
    from roles.services import person_update

    person_update(person=request.getfixturevalue("employee"), workforce_role=role("it"))


def department_changed(request) -> None:
    from roles.services import person_update

    person_update(person=request.getfixturevalue("employee"), department=DepartmentFactory(name="Intake Desk"))


def manager_changed(request) -> None:
    from roles.services import person_update

    person_update(person=request.getfixturevalue("employee"), manager=request.getfixturevalue("compliance_officer"))


def requirement_changed(request) -> None:
    from courses.models import Course
    from roles.services import requirement_set

    request.getfixturevalue("catalog")
    requirement_set(role=role("billing"), course=Course.objects.get(slug="security-awareness"), recurrence_months=6)


def catalog_version_published(request) -> None:
    from courses.loader import default_catalog_dir, parse_course, publish_course

    request.getfixturevalue("catalog")
    spec = parse_course(default_catalog_dir() / "security-awareness")
    publish_course(
        dataclasses.replace(spec, content_hash=hashlib.sha256(b"edited").hexdigest(), change_note="Typo fixed.")
    )


def assignment_created(request) -> None:
    from courses.models import Course
    from roles.assignments import sync_assignments
    from roles.models import Requirement, WorkforceRole
    from tests.factories import UserFactory

    request.getfixturevalue("catalog")
    temp = WorkforceRole.objects.create(slug="temp", name="Temporary staff")
    Requirement.objects.create(role=temp, course=Course.objects.get(slug="security-awareness"))
    person = UserFactory(workforce_role=temp)  # made behind the engine's back: no assignment yet
    assert sync_assignments(people=[person]).created


def admin_change(request) -> None:
    department = DepartmentFactory(name="Old Name")
    client = _logged_in(request, "administrator")
    response = client.post(reverse("admin:roles_department_change", args=[department.pk]), {"name": "New Name"})
    assert response.status_code == 302, response.content.decode()[:2000]


# The learner's evidence and certificates (records).
def _employee_assignment(request):
    from tests.records.helpers import assignment_of

    return assignment_of(request.getfixturevalue("employee"))


def quiz_attempted(request) -> None:
    from tests.records.helpers import attempt, see_lessons

    assignment = _employee_assignment(request)
    see_lessons(assignment)
    attempt(assignment, right=False)


def _passed(request):
    from tests.records.helpers import attempt, see_lessons

    assignment = _employee_assignment(request)
    see_lessons(assignment)
    attempt(assignment, right=True)
    return assignment


def attestation_signed(request) -> None:
    from tests.records.helpers import complete

    complete(_passed(request))


def _certificate(request):
    from records.documents.certificate import certificate_issue
    from tests.records.helpers import complete

    completion, _ = complete(_passed(request))
    return certificate_issue(completion_id=completion.pk)


def certificate_revoked(request) -> None:
    from records.services import certificate_revoke

    certificate = _certificate(request)
    compliance_officer = request.getfixturevalue("compliance_officer")
    certificate_revoke(certificate=certificate, reason="Issued to the wrong person.", actor=compliance_officer)


def certificate_verified(request) -> None:
    code = _certificate(request).code
    assert _client(request).get(reverse("records:verify", args=[code])).status_code == 200


def certificate_downloaded(request) -> None:
    code = _certificate(request).code
    response = _logged_in(request, "employee").get(reverse("records:certificate_download", args=[code]))
    assert response.status_code == 200


# Security reminders and nudges (roles).
def _bulletin(request):
    from django.utils import timezone

    from roles.bulletins import bulletin_create

    compliance_officer = request.getfixturevalue("compliance_officer")
    return bulletin_create(
        title="Phishing wave", body="Check the sender.", send_at=timezone.now(), actor=compliance_officer
    )


def bulletin_created(request) -> None:
    _bulletin(request)


def bulletin_acknowledged(request) -> None:
    bulletin = _bulletin(request)
    assert _logged_in(request, "employee").post(reverse("roles:bulletin_ack", args=[bulletin.pk])).status_code == 302


def reminder_nudged(request) -> None:
    assignment = _employee_assignment(request)
    url = reverse("roles:nudge", args=[assignment.user_id, assignment.pk])
    assert _logged_in(request, "compliance_officer").post(url).status_code == 302


ACTIONS: list[tuple[str, Callable]] = [
    ("auth.login", login),
    ("auth.login_failed", login_failed),
    ("auth.logout", logout),
    ("auth.password_reset", password_reset),
    ("auth.password_changed", password_change),
    ("account.created", account_created),
    ("account.invited", account_invited),
    ("account.deactivated", account_deactivated),
    ("person.role_changed", role_changed),
    ("person.department_changed", department_changed),
    ("person.manager_changed", manager_changed),
    ("requirement.changed", requirement_changed),
    ("catalog.version_published", catalog_version_published),
    ("assignment.created", assignment_created),
    ("admin.changed", admin_change),
    ("quiz.attempted", quiz_attempted),
    ("attestation.signed", attestation_signed),
    ("completion.recorded", attestation_signed),
    ("certificate.issued", certificate_verified),
    ("certificate.revoked", certificate_revoked),
    ("certificate.verified", certificate_verified),
    ("certificate.downloaded", certificate_downloaded),
    ("bulletin.created", bulletin_created),
    ("bulletin.acknowledged", bulletin_acknowledged),
    ("reminder.nudged", reminder_nudged),
]


@pytest.mark.django_db
@pytest.mark.parametrize("action, do", ACTIONS, ids=[action for action, _ in ACTIONS])
def test_each_auditable_action_writes_exactly_one_event(request, action, do):
    request.getfixturevalue("catalog")
    before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0

    do(request)

    written = list(AuditEvent.objects.filter(seq__gt=before).values_list("action", flat=True))
    assert written.count(action) == 1, written
