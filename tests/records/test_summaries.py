"""Stored daily figures agree with the records: each stored day is recomputed here in plain Python from the
assignments and the people's history, for several filters, before and after history is written for a past day.

The people are those of the history story (tests/records/test_history_as_of.py: Ann moves role, department and
manager, leaves and comes back) plus a few more who join, complete at random days and leave.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from records import reports, summaries
from records.models import DailyFigure, NewHireFigure, StoredDay, StoredPeople
from records.tasks import store_daily_figures_task
from roles.models import Assignment, Department, PersonState, User, WorkforceRole
from roles.services import person_create, person_deactivate
from tests.factories import role
from tests.records.evidence import at, complete, today
from tests.records.test_history_as_of import D, _on, story  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def workforce(story: dict[str, User]) -> dict[str, User]:  # noqa: F811
    rng = random.Random(14)
    departments = list(Department.objects.all())
    for n in range(6):
        hired = D(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 200))
        with _on(hired):
            person = person_create(
                email=f"extra{n}@example.test",
                full_name=f"Extra Person {n}",
                workforce_role=role(("billing", "intake", "it")[n % 3]),
                department=departments[n % len(departments)],
                manager=story["mia"] if n % 2 else story["max"],
                hire_date=hired,
                invite=False,
            )
        for a in Assignment.objects.filter(user=person):
            if rng.random() < 0.6:
                complete(a, at(min(hired + dt.timedelta(days=rng.randint(1, 60)), today() - dt.timedelta(days=1))))
        if n == 5:
            with _on(hired + dt.timedelta(days=90)):
                person_deactivate(person=person)
    # Retraining after a material change, for everyone who had done the first version, some of them done since.
    for a in Assignment.objects.filter(completed_at__isnull=False, cycle=1)[::2]:
        assigned = timezone.localdate(a.completed_at) + dt.timedelta(days=rng.randint(10, 90))
        if assigned >= today():
            continue
        again = Assignment.objects.create(
            user_id=a.user_id,
            course_id=a.course_id,
            cycle=2,
            reason=Assignment.NEW_VERSION,
            assigned_on=assigned,
            due_on=assigned + dt.timedelta(days=30),
            created_at=at(assigned),
        )
        if rng.random() < 0.5:
            complete(again, at(min(assigned + dt.timedelta(days=rng.randint(1, 60)), today() - dt.timedelta(days=1))))
    return story


def _state_on(person: User, rows: list[PersonState], day: dt.date) -> tuple[Any, Any, Any, bool]:
    """(role id, department id, manager id, employed) on `day`, straight from the person's rows."""
    held = [r for r in rows if r.valid_from <= day]
    if held:
        r = max(held, key=lambda r: (r.valid_from, r.recorded_at, r.pk))
        return r.workforce_role_id, r.department_id, r.manager_id, r.employed
    here = person.terminated_on is None or person.terminated_on > day
    return person.workforce_role_id, person.department_id, person.manager_id, here


def recomputed(day: dt.date) -> Counter[tuple[Any, ...]]:
    """The day's figures by (role, department, manager, module, what), from the records, in Python."""
    end = reports.end_of_day(day)
    people = {p.pk: p for p in User.objects.all()}
    history: dict[int, list[PersonState]] = {}
    for row in PersonState.objects.all():
        history.setdefault(row.person_id, []).append(row)
    counts: Counter[tuple[Any, ...]] = Counter()
    for a in Assignment.objects.all():
        role_id, department_id, manager_id, employed = _state_on(people[a.user_id], history.get(a.user_id, []), day)
        if not (employed and a.assigned_on <= day and a.created_at < end):
            continue
        if a.cancelled_at is not None and a.cancelled_at < end:
            continue
        key = (role_id, department_id, manager_id, a.course_id)
        done = a.completed_at is not None and a.completed_at < end
        counts[(*key, "total")] += 1
        counts[(*key, "done")] += done
        counts[(*key, "overdue")] += not done and a.due_on < day
        if a.reason == Assignment.NEW_VERSION:
            counts[(*key, "retraining")] += 1
            counts[(*key, "retraining done")] += done
            counts[(*key, "retraining overdue")] += not done and a.due_on < day
    return +counts


