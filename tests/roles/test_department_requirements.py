"""A department's own requirement, as Texas HB 300 needs: the module due 90 days after hire, then every 24 months."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from courses.models import Course
from hipaa_training.models import AuditEvent
from records.walkthrough import module_walk
from roles.assignments import add_months, sync_assignments
from roles.models import Assignment, Department, User
from roles.services import department_requirement_set, person_create, person_update, requirement_set
from tests.factories import PASSWORD, DepartmentFactory, role

from .test_assignments import _publish_new_version

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def texas() -> Department:
    department = DepartmentFactory(name="Billing Operations - Texas")
    department_requirement_set(
        department=department,
        course=Course.objects.get(slug="privacy-essentials"),
        recurrence_months=24,
        due_within_days=90,
    )
    return department


def hire(email: str, department: Department, role_slug: str = "billing", days_ago: int = 10) -> User:
    return person_create(
        email=email,
        full_name="Terry Texan",
        workforce_role=role(role_slug),
        department=department,
        hire_date=timezone.localdate() - dt.timedelta(days=days_ago),
        password=PASSWORD,
        invite=False,
    )


def privacy(person: User, cycle: int = 1) -> Assignment:
    return person.assignments.get(course__slug="privacy-essentials", cycle=cycle)


@pytest.fixture
def lenient_billing() -> None:
    """A company whose billing role asks for privacy essentials once, within 120 days: looser than HB 300."""
    requirement_set(
        role=role("billing"),
        course=Course.objects.get(slug="privacy-essentials"),
        recurrence_months=None,
        due_within_days=120,
    )


def test_a_texas_hire_is_due_90_days_after_hire_then_every_24_months_after_completion(texas, lenient_billing):
    person = hire("terry@example.test", texas)
    elsewhere = hire("olive@example.test", DepartmentFactory(name="Billing Operations"))
    today = timezone.localdate()

    first = privacy(person)
    assert first.reason == Assignment.NEW_HIRE and first.due_on == person.hire_date + dt.timedelta(days=90)
    assert privacy(elsewhere).due_on == today + dt.timedelta(days=120)  # the role's own terms
    assert person.assignments.get(course__slug="security-awareness").due_on == today + dt.timedelta(days=30)

    completion = module_walk(first)
    done_on = timezone.localdate(completion.completed_at)
    module_walk(privacy(elsewhere))

    sync_assignments(today=add_months(done_on, 12))
    assert person.assignments.filter(course__slug="privacy-essentials").count() == 1

    expires = add_months(done_on, 24)
    sync_assignments(today=expires - dt.timedelta(days=31))
    assert person.assignments.filter(course__slug="privacy-essentials").count() == 1
    sync_assignments(today=expires - dt.timedelta(days=30))
    nxt = privacy(person, cycle=2)
    assert nxt.reason == Assignment.ANNUAL and nxt.due_on == expires
    assert elsewhere.assignments.filter(course__slug="privacy-essentials").count() == 1  # the role's "once"


def test_a_stricter_role_keeps_its_terms_in_the_department(texas):
    """The department adds a floor; it never loosens the company's own policy (billing: within 30 days, yearly)."""
    person = hire("strict@example.test", texas)
    first = privacy(person)
    assert first.due_on == timezone.localdate() + dt.timedelta(days=30)
    done_on = timezone.localdate(module_walk(first).completed_at)
    sync_assignments(today=add_months(done_on, 12))
    assert privacy(person, cycle=2).reason == Assignment.ANNUAL


def test_a_hire_entered_after_the_90_days_is_due_at_once(texas):
    person = hire("late@example.test", texas, days_ago=120)
    assert privacy(person).due_on == timezone.localdate()


def test_a_department_adds_the_module_where_the_role_has_none_and_retrains_on_a_material_version(texas):
    person = hire("quinn@example.test", texas, role_slug="isolated")  # the role does not require privacy
    module_walk(privacy(person))

    _publish_new_version(Course.objects.get(slug="privacy-essentials"), material=True)

    retrain = privacy(person, cycle=2)
    assert retrain.reason == Assignment.NEW_VERSION and retrain.due_on == timezone.localdate() + dt.timedelta(days=90)


def test_moving_into_the_department_assigns_its_module(texas):
    person = hire("mover@example.test", DepartmentFactory(name="Facilities"), role_slug="isolated")
    assert not person.assignments.filter(course__slug="privacy-essentials").exists()

    person_update(person=person, department=texas)

    moved = privacy(person)
    assert moved.reason == Assignment.ROLE_CHANGE and moved.due_on == timezone.localdate() + dt.timedelta(days=90)


def test_setting_a_department_requirement_is_audited(texas):
    event = AuditEvent.objects.filter(action="requirement.added").latest("pk")
    assert event.data["department"] == "Billing Operations - Texas" and event.data["recurrence_months"] == 24


def test_the_role_change_preview_counts_the_department_module(texas):
    """The dry run uses the same rules as the engine: the department's module is kept, not cancelled."""
    from roles.assignments import assignment_plan

    person = hire("preview@example.test", texas, role_slug="isolated")
    plan = assignment_plan(person=person, workforce_role_id=role("isolated").pk)
    assert "Privacy essentials" in {step.title for step in plan.keeps}
    assert not plan.cancels
