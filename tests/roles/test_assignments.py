from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses.models import Course, CourseVersion
from hipaa_training.models import AuditEvent
from roles.assignments import add_months, sync_assignments
from roles.models import Assignment, User
from roles.services import person_deactivate, person_update, requirement_set
from tests.conftest import make_person
from tests.factories import UserFactory, role

pytestmark = pytest.mark.usefixtures("catalog")

BILLING = {"security-awareness", "privacy-essentials", "billing-privacy"}
IT = {"security-awareness", "privacy-essentials", "privileged-access-security"}


def open_courses(person: User) -> set[str]:
    return set(person.assignments.open().values_list("course__slug", flat=True))


def complete(assignment: Assignment, when: dt.datetime | None = None) -> None:
    # The records app sets this through its completion service; the engine only reads it.
    Assignment.objects.filter(pk=assignment.pk).update(completed_at=when or timezone.now())


def test_a_new_hire_gets_every_module_their_role_requires():
    person = make_person("new@example.test", "Nia New", "billing", hire_date=timezone.localdate())
    assignments = list(person.assignments.all())
    assert {a.course.slug for a in assignments} == BILLING
    assert {a.reason for a in assignments} == {Assignment.NEW_HIRE}
    assert all(a.due_on == timezone.localdate() + dt.timedelta(days=30) for a in assignments)
    assert AuditEvent.objects.filter(action="assignment.created").count() == 3


def test_a_future_hire_is_assigned_from_their_start_date():
    start = timezone.localdate() + dt.timedelta(days=10)
    person = make_person("soon@example.test", "Sam Soon", "intake", hire_date=start)
    assert {a.assigned_on for a in person.assignments.all()} == {start}
    assert {a.due_on for a in person.assignments.all()} == {start + dt.timedelta(days=30)}


def test_a_role_change_adds_the_new_modules_and_keeps_what_is_done():
    person = make_person("mover@example.test", "Mo Mover", "billing")
    complete(person.assignments.get(course__slug="security-awareness"))

    person_update(person=person, workforce_role=role("it"))

    assert open_courses(person) == {"privacy-essentials", "privileged-access-security"}
    added = person.assignments.get(course__slug="privileged-access-security")
    assert added.reason == Assignment.ROLE_CHANGE
    billing = person.assignments.get(course__slug="billing-privacy")
    assert billing.cancelled_at is not None and "no longer required" in billing.cancel_reason.lower()
    assert person.assignments.get(course__slug="security-awareness").completed_at is not None
    assert AuditEvent.objects.filter(action="person.role_changed", subject_id=str(person.pk)).count() == 1


def test_a_termination_stops_assignments_and_keeps_history():
    person = make_person("leaver@example.test", "Lee Leaver", "billing")
    complete(person.assignments.get(course__slug="security-awareness"))
    total = person.assignments.count()

    person_deactivate(person=person)
    sync_assignments()

    person.refresh_from_db()
    assert not person.is_active and person.terminated_on == timezone.localdate()
    assert person.assignments.count() == total  # nothing deleted
    assert open_courses(person) == set()
    assert person.assignments.filter(completed_at__isnull=False).count() == 1
    # A new requirement for the role does not reach a person who has left.
    requirement_set(role=role("billing"), course=Course.objects.get(slug="patient-communication"))
    assert person.assignments.count() == total


def test_a_new_material_version_assigns_retraining_to_those_who_completed_the_old_one(tmp_path):
    done = make_person("done@example.test", "Dana Done", "billing")
    pending = make_person("pending@example.test", "Pat Pending", "billing")
    other = make_person("other@example.test", "Oli Other", "intake")
    course = Course.objects.get(slug="billing-privacy")
    complete(done.assignments.get(course=course), timezone.now() - dt.timedelta(days=5))

    v1 = CourseVersion.objects.current_for(course)
    _publish_new_version(course, material=True)

    retrain = done.assignments.get(course=course, cycle=2)
    assert retrain.reason == Assignment.NEW_VERSION and retrain.is_open
    assert pending.assignments.filter(course=course).count() == 1  # still open: takes the new version
    assert not other.assignments.filter(course=course).exists()
    assert CourseVersion.objects.filter(pk=v1.pk).exists()


def test_a_non_material_version_assigns_nothing():
    done = make_person("done@example.test", "Dana Done", "billing")
    course = Course.objects.get(slug="billing-privacy")
    complete(done.assignments.get(course=course), timezone.now() - dt.timedelta(days=5))
    _publish_new_version(course, material=False)
    assert done.assignments.filter(course=course).count() == 1