def stored(day: dt.date) -> Counter[tuple[Any, ...]]:
    counts: Counter[tuple[Any, ...]] = Counter()
    for f in DailyFigure.objects.filter(day_id=day):
        key = (f.role_id, f.department_id, f.manager_id, f.course_id)
        counts[(*key, "total")] += f.total
        counts[(*key, "done")] += f.done
        counts[(*key, "overdue")] += f.overdue
        counts[(*key, "retraining")] += f.retraining
        counts[(*key, "retraining done")] += f.retraining_done
        counts[(*key, "retraining overdue")] += f.retraining_overdue
    return +counts


def every_stored_row(day: dt.date) -> Counter[tuple[Any, ...]]:
    """Every figure stored for `day`: module rows, people and new hires, as comparable tuples."""
    rows: Counter[tuple[Any, ...]] = Counter()
    group = ("role_id", "department_id", "manager_id")
    rows.update(("row", *r) for r in DailyFigure.objects.filter(day_id=day).values_list(*group, *summaries.FIGURES))
    rows.update(("people", *r) for r in StoredPeople.objects.filter(day_id=day).values_list(*group, "people"))
    rows.update(
        ("new hires", *r[:-1], tuple(sorted(r[-1].items())))
        for r in NewHireFigure.objects.filter(day_id=day).values_list(
            *group, "course_id", "people", "trained", "trained_on_time", "still_in_window", "days_taken"
        )
    )
    return rows


def caught_up_and_counted_in_full() -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """Today's stored rows as caught up, then as counting today again in full stores them (which it then keeps)."""
    caught_up = every_stored_row(today())
    summaries.forget_today()
    summaries.store_today()
    return caught_up, every_stored_row(today())


def _days(n: int = 12) -> list[dt.date]:
    rng = random.Random(3)
    span = (today() - D(2026, 1, 1)).days
    return sorted({D(2026, 1, 1) + dt.timedelta(days=rng.randint(0, span - 1)) for _ in range(n)} | {D(2026, 3, 1)})


def _filters(workforce: dict[str, User]) -> list[dict[str, Any]]:
    billing = WorkforceRole.objects.get(slug="billing")
    return [
        {},
        {"role_id": billing.pk},
        {"role_id": WorkforceRole.objects.get(slug="intake").pk},
        {"department_id": Department.objects.get(name="Patient Services").pk},
        {"manager_id": workforce["mia"].pk},
        {"manager_id": workforce["max"].pk},
        {"course_id": Assignment.objects.filter(course__slug="security-awareness").first().course_id},
        {"role_id": billing.pk, "manager_id": workforce["mia"].pk},
    ]


def test_each_stored_day_is_what_the_records_say(workforce):
    days = _days()
    assert summaries.store_missing(days) == len(days)
    assert summaries.store_missing(days) == 0  # stored once
    for day in days:
        assert stored(day) == recomputed(day), day
    assert sum(stored(D(2026, 3, 1)).values()) > 0


def test_the_trend_reads_the_same_figures_stored_or_live(workforce):
    days = _days()
    for kwargs in _filters(workforce):
        filters = reports.Filters(as_of=today(), **kwargs)
        live = reports._trend_live(days, filters)
        summaries.store_missing(days)
        assert summaries.figures(days, filters) == {d: v for d, v in live.items() if v != (0, 0, 0)}, kwargs
        StoredDay.objects.all().delete()


def test_the_dashboard_and_team_page_show_the_same_trend_once_stored(login, workforce, compliance_officer):
    pages = [(compliance_officer, reverse("records:dashboard")), (workforce["mia"], reverse("records:team"))]
    before = [login(user).get(url).context["d"].trend["points"] for user, url in pages]
    summaries.store_missing()
    assert StoredDay.objects.filter(counted_from="").count() == len(summaries.days_to_keep())
    for (user, url), points in zip(pages, before, strict=True):
        client = login(user)
        with CaptureQueriesContext(connection) as ctx:
            after = client.get(url).context["d"].trend["points"]
        assert after == points
        assert not any("CASE WHEN s1" in q["sql"] for q in ctx.captured_queries)  # no past point counted live


