"""The bulk action on the people list (POST /dashboard/people/bulk/): assigning a module by hand to the selected
people, reminding them now; who may do it, the bad inputs that save nothing, and why a MANUAL assignment outlives
role changes and requirement changes."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from hipaa_training.models import AuditEvent
from roles import services
from roles.assignments import assignment_plan, sync_assignments
from roles.models import Assignment, Delivery, User
from tests.conftest import make_person
from tests.factories import role

pytestmark = pytest.mark.django_db

BULK = "/dashboard/people/bulk/"
MODULE = "leadership-oversight"  # required of executives only: a billing or intake person does not have it


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def course(slug: str = MODULE) -> Course:
    return Course.objects.get(slug=slug)


def assign_data(*people: User, **overrides) -> dict:
    data = {
        "action": "assign",
        "person": [str(p.pk) for p in people],
        "course": str(course().pk),
        "due_on": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        "reason": "Corrective action after the March incident",
        "filters": f"role={role('billing').pk}",
    }
    data.update(overrides)
    return data


def manual(person: User, slug: str = MODULE) -> Assignment | None:
    return Assignment.objects.filter(user=person, course__slug=slug, reason=Assignment.MANUAL).first()


def test_the_url_is_named():
    assert reverse("roles:people_bulk") == BULK


# --- who may do it ---------------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, employee):
    response = client.post(BULK, assign_data(employee))
    assert response.status_code == 302 and reverse("account_login") in response.url
    assert manual(employee) is None


@pytest.mark.parametrize("persona", ["employee", "manager", "auditor"])
def test_everyone_but_officers_and_administrators_gets_403(request, login, employee, persona):
    response = login(request.getfixturevalue(persona)).post(BULK, assign_data(employee))
    assert response.status_code == 403
    assert manual(employee) is None


@pytest.mark.parametrize("persona", ["compliance_officer", "administrator"])
def test_officers_and_administrators_assign(request, login, employee, persona):
    response = login(request.getfixturevalue(persona)).post(BULK, assign_data(employee))
    assert response.status_code == 302
    assert response.url == reverse("roles:people") + f"?role={role('billing').pk}"  # back to the same filters
    assert manual(employee) is not None


def test_a_get_is_refused(login, compliance_officer):
    assert login(compliance_officer).get(BULK).status_code == 405


def test_it_asks_for_a_recent_sign_in(login, compliance_officer, employee):
    client = login(compliance_officer)
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=6), tick=False):
        response = client.post(BULK, assign_data(employee))
    assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
    assert manual(employee) is None


def test_only_writers_see_the_check_boxes_and_the_form(login, compliance_officer, auditor, manager, employee):
    page = login(compliance_officer).get(reverse("roles:people")).content.decode()
    assert f'name="person" value="{employee.pk}"' in page and f'action="{BULK}"' in page
    assert 'aria-label="Select everyone on this page"' in page
    for reader in (auditor, manager):
        page = login(reader).get(reverse("roles:people")).content.decode()
        assert 'name="person"' not in page and BULK not in page


def test_the_form_keeps_the_filters_and_select_all_checks_the_page(login, compliance_officer, employee, outsider):
    client = login(compliance_officer)
    page = client.get(reverse("roles:people"), {"role": role("billing").pk, "select": "page"}).content.decode()
    assert f'name="filters" value="role={role("billing").pk}"' in page
    assert f'value="{employee.pk}" form="bulk" id="select-{employee.pk}" checked' in page
    assert f'id="select-{outsider.pk}"' not in page  # filtered out


# --- assigning: the happy path ---------------------------------------------------------------------------------


def test_assigning_to_the_selected_people(login, compliance_officer, employee, outsider):
    leaver = make_person("lee@example.test", "Lee Leaver", "billing")
    services.person_deactivate(person=leaver)
    already = make_person("al@example.test", "Al Already", "intake")
    services.assign_manually(
        people=[already], course=course(), due_on=timezone.localdate(), reason="first", actor=compliance_officer
    )
    events_before = AuditEvent.objects.filter(action="assignment.created").count()
    due = timezone.localdate() + dt.timedelta(days=45)
    response = login(compliance_officer).post(
        BULK, assign_data(employee, outsider, leaver, already, due_on=due.isoformat()), follow=True
    )
    assert response.status_code == 200
    assert (
        "Leadership and oversight assigned to 2 people; 1 already had it open; 1 has left and was skipped."
        in text(response)
    ) or "assigned to 2 people; 1 already had it open; 1 has left and was skipped." in text(response)
    for person in (employee, outsider):
        a = manual(person)
        assert a is not None and a.due_on == due and a.is_open
        assert a.note == "Corrective action after the March incident" and a.assigned_on == timezone.localdate()
    assert manual(leaver) is None
    assert Assignment.objects.filter(user=already, course=course()).count() == 1
    events = list(AuditEvent.objects.filter(action="assignment.created").order_by("seq")[events_before:])
    assert len(events) == 2
    assert {e.data["person"] for e in events} == {employee.email, outsider.email}
    assert all(e.actor_id == compliance_officer.pk for e in events)
    assert all(e.data["reason"] == "manual" and e.data["note"].startswith("Corrective") for e in events)


def test_the_learner_sees_the_module_on_training(login, compliance_officer, employee):
    login(compliance_officer).post(BULK, assign_data(employee))
    page = login(employee).get(reverse("records:training"))
    assert course().title in text(page)


def test_a_new_cycle_after_a_completed_one(compliance_officer, employee):
    first = services.assign_manually(
        people=[employee], course=course(), due_on=timezone.localdate(), reason="x", actor=compliance_officer
    ).assigned[0]
    Assignment.objects.filter(pk=first.pk).update(completed_at=timezone.now())
    again = services.assign_manually(
        people=[employee], course=course(), due_on=timezone.localdate(), reason="y", actor=compliance_officer
    )
    assert [a.cycle for a in again.assigned] == [2]


# --- a MANUAL assignment outlives role changes and requirement changes ----------------------------------------


def _assigned(officer: User, person: User) -> Assignment:
    result = services.assign_manually(
        people=[person],
        course=course(),
        due_on=timezone.localdate() + dt.timedelta(days=10),
        reason="Corrective action",
        actor=officer,
    )
    return result.assigned[0]


def test_a_role_change_keeps_a_manual_assignment(compliance_officer, employee):
    a = _assigned(compliance_officer, employee)
    plan = assignment_plan(person=employee, workforce_role_id=role("intake").pk)
    assert any(s.assignment_id == a.pk and s.verb == "keeps" for s in plan.steps)
    assert all(s.assignment_id != a.pk for s in plan.cancels)
    services.person_update(person=employee, actor=compliance_officer, workforce_role=role("intake"))
    a.refresh_from_db()
    assert a.is_open and a.reason == Assignment.MANUAL
    # whereas the role's own open module no longer required was cancelled
    assert Assignment.objects.filter(user=employee, course__slug="billing-privacy", cancelled_at__isnull=False)


def test_a_sync_and_a_requirement_change_keep_a_manual_assignment(compliance_officer, employee):
    a = _assigned(compliance_officer, employee)
    sync_assignments(actor=compliance_officer)
    requirement = services.requirement_set(role=role("billing"), course=course(), actor=compliance_officer)
    assert Assignment.objects.filter(user=employee, course=course()).count() == 1  # the open manual one covers it
    services.requirement_remove(requirement=requirement, actor=compliance_officer)
    sync_assignments(actor=compliance_officer)
    a.refresh_from_db()
    assert a.is_open


def test_the_roles_grid_keeps_a_manual_assignment(login, compliance_officer, employee):
    a = _assigned(compliance_officer, employee)
    sync_assignments(people=User.objects.filter(workforce_role=role("billing")), actor=compliance_officer)
    a.refresh_from_db()
    assert a.is_open


def test_leaving_cancels_a_manual_assignment(compliance_officer, employee):
    a = _assigned(compliance_officer, employee)
    services.person_deactivate(person=employee, actor=compliance_officer)
    a.refresh_from_db()
    assert a.cancelled_at is not None and a.completed_at is None


# --- bad input: a clear message, nothing saved ------------------------------------------------------------------


def _refused(client, data, message: str) -> None:
    before = (Assignment.objects.count(), AuditEvent.objects.count(), Delivery.objects.count())
    response = client.post(BULK, data)
    assert response.status_code == 400
    assert message in text(response), text(response)
    assert (Assignment.objects.count(), AuditEvent.objects.count(), Delivery.objects.count()) == before


def test_no_one_selected(login, compliance_officer):
    _refused(login(compliance_officer), assign_data(), "Select at least one person on the list")


def test_unknown_ids(login, compliance_officer, employee):
    client = login(compliance_officer)
    _refused(client, assign_data(employee, person=[str(employee.pk), "999999"]), "no longer exist")
    for bad in ("abc", "-1", "9" * 40, "²"):
        _refused(client, assign_data(employee, person=[str(employee.pk), bad]), "is not a person on this list")


def test_a_retired_course(login, compliance_officer, employee):
    Course.objects.filter(slug=MODULE).update(retired_at=timezone.now())
    _refused(login(compliance_officer), assign_data(employee), "That module is retired or unknown")
    Course.objects.filter(slug=MODULE).update(retired_at=None)
    with pytest.raises(services.ValidationError):
        c = course()
        c.retired_at = timezone.now()
        services.assign_manually(
            people=[employee], course=c, due_on=timezone.localdate(), reason="x", actor=compliance_officer
        )


def test_no_module(login, compliance_officer, employee):
    _refused(login(compliance_officer), assign_data(employee, course=""), "Choose the module to assign.")


def test_a_due_date_in_the_past_or_too_far(login, compliance_officer, employee):
    client = login(compliance_officer)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    _refused(client, assign_data(employee, due_on=yesterday.isoformat()), "is in the past")
    _refused(client, assign_data(employee, due_on="2999-01-01"), "more than two years ahead")
    _refused(client, assign_data(employee, due_on=""), "Give the date it is due.")
    _refused(client, assign_data(employee, due_on="31/31/2026"), "Enter a valid date.")


def test_a_missing_reason(login, compliance_officer, employee):
    _refused(login(compliance_officer), assign_data(employee, reason="   "), "Say why they must take it")


def test_an_unknown_action(login, compliance_officer, employee):
    _refused(login(compliance_officer), assign_data(employee, action="delete"), "Select a valid choice")


def test_a_refused_form_keeps_the_selection(login, compliance_officer, employee, outsider):
    response = login(compliance_officer).post(BULK, assign_data(employee, reason="", filters=""))
    page = response.content.decode()
    assert f'value="{employee.pk}" form="bulk" id="select-{employee.pk}" checked' in page
    assert f'id="select-{outsider.pk}" aria-label' in page  # not checked


# --- query counts ------------------------------------------------------------------------------------------------


def _queries(client, people: list[User]) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(BULK, assign_data(*people))
    assert response.status_code == 302
    assert all(manual(p) is not None for p in people)
    return len(captured)


def test_the_query_count_does_not_grow_with_the_selection(login, compliance_officer):
    warm = [make_person("warm@example.test", "Warm Up", "billing")]
    few = [make_person(f"few{i}@example.test", f"Few {i}", "billing") for i in range(5)]
    many = [make_person(f"many{i}@example.test", f"Many {i}", "billing") for i in range(20)]
    client = login(compliance_officer)
    _queries(client, warm)  # the first request of a session reads a few things once
    assert _queries(client, few) == _queries(client, many)


# --- reminding ---------------------------------------------------------------------------------------------------


def test_reminding_the_selected_people(login, compliance_officer, employee, outsider):
    idle = make_person("ida@example.test", "Ida Idle", None)
    open_modules = Assignment.objects.open().filter(user__in=[employee, outsider]).count()
    assert open_modules > 0
    client = login(compliance_officer)
    response = client.post(BULK, {"action": "nudge", "person": [employee.pk, outsider.pk, idle.pk]}, follow=True)
    assert response.status_code == 200
    assert f"2 people reminded about {open_modules} open modules; 1 person with nothing open skipped." in text(response)
    assert Delivery.objects.filter(kind=Delivery.NUDGE).count() == open_modules
    events = AuditEvent.objects.filter(action="reminder.nudged")
    assert {e.data["person"] for e in events} == {employee.email, outsider.email}
    again = client.post(BULK, {"action": "nudge", "person": [employee.pk]}, follow=True)
    assert "1 person already reminded today" in text(again)
    assert Delivery.objects.filter(kind=Delivery.NUDGE).count() == open_modules


def test_reminding_needs_someone_selected(login, compliance_officer):
    _refused(login(compliance_officer), {"action": "nudge"}, "Select at least one person on the list")


def test_the_reason_shows_on_the_person_pages(login, compliance_officer, employee):
    client = login(compliance_officer)
    client.post(BULK, assign_data(employee))
    manage = text(client.get(reverse("roles:person_manage", args=[employee.pk])))
    assert "Assigned by hand: Corrective action after the March incident" in manage
    transcript = text(client.get(reverse("records:transcript", args=[employee.pk])))
    assert "Assigned by hand: Corrective action after the March incident" in transcript
