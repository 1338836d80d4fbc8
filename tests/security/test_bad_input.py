"""The inputs that gave a server error, or were accepted without a word: each now gets a clear 4xx or a form
error, and saves nothing. (The broad sweep of hostile values over every form: test_input.py, hostile.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from roles.models import Bulletin, User
from roles.services import person_create
from tests.records.helpers import assignment_of, take

pytestmark = pytest.mark.usefixtures("catalog")


def local(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def certificate(employee):
    from records.documents.certificate import certificate_issue
    from records.models import Completion

    take(assignment_of(employee))
    return certificate_issue(completion_id=Completion.objects.get(user=employee).pk)


# --- server errors --------------------------------------------------------------------------------------------


def test_a_nul_byte_in_a_path_or_query_is_a_clear_400(client, login, employee, administrator, certificate):
    assert client.get("/verify/%00/").status_code == 400
    assert client.get("/verify/ABC/?x=%00").status_code == 400
    owner = login(employee)
    response = owner.get(f"/certificates/{certificate.code}%00/download/")
    assert response.status_code == 400 and b"NUL" in response.content
    admin = login(administrator)
    assert admin.get(reverse("admin:roles_user_changelist"), {"q": "a\x00b"}).status_code == 400


def test_a_nul_byte_in_a_form_is_a_clear_400_and_saves_nothing(login, compliance_officer):
    data = {"title": "Phish\x00ing", "body": "x", "audience": "everyone", "send_at": local(timezone.now())}
    response = login(compliance_officer).post(reverse("roles:bulletin_new"), data)
    assert response.status_code == 400
    assert not Bulletin.objects.exists()


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31"])
def test_the_dashboard_as_of_a_day_out_of_range_says_so(login, compliance_officer, manager, day):
    for person, url in ((compliance_officer, "records:dashboard"), (manager, "records:team")):
        response = login(person).get(reverse(url), {"as_of": day})
        assert response.status_code == 200
        assert "Choose a day from January 1, 2000 on." in response.content.decode()


def test_an_export_of_a_range_out_of_bounds_says_so(login, auditor):
    response = login(auditor).get(reverse("records:audit_export", args=["training"]), {"start": "0001-01-01"})
    assert response.status_code == 400
    assert "Choose a day from January 1, 2000 on." in response.content.decode()


@pytest.mark.parametrize(
    "url, params",
    [
        ("admin:roles_assignment_changelist", {"due_on__year": "99999"}),
        ("admin:roles_assignment_changelist", {"due_on__year": "2026", "due_on__month": "13"}),
        ("admin:hipaa_training_auditevent_changelist", {"at__year": "9" * 30}),
    ],
)
def test_admin_date_filters_with_impossible_values_are_a_clear_400(login, administrator, url, params):
    response = login(administrator).get(reverse(url), params)
    assert response.status_code == 400
    assert b"must be a" in response.content


@pytest.mark.parametrize("target", ["-1", "https://evil.example/", "//evil.example/x", "dashboard", "/\\evil"])
def test_the_nudge_with_a_next_that_is_not_a_local_path_goes_back_to_the_reminders_page(
    login, compliance_officer, employee, target
):
    a = assignment_of(employee, "privacy-essentials")
    response = login(compliance_officer).post(reverse("roles:nudge", args=[employee.pk, a.pk]), {"next": target})
    assert response.status_code == 302 and response.url == reverse("roles:reminder_policy")


def test_the_nudge_goes_back_to_a_local_next(login, compliance_officer, employee):
    a = assignment_of(employee, "privacy-essentials")
    back = reverse("records:transcript", args=[employee.pk])
    response = login(compliance_officer).post(reverse("roles:nudge", args=[employee.pk, a.pk]), {"next": back})
    assert response.status_code == 302 and response.url == back


def person_form(employee, **changes):
    data = {
        "email": employee.email,
        "full_name": employee.full_name,
        "workforce_role": employee.workforce_role_id,
        "department": employee.department_id or "",
        "manager": employee.manager_id or "",
        "hire_date": "",
        "access_expires_on": "",
    }
    data.update(changes)
    return data


def test_an_admin_change_with_a_manager_that_is_not_a_number_is_a_form_error(login, administrator, employee):
    before = employee.manager_id
    url = reverse("admin:roles_user_change", args=[employee.pk])
    response = login(administrator).post(url, person_form(employee, manager="abc", full_name="Changed Name"))
    assert response.status_code == 200
    assert "Choose the manager from the list." in response.content.decode()
    employee.refresh_from_db()
    assert employee.manager_id == before and employee.full_name == "Billie Biller"


@pytest.mark.parametrize("selected", ["", "abc", "1 OR 1=1"])
def test_an_admin_action_on_rows_that_are_not_ids_is_a_clear_400(login, administrator, employee, selected):
    response = login(administrator).post(
        reverse("admin:roles_user_changelist"), {"action": "deactivate", "_selected_action": [selected], "index": 0}
    )
    assert response.status_code == 400
    employee.refresh_from_db()
    assert employee.is_active


# --- accepted without a word ----------------------------------------------------------------------------------


def test_deactivating_ids_that_do_not_exist_is_refused_with_a_message(login, administrator, employee):
    response = login(administrator).post(
        reverse("admin:roles_user_changelist"),
        {"action": "deactivate", "_selected_action": [employee.pk, 999999], "index": 0},
        follow=True,
    )
    assert "1 of the chosen people do not exist (any more); nobody was deactivated." in response.content.decode()
    employee.refresh_from_db()
    assert employee.is_active


@pytest.mark.parametrize(
    "send_at, message",
    [
        (lambda now: now - dt.timedelta(days=2), "Choose now or a time in the future"),
        (lambda now: now.replace(year=now.year + 300), "Choose a time within the next year."),
    ],
    ids=["in the past", "centuries ahead"],
)
def test_a_security_reminder_in_the_past_or_centuries_ahead_is_refused(login, compliance_officer, send_at, message):
    data = {"title": "Phishing", "body": "Check.", "audience": "everyone", "send_at": local(send_at(timezone.now()))}
    response = login(compliance_officer).post(reverse("roles:bulletin_new"), data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Bulletin.objects.exists()


def test_a_security_reminder_now_is_accepted(login, compliance_officer):
    data = {"title": "Phishing", "body": "Check.", "audience": "everyone", "send_at": local(timezone.now())}
    assert login(compliance_officer).post(reverse("roles:bulletin_new"), data).status_code == 302


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("hire_date", "1949-12-31", "before 1950 is not plausible"),
        ("hire_date", "9999-01-01", "more than a year ahead"),
        ("access_expires_on", "9999-12-31", "at most two years"),
        ("access_expires_on", "2001-01-01", "Access cannot end in the past"),
    ],
)
def test_implausible_dates_in_the_admin_are_form_errors(login, administrator, employee, field, value, message):
    url = reverse("admin:roles_user_change", args=[employee.pk])
    response = login(administrator).post(url, person_form(employee, **{field: value}))
    assert response.status_code == 200 and message in response.content.decode()
    employee.refresh_from_db()
    assert getattr(employee, field) is None


def test_implausible_dates_are_refused_by_the_service(catalog):
    with pytest.raises(ValidationError, match="before 1950"):
        person_create(email="old@example.test", full_name="Old Hire", hire_date=dt.date(1900, 1, 1), invite=False)
    with pytest.raises(ValidationError, match="at most two years"):
        person_create(
            email="aud@example.test", full_name="Aud Itor", access_expires_on=dt.date(2999, 1, 1), invite=False
        )
    assert not User.objects.filter(email__in=["old@example.test", "aud@example.test"]).exists()
