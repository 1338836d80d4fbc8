"""Dashboard server time at 10,000 and 100,000 people (3 modules each).

    python bench/bench_dashboard.py                      # SQLite (a temporary file)
    DATABASE_URL=postgres://... python bench/bench_dashboard.py
    python bench/bench_dashboard.py 10000 100000 --runs 7

Prints median and p95 of the whole view (queries + template) and of the report alone, today and "as of" a
past day, with the number of queries. Goal: under 300 ms at 100,000 people on PostgreSQL. The floor: the
role x module conditional aggregate in one SQL query (grouped by ids), on the same data in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt

from _table import record
from _workforce import backend, make_workforce, scratch_database, timed
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone


def floor_query(day: dt.date) -> None:
    """The role x module matrix the page shows, as one conditional aggregate grouped by ids."""
    from django.db.models import Count, Q

    from records.reports import end_of_day
    from roles.models import Assignment

    end = end_of_day(day)
    open_then = Q(completed_at__isnull=True) | Q(completed_at__gte=end)
    list(
        Assignment.objects.filter(Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=end), created_at__lt=end)
        .values("user__workforce_role_id", "course_id")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(completed_at__lt=end)),
            overdue=Count("pk", filter=open_then & Q(due_on__lt=day)),
        )
        .order_by()
    )


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
            print(f"\n{size:,} people, {made['assignments']:,} new assignments (generated in {made['seconds']:.1f} s)")
            factory = RequestFactory()
            past = (timezone.localdate() - dt.timedelta(days=90)).isoformat()
            for label, params in [("today", {}), (f"as of {past}", {"as_of": past})]:
                request = factory.get("/dashboard/", params)
                request.user = User.objects.get(pk=officer.pk)

                def view(request=request) -> None:
                    response = views.dashboard(request)
                    assert response.status_code == 200

                view()  # warm up
                with CaptureQueriesContext(connection) as ctx:
                    view()
                whole = timed(view, args.runs)
                day = dt.date.fromisoformat(params["as_of"]) if params else timezone.localdate()
                report = timed(lambda day=day: reports.dashboard(reports.Filters(as_of=day)), args.runs)
                floor = timed(lambda day=day: floor_query(day), args.runs)
                print(
                    f"  {label:>18}: view median {whole['median_ms']:7.1f} ms  p95 {whole['p95_ms']:7.1f} ms  "
                    f"| report alone median {report['median_ms']:7.1f} ms | {len(ctx)} queries "
                    f"| floor (one aggregate) median {floor['median_ms']:7.1f} ms"
                )
                if size == max(args.sizes):
                    record(
                        f"dashboard, {size:,} people, {'today' if not params else 'as of 90 days ago'} "
                        f"({len(ctx)} queries)",
                        whole["median_ms"],
                        unit="ms",
                        floor=floor["median_ms"],
                        goal="under 300 ms",
                        met=whole["median_ms"] < 300,
                    )


if __name__ == "__main__":
    main()
