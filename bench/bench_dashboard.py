"""Dashboard server time at 10,000 and 100,000 people (3 modules each).

    python bench/bench_dashboard.py                      # SQLite (a temporary file)
    DATABASE_URL=postgres://... python bench/bench_dashboard.py
    python bench/bench_dashboard.py 10000 100000 --runs 7

Prints median and p95 of the whole view (queries + template) and of the report alone, today and "as of" a
past day, with the number of queries. Target: under 300 ms at 10,000 people on PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt

from _workforce import backend, make_workforce, scratch_database, timed
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone


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
                print(
                    f"  {label:>18}: view median {whole['median_ms']:7.1f} ms  p95 {whole['p95_ms']:7.1f} ms  "
                    f"| report alone median {report['median_ms']:7.1f} ms | {len(ctx)} queries"
                )


if __name__ == "__main__":
    main()