def test_the_recurring_cycle_assigns_the_next_year_30_days_before_expiry():
    person = make_person("yearly@example.test", "Yuri Yearly", "isolated")
    a = person.assignments.get(course__slug="security-awareness")
    done_at = timezone.now() - dt.timedelta(days=300)
    complete(a, done_at)
    expires = add_months(timezone.localdate(done_at), 12)

    sync_assignments(today=expires - dt.timedelta(days=31))
    assert person.assignments.filter(course__slug="security-awareness").count() == 1

    sync_assignments(today=expires - dt.timedelta(days=30))
    nxt = person.assignments.get(course__slug="security-awareness", cycle=2)
    assert nxt.reason == Assignment.ANNUAL and nxt.due_on == expires


def test_running_the_engine_twice_changes_nothing():
    for i in range(5):
        make_person(f"p{i}@example.test", f"Person {i}", "billing")
    UserFactory(workforce_role=role("it"))  # added behind the engine's back
    first = sync_assignments()
    assert len(first.created) == 3
    count, events = Assignment.objects.count(), AuditEvent.objects.count()
    second = sync_assignments()
    assert second.created == [] and second.cancelled == 0
    assert (Assignment.objects.count(), AuditEvent.objects.count()) == (count, events)


def _people(n: int) -> None:
    roles = [role(s) for s in ("billing", "intake", "it", "isolated")]
    for i in range(n):
        UserFactory(workforce_role=roles[i % 4])


def _sync_queries(n: int, batch_size: int) -> int:
    Assignment.objects.all().delete()
    User.objects.all().delete()
    _people(n)
    with CaptureQueriesContext(connection) as ctx:
        result = sync_assignments(batch_size=batch_size)
    assert len(result.created) > 2 * n
    return len(ctx.captured_queries)


def test_the_engine_query_count_grows_per_batch_never_per_person():
    # 30 people x 3 modules stays within one INSERT statement on every database.
    ten, thirty, sixty, ninety = (_sync_queries(n, batch_size=30) for n in (10, 30, 60, 90))
    assert ten == thirty  # same batch, three times the people: same queries
    assert sixty - thirty == ninety - sixty > 0  # each further batch costs the same constant


def test_ten_and_a_hundred_people_cost_the_same_queries_in_one_batch():
    ten, hundred = _sync_queries(10, batch_size=100), _sync_queries(100, batch_size=100)
    if connection.vendor == "postgresql":
        assert ten == hundred
    else:  # SQLite splits an INSERT at 999 parameters: one more statement per ~90 rows, never per person
        assert hundred - ten <= 6


def test_add_months_clamps_to_the_end_of_the_month():
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 11, 15), 3) == dt.date(2026, 2, 15)


def _publish_new_version(course: Course, *, material: bool) -> CourseVersion:
    """Publish the course again from a copy of its files, with one lesson changed."""
    import shutil
    import tempfile
    from pathlib import Path

    from courses.loader import default_catalog_dir, parse_course, publish_course

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / course.slug
        shutil.copytree(default_catalog_dir() / course.slug, folder)
        meta = folder / "course.toml"
        meta.write_text(meta.read_text().replace("material = true", f"material = {str(material).lower()}"))
        lesson = sorted((folder / "lessons").glob("*.md"))[0]
        lesson.write_text(lesson.read_text() + "\nAn updated policy paragraph.\n")
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            publish_course(parse_course(folder))
    return CourseVersion.objects.current_for(course)


def test_the_plan_of_a_role_change_is_what_the_engine_then_does():
    from roles.assignments import assignment_plan

    person = make_person("mover@example.test", "Max Mover", "billing", hire_date=timezone.localdate())
    done = person.assignments.get(course__slug="security-awareness")
    complete(done)
    plan = assignment_plan(person=person, workforce_role_id=role("it").pk)
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    assert plan.sentence().startswith(f"adds Advanced security for privileged access due {due}; cancels Privacy in")
    assert [s.title for s in plan.keeps] == ["Privacy essentials", "Security awareness"]
    assert Assignment.objects.filter(user=person).count() == 3  # a plan writes nothing
    billing = person.assignments.get(course__slug="billing-privacy")

    result = person_update(person=person, workforce_role=role("it"))
    assert [(a.course_id, a.due_on.isoformat()) for a in result.created] == [
        (s.course_id, s.detail.removeprefix("due ")) for s in plan.adds
    ]
    assert result.cancelled == len(plan.cancels) == 1 and plan.cancels[0].assignment_id == billing.pk
    assert open_courses(person) == IT - {"security-awareness"}  # done stays done
