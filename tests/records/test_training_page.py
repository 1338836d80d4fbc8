from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from roles.models import Assignment

pytestmark = pytest.mark.usefixtures("catalog")


def test_training_needs_a_login(client):
    response = client.get(reverse("records:training"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_a_person_without_a_workforce_role_sees_no_modules(login, auditor):
    response = login(auditor).get(reverse("records:training"))
    assert response.status_code == 200
    assert "No training is assigned to you yet" in response.content.decode()


def test_an_employee_sees_the_modules_their_role_requires_with_due_dates(login, employee, outsider):
    response = login(employee).get(reverse("records:training"))
    html = response.content.decode()
    assert response.status_code == 200
    for title in ("Security Awareness", "Privacy Essentials", "Privacy in Billing"):
        assert title.lower() in html.lower(), title
    assert "Patient Communication".lower() not in html.lower()  # the outsider's intake module
    due = employee.assignments.first().due_on
    assert due.strftime("%b %-d, %Y") in html


def test_overdue_modules_are_shown_first(login, employee):
    Assignment.objects.filter(user=employee, course__slug="privacy-essentials").update(
        due_on=timezone.localdate() - dt.timedelta(days=3)
    )
    html = login(employee).get(reverse("records:training")).content.decode()
    assert html.index("Overdue") < html.index("Later")


def test_the_home_page_sends_an_employee_to_their_training(login, employee):
    response = login(employee).get("/")
    assert response.status_code == 302 and response.url == reverse("records:training")


@pytest.mark.parametrize(
    ("persona", "url_name"), [("compliance_officer", "records:dashboard"), ("auditor", "records:audit")]
)
def test_the_home_page_sends_officers_and_auditors_to_their_work(request, login, persona, url_name):
    response = login(request.getfixturevalue(persona)).get("/")
    assert response.status_code == 302 and response.url == reverse(url_name)
