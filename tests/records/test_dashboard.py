"""The compliance officer's dashboard: every figure equals a count made independently here, from a known
data set, today and "as of" a day in the past."""

from __future__ import annotations

import datetime as dt
import re
import statistics

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from records import reports
from roles.models import Assignment, Department, User, WorkforceRole
from roles.services import person_deactivate, person_update
from tests.records.evidence import at, complete, grow, person, reschedule, today

pytestmark = pytest.mark.usefixtures("catalog")


def _a(user: User, slug: str, cycle: int = 1) -> Assignment:
    return Assignment.objects.get(user=user, course__slug=slug, cycle=cycle)


@pytest.fixture
def workforce(compliance_officer):
    """Six people whose history is known day by day (see the expected figures in each test)."""
    person_update(person=compliance_officer, workforce_role=None)  # runs the programme here, outside the figures
    t = today()
    d = dt.timedelta
    ana = person("ana@example.test", "Ana Alvarez", "billing", "Billing Operations", hired=t - d(200))
    reschedule(ana, assigned=t - d(200), due=t - d(170))
    complete(_a(ana, "security-awareness"), at(t - d(180)))
    complete(_a(ana, "privacy-essentials"), at(t - d(175)), failed_first=True)
    complete(_a(ana, "billing-privacy"), at(t - d(100)))  # late

    ben = person("ben@example.test", "Ben Brooks", "billing", "Billing Operations", hired=t - d(50))
    reschedule(ben, assigned=t - d(50), due=t - d(20))
    complete(_a(ben, "security-awareness"), at(t - d(30)))

    cai = person("cai@example.test", "Cai Chen", "intake", "Patient Services", hired=t - d(10))
    reschedule(cai, assigned=t - d(10), due=t + d(20))

    dee = person("dee@example.test", "Dee Dunn", "it", "Technology", hired=t - d(400))
    reschedule(dee, assigned=t - d(400), due=t - d(370))
    for a in Assignment.objects.filter(user=dee):
        complete(a, at(t - d(380)))

    eve = person("eve@example.test", "Eve Evans", "intake", "Patient Services", hired=t - d(300))
    reschedule(eve, assigned=t - d(300), due=t - d(270))
    complete(_a(eve, "security-awareness"), at(t - d(290)))
    person_deactivate(person=eve, on=t - d(60))
    Assignment.objects.filter(user=eve, cancelled_at__isnull=False).update(cancelled_at=at(t - d(60)))

    fay = person("fay@example.test", "Fay Fischer", "billing", "Billing Operations", hired=t - d(150))
    reschedule(fay, assigned=t - d(150), due=t - d(120))
    for a in Assignment.objects.filter(user=fay):
        complete(a, at(t - d(130)))
    Assignment.objects.create(
        user=fay,
        course=_a(fay, "privacy-essentials").course,
        cycle=2,
        reason=Assignment.NEW_VERSION,
        assigned_on=t - d(40),
        due_on=t - d(10),
        created_at=at(t - d(40)),
    )
    return {"ana": ana, "ben": ben, "cai": cai, "dee": dee, "eve": eve, "fay": fay}


# --- the independent count: plain Python over every assignment, straight from the definitions ---


def _exists(a: Assignment, day: dt.date) -> bool:
    local = timezone.localdate
    return (
        a.assigned_on <= day
        and local(a.created_at) <= day
        and (a.cancelled_at is None or local(a.cancelled_at) > day)
        and (a.user.terminated_on is None or a.user.terminated_on > day)
    )


def _done(a: Assignment, day: dt.date) -> bool:
    return a.completed_at is not None and timezone.localdate(a.completed_at) <= day


