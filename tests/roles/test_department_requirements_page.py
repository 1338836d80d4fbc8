"""The officer manages a department's own requirements on /dashboard/departments/<id>/: the consequence first
(planned by the engine), then the change through the engine; bad input saves nothing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from hipaa_training.models import AuditEvent
from roles import services
from roles.models import Assignment, Department, DepartmentRequirement
from tests.conftest import make_person
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db

MODULE = "patient-communication"  # not required of billing people


def texan(email: str, name: str, department: Department) -> None:
    services.person_update(person=make_person(email, name, "billing"), department=department)


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def texas(catalog) -> Department:
    department = DepartmentFactory(name="Billing Operations - Texas")
    for i in range(3):
        texan(f"tex{i}@example.test", f"Terry Texan {i}", department)
    return department


def page(department: Department) -> str:
    return reverse("roles:department_edit", args=[department.pk])


def set_data(**overrides) -> dict[str, str]:
    data = {
        "requirement": "set",
        "course": str(Course.objects.get(slug=MODULE).pk),
        "due_within_days": "90",
        "recurrence_months": "24",
    }
    data.update(overrides)
    return data


def digest_of(response) -> str:
    return re.search(r'name="plan" value="([0-9a-f]+)"', response.content.decode()).group(1)


def snapshot() -> tuple[int, int, int]:
    events = AuditEvent.objects.exclude(action__startswith="auth.").exclude(action__startswith="session.")
    return DepartmentRequirement.objects.count(), Assignment.objects.count(), events.count()


def test_anonymous_is_sent_to_sign_in(client, texas):
    response = client.post(page(texas), set_data())
    assert response.status_code == 302 and reverse("account_login") in response.url


@pytest.mark.parametrize("persona", ["employee", "manager", "auditor"])
def test_others_get_403(request, login, texas, persona):
    client = login(request.getfixturevalue(persona))
    before = snapshot()
    assert client.post(page(texas), set_data()).status_code == 403
    assert snapshot() == before


def test_the_officer_sees_the_requirements_and_the_form(login, compliance_officer, texas):
    body = text(login(compliance_officer).get(page(texas)))
    assert "Modules this department requires on its own terms" in body and "None: its people take" in body


@pytest.mark.parametrize("persona", ["compliance_officer", "administrator"])
def test_preview_then_apply(request, login, texas, persona):
    officer = request.getfixturevalue(persona)
    client = login(officer)
    before = snapshot()
    preview = client.post(page(texas), set_data())
    assert preview.status_code == 200
    assert "3 people will be assigned Patient communication, due within 90 days." in text(preview)
    assert snapshot() == before  # nothing yet
    applied = client.post(page(texas), {**set_data(), "plan": digest_of(preview)})
    assert applied.status_code == 302 and applied.url == page(texas)
    requirement = DepartmentRequirement.objects.get(department=texas, course__slug=MODULE)
    assert (requirement.due_within_days, requirement.recurrence_months) == (90, 24)
    assert Assignment.objects.filter(user__department=texas, course__slug=MODULE).open().count() == 3
    event = AuditEvent.objects.filter(action="requirement.added").latest("seq")
    assert event.actor_id == officer.pk and event.data["department"] == texas.name
    assert "Patient communication" in text(client.get(page(texas)))


def test_removing_cancels_open_ones_after_a_preview(login, compliance_officer, texas):
    services.department_requirement_set(department=texas, course=Course.objects.get(slug=MODULE))
    client = login(compliance_officer)
    data = {"requirement": "remove", "course": str(Course.objects.get(slug=MODULE).pk)}
    preview = client.post(page(texas), data)
    assert "3 open assignments will be cancelled; completed ones are kept" in text(preview)
    assert client.post(page(texas), {**data, "plan": digest_of(preview)}).status_code == 302
    assert not DepartmentRequirement.objects.filter(department=texas).exists()
    assert Assignment.objects.filter(user__department=texas, course__slug=MODULE).open().count() == 0


def test_a_stale_preview_saves_nothing(login, compliance_officer, texas):
    client = login(compliance_officer)
    preview = client.post(page(texas), set_data())
    texan("late@example.test", "Lee Late", texas)  # meanwhile, a new hire
    before = snapshot()
    response = client.post(page(texas), {**set_data(), "plan": digest_of(preview)})
    assert response.status_code == 409 and "Nothing was saved" in text(response)
    assert "4 people will be assigned" in text(response)
    assert snapshot() == before


def test_applying_asks_for_a_recent_sign_in(login, compliance_officer, texas):
    client = login(compliance_officer)
    preview = client.post(page(texas), set_data())
    before = snapshot()
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=6), tick=False):
        response = client.post(page(texas), {**set_data(), "plan": digest_of(preview)})
    assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
    assert snapshot() == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"course": ""}, "This field is required."),
        ({"due_within_days": "0"}, "greater than or equal to 1"),
        ({"due_within_days": "9999"}, "less than or equal to 365"),
        ({"due_within_days": "abc"}, "Enter a whole number."),
        ({"recurrence_months": "0"}, "greater than or equal to 1"),
        ({"recurrence_months": "1000"}, "less than or equal to 120"),
        ({"course": "999999"}, "That module is retired or unknown"),
    ],
)
def test_bad_input_saves_nothing(login, compliance_officer, texas, overrides, message):
    client = login(compliance_officer)
    before = snapshot()
    response = client.post(page(texas), set_data(**overrides))
    assert response.status_code == 400 and message in text(response), text(response)
    assert snapshot() == before


def test_a_retired_course_cannot_be_required(login, compliance_officer, texas):
    Course.objects.filter(slug=MODULE).update(retired_at=timezone.now())
    client = login(compliance_officer)
    before = snapshot()
    response = client.post(page(texas), set_data())
    assert response.status_code == 400 and "That module is retired or unknown" in text(response)
    assert snapshot() == before
    with pytest.raises(services.ValidationError):
        services.department_requirement_set(department=texas, course=Course.objects.get(slug=MODULE))


def test_a_retired_department_or_an_unknown_removal_is_refused(login, compliance_officer, texas):
    client = login(compliance_officer)
    before = snapshot()
    response = client.post(page(texas), {"requirement": "remove", "course": "abc"})
    assert response.status_code == 400 and "does not require that module" in text(response)
    assert client.post(page(texas), {**set_data(), "requirement": "delete"}).status_code == 400
    Department.objects.filter(pk=texas.pk).update(retired_at=timezone.now())
    response = client.post(page(texas), set_data())
    assert response.status_code == 400 and "is retired" in text(response)
    assert snapshot() == before
