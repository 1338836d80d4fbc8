"""The officer's people pages (/dashboard/people/): who may open them, the list, adding, editing with a preview,
leaving, reactivating, inviting, ending sessions, and bad input that saves nothing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from hipaa_training.models import AuditEvent
from roles import services
from roles.models import Assignment, Department, User
from tests.conftest import make_person
from tests.factories import role
from tests.records.helpers import assignment_of, see_lessons, take

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page as a person reads it: tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def version(person: User) -> str:
    person.refresh_from_db()
    return services.person_version(person)


def edit_data(person: User, **overrides) -> dict[str, str]:
    person.refresh_from_db()
    data = {
        "workforce_role": str(person.workforce_role_id or ""),
        "department": str(person.department_id or ""),
        "manager": person.manager.email if person.manager else "",
        "hire_date": person.hire_date.isoformat() if person.hire_date else "",
        "version": services.person_version(person),
    }
    data.update(overrides)
    return data


def new_data(**overrides) -> dict[str, str]:
    data = {
        "full_name": "Nina Newhire",
        "email": "nina@example.test",
        "workforce_role": str(role("intake").pk),
        "department": "",
        "manager": "",
        "hire_date": timezone.localdate().isoformat(),
    }
    data.update(overrides)
    return data


# --- who may open what: the three cases for every URL --------------------------------------------------------

GET_PAGES = ["roles:people", "roles:person_new", "roles:person_added", "roles:person_manage"]
POST_ACTIONS = ["roles:person_leave", "roles:person_reactivate", "roles:person_invite", "roles:person_sessions_end"]


def url(name: str, person: User) -> str:
    return reverse(name) if name in ("roles:people", "roles:person_new") else reverse(name, args=[person.pk])


@pytest.mark.parametrize("name", GET_PAGES + POST_ACTIONS)
def test_anonymous_is_sent_to_sign_in(client, employee, name):
    response = client.post(url(name, employee)) if name in POST_ACTIONS else client.get(url(name, employee))
    assert response.status_code == 302 and reverse("account_login") in response.url


@pytest.mark.parametrize("name", GET_PAGES + POST_ACTIONS)
def test_an_employee_gets_403(login, employee, outsider, name):
    client = login(employee)
    response = client.post(url(name, outsider)) if name in POST_ACTIONS else client.get(url(name, outsider))
    assert response.status_code == 403


@pytest.mark.parametrize("name", GET_PAGES)
@pytest.mark.parametrize("persona", ["compliance_officer", "administrator"])
def test_officers_and_administrators_open_every_page(request, login, employee, name, persona):
    response = login(request.getfixturevalue(persona)).get(url(name, employee))
    assert response.status_code == 200
    assert employee.full_name in text(response) or name in ("roles:person_new",)


def test_an_auditor_reads_the_list_and_can_change_nothing(login, auditor, employee):
    client = login(auditor)
    page = client.get(reverse("roles:people"))
    assert page.status_code == 200 and employee.full_name in text(page)
    assert "Add a person" not in text(page) and "/manage/" not in page.content.decode()
    assert client.get(reverse("roles:person_manage", args=[employee.pk])).status_code == 403
    assert (
        client.post(reverse("roles:person_leave", args=[employee.pk]), {"version": version(employee)}).status_code
        == 403
    )
    employee.refresh_from_db()
    assert employee.is_active


def test_a_manager_sees_only_their_reports_read_only(login, manager, employee, outsider):
    page = login(manager).get(reverse("roles:people"))
    assert page.status_code == 200
    assert employee.full_name in text(page) and outsider.full_name not in text(page)
    assert "/manage/" not in page.content.decode() and "Add a person" not in text(page)
    assert login(manager).get(reverse("roles:person_manage", args=[employee.pk])).status_code == 403


def test_the_officer_has_a_people_link(login, compliance_officer):
    page = login(compliance_officer).get(reverse("records:dashboard"))
    assert f'href="{reverse("roles:people")}"' in page.content.decode()


def test_every_write_asks_for_a_recent_sign_in(login, compliance_officer, employee):
    client = login(compliance_officer)
    before = version(employee)
    later = dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        assert client.get(reverse("roles:person_manage", args=[employee.pk])).status_code == 200  # looking is fine
        for name, data in [
            ("roles:person_manage", edit_data(employee, workforce_role=str(role("intake").pk))),
            ("roles:person_leave", {"on": timezone.localdate().isoformat(), "version": before}),
            ("roles:person_invite", {"version": before}),
            ("roles:person_sessions_end", {"version": before}),
        ]:
            response = client.post(reverse(name, args=[employee.pk]), data)
            assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate")), name
        response = client.post(reverse("roles:person_new"), new_data())
        assert response.url.startswith(reverse("account_reauthenticate"))
    assert version(employee) == before and not User.objects.filter(email="nina@example.test").exists()
    assert mail.outbox == []


# --- the list ------------------------------------------------------------------------------------------------


@pytest.fixture
def workforce(compliance_officer, employee, manager, outsider):
    """billing: Morgan (manager), Billie (reports to Morgan, security awareness done); intake: Oscar (overdue);
    Lee left; Ivy invited and never signed in."""
    take(assignment_of(employee))
    Assignment.objects.filter(user=outsider).update(due_on=timezone.localdate() - dt.timedelta(days=3))
    User.objects.filter(pk__in=[employee.pk, manager.pk, outsider.pk, compliance_officer.pk]).update(
        last_login=timezone.now()
    )
    leaver = make_person("lee@example.test", "Lee Leaver", "billing")
    services.person_deactivate(person=leaver)
    invited = make_person("ivy@example.test", "Ivy Invited", "it")
    return {"leaver": leaver, "invited": invited}


def names(response) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/dashboard/people/\d+/">([^<]+)</a>', response.content.decode())


def test_the_list_shows_the_current_workforce_with_training_state(login, compliance_officer, workforce):
    page = login(compliance_officer).get(reverse("roles:people"))
    assert names(page) == ["Billie Biller", "Ivy Invited", "Morgan Manager", "Olivia Officer", "Oscar Outsider"]
    body = text(page)
    assert "Oscar Outsider oscar@example.test Intake and patient communication" in body
    assert "3 overdue" in body and "Invited, not signed in" in body
    assert f'href="{reverse("records:transcript", args=[workforce["invited"].pk])}"' in page.content.decode()


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"q": "BILL"}, ["Billie Biller"]),
        ({"q": "oscar@example"}, ["Oscar Outsider"]),
        ({"role": "intake"}, ["Oscar Outsider"]),
        ({"manager": "manager"}, ["Billie Biller"]),
        ({"status": "left"}, ["Lee Leaver"]),
        ({"status": "invited"}, ["Ivy Invited"]),
        ({"status": "active", "role": "it"}, []),
        ({"training": "overdue"}, ["Oscar Outsider"]),
        ({"training": "due_soon", "q": "o"}, ["Morgan Manager", "Olivia Officer"]),
        ({"status": "all", "q": "lee"}, ["Lee Leaver"]),
    ],
)
def test_search_and_filters(login, compliance_officer, manager, workforce, query, expected):
    if "role" in query:
        query["role"] = str(role(query["role"]).pk)
    if "manager" in query:
        query["manager"] = str(manager.pk)
    page = login(compliance_officer).get(reverse("roles:people"), query)
    assert page.status_code == 200
    assert names(page) == expected
    if not expected:
        assert "No one matches these filters." in text(page)


def test_all_done_and_department_filters(login, compliance_officer, employee):
    for a in Assignment.objects.filter(user=employee):
        take(a)
    it = Department.objects.create(name="IT")
    services.person_update(person=employee, department=it)
    client = login(compliance_officer)
    assert names(client.get(reverse("roles:people"), {"training": "done"})) == ["Billie Biller"]
    assert names(client.get(reverse("roles:people"), {"department": str(it.pk)})) == ["Billie Biller"]


def test_the_list_is_paginated_and_keeps_its_filters(login, compliance_officer):
    billing = role("billing")
    User.objects.bulk_create(
        User(email=f"p{i:03}@example.test", full_name=f"Person {i:03}", workforce_role=billing) for i in range(60)
    )
    client = login(compliance_officer)
    first = client.get(reverse("roles:people"), {"q": "Person"})
    assert len(names(first)) == 25 and "Page 1 of 3" in text(first)
    assert 'href="?q=Person&amp;page=2"' in first.content.decode()
    third = client.get(reverse("roles:people"), {"q": "Person", "page": "3"})
    assert names(third) == [f"Person {i:03}" for i in range(50, 60)]


def _bulk_workforce(start: int, n: int, manager: User) -> None:
    """n people with one assignment each, due anywhere from 20 days ago to 40 days ahead (ORM bulk, no engine)."""
    billing, today = role("billing"), timezone.localdate()
    department = Department.objects.get_or_create(name="Billing Operations")[0]
    people = User.objects.bulk_create(
        User(
            email=f"bulk{i}@example.test",
            full_name=f"Bulk {i:05}",
            workforce_role=billing,
            department=department,
            manager=manager,
        )
        for i in range(start, start + n)
    )
    course = assignment_of(manager).course
    Assignment.objects.bulk_create(
        Assignment(
            user=p, course=course, reason="new_hire", assigned_on=today, due_on=today + dt.timedelta(days=i % 60 - 20)
        )
        for i, p in enumerate(people)
    )


def _count_queries(client, query: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("roles:people"), query)
    assert page.status_code == 200 and names(page)
    return len(captured)


@pytest.mark.parametrize("query", [{"q": "bulk"}, {"training": "overdue"}, {"status": "all", "page": "2"}])
def test_the_list_costs_the_same_queries_at_10_and_1000_people(login, compliance_officer, query):
    client = login(compliance_officer)
    client.get(reverse("roles:people"))  # the first page of a session reads a few things once
    _bulk_workforce(0, 10, compliance_officer)
    small = _count_queries(client, {**query, "page": "1"} if "page" in query else query)
    _bulk_workforce(10, 990, compliance_officer)
    assert User.objects.filter(email__startswith="bulk").count() == 1000
    large = _count_queries(client, query)
    assert small == large, f"{small} queries at 10 people, {large} at 1,000"


# --- adding a person -----------------------------------------------------------------------------------------


def test_the_officer_adds_a_new_hire_who_is_invited_and_assigned_at_once(
    login, compliance_officer, manager, django_capture_on_commit_callbacks
):
    client = login(compliance_officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("roles:person_new"), new_data(email="Nina@Example.test", manager="MANAGER@example.test")
        )
    nina = User.objects.get(email="nina@example.test")
    assert response.status_code == 302 and response.url == reverse("roles:person_added", args=[nina.pk])
    assert nina.manager == manager and nina.workforce_role == role("intake")
    assert [m.to for m in mail.outbox] == [["nina@example.test"]]
    page = client.get(response.url)
    due = (timezone.localdate() + dt.timedelta(days=30)).strftime("%b %-d, %Y")
    body = text(page)
    assert "An invitation to set a password was sent to nina@example.test" in body
    for title in ("Security awareness", "Privacy essentials", "Patient communication"):
        assert f"{title} New hire {due} Open" in body
    assert AuditEvent.objects.filter(action="account.created", data__person="nina@example.test").count() == 1
    assert AuditEvent.objects.filter(action="account.invited", data__person="nina@example.test").count() == 1


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"email": "BILLIE@example.TEST"}, "Billie Biller already has the e-mail address billie@example.test."),
        ({"email": "not an address"}, "Enter a valid email address."),
        ({"full_name": ""}, "This field is required."),
        ({"workforce_role": ""}, "This field is required."),
        ({"hire_date": "1949-12-31"}, "A hire date before 1950 is not plausible."),
        ({"hire_date": "FUTURE"}, "A hire date more than a year ahead"),
        ({"manager": "nobody@example.test"}, "No one in the workforce has the e-mail address nobody@example.test."),
        ({"manager": "lee@example.test"}, "Lee Leaver has left; choose a current manager."),
    ],
)
def test_bad_input_when_adding_gets_a_message_and_saves_nothing(
    login, compliance_officer, employee, overrides, message
):
    leaver = make_person("lee@example.test", "Lee Leaver", "billing")
    services.person_deactivate(person=leaver)
    if overrides.get("hire_date") == "FUTURE":
        overrides["hire_date"] = (timezone.localdate() + dt.timedelta(days=366)).isoformat()
    client = login(compliance_officer)
    people, events = User.objects.count(), AuditEvent.objects.count()
    response = client.post(reverse("roles:person_new"), new_data(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert User.objects.count() == people and AuditEvent.objects.count() == events and mail.outbox == []


# --- editing, with the preview of a role change ---------------------------------------------------------------


def test_a_role_change_is_previewed_then_applied_by_the_engine(login, compliance_officer, employee):
    take(assignment_of(employee))  # security awareness done; privacy essentials and billing privacy open
    client = login(compliance_officer)
    manage = reverse("roles:person_manage", args=[employee.pk])
    events = AuditEvent.objects.count()
    preview = client.post(manage, edit_data(employee, workforce_role=str(role("intake").pk)))
    assert preview.status_code == 200
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    body = text(preview)
    assert f"The change adds Patient communication due {due}; cancels Privacy in billing" in body
    assert "keeps Security awareness, completed" in body and "keeps Privacy essentials, open" in body
    employee.refresh_from_db()
    assert employee.workforce_role == role("billing") and AuditEvent.objects.count() == events  # nothing yet

    digest = re.search(r'name="plan" value="([0-9a-f]+)"', preview.content.decode()).group(1)
    applied = client.post(manage, edit_data(employee, workforce_role=str(role("intake").pk), plan=digest))
    assert applied.status_code == 302 and applied.url == manage
    employee.refresh_from_db()
    assert employee.workforce_role == role("intake")
    open_titles = {a.course.title for a in Assignment.objects.filter(user=employee).open()}
    assert open_titles == {"Privacy essentials", "Patient communication"}
    billing = Assignment.objects.get(user=employee, course__slug="billing-privacy")
    assert billing.cancelled_at is not None and billing.completed_at is None
    event = AuditEvent.objects.get(action="person.role_changed", subject_id=str(employee.pk))
    assert event.data["person"] == employee.email and event.data["to"] == "Intake and patient communication"
    page = client.get(manage)
    assert "is now in Intake and patient communication: the change adds Patient communication" in text(page)
    assert "Patient communication Role change" in text(page)


def test_the_preview_tells_not_started_from_in_progress(login, compliance_officer, employee):
    """A cancelled module the person has not touched is "not started"; one with lessons read or a quiz tried is
    "in progress"; a completed one is kept as "completed"."""
    take(assignment_of(employee))
    client = login(compliance_officer)
    manage = reverse("roles:person_manage", args=[employee.pk])
    body = text(client.post(manage, edit_data(employee, workforce_role=str(role("isolated").pk))))
    assert "cancels Privacy in billing work, not started" in body or "cancels Privacy in billing" in body
    assert "not started" in body and "in progress" not in body
    see_lessons(assignment_of(employee, "billing-privacy"))
    body = text(client.post(manage, edit_data(employee, workforce_role=str(role("isolated").pk))))
    billing = re.search(r"cancels Privacy in billing[^;]*", body)
    assert billing is not None and "in progress" in billing.group(0)
    privacy = re.search(r"cancels Privacy essentials[^;]*", body)
    assert privacy is not None and "not started" in privacy.group(0)
    assert "keeps Security awareness, completed" in body


def test_other_changes_are_saved_without_a_preview(login, compliance_officer, employee, outsider):
    billing = Department.objects.create(name="Accounts receivable")
    response = login(compliance_officer).post(
        reverse("roles:person_manage", args=[employee.pk]),
        edit_data(employee, department=str(billing.pk), manager=outsider.email, hire_date="2020-02-03"),
    )
    assert response.status_code == 302
    employee.refresh_from_db()
    assert (employee.department, employee.manager, employee.hire_date) == (billing, outsider, dt.date(2020, 2, 3))


def test_a_preview_that_no_longer_holds_is_shown_again_and_nothing_is_saved(login, compliance_officer, employee):
    client = login(compliance_officer)
    manage = reverse("roles:person_manage", args=[employee.pk])
    preview = client.post(manage, edit_data(employee, workforce_role=str(role("intake").pk)))
    digest = re.search(r'name="plan" value="([0-9a-f]+)"', preview.content.decode()).group(1)
    take(assignment_of(employee))  # meanwhile, Billie completes security awareness
    again = client.post(manage, edit_data(employee, workforce_role=str(role("intake").pk), plan=digest))
    assert again.status_code == 409
    assert "has changed since you saw it" in text(again) and "keeps Security awareness, completed" in text(again)
    employee.refresh_from_db()
    assert employee.workforce_role == role("billing")


def test_a_stale_form_is_refused_and_shows_the_current_state(login, compliance_officer, employee, outsider):
    client = login(compliance_officer)
    manage = reverse("roles:person_manage", args=[employee.pk])
    stale = edit_data(employee, hire_date="2021-01-01")
    services.person_update(person=employee, manager=outsider)  # another officer, meanwhile
    events = AuditEvent.objects.count()
    response = client.post(manage, stale)
    assert response.status_code == 409
    body = text(response)
    assert "Someone else changed Billie Biller after this page was opened, so nothing was saved" in body
    assert "Manager Oscar Outsider" in body  # the current state
    assert f'value="{outsider.email}"' in response.content.decode()  # the form starts again from it
    employee.refresh_from_db()
    assert employee.hire_date != dt.date(2021, 1, 1) and AuditEvent.objects.count() == events


def test_the_service_refuses_a_stale_version_too(employee):
    old = services.person_version(employee)
    services.person_update(person=employee, hire_date=dt.date(2022, 5, 1))
    with pytest.raises(services.PersonChanged):
        services.person_update(person=User.objects.get(pk=employee.pk), expected_version=old, hire_date=None)
    assert User.objects.get(pk=employee.pk).hire_date == dt.date(2022, 5, 1)


def test_a_manager_loop_is_refused(login, compliance_officer, employee, manager):
    # Morgan manages Billie; making Billie Morgan's manager would close a loop
    response = login(compliance_officer).post(
        reverse("roles:person_manage", args=[manager.pk]), edit_data(manager, manager=employee.email)
    )
    assert response.status_code == 400
    assert "Billie Biller cannot manage Morgan Manager: Billie Biller reports to Morgan Manager" in text(response)
    manager.refresh_from_db()
    assert manager.manager is None


def test_a_longer_manager_loop_is_refused_by_the_service(employee, manager, outsider):
    services.person_update(person=outsider, manager=employee)  # Morgan -> Billie -> Oscar
    with pytest.raises(Exception, match="Oscar Outsider reports to Billie Biller reports to Morgan Manager"):
        services.person_update(person=manager, manager=outsider)
    assert User.objects.get(pk=manager.pk).manager is None


def test_a_role_change_on_a_person_who_left_is_refused(login, compliance_officer, employee):
    services.person_deactivate(person=employee)
    response = login(compliance_officer).post(
        reverse("roles:person_manage", args=[employee.pk]), edit_data(employee, workforce_role=str(role("it").pk))
    )
    assert response.status_code == 400
    assert "Billie Biller has left: reactivate them before changing their role." in text(response)
    employee.refresh_from_db()
    assert employee.workforce_role == role("billing")


@pytest.mark.parametrize(
    "hire_date, message", [("1900-01-01", "before 1950"), ("2999-01-01", "more than a year ahead")]
)
def test_an_implausible_hire_date_is_refused(login, compliance_officer, employee, hire_date, message):
    response = login(compliance_officer).post(
        reverse("roles:person_manage", args=[employee.pk]), edit_data(employee, hire_date=hire_date)
    )
    assert response.status_code == 400 and message in text(response)
    employee.refresh_from_db()
    assert employee.hire_date is None or employee.hire_date.year not in (1900, 2999)


# --- leaving, coming back, invitations, sessions --------------------------------------------------------------


def test_marking_a_person_as_left_keeps_their_records(login, compliance_officer, employee):
    take(assignment_of(employee))
    client = login(compliance_officer)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    response = client.post(
        reverse("roles:person_leave", args=[employee.pk]), {"on": yesterday.isoformat(), "version": version(employee)}
    )
    assert response.status_code == 302
    employee.refresh_from_db()
    assert not employee.is_active and employee.terminated_on == yesterday
    assert Assignment.objects.filter(user=employee).open().count() == 0
    assert Assignment.objects.filter(user=employee).completed().count() == 1
    assert AuditEvent.objects.filter(action="account.deactivated", data__person=employee.email).count() == 1
    page = client.get(response.url)
    assert "is marked as left" in text(page) and "2 open assignments cancelled, every record kept" in text(page)
    assert names(client.get(reverse("roles:people"), {"status": "left"})) == ["Billie Biller"]


@pytest.mark.parametrize(
    "day, message",
    [("FUTURE", "The leaving date cannot be in the future"), ("", "This field is required."), ("soon", "valid date")],
)
def test_a_bad_leaving_date_saves_nothing(login, compliance_officer, employee, day, message):
    if day == "FUTURE":
        day = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = login(compliance_officer).post(
        reverse("roles:person_leave", args=[employee.pk]), {"on": day, "version": version(employee)}
    )
    assert response.status_code == 400 and message in text(response)
    employee.refresh_from_db()
    assert employee.is_active and employee.terminated_on is None


def test_a_leaving_date_before_the_hire_date_is_refused(login, compliance_officer, employee):
    services.person_update(person=employee, hire_date=timezone.localdate())
    response = login(compliance_officer).post(
        reverse("roles:person_leave", args=[employee.pk]),
        {"on": (timezone.localdate() - dt.timedelta(days=10)).isoformat(), "version": version(employee)},
    )
    assert response.status_code == 400 and "before their hire date" in text(response)
    assert User.objects.get(pk=employee.pk).is_active


def test_officers_cannot_mark_themselves_as_left(login, compliance_officer):
    response = login(compliance_officer).post(
        reverse("roles:person_leave", args=[compliance_officer.pk]),
        {"on": timezone.localdate().isoformat(), "version": version(compliance_officer)},
    )
    assert response.status_code == 400 and "You cannot mark yourself as left" in text(response)
    assert User.objects.get(pk=compliance_officer.pk).is_active


def test_a_leaver_is_reactivated_and_assigned_again(login, compliance_officer, employee):
    services.person_deactivate(person=employee)
    client = login(compliance_officer)
    page = client.get(reverse("roles:person_manage", args=[employee.pk]))
    assert "Reactivate" in text(page) and "Mark as left" not in text(page)
    response = client.post(reverse("roles:person_reactivate", args=[employee.pk]), {"version": version(employee)})
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.is_active and employee.terminated_on is None
    assert Assignment.objects.filter(user=employee).open().count() == 3
    assert AuditEvent.objects.filter(action="account.reactivated", data__person=employee.email).count() == 1
    again = client.post(reverse("roles:person_reactivate", args=[employee.pk]), {"version": version(employee)})
    assert again.status_code == 400 and "has not left; there is nothing to reactivate" in text(again)


def test_the_invitation_is_sent_again(login, compliance_officer, employee, django_capture_on_commit_callbacks):
    client = login(compliance_officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("roles:person_invite", args=[employee.pk]), {"version": version(employee)})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[employee.email]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="account.invited", data__person=employee.email).count() == 1


def test_a_leaver_is_not_invited(login, compliance_officer, employee):
    services.person_deactivate(person=employee)
    response = login(compliance_officer).post(
        reverse("roles:person_invite", args=[employee.pk]), {"version": version(employee)}
    )
    assert response.status_code == 400 and "has left; reactivate them before inviting them again" in text(response)
    assert mail.outbox == []


def test_all_of_a_persons_sessions_are_ended(login, compliance_officer, employee, client_factory=None):
    from django.test import Client

    from tests.conftest import just_signed_in

    theirs = Client()
    theirs.force_login(employee, backend="django.contrib.auth.backends.ModelBackend")
    just_signed_in(theirs, employee)
    assert theirs.get(reverse("records:training")).status_code == 200
    officer = login(compliance_officer)
    response = officer.post(reverse("roles:person_sessions_end", args=[employee.pk]), {"version": version(employee)})
    assert response.status_code == 302
    assert "Billie Biller was signed out of 1 session." in text(officer.get(response.url))
    assert theirs.get(reverse("records:training")).status_code == 302  # signed out
    event = AuditEvent.objects.get(action="auth.sessions_ended", subject_id=str(employee.pk))
    assert event.data["person"] == employee.email and event.actor_id == compliance_officer.pk
    again = officer.post(reverse("roles:person_sessions_end", args=[employee.pk]), {"version": version(employee)})
    assert "had no open session" in text(officer.get(again.url))
    assert AuditEvent.objects.filter(action="auth.sessions_ended", subject_id=str(employee.pk)).count() == 2


@pytest.mark.parametrize("name", POST_ACTIONS)
def test_an_action_on_a_stale_page_is_refused(login, compliance_officer, employee, outsider, name):
    stale = version(employee)
    services.person_update(person=employee, manager=outsider)
    data = {"version": stale, "on": timezone.localdate().isoformat()}
    client = login(compliance_officer)
    events = AuditEvent.objects.count()
    response = client.post(reverse(name, args=[employee.pk]), data)
    assert response.status_code == 409 and "Someone else changed Billie Biller" in text(response)
    assert AuditEvent.objects.count() == events and mail.outbox == []
    assert User.objects.get(pk=employee.pk).is_active


def test_an_unknown_person_is_404(login, compliance_officer):
    client = login(compliance_officer)
    assert client.get(reverse("roles:person_manage", args=[999999])).status_code == 404
    assert client.post(reverse("roles:person_leave", args=[999999]), {"version": "x"}).status_code == 404


def test_the_transcript_links_officers_to_the_persons_actions(login, compliance_officer, manager, employee):
    manage = f'href="{reverse("roles:person_manage", args=[employee.pk])}"'
    transcript = reverse("records:transcript", args=[employee.pk])
    assert manage in login(compliance_officer).get(transcript).content.decode()
    assert manage not in login(manager).get(transcript).content.decode()