def count(day: dt.date, **only) -> dict:
    rows = [
        a
        for a in Assignment.objects.select_related("user__workforce_role", "user__department", "course")
        if _exists(a, day)
        and all(
            {
                "department": a.user.department.name if a.user.department else None,
                "role": a.user.workforce_role.name if a.user.workforce_role else None,
                "module": a.course.title,
            }[k]
            == v
            for k, v in only.items()
        )
    ]
    done = [a for a in rows if _done(a, day)]
    overdue = [a for a in rows if not _done(a, day) and a.due_on < day]
    due_soon = [a for a in rows if not _done(a, day) and day <= a.due_on <= day + dt.timedelta(days=30)]
    by_role, by_dept = {}, {}
    for a in rows:
        for table, key in ((by_role, a.user.workforce_role.name), (by_dept, a.user.department.name)):
            cell = table.setdefault((key, a.course.title), [0, 0, 0])
            cell[0] += 1
            cell[1] += a in done
            cell[2] += a in overdue
    hires: dict[int, list[Assignment]] = {}
    for a in rows:
        hired = a.user.hire_date
        if a.reason == Assignment.NEW_HIRE and hired and day - dt.timedelta(days=365) < hired <= day:
            hires.setdefault(a.user_id, []).append(a)
    trained = {u: items for u, items in hires.items() if all(_done(a, day) for a in items)}
    on_time = [u for u, items in trained.items() if all(timezone.localdate(a.completed_at) <= a.due_on for a in items)]
    waiting = [u for u, items in hires.items() if u not in trained and max(a.due_on for a in items) >= day]
    days = [
        (timezone.localdate(max(a.completed_at for a in items)) - items[0].user.hire_date).days
        for items in trained.values()
    ]
    retrain = [a for a in rows if a.reason == Assignment.NEW_VERSION]
    return {
        "total": len(rows),
        "done": len(done),
        "overdue": len(overdue),
        "due_soon": len(due_soon),
        "on_time": sum(1 for a in done if timezone.localdate(a.completed_at) <= a.due_on),
        "people": len({a.user_id for a in rows}),
        "by_role": by_role,
        "by_dept": by_dept,
        "overdue_ids": sorted(a.pk for a in overdue),
        "due_soon_ids": sorted(a.pk for a in due_soon),
        "new_hires": (len(hires), len(trained), len(on_time), len(waiting), statistics.median(days) if days else None),
        "retraining": (len(retrain), sum(1 for a in retrain if _done(a, day))),
    }


def _cells(matrix: reports.Matrix) -> dict:
    columns = dict(matrix.columns)
    rows = dict(matrix.rows)
    return {(rows[r], columns[c]): [cell.total, cell.done, cell.overdue] for (r, c), cell in matrix.cells.items()}


def assert_matches(d: reports.Dashboard, expected: dict) -> None:
    assert (d.total, d.done, d.overdue, d.due_soon, d.on_time, d.people) == (
        expected["total"],
        expected["done"],
        expected["overdue"],
        expected["due_soon"],
        expected["on_time"],
        expected["people"],
    )
    assert _cells(d.by_role) == expected["by_role"]
    assert _cells(d.by_department) == expected["by_dept"]
    assert sorted(a.pk for a in d.overdue_list) == expected["overdue_ids"]
    assert sorted(a.pk for a in d.due_soon_list) == expected["due_soon_ids"]
    nh = d.new_hires
    assert (nh.people, nh.trained, nh.trained_on_time, nh.still_in_window, nh.median_days) == expected["new_hires"]
    retrain = (sum(r["due"] for r in d.retraining.by_course), sum(r["done"] for r in d.retraining.by_course))
    assert retrain == expected["retraining"]