def test_history_written_for_a_past_day_drops_the_days_after_it_and_the_task_stores_them_again(workforce):
    days = _days()
    summaries.store_missing(days)
    left_on = D(2026, 8, 1)
    after = [d for d in days if d >= left_on]
    totals = {d: sum(v for k, v in stored(d).items() if k[4] == "total") for d in after}
    person_deactivate(person=workforce["bo"], on=left_on)  # backdated: Bo is gone from Aug 1
    assert sorted(StoredDay.objects.values_list("day", flat=True)) == [d for d in days if d < left_on]
    keep = summaries.days_to_keep()
    missing = set(keep) - summaries.stored_days(keep)
    assert store_daily_figures_task.delay().get() == len(missing)
    summaries.store_missing(days)
    for day in days:
        assert stored(day) == recomputed(day), day
    # Bo's three modules no longer count on any day from Aug 1.
    assert after and all(sum(v for k, v in stored(d).items() if k[4] == "total") == totals[d] - 3 for d in after)


def test_a_day_that_is_not_over_is_never_stored(workforce):
    with pytest.raises(ValueError):
        summaries.store_day(today())


def test_an_assignment_completed_with_an_earlier_time_drops_the_days_from_then(workforce):
    days = _days()
    summaries.store_missing(days)
    assignment = Assignment.objects.filter(completed_at__isnull=True, cancelled_at__isnull=True).first()
    day = D(2026, 6, 15)
    complete(assignment, at(day))
    assert max(StoredDay.objects.values_list("day", flat=True)) < day


def _headline(d: reports.Dashboard) -> tuple[Any, ...]:
    return (
        d.total,
        d.done,
        d.overdue,
        d.due_soon,
        d.on_time,
        d.people,
        d.by_role.table(),
        d.by_department.table(),
        d.by_role.heads,
        d.new_hires,
        d.retraining.by_course,
        d.retraining.outstanding_count,
    )


def test_a_stored_past_day_shows_the_same_dashboard_as_counting_it_live(workforce):
    days = _days(6)
    for kwargs in _filters(workforce):
        live = {day: _headline(reports.dashboard(reports.Filters(as_of=day, **kwargs))) for day in days}
        summaries.store_missing(days)
        for day in days:
            assert _headline(reports.dashboard(reports.Filters(as_of=day, **kwargs))) == live[day], (day, kwargs)
        StoredDay.objects.all().delete()
    assert any(live[d][0] for d in days)


def test_looking_at_a_past_day_has_a_worker_store_it_and_its_trend(workforce, django_capture_on_commit_callbacks):
    from hipaa_training.celery import app as celery_app

    day = D(2026, 7, 15)
    celery_app.conf.task_always_eager = False  # as with a broker: the request only queues the task
    with django_capture_on_commit_callbacks() as callbacks:
        reports.dashboard(reports.Filters(as_of=day))
    celery_app.conf.task_always_eager = True
    assert not StoredDay.objects.exists() and len(callbacks) == 1
    callbacks[0]()  # the commit: the task runs (in-process here)
    assert summaries.stored_days(reports.trend_days(day)) == set(reports.trend_days(day))
    celery_app.conf.task_always_eager = False
    with django_capture_on_commit_callbacks() as again:
        reports.dashboard(reports.Filters(as_of=day))
    celery_app.conf.task_always_eager = True
    assert not again  # stored: nothing more to queue


