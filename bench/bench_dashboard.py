"""Dashboard server time at 10,000 and 100,000 people (3 modules each).

    python bench/bench_dashboard.py                      # SQLite (a temporary file)
    DATABASE_URL=postgres://... python bench/bench_dashboard.py
    python bench/bench_dashboard.py 10000 100000 --runs 7

Prints median and p95 of the whole view (queries + template) and of the report alone, today and "as of" a
past day, with the number of queries, beside the floor: the role x module conditional aggregate written by hand in
SQL (the people as they stood that day, from the history), run in the same process on the same data.
Goal (issue 14): under 300 ms at 100,000 people, today and any past day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from collections.abc import Callable

from _table import record
from _workforce import backend, make_workforce, scratch_database, timed
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

FLOOR_SQL = """
WITH held AS (
    SELECT person_id, workforce_role_id, employed,
           ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY valid_from DESC, recorded_at DESC, id DESC) AS n
    FROM roles_personstate WHERE valid_from <= %(day)s
)
SELECT COALESCE(h.workforce_role_id, u.workforce_role_id) AS role_id, a.course_id, COUNT(*),
       SUM(CASE WHEN a.completed_at < %(end)s THEN 1 ELSE 0 END),
       SUM(CASE WHEN (a.completed_at IS NULL OR a.completed_at >= %(end)s) AND a.due_on < %(day)s THEN 1 ELSE 0 END)
FROM roles_assignment a
JOIN roles_user u ON u.id = a.user_id
LEFT JOIN held h ON h.person_id = a.user_id AND h.n = 1
WHERE (a.cancelled_at IS NULL OR a.cancelled_at >= %(end)s) AND a.assigned_on <= %(day)s AND a.created_at < %(end)s
  AND COALESCE(h.employed, u.terminated_on IS NULL OR u.terminated_on > %(day)s)
GROUP BY 1, 2
"""


def floor(day: dt.date) -> None:
    """The cheapest way to the page's central figure: one hand-written grouped query."""
    from records.reports import end_of_day

    with connection.cursor() as cursor:
        cursor.execute(FLOOR_SQL, {"day": day, "end": end_of_day(day)})
        cursor.fetchall()


def retraining_wave(completed: float = 0.6) -> int:
    """Retraining for everyone who has the most common module and no retraining yet, as a material change published
    60 days ago assigns it, due 30 days later; `completed` of them done since. Returns how many were added."""
    from django.db.models import Count
    from django.utils import timezone

    from roles.models import Assignment

    course_id = Assignment.objects.values("course_id").annotate(n=Count("id")).order_by("-n")[0]["course_id"]
    rng = random.Random(4)
    assigned = timezone.localdate() - dt.timedelta(days=60)
    created = timezone.make_aware(dt.datetime.combine(assigned, dt.time(3)))
    done = timezone.make_aware(dt.datetime.combine(assigned + dt.timedelta(days=20), dt.time(11)))
    again = Assignment.objects.filter(course_id=course_id, cycle=2).values("user_id")
    due = Assignment.objects.filter(course_id=course_id, cycle=1).exclude(user_id__in=again)
    rows = [
        Assignment(
            user_id=user_id,
            course_id=course_id,
            cycle=2,
            reason=Assignment.NEW_VERSION,
            assigned_on=assigned,
            due_on=assigned + dt.timedelta(days=30),
            created_at=created,
            completed_at=done if rng.random() < completed else None,
        )
        for user_id in due.values_list("user_id", flat=True).iterator()
    ]
    Assignment.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return len(rows)