def _figure(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">([^<]*)<', html).group(1).strip()


def test_todays_figures_equal_an_independent_count(login, compliance_officer, workforce):
    response = login(compliance_officer).get(reverse("records:dashboard"))
    assert response.status_code == 200
    d = response.context["d"]
    expected = count(today())
    assert_matches(d, expected)
    # The same figures, worked out by hand from the fixture's story:
    assert (expected["total"], expected["done"], expected["overdue"], expected["due_soon"]) == (16, 10, 3, 3)
    assert expected["new_hires"] == (4, 2, 1, 1, 60)
    assert expected["by_role"][("Billing and revenue cycle", "Privacy essentials")] == [4, 2, 2]
    html = response.content.decode()
    assert _figure(html, "fig-total") == "16" and _figure(html, "fig-done") == "10"
    assert _figure(html, "fig-overdue") == "3" and _figure(html, "fig-due-soon") == "3"
    assert _figure(html, "fig-percent") == "62%"
    assert _figure(html, "nh-people") == "4" and _figure(html, "nh-median") == "60"
    assert "Ben Brooks" in html and "Eve Evans" not in html  # Eve left: not in today's workforce


def test_figures_as_of_a_past_day_are_rebuilt_from_the_records(login, compliance_officer, workforce):
    past = today() - dt.timedelta(days=100)
    response = login(compliance_officer).get(reverse("records:dashboard"), {"as_of": past.isoformat()})
    d = response.context["d"]
    expected = count(past)
    assert_matches(d, expected)
    assert (expected["total"], expected["done"], expected["overdue"], expected["due_soon"]) == (12, 10, 2, 0)
    assert expected["new_hires"] == (4, 3, 2, 0, 20)
    html = response.content.decode()
    assert "as it stood at the end of" in html
    assert _figure(html, "fig-total") == "12" and _figure(html, "fig-overdue") == "2"
    assert "Eve Evans" in html  # overdue on that day, before she left
    assert "Cai Chen" not in html  # not hired yet


def test_every_past_day_matches(compliance_officer, workforce):
    for days_ago in (0, 30, 59, 60, 130, 171, 300, 401):
        day = today() - dt.timedelta(days=days_ago)
        assert_matches(reports.dashboard(reports.Filters(as_of=day)), count(day))


def test_filters_by_department_role_and_module(login, compliance_officer, workforce):
    client = login(compliance_officer)
    billing_dept = Department.objects.get(name="Billing Operations")
    intake = WorkforceRole.objects.get(slug="intake")
    module = _a(workforce["ana"], "privacy-essentials").course
    for params, only in [
        ({"department": billing_dept.pk}, {"department": "Billing Operations"}),
        ({"role": intake.pk}, {"role": intake.name}),
        ({"module": module.pk}, {"module": module.title}),
        (
            {"role": intake.pk, "as_of": (today() - dt.timedelta(days=100)).isoformat()},
            {"role": intake.name},
        ),
    ]:
        response = client.get(reverse("records:dashboard"), params)
        assert response.status_code == 200
        day = response.context["d"].filters.as_of
        assert_matches(response.context["d"], count(day, **only))


def test_retraining_after_a_material_change_shows_who_was_due_and_who_has_done_it(login, compliance_officer, workforce):
    html = login(compliance_officer).get(reverse("records:dashboard")).content.decode()
    section = html[html.index('id="retraining"') : html.index('id="security-reminders"')]
    assert "Privacy essentials" in section and "Fay Fischer" in section
    complete(Assignment.objects.get(user=workforce["fay"], cycle=2), timezone.now())
    section = login(compliance_officer).get(reverse("records:dashboard")).content.decode()
    assert "Everyone due to retrain has done it." in section


def test_a_future_as_of_date_is_refused_with_a_message(login, compliance_officer, workforce):
    response = login(compliance_officer).get(reverse("records:dashboard"), {"as_of": "2999-01-01"})
    assert "Choose today or a day in the past." in response.content.decode()
    assert response.context["d"].filters.as_of == today()


def test_charts_are_svg_drawn_on_the_server_with_a_table_beside(login, compliance_officer, workforce):
    html = login(compliance_officer).get(reverse("records:dashboard")).content.decode()
    assert html.count('<svg class="bars"') == 2
    assert 'role="img"' in html and "<title" in html
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html  # nothing third-party
    assert "<script>" not in html and 'style="' not in html and " onclick" not in html


def test_the_security_reminder_and_audit_trail_sections_are_there(login, compliance_officer, workforce):
    html = login(compliance_officer).get(reverse("records:dashboard")).content.decode()
    assert 'id="security-reminders"' in html and 'id="audit-state"' in html
    assert "Chain head" in html


# --- transcripts ---


def test_a_transcript_shows_every_assignment_attempt_attestation_and_certificate(login, compliance_officer, workforce):
    ana = workforce["ana"]
    html = login(compliance_officer).get(reverse("records:transcript", args=[ana.pk])).content.decode()
    assert html.count('class="card transcript-entry"') == Assignment.objects.filter(user=ana).count() == 3
    assert html.count("Knowledge check, attempt") == 4  # one module took two attempts
    assert "attempt 2" in html and "not passed" in html
    assert html.count("Attestation</th>") == 3 and html.count("Certificate</th>") == 3
    for completion in ana.completions.select_related("certificate"):
        assert completion.certificate.code in html
    assert ", late." in html and ", on time." in html


def test_a_manager_sees_their_reports_transcripts_and_nobody_elses(login, manager, employee, outsider):
    client = login(manager)
    assert client.get(reverse("records:transcript", args=[employee.pk])).status_code == 200
    assert client.get(reverse("records:transcript", args=[outsider.pk])).status_code == 404


def test_the_team_page_counts_only_the_managers_reports(login, manager, employee, outsider):
    response = login(manager).get(reverse("records:team"))
    assert response.status_code == 200
    d = response.context["d"]
    assert d.total == Assignment.objects.filter(user__manager=manager).count() == 3
    assert d.people == 1
    html = response.content.decode()
    assert "My team" in html and _figure(html, "fig-total") == "3"


# --- a constant number of queries, whatever the size of the workforce ---


def _queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx)


def test_dashboard_and_transcript_query_counts_do_not_grow_with_the_workforce(login, compliance_officer):
    client = login(compliance_officer)
    client.get(reverse("records:dashboard"))  # a session's first request also records the session
    grow(10, 0)
    target = User.objects.get(email="grown0@example.test")
    for a in Assignment.objects.filter(user=target, completed_at__isnull=True):
        complete(a, timezone.now())
    small = (
        _queries(client, reverse("records:dashboard")),
        _queries(client, reverse("records:dashboard"), as_of=(today() - dt.timedelta(days=1)).isoformat()),
        _queries(client, reverse("records:transcript", args=[target.pk])),
    )
    grow(90, 10)
    Assignment.objects.create(
        user=target,
        course_id=target.assignments.first().course_id,
        cycle=2,
        reason="annual",
        assigned_on=today(),
        due_on=today(),
    )
    large = (
        _queries(client, reverse("records:dashboard")),
        _queries(client, reverse("records:dashboard"), as_of=(today() - dt.timedelta(days=1)).isoformat()),
        _queries(client, reverse("records:transcript", args=[target.pk])),
    )
    assert small == large