def _live_headline(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> tuple[Any, ...]:
    """Today's dashboard counted straight from the records (the stored rows out of the way)."""
    with monkeypatch.context() as m:
        m.setattr(summaries, "day_figures", lambda filters: None)
        return _headline(reports.dashboard(reports.Filters(as_of=today(), **kwargs)))


def _look(**kwargs: Any) -> reports.Dashboard:
    return reports.dashboard(reports.Filters(as_of=today(), **kwargs))


def _counted(ctx: CaptureQueriesContext) -> bool:
    """Today's stored rows were counted again, in full or only for some groups."""
    return any(
        q["sql"].startswith(('INSERT INTO "records_dailyfigure"', 'DELETE FROM "records_dailyfigure"'))
        for q in ctx.captured_queries
    )


def _counted_in_full(ctx: CaptureQueriesContext) -> bool:
    """Every one of today's stored rows was dropped and counted again (`summaries._drop`)."""
    return any(q["sql"].startswith('DELETE FROM "records_dailyfigure" WHERE day_id =') for q in ctx.captured_queries)


def test_todays_figures_are_stored_and_read_back_while_the_records_stand_still(workforce, monkeypatch):
    for kwargs in _filters(workforce):
        assert _headline(_look(**kwargs)) == _live_headline(monkeypatch, **kwargs), kwargs
    assert stored(today()) == recomputed(today()) and sum(stored(today()).values()) > 0
    with CaptureQueriesContext(connection) as ctx:
        _look()
    assert not _counted(ctx)
    assert not any("COUNT(DISTINCT" in q["sql"] for q in ctx.captured_queries)  # the headline read, not counted
    # Today's rows are not a complete day: the nightly task neither reads them nor counts them as stored.
    assert today() not in summaries.stored_days([today()])


def test_todays_figures_are_caught_up_after_each_kind_of_change(workforce, monkeypatch):
    from roles.services import person_update

    _look()
    ann, bo = workforce["ann"], workforce["bo"]
    changes = [
        (
            "a completion",
            lambda: complete(Assignment.objects.filter(user=bo, completed_at__isnull=True)[0], at(today())),
        ),
        ("a role change", lambda: person_update(person=bo, workforce_role=role("it"))),
        ("a departure", lambda: person_deactivate(person=ann)),
        (
            "a new person",
            lambda: person_create(
                email="new@example.test", full_name="New Person", workforce_role=role("billing"), invite=False
            ),
        ),
    ]
    for what, change in changes:
        before = _headline(_look())
        change()
        with CaptureQueriesContext(connection) as ctx:
            after = _look()
        assert _counted(ctx) and not _counted_in_full(ctx), what  # only the groups the change touched
        assert _headline(after) != before, what
        assert _headline(after) == _live_headline(monkeypatch), what
        assert stored(today()) == recomputed(today()), what
        caught_up, in_full = caught_up_and_counted_in_full()
        assert caught_up == in_full, what


def test_a_row_changed_in_place_drops_todays_figures(workforce, monkeypatch):
    before = _look()
    open_one = Assignment.objects.filter(user=workforce["bo"], completed_at__isnull=True, cancelled_at__isnull=True)[0]
    open_one.cancelled_at = reports.end_of_day(today()) - dt.timedelta(hours=1)
    open_one.save()  # straight through the ORM: no audit event, no new row
    with CaptureQueriesContext(connection) as ctx:
        assert _look().total == before.total - 1
    assert _counted_in_full(ctx)
    assert _headline(_look()) == _live_headline(monkeypatch)
    person = workforce["bo"]
    still = _look()
    person.workforce_role = role("it")
    person.save()  # no audit event: the groups they left and joined are noted
    with CaptureQueriesContext(connection) as ctx:
        moved = _look()
    assert _counted(ctx) and not _counted_in_full(ctx)
    assert moved.by_role.table() != still.by_role.table()
    assert _headline(moved) == _live_headline(monkeypatch)
    person.save(update_fields=["last_login"])  # a sign-in changes nothing the figures count
    with CaptureQueriesContext(connection) as ctx:
        _look()
    assert not _counted(ctx)


def test_todays_figures_are_counted_again_as_a_complete_day_once_it_is_over(workforce):
    day = today()
    _look()
    late = Assignment.objects.filter(user=workforce["bo"], completed_at__isnull=True, cancelled_at__isnull=True)[0]
    complete(late, at(day, hour=22))  # after the look: today's stored rows miss it
    with _on(day + dt.timedelta(days=1)):
        assert summaries.store_missing([day]) == 1
        assert StoredDay.objects.get(day=day).counted_from == ""
        assert stored(day) == recomputed(day)


def test_sign_ins_and_lesson_pages_do_not_have_todays_figures_counted_again(workforce):
    from hipaa_training import audit

    _look()
    for action in ("auth.login", "lesson.viewed", "quiz.attempted", "certificate.verified"):
        audit.record(action, actor=workforce["bo"], data={"person": workforce["bo"].email})
        with CaptureQueriesContext(connection) as ctx:
            _look()
        assert not _counted(ctx), action
    audit.record("role.retired", actor=None, data={})  # any other action may change what is counted
    with CaptureQueriesContext(connection) as ctx:
        _look()
    assert _counted_in_full(ctx)


def test_the_worker_counts_todays_figures_again_after_a_change_so_the_next_look_reads_them(workforce, settings):
    from records.tasks import store_todays_figures_task

    entry = settings.CELERY_BEAT_SCHEDULE["store-todays-figures"]
    assert entry["task"] == store_todays_figures_task.name
    assert entry["schedule"] == dt.timedelta(seconds=60)
    _look()
    complete(Assignment.objects.filter(user=workforce["bo"], completed_at__isnull=True)[0], at(today()))
    with CaptureQueriesContext(connection) as ctx:
        store_todays_figures_task.delay()
    assert _counted(ctx)  # the worker counted them again
    with CaptureQueriesContext(connection) as ctx:
        store_todays_figures_task.delay()
    assert not _counted(ctx) and len(ctx) == 2  # nothing moved: the mark and the check, no writes
    with CaptureQueriesContext(connection) as ctx:
        after = _look()
    assert not _counted(ctx)
    assert stored(today()) == recomputed(today()) and after.done == sum(
        v for k, v in recomputed(today()).items() if k[4] == "done"
    )


def _changes(workforce: dict[str, User], rng: random.Random) -> list[tuple[str, Any]]:
    """The product's everyday changes, each a (what, callable) picked at random from the workforce as it stands."""
    from courses.models import Course
    from roles.models import Requirement
    from roles.services import assign_manually, person_reactivate, person_update, requirement_remove, requirement_set

    def someone() -> User:
        return rng.choice(list(User.objects.filter(terminated_on__isnull=True, workforce_role__isnull=False)))

    def a_completion() -> None:
        open_ones = list(Assignment.objects.filter(completed_at__isnull=True, cancelled_at__isnull=True))
        complete(rng.choice(open_ones), at(today()))

    def a_move() -> None:
        person = someone()
        change = rng.choice(
            [
                {"workforce_role": role(rng.choice(["billing", "intake", "it", "executive"]))},
                {"department": rng.choice(list(Department.objects.all()))},
                {"manager": rng.choice([workforce["mia"], workforce["max"], None])},
                {"hire_date": today() - dt.timedelta(days=rng.randint(0, 500))},
            ]
        )
        person_update(person=person, **change)

    def a_departure_or_return() -> None:
        gone = list(User.objects.filter(terminated_on__isnull=False))
        if gone and rng.random() < 0.5:
            person_reactivate(person=rng.choice(gone))
        else:
            person_deactivate(person=someone())

    def a_new_person() -> None:
        n = User.objects.count()
        person_create(
            email=f"joined{n}@example.test",
            full_name=f"Joined Person {n}",
            workforce_role=role(rng.choice(["billing", "intake", "it"])),
            department=rng.choice(list(Department.objects.all())),
            manager=rng.choice([workforce["mia"], None]),
            hire_date=today() - dt.timedelta(days=rng.randint(0, 30)),
            invite=False,
        )

    def a_manual_assignment() -> None:
        course = rng.choice(list(Course.objects.all()))
        assign_manually(
            people=[someone(), someone()],
            course=course,
            due_on=today() + dt.timedelta(days=20),
            reason="Audit finding follow-up",
            actor=None,
        )

    def a_requirement_added_or_removed() -> None:
        it, course = role("it"), rng.choice(list(Course.objects.all()))
        existing = Requirement.objects.filter(role=it, course=course).first()
        if existing is not None:
            requirement_remove(requirement=existing)
        else:
            requirement_set(role=it, course=course)

    return [
        ("a requirement added or removed", a_requirement_added_or_removed),
        ("a completion", a_completion),
        ("a move", a_move),
        ("a departure or a return", a_departure_or_return),
        ("a new person", a_new_person),
        ("a manual assignment", a_manual_assignment),
    ]


def test_catching_up_after_random_everyday_changes_gives_what_counting_in_full_gives(workforce, monkeypatch):
    """Forty random changes, one or two between looks: after each look today's stored rows are what the records
    say, the dashboard (new hires included) is what counting live gives, and none had to be counted in full."""
    rng = random.Random(41)
    changes = _changes(workforce, rng)
    filters = _filters(workforce)
    _look()
    done: Counter[str] = Counter()
    for step in range(40):
        for what, change in rng.sample(changes, rng.choice([1, 2])):
            change()
            done[what] += 1
        with CaptureQueriesContext(connection) as ctx:
            _look()
        assert not _counted_in_full(ctx), (step, done)
        assert stored(today()) == recomputed(today()), (step, done)
        if step % 4 == 3:  # now and then, every stored row against counting in full (which then starts afresh)
            caught_up, in_full = caught_up_and_counted_in_full()
            assert caught_up == in_full, (step, done)
        kwargs = rng.choice(filters)
        assert _headline(_look(**kwargs)) == _live_headline(monkeypatch, **kwargs), (step, kwargs)
    assert min(done.values()) >= 5, done  # every kind of change was made


def test_catching_up_takes_the_same_queries_however_many_people_there_are(workforce):
    def one_completion_then_look() -> int:
        _look()
        complete(Assignment.objects.filter(completed_at__isnull=True, cancelled_at__isnull=True)[0], at(today()))
        with CaptureQueriesContext(connection) as ctx:
            summaries.store_today()  # the look's own queries (its lists) vary with who is due when
        assert _counted(ctx) and not _counted_in_full(ctx)
        return len(ctx)

    before = one_completion_then_look()
    departments = list(Department.objects.all())
    for n in range(15):
        person_create(
            email=f"more{n}@example.test",
            full_name=f"More Person {n}",
            workforce_role=role(("billing", "intake", "it")[n % 3]),
            department=departments[n % len(departments)],
            invite=False,
        )
    assert one_completion_then_look() == before
    assert stored(today()) == recomputed(today())


def _inserted(ctx: CaptureQueriesContext, model: Any) -> bool:
    return any(q["sql"].startswith(f'INSERT INTO "{model._meta.db_table}"') for q in ctx.captured_queries)


def test_a_completion_counts_again_only_its_module_in_its_group(workforce, settings):
    """A completion changes neither who has assignments nor, unless its person is a new hire, the new hires: only
    the module's row of the person's group is counted again, and it is what counting in full gives."""
    settings.NEW_HIRE_WINDOW_DAYS = 30
    _look()
    settled = (
        Assignment.objects.filter(completed_at__isnull=True, cancelled_at__isnull=True, user__terminated_on=None)
        .exclude(user__hire_date__gt=today() - dt.timedelta(days=30))
        .select_related("user")
        .first()
    )
    assert settled is not None
    complete(settled, at(today()))
    with CaptureQueriesContext(connection) as ctx:
        summaries.store_today()
    assert _counted(ctx) and not _counted_in_full(ctx)
    assert not _inserted(ctx, StoredPeople) and not _inserted(ctx, NewHireFigure)
    deleted = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('DELETE FROM "records_dailyfigure"')]
    assert len(deleted) == 1 and "course_id" in deleted[0]
    caught_up, in_full = caught_up_and_counted_in_full()
    assert caught_up == in_full


