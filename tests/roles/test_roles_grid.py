"""The roles grid at /dashboard/roles/: who may see and change it, the preview of what a change does, applying
it through the engine, and every bad input (stale form, two officers at once, retired course, bad numbers)."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from hipaa_training.models import AuditEvent
from roles.assignments import sync_assignments
from roles.grid import GridStale, grid_plan, grid_state, read_grid_form
from roles.models import Assignment, Requirement, User
from roles.services import requirements_grid_apply
from tests.conftest import is_postgres, make_person
from tests.factories import role
from tests.records.helpers import assignment_of, take

pytestmark = pytest.mark.usefixtures("catalog")


def course(slug: str) -> Course:
    return Course.objects.get(slug=slug)


def grid_data(**cells: dict[str, str] | None) -> dict[str, str]:
    """The grid form as it is now, with some cells changed: cells={"billing:patient-communication": {...}}."""
    state = grid_state()
    data = {"version": state.version}
    for _role, row in state.rows():
        for cell in row:
            req = cell.requirement
            if req is not None:
                data[cell.name("required")] = "on"
            data[cell.name("due")] = str(req.due_within_days if req else 30)
            data[cell.name("every")] = str((req.recurrence_months or "") if req else 12)
    for key, values in cells.items():
        role_slug, course_slug = key.split(":")
        prefix = f"r{role(role_slug).pk}-c{course(course_slug).pk}-"
        if values is None:
            data.pop(prefix + "required", None)
            continue
        for part, value in values.items():
            if part == "required" and not value:
                data.pop(prefix + "required", None)
            else:
                data[prefix + part] = value
    return data


def preview(client, data: dict[str, str]):
    return client.post(reverse("roles:grid"), data)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def apply_form(html: str) -> dict[str, str]:
    form = html[html.index(reverse("roles:grid_apply")) :]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


@pytest.fixture
def billing_team(employee, manager):
    """Three billing people (the employee, their manager, one more); one of them finished billing privacy."""
    third = make_person("bea@example.test", "Bea Billing", "billing")
    take(assignment_of(employee, "billing-privacy"))
    return [employee, manager, third]


ADD = {"billing:patient-communication": {"required": "on", "due": "30", "every": "12"}}


# --- access: the three cases, and the auditor's read-only grid ---


def test_the_grid_asks_anonymous_people_to_sign_in(client):
    response = client.get(reverse("roles:grid"))
    assert response.status_code == 302 and "/login/" in response.url


def test_an_employee_may_not_open_the_grid(login, employee):
    assert login(employee).get(reverse("roles:grid")).status_code == 403
    assert login(employee).post(reverse("roles:grid"), grid_data(**ADD)).status_code == 403


def test_the_officer_sees_every_role_and_module(login, compliance_officer):
    page = login(compliance_officer).get(reverse("roles:grid")).content.decode()
    assert "Billing and revenue cycle" in page and "Patient communication" in page
    assert 'type="checkbox"' in page and "Preview the changes" in page
    assert "Change log" in page


def test_an_auditor_sees_the_grid_read_only(login, auditor):
    client = login(auditor)
    page = client.get(reverse("roles:grid")).content.decode()
    assert "Billing and revenue cycle" in page and "Read-only" in page
    assert 'type="checkbox"' not in page and "Preview the changes" not in page
    assert client.post(reverse("roles:grid"), grid_data(**ADD)).status_code == 403
    assert not Requirement.objects.filter(role=role("billing"), course=course("patient-communication")).exists()


def test_an_administrator_may_change_the_grid(login, administrator, billing_team):
    response = preview(login(administrator), grid_data(**ADD))
    assert response.status_code == 200 and "will be assigned Patient communication" in response.content.decode()


# --- adding, removing and changing, previewed first ---


def test_adding_a_requirement_shows_who_will_be_assigned_then_assigns_them(login, compliance_officer, billing_team):
    client = login(compliance_officer)
    before = Assignment.objects.count()
    response = preview(client, grid_data(**ADD))
    page = response.content.decode()
    assert response.status_code == 200
    assert "3 people will be assigned Patient communication, due in 30 days." in page
    assert Assignment.objects.count() == before  # a preview writes nothing
    assert not AuditEvent.objects.filter(action="requirement.added").exists()

    response = client.post(reverse("roles:grid_apply"), apply_form(page))
    assert response.status_code == 302
    assigned = Assignment.objects.filter(course__slug="patient-communication", user__in=billing_team)
    assert assigned.count() == 3
    assert all((a.due_on - a.assigned_on).days == 30 for a in assigned)
    event = AuditEvent.objects.get(action="requirement.added")
    assert event.actor_label == compliance_officer.email
    assert event.data["role"] == "billing" and event.data["course"] == "patient-communication"
    page = client.get(reverse("roles:grid")).content.decode()
    assert "The grid was saved" in page and "Patient communication now required" in page
    training = login(billing_team[2]).get(reverse("records:training")).content.decode()
    assert "Patient communication" in training


def test_removing_a_requirement_cancels_open_assignments_and_keeps_completed(login, compliance_officer, billing_team):
    client = login(compliance_officer)
    page = preview(client, grid_data(**{"billing:billing-privacy": None})).content.decode()
    assert "2 open assignments will be cancelled; completed ones are kept (1 completed)." in page
    assert client.post(reverse("roles:grid_apply"), apply_form(page)).status_code == 302
    rows = Assignment.objects.filter(course__slug="billing-privacy", user__in=billing_team)
    assert rows.filter(cancelled_at__isnull=False).count() == 2
    assert rows.filter(completed_at__isnull=False, cancelled_at__isnull=True).count() == 1
    assert not Requirement.objects.filter(role=role("billing"), course__slug="billing-privacy").exists()
    assert AuditEvent.objects.filter(action="requirement.removed").count() == 1


def test_a_new_due_window_is_for_new_assignments_and_open_ones_keep_their_dates(
    login, compliance_officer, billing_team
):
    client = login(compliance_officer)
    due_dates = sorted(Assignment.objects.filter(course__slug="billing-privacy").values_list("due_on", flat=True))
    cell = {"billing:billing-privacy": {"required": "on", "due": "45", "every": "12"}}
    page = preview(client, grid_data(**cell)).content.decode()
    assert "due within 30 → 45 days" in page
    assert "New assignments are due within 45 days; 2 open assignments keep their due dates." in page
    assert client.post(reverse("roles:grid_apply"), apply_form(page)).status_code == 302
    assert Requirement.objects.get(role=role("billing"), course__slug="billing-privacy").due_within_days == 45
    assert sorted(Assignment.objects.filter(course__slug="billing-privacy").values_list("due_on", flat=True)) == (
        due_dates
    )
    event = AuditEvent.objects.get(action="requirement.changed")
    assert event.data["from"]["due_within_days"] == 30 and event.data["to"]["due_within_days"] == 45


def test_a_shorter_recurrence_assigns_a_new_cycle_to_whoever_is_now_due(login, compliance_officer, billing_team):
    done = Assignment.objects.get(user=billing_team[0], course__slug="billing-privacy")
    Assignment.objects.filter(pk=done.pk).update(completed_at=timezone.now() - timezone.timedelta(days=70))
    client = login(compliance_officer)
    page = preview(client, grid_data(**{"billing:billing-privacy": {"every": "2"}})).content.decode()
    assert "every 12 months → every 2 months" in page
    assert "1 person will be assigned a new cycle of" in page
    assert client.post(reverse("roles:grid_apply"), apply_form(page)).status_code == 302
    assert Assignment.objects.filter(user=billing_team[0], course__slug="billing-privacy", cycle=2).exists()


def test_an_unchanged_grid_changes_nothing(login, compliance_officer):
    response = login(compliance_officer).post(reverse("roles:grid"), grid_data(), follow=True)
    assert "Nothing changed in the grid." in response.content.decode()
    assert (
        not AuditEvent.objects.filter(action__startswith="requirement.")
        .exclude(action="requirement.defaults_loaded")
        .exists()
    )


# --- bad input: a clear message, nothing saved ---


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"due": "0"}, "The due window (days) must be from 1 to 365."),
        ({"due": "400"}, "The due window (days) must be from 1 to 365."),
        ({"due": "ten"}, "The due window (days) must be a whole number from 1 to 365."),
        ({"due": ""}, "The due window (days) must be a whole number from 1 to 365."),
        ({"every": "0"}, "The recurrence (months; empty: once) must be from 1 to 120."),
        ({"every": "-3"}, "The recurrence (months; empty: once) must be a whole number from 1 to 120."),
    ],
)
def test_invalid_numbers_are_refused_with_a_message(login, compliance_officer, billing_team, values, message):
    before = Assignment.objects.count()
    data = grid_data(**{"billing:patient-communication": {"required": "on", **values}, **ADD_OTHER})
    response = preview(login(compliance_officer), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved" in page and message in page
    assert 'aria-invalid="true"' in page
    assert Assignment.objects.count() == before
    assert (
        not Requirement.objects.filter(course__slug__in=["patient-communication", "leadership-oversight"])
        .filter(role=role("billing"))
        .exists()
    )


ADD_OTHER = {"billing:leadership-oversight": {"required": "on", "due": "30", "every": "12"}}


def test_a_retired_course_cannot_be_newly_required(login, compliance_officer, billing_team):
    Course.objects.filter(slug="patient-communication").update(retired_at=timezone.now())
    client = login(compliance_officer)
    page = client.get(reverse("roles:grid")).content.decode()
    assert "Retired module" in page  # required by intake, so still a column; not offered to billing
    data = grid_data()
    data[f"r{role('billing').pk}-c{course('patient-communication').pk}-required"] = "on"
    response = preview(client, data)
    assert response.status_code == 400
    assert "Patient communication is retired: no role can newly require it." in response.content.decode()
    state = grid_state()
    changes, errors = read_grid_form(state, data)
    assert errors and not changes
    assert not Requirement.objects.filter(role=role("billing"), course__slug="patient-communication").exists()


def test_a_stale_grid_form_is_refused_and_the_current_grid_shown(login, compliance_officer, billing_team):
    client = login(compliance_officer)
    stale = grid_data(**ADD)
    Requirement.objects.filter(role=role("billing"), course__slug="billing-privacy").update(due_within_days=60)
    response = preview(client, stale)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone changed the roles grid after you opened it" in page
    assert 'value="60"' in page  # the current state
    assert not Requirement.objects.filter(role=role("billing"), course__slug="patient-communication").exists()


def test_two_officers_previewing_the_same_grid_only_the_first_applies(login, compliance_officer, billing_team):
    client = login(compliance_officer)
    first = apply_form(preview(client, grid_data(**ADD)).content.decode())
    second = apply_form(preview(client, grid_data(**{"billing:billing-privacy": None})).content.decode())
    assert client.post(reverse("roles:grid_apply"), first).status_code == 302
    events = AuditEvent.objects.count()
    response = client.post(reverse("roles:grid_apply"), second)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Nothing was saved" in page and "Someone changed the roles grid" in page
    assert Requirement.objects.filter(role=role("billing"), course__slug="billing-privacy").exists()
    assert AuditEvent.objects.count() == events
    assert not Assignment.objects.filter(course__slug="billing-privacy", cancelled_at__isnull=False).exists()


def test_a_preview_whose_consequences_changed_is_refused(login, compliance_officer, billing_team):
    client = login(compliance_officer)
    form = apply_form(preview(client, grid_data(**ADD)).content.decode())
    make_person("newhire@example.test", "Nia New", "billing")  # the workforce changed after the preview
    response = client.post(reverse("roles:grid_apply"), form)
    assert response.status_code == 409
    assert "consequences differ" in response.content.decode()
    assert not Requirement.objects.filter(role=role("billing"), course__slug="patient-communication").exists()


def test_the_engine_plans_without_writing(billing_team):
    events, rows = AuditEvent.objects.count(), Assignment.objects.count()
    state = grid_state()
    changes, _ = read_grid_form(state, grid_data(**ADD))
    plan = grid_plan(state, changes)
    assert len(plan.result.created) == 3 and all(a.pk is None for a in plan.result.created)
    assert sync_assignments(dry_run=True).created == []  # in step already
    assert (AuditEvent.objects.count(), Assignment.objects.count()) == (events, rows)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_officers_applying_at_the_same_moment_one_wins_the_other_is_refused(catalog):
    assert is_postgres()
    officer = make_person("o1@example.test", "Officer One", "compliance")
    make_person("b1@example.test", "Bill One", "billing")
    state = grid_state()
    one, _ = read_grid_form(state, grid_data(**ADD))
    two, _ = read_grid_form(state, grid_data(**{"billing:billing-privacy": None}))
    digests = [grid_plan(state, one).digest, grid_plan(state, two).digest]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(changes, digest):
        try:
            barrier.wait()
            requirements_grid_apply(changes=changes, version=state.version, plan_digest=digest, actor=officer)
            outcomes.append("applied")
        except GridStale:
            outcomes.append("stale")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c, d)) for c, d in zip([one, two], digests, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["applied", "stale"]
    added = Requirement.objects.filter(role=role("billing"), course__slug="patient-communication").exists()
    removed = not Requirement.objects.filter(role=role("billing"), course__slug="billing-privacy").exists()
    assert added != removed  # exactly one of the two changes happened, whole
    assert User.objects.filter(email="b1@example.test").exists()


def test_the_grid_page_costs_the_same_queries_for_3_or_30_people(login, compliance_officer, billing_team):
    from django.test.utils import CaptureQueriesContext

    client = login(compliance_officer)
    client.get(reverse("roles:grid"))  # warm the session and the policy rows

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("roles:grid")).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for i in range(27):
        make_person(f"extra{i}@example.test", f"Extra {i}", "intake" if i % 2 else "billing")
    assert queries() == few