def test_a_person_sees_their_own_transcript_and_an_officer_can_nudge_from_it(login, employee, compliance_officer):
    url = reverse("records:transcript", args=[employee.pk])
    own = login(employee).get(url).content.decode()
    assert "Training transcript: Billie Biller" in own and "Remind now" not in own
    page = login(compliance_officer).get(url).content.decode()
    assignment = employee.assignments.open().first()
    assert reverse("roles:nudge", args=[employee.pk, assignment.pk]) in page


def test_security_reminder_acknowledgement_on_the_dashboard_and_in_the_export(
    login, compliance_officer, employee, outsider, manager
):
    import csv
    import io

    from roles.bulletins import bulletin_acknowledge, bulletin_create, bulletins_deliver
    from roles.models import BulletinAcknowledgement, BulletinDelivery

    bulletin = bulletin_create(
        title="Invoice phishing", body="Check the sender.", send_at=timezone.now(), actor=compliance_officer
    )
    bulletins_deliver()
    bulletin_acknowledge(bulletin=bulletin, person=employee, ip_address="203.0.113.9")
    delivered = BulletinDelivery.objects.filter(bulletin=bulletin).count()
    assert delivered == 4  # the workforce: employee, outsider, manager, officer
    assert BulletinAcknowledgement.objects.filter(bulletin=bulletin).count() == 1

    page = login(compliance_officer).get(reverse("records:dashboard")).content.decode()
    section = page[page.index('id="security-reminders"') :]
    assert "Invoice phishing" in section
    cells = re.sub(r"<td[^>]*>", "<td>", section).replace(" ", "").replace("\n", "")  # the cells, not their labels
    assert f"<td>{delivered}</td><td>1(25%)</td>" in cells

    response = login(compliance_officer).get(reverse("records:audit_export", args=["reminders"]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    assert len(body) == delivered
    acknowledged = {r[header.index("email")]: r[header.index("acknowledged_at")] for r in body}
    assert acknowledged[employee.email] and not acknowledged[outsider.email]


def test_the_first_screen_shows_the_heat_map_the_trend_and_the_top_of_the_overdue_list(
    login, compliance_officer, workforce, settings
):
    settings.DASHBOARD_LIST_LIMIT = 25
    client = login(compliance_officer)
    billing = WorkforceRole.objects.get(slug="billing")
    html = client.get(reverse("records:dashboard"), {"role": billing.pk}).content.decode()
    # The heat map: short column heads, the full title on hover and in the key.
    heat = html[html.index('id="heatmap-role"') : html.index('id="trend"')]
    assert '<abbr title="Privacy essentials">Privacy</abbr>' in heat
    assert "<dt>Privacy</dt><dd>Privacy essentials</dd>" in heat
    assert 'class="heat-poor"' in heat or 'class="heat-fair"' in heat or 'class="heat-good"' in heat
    # The trend: an SVG drawn here and its table, each point what the records said that day.
    assert '<svg class="trend"' in html and 'id="trend-table"' in html
    for point in response_trend(client, billing.pk):
        expected = count(point["day"], role=billing.name)
        assert (point["total"], point["done"], point["overdue"]) == (
            expected["total"],
            expected["done"],
            expected["overdue"],
        )
    # The top of the overdue list, and a link to all of it with the filters kept.
    link = f"{reverse('records:dashboard_overdue')}?role={billing.pk}"
    assert f'href="{link}"' in html
    page = client.get(link)
    assert page.status_code == 200
    rows = page.context["rows"]
    assert sorted(a.pk for a in rows) == count(today(), role=billing.name)["overdue_ids"]
    assert all(a.user.workforce_role_id == billing.pk for a in rows)
    assert f"({len(rows)})" in page.content.decode()


def response_trend(client, role_id: int) -> list[dict]:
    response = client.get(reverse("records:dashboard"), {"role": role_id})
    points = response.context["d"].trend["points"]
    assert len(points) == 12 and points[-1]["day"] == today()
    return points


def test_the_full_lists_count_their_queries_whatever_their_length(login, compliance_officer):
    client = login(compliance_officer)
    client.get(reverse("records:dashboard_overdue"))
    grow(5, 0)
    small = (
        _queries(client, reverse("records:dashboard_overdue")),
        _queries(client, reverse("records:dashboard_due_soon")),
    )
    grow(40, 5)
    large = (
        _queries(client, reverse("records:dashboard_overdue")),
        _queries(client, reverse("records:dashboard_due_soon")),
    )
    assert small == large