def test_a_move_counts_again_only_the_movers_modules_in_the_groups_they_left_and_joined(workforce, settings):
    """A settled person moved to another role: the two groups' people, and their rows of the modules the person
    has, are counted again; the groups' new hires and other modules are left as stored."""
    from roles.services import person_update

    settings.NEW_HIRE_WINDOW_DAYS = 30
    _look()
    mover = (
        User.objects.filter(terminated_on=None, workforce_role__slug="billing", assignments__isnull=False)
        .exclude(hire_date__gt=today() - dt.timedelta(days=30))
        .distinct()
        .first()
    )
    assert mover is not None
    person_update(person=mover, workforce_role=role("intake"))
    with CaptureQueriesContext(connection) as ctx:
        summaries.store_today()
    assert _counted(ctx) and not _counted_in_full(ctx)
    assert _inserted(ctx, StoredPeople) and not _inserted(ctx, NewHireFigure)
    caught_up, in_full = caught_up_and_counted_in_full()
    assert caught_up == in_full
    # Their hire date moved into the window: now the new hires are counted again too.
    person_update(person=mover, hire_date=today() - dt.timedelta(days=5))
    with CaptureQueriesContext(connection) as ctx:
        summaries.store_today()
    assert _inserted(ctx, NewHireFigure) and not _counted_in_full(ctx)
    caught_up, in_full = caught_up_and_counted_in_full()
    assert caught_up == in_full