def after_a_change(officer) -> list[tuple[str, Callable[[], None], bool]]:
    """Changes made before a look at today, each as the product makes it: (what, change, under the page's goal).
    A completion and a role change are caught up (their groups counted again); a change of requirements has today
    counted in full, which the worker does each minute, so a look rarely waits for it."""
    from django.utils import timezone

    from hipaa_training import audit
    from records import summaries
    from roles.models import Assignment, User, WorkforceRole
    from roles.services import person_update

    rng = random.Random(9)
    roles = list(WorkforceRole.objects.all())

    def a_completion() -> None:  # the rows records.services writes for a completion, but the learner's own
        a = Assignment.objects.filter(completed_at__isnull=True, cancelled_at__isnull=True).order_by("?")[0]
        Assignment.objects.filter(pk=a.pk).update(completed_at=timezone.now())
        audit.record("completion.recorded", actor=a.user, data={"assignment_id": a.pk})

    def a_role_change() -> None:
        person = User.objects.filter(email__startswith="bench", terminated_on__isnull=True).order_by("?")[0]
        person_update(
            person=person,
            workforce_role=rng.choice([r for r in roles if r.pk != person.workforce_role_id]),
            actor=officer,
        )

    return [
        ("a completion", a_completion, True),
        ("a role change", a_role_change, True),
        ("a requirements change (counted in full)", summaries.forget_today, False),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from django.contrib.auth.models import Group

    from records import reports
    from records.views import dashboard as views
    from roles import access
    from roles.models import User

    print(f"dashboard benchmark on {backend()}")
    with scratch_database():
        officer = User.objects.create_user(email="officer@bench.test", full_name="Bench Officer")
        officer.groups.add(Group.objects.get(name=access.COMPLIANCE_OFFICER))
        have = 0
        for size in sorted(args.sizes):
            made = make_workforce(size - have)
            have = size
            retrained = retraining_wave()
            print(
                f"\n{size:,} people, {made['assignments']:,} new assignments and {retrained:,} to retrain "
                f"(generated in {made['seconds']:.1f} s)"
            )
            # The nightly task stores the past days the page reads (yesterday and the trend's points).
            from records import summaries
            from records.models import StoredDay

            StoredDay.objects.all().delete()
            t0 = time.perf_counter()
            stored = summaries.store_missing()
            print(f"  nightly store of {stored} past days' figures: {time.perf_counter() - t0:.1f} s")
            factory = RequestFactory()
            past = (timezone.localdate() - dt.timedelta(days=90)).isoformat()
            for label, params in [("today", {}), (f"as of {past}", {"as_of": past})]:
                request = factory.get("/dashboard/", params)
                request.user = User.objects.get(pk=officer.pk)

                def view(request=request) -> None:
                    response = views.dashboard(request)
                    assert response.status_code == 200

                day = dt.date.fromisoformat(params["as_of"]) if params else timezone.localdate()
                if params:  # with a broker, the first look at a past day has a worker store it and its trend
                    t0 = time.perf_counter()
                    n = summaries.store_missing([day, *reports.trend_days(day)])
                    print(f"  first look at {day}: a worker stores {n} days in {time.perf_counter() - t0:.1f} s")
                view()  # warm up
                with CaptureQueriesContext(connection) as ctx:
                    view()
                whole = timed(view, args.runs)
                report = timed(lambda day=day: reports.dashboard(reports.Filters(as_of=day)), args.runs)
                least = timed(lambda day=day: floor(day), args.runs)

                def goal(measure: str, figure: dict[str, float], least: dict[str, float] = least) -> None:
                    ms = figure["median_ms"]
                    record(measure, ms, unit="ms", floor=least["median_ms"], goal="under 300 ms", met=ms < 300)

                print(
                    f"  {label:>18}: view median {whole['median_ms']:7.1f} ms  p95 {whole['p95_ms']:7.1f} ms  "
                    f"| report alone median {report['median_ms']:7.1f} ms | {len(ctx)} queries "
                    f"| floor {least['median_ms']:6.1f} ms, ratio {whole['median_ms'] / least['median_ms']:5.1f}x"
                )
                if not params:  # today, the first look after the records moved on
                    for what, change, under_goal in after_a_change(officer):
                        recount = timed(view, args.runs, before=change)
                        print(
                            f"  today, first look after {what}: view median {recount['median_ms']:7.1f} ms  "
                            f"p95 {recount['p95_ms']:7.1f} ms"
                        )
                        if size == max(args.sizes):
                            measure = f"dashboard, {size:,} people, today, first look after {what}"
                            if under_goal:
                                goal(measure, recount)
                            else:
                                ms = recount["median_ms"]
                                record(
                                    measure,
                                    ms,
                                    unit="ms",
                                    floor=least["median_ms"],
                                    goal="- (a worker's, each minute)",
                                    met=None,
                                )
                if size == max(args.sizes):
                    when = "today, figures stored" if not params else "as of 90 days ago"
                    goal(f"dashboard, {size:,} people, {when} ({len(ctx)} queries)", whole)


if __name__ == "__main__":
    main()
