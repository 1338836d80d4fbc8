from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from records.models import Completion, LessonView
from roles.models import Assignment

from .helpers import assignment_of, attempt, see_lessons, take, version_of
from .test_player_services import publish_new_version

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


def _row(html: str, title: str) -> str:
    """The table row of one module (its <tr> ... </tr>)."""
    start = html.index(f'<th scope="row">{title}</th>')
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


def test_each_row_shows_where_the_person_stands_and_a_completion_at_once(
    login, employee, django_capture_on_commit_callbacks
):
    seen, checked, done = (
        assignment_of(employee, slug) for slug in ("privacy-essentials", "billing-privacy", "security-awareness")
    )
    see_lessons(checked)
    attempt(checked, right=True)
    c = login(employee)
    html = c.get(reverse("records:training")).content.decode()
    lessons = version_of(done).lessons.count()
    assert f"0 of {lessons} lessons" in _row(html, "Security awareness") and "Start" in _row(html, "Security awareness")
    billing = _row(html, "Privacy in billing and revenue-cycle work")
    assert ", check passed" in billing and "Sign the attestation" in billing
    # One lesson seen of the previous version does not count once a new version is current.
    LessonView.objects.create(assignment=seen, lesson=version_of(seen).lessons.get(position=1))
    new = publish_new_version(seen)
    html = c.get(reverse("records:training")).content.decode()
    assert f"0 of {new.lessons.count()} lessons" in _row(html, "Privacy essentials")
    LessonView.objects.create(assignment=seen, lesson=new.lessons.get(position=1))
    html = c.get(reverse("records:training")).content.decode()
    assert f"1 of {new.lessons.count()} lessons" in _row(html, "Privacy essentials")
    assert "Resume" in _row(html, "Privacy essentials")

    with django_capture_on_commit_callbacks(execute=True):
        take(done)
    html = c.get(reverse("records:training")).content.decode()
    row = _row(html, "Security awareness")
    completion = Completion.objects.get(assignment=done)
    assert "status-completed" in row and f"Completed, score {completion.score}%" in row
    assert reverse("records:certificate_download", args=[completion.certificate.code]) in row