def test_a_new_hires_completion_counts_their_groups_new_hires_again(workforce):
    from roles.models import Assignment as A

    _look()
    newcomer = person_create(
        email="newcomer@example.test",
        full_name="New Comer",
        workforce_role=role("billing"),
        hire_date=today() - dt.timedelta(days=3),
        invite=False,
    )
    _look()
    complete(A.objects.filter(user=newcomer, reason=A.NEW_HIRE)[0], at(today()))
    with CaptureQueriesContext(connection) as ctx:
        summaries.store_today()
    assert _inserted(ctx, NewHireFigure) and not _inserted(ctx, StoredPeople)
    caught_up, in_full = caught_up_and_counted_in_full()
    assert caught_up == in_full


def test_a_persons_only_assignment_made_and_cancelled_counts_their_groups_people_again(workforce):
    """Someone in a role with nothing required is among their group's people only while the one module a new
    requirement gives them is theirs: made and then cancelled, the group's people are counted again each time."""
    from courses.models import Course
    from roles.models import Requirement
    from roles.services import requirement_remove, requirement_set

    spare = WorkforceRole.objects.create(slug="spare", name="Spare role", handles_phi=False)
    loner = person_create(email="loner@example.test", full_name="Lone Person", workforce_role=spare, invite=False)
    assert not Assignment.objects.filter(user=loner).exists()
    _look()
    requirement_set(role=spare, course=Course.objects.get(slug="security-awareness"))
    assert Assignment.objects.filter(user=loner, cancelled_at=None).count() == 1
    with CaptureQueriesContext(connection) as ctx:
        summaries.store_today()
    assert _inserted(ctx, StoredPeople) and not _counted_in_full(ctx)
    caught_up, in_full = caught_up_and_counted_in_full()
    assert caught_up == in_full and ("people", spare.pk, None, None, 1) in in_full
    requirement_remove(requirement=Requirement.objects.get(role=spare))
    with CaptureQueriesContext(connection) as ctx:
        summaries.store_today()
    assert not _counted_in_full(ctx)
    caught_up, in_full = caught_up_and_counted_in_full()
    assert caught_up == in_full and not any(k[:2] == ("people", spare.pk) for k in in_full)


def test_more_moved_than_catching_up_is_for_has_today_counted_in_full(workforce, monkeypatch):
    from hipaa_training import audit

    monkeypatch.setattr(summaries, "CATCH_UP_EVENTS", 2)
    _look()
    for a in Assignment.objects.filter(completed_at__isnull=True, cancelled_at__isnull=True)[:3]:
        complete(a, at(today()))
        audit.record("completion.recorded", data={"assignment_id": a.pk})
    with CaptureQueriesContext(connection) as ctx:
        _look()
    assert _counted_in_full(ctx)
    assert stored(today()) == recomputed(today())
    monkeypatch.setattr(summaries, "CATCH_UP_EVENTS", 500)
    monkeypatch.setattr(summaries, "CATCH_UP_GROUPS", 1)
    by_group: dict[tuple[Any, ...], Assignment] = {}
    for a in Assignment.objects.filter(completed_at__isnull=True, cancelled_at__isnull=True).select_related("user"):
        by_group.setdefault((a.user.workforce_role_id, a.user.department_id, a.user.manager_id), a)
    assert len(by_group) >= 2
    for a in list(by_group.values())[:2]:  # two groups, one more than allowed
        complete(a, at(today()))
    with CaptureQueriesContext(connection) as ctx:
        _look()
    assert _counted_in_full(ctx)
    assert stored(today()) == recomputed(today())


def test_a_person_added_today_leaves_the_stored_past_days_alone(workforce):
    summaries.store_missing()
    kept = set(StoredDay.objects.filter(counted_from="").values_list("day", flat=True))
    assert kept
    person_create(email="fresh@example.test", full_name="Fresh Person", workforce_role=role("billing"), invite=False)
    assert set(StoredDay.objects.filter(counted_from="").values_list("day", flat=True)) == kept
