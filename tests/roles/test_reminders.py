"""The reminder calendar under frozen time: before due, due, overdue weekly, both escalations, the annual
cycle, the digest preference, nudges, the policy page, and a broker that is down."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from hipaa_training.celery import app as celery_app
from hipaa_training.models import AuditEvent
from roles.models import Assignment, Delivery, ReminderPolicy, User
from roles.reminders.schedule import personal_occurrence, reminders_send
from roles.tasks import send_reminders_task, sync_assignments_task
from tests.conftest import make_person

pytestmark = pytest.mark.usefixtures("catalog")
TZ = zoneinfo.ZoneInfo(settings.TIME_ZONE)


def at(day: dt.date, hour: int = 8) -> time_machine.travel:
    return time_machine.travel(dt.datetime.combine(day, dt.time(hour, 15), tzinfo=TZ), tick=False)


def sent_to(email: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if email in m.to]


def run(day: dt.date) -> list[mail.EmailMessage]:
    mail.outbox.clear()
    with at(day):
        send_reminders_task.delay()
    return list(mail.outbox)


def later_that_week(day: dt.date) -> dt.date:
    """The last day of `day`'s ISO week, an escalation's window (`escalation_period`): `day` itself on a Sunday."""
    return day + dt.timedelta(days=6 - day.weekday())


def due_date(person: User) -> dt.date:
    dates = set(person.assignments.values_list("due_on", flat=True))
    assert len(dates) == 1
    return dates.pop()


def test_windows_tile_the_calendar():
    policy = ReminderPolicy()
    due = dt.date(2026, 3, 31)
    assert personal_occurrence(policy, due, due - dt.timedelta(days=15)) is None
    assert personal_occurrence(policy, due, due - dt.timedelta(days=14)) == ("before_due", "14")
    assert personal_occurrence(policy, due, due - dt.timedelta(days=8)) == ("before_due", "14")
    assert personal_occurrence(policy, due, due - dt.timedelta(days=7)) == ("before_due", "7")
    assert personal_occurrence(policy, due, due - dt.timedelta(days=1)) == ("before_due", "1")
    assert personal_occurrence(policy, due, due) == ("due", "0")
    assert personal_occurrence(policy, due, due + dt.timedelta(days=6)) == ("due", "0")
    assert personal_occurrence(policy, due, due + dt.timedelta(days=7)) == ("overdue", "1")
    assert personal_occurrence(policy, due, due + dt.timedelta(days=21)) == ("overdue", "3")


def test_the_calendar_from_two_weeks_before_to_two_weeks_overdue(employee, manager, compliance_officer):
    due = due_date(employee)
    billie, morgan, olivia = employee.email, manager.email, compliance_officer.email

    assert run(due - dt.timedelta(days=15)) == []
    first = run(due - dt.timedelta(days=14))
    mine = sent_to(billie)
    assert len(mine) == 3  # one message per module: Billie did not choose the digest
    message = mine[0]
    assert message.subject.startswith("Reminder: ") and "is due on" in message.subject
    html = message.alternatives[0][0]
    assert f"{settings.SITE_URL}{reverse('records:training')}" in message.body
    assert reverse("records:training") in html and message.alternatives[0][1] == "text/html"
    assert not message.attachments
    assert len(first) == 3 * 3  # the manager and the officer have the same three modules, due the same day
    assert run(due - dt.timedelta(days=13)) == []  # same window: already sent
    assert len(sent_to(billie) if run(due - dt.timedelta(days=7)) else []) == 3
    assert len(run(due - dt.timedelta(days=1))) == 9
    on_the_day = run(due)
    assert {m.subject.split(":")[0] for m in on_the_day} == {"Due today"}
    assert run(due + dt.timedelta(days=6)) == []

    week_one = run(due + dt.timedelta(days=7))
    assert {m.subject.split(":")[0] for m in sent_to(billie)} == {"Overdue"}
    escalations = [m for m in week_one if "team have overdue" in m.subject]
    assert len(escalations) == 1 and escalations[0].to == [morgan]  # ONE digest for three overdue modules
    assert escalations[0].body.count("Billie Biller") == 3
    assert not [m for m in week_one if m.subject.startswith("Overdue HIPAA training")]  # officers: not yet
    assert run(later_that_week(due + dt.timedelta(days=7))) == []

    week_two = run(due + dt.timedelta(days=14))
    assert len([m for m in sent_to(billie) if m.subject.startswith("Overdue")]) == 3
    assert len([m for m in week_two if "team have overdue" in m.subject]) == 1
    to_officers = [m for m in week_two if m.subject.startswith("Overdue HIPAA training")]
    assert len(to_officers) == 1 and to_officers[0].to == [olivia]
    assert "Billie Biller" in to_officers[0].body and "Morgan Manager" in to_officers[0].body
    assert run(later_that_week(due + dt.timedelta(days=14))) == []
    assert not Delivery.objects.filter(sent_at__isnull=True).exists()


def test_completed_cancelled_and_leavers_get_nothing(employee):
    due = due_date(employee)
    Assignment.objects.filter(user=employee).update(completed_at=timezone.now())
    assert sent_to(employee.email) == [] and not [m for m in run(due) if employee.email in m.to]


def test_the_digest_preference_gives_one_message_a_day(employee):
    User.objects.filter(pk=employee.pk).update(reminder_digest=True)
    due = due_date(employee)
    Assignment.objects.filter(user=employee, course__slug="security-awareness").update(
        due_on=due - dt.timedelta(days=7)
    )
    run(due - dt.timedelta(days=7))
    digest = sent_to(employee.email)
    assert len(digest) == 1 and digest[0].subject == "Your training reminders for today"
    assert "due today" in digest[0].body and digest[0].body.count("\n- ") == 3
    assert run(due - dt.timedelta(days=7)) == []  # once a day
    run(due - dt.timedelta(days=1))
    assert len(sent_to(employee.email)) == 1


def test_the_annual_cycle_reassigns_and_reminds(employee):
    done = employee.assignments.get(course__slug="security-awareness")
    completed = timezone.now() - dt.timedelta(days=10)
    Assignment.objects.filter(pk=done.pk).update(completed_at=completed)
    expires = done.due_on.replace(year=done.due_on.year + 1)  # roughly; the engine counts from completion
    lead_day = timezone.localdate(completed).replace(year=timezone.localdate(completed).year + 1) - dt.timedelta(
        days=settings.RECERTIFY_LEAD_DAYS
    )
    with at(lead_day - dt.timedelta(days=1)):
        sync_assignments_task.delay()
    assert not employee.assignments.filter(cycle=2).exists()
    with at(lead_day):
        sync_assignments_task.delay()
    renewal = employee.assignments.get(cycle=2, course__slug="security-awareness")
    assert renewal.reason == Assignment.ANNUAL and renewal.due_on > lead_day and expires
    Assignment.objects.exclude(pk=renewal.pk).update(completed_at=timezone.now())
    sent = run(renewal.due_on - dt.timedelta(days=14))
    assert [m.subject for m in sent] == [
        f"Reminder: Security awareness is due on {renewal.due_on:%B} {renewal.due_on.day}"
    ]


def test_the_policy_is_data_the_calendar_follows(employee):
    due = due_date(employee)
    ReminderPolicy.objects.update_or_create(pk=1, defaults={"before_due_days": "3"})
    assert run(due - dt.timedelta(days=14)) == []
    assert len(sent_to(employee.email) if run(due - dt.timedelta(days=3)) else []) == 3


def marks(queries: CaptureQueriesContext) -> int:
    return sum(q["sql"].startswith('UPDATE "roles_delivery" SET "sent_at"') for q in queries.captured_queries)


def per_run(queries: CaptureQueriesContext) -> int:
    """Queries but each message's mark."""
    return len(queries.captured_queries) - marks(queries)


def test_a_reminder_run_takes_a_constant_number_of_queries_and_one_mark_per_message(employee):
    due = due_date(employee)
    with at(due), CaptureQueriesContext(connection) as small:
        reminders_send()
    for n in range(12):
        make_person(f"p{n}@example.test", f"Person {n}", "billing", hire_date=timezone.localdate())
    Assignment.objects.update(due_on=due + dt.timedelta(days=20))
    with at(due + dt.timedelta(days=20)), CaptureQueriesContext(connection) as large:
        result = reminders_send()
    assert result.deliveries > per_run(small)
    assert marks(large) == result.messages  # each message is marked sent before it is handed over
    assert per_run(large) <= per_run(small) + 2


# --- nudges and the policy page ------------------------------------------------------------------------


def nudge_url(assignment: Assignment) -> str:
    return reverse("roles:nudge", args=[assignment.user_id, assignment.pk])


def test_nudge_checks_access(client, login, employee, manager):
    assignment = employee.assignments.first()
    response = client.post(nudge_url(assignment))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert login(manager).post(nudge_url(assignment)).status_code == 403
    assert login(employee).post(nudge_url(assignment)).status_code == 403
    assert not Delivery.objects.filter(kind=Delivery.NUDGE).exists()


def test_an_officer_nudges_a_person_once_a_day(login, employee, compliance_officer, django_capture_on_commit_callbacks):
    assignment = employee.assignments.first()
    client = login(compliance_officer)
    page = f"/dashboard/people/{employee.pk}/"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(nudge_url(assignment), {"next": page}, follow=False)
    assert response.status_code == 302 and response["Location"] == page
    assert [m.to for m in mail.outbox] == [[employee.email]]
    assert mail.outbox[0].subject.startswith("Your compliance officer asks you")
    assert AuditEvent.objects.filter(action="reminder.nudged", subject_id=str(assignment.pk)).count() == 1

    again = client.post(nudge_url(assignment), {"next": "https://evil.example/"}, follow=True)
    assert "already reminded about this module today" in again.content.decode()
    assert len(mail.outbox) == 1 and Delivery.objects.filter(kind=Delivery.NUDGE).count() == 1


def test_a_nudge_for_someone_else_s_assignment_is_404(login, employee, outsider, compliance_officer):
    assignment = employee.assignments.first()
    url = reverse("roles:nudge", args=[outsider.pk, assignment.pk])
    assert login(compliance_officer).post(url).status_code == 404


def test_the_nudge_partial_renders_a_labelled_button(rf, employee, compliance_officer):
    from django.template.loader import render_to_string

    request = rf.get("/dashboard/people/1/")
    request.user = compliance_officer
    html = render_to_string(
        "roles/_nudge_form.html", {"person": employee, "assignment": employee.assignments.first()}, request=request
    )
    assert 'aria-label="Remind Billie Biller now about' in html and "csrfmiddlewaretoken" in html


def test_policy_page_checks_access(client, login, employee, compliance_officer):
    url = reverse("roles:reminder_policy")
    response = client.get(url)
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert login(employee).get(url).status_code == 403
    page = login(compliance_officer).get(url)
    assert page.status_code == 200 and "Reminder calendar" in page.content.decode()
    assert 'value="14, 7, 1"' in page.content.decode()


def test_an_officer_changes_the_calendar(login, compliance_officer):
    client = login(compliance_officer)
    data = {"before_due_days": "21, 3", "overdue_every_days": 5, "manager_after_days": 10, "officer_after_days": 20}
    response = client.post(reverse("roles:reminder_policy"), data, follow=True)
    assert "The reminder calendar was saved" in response.content.decode()
    policy = ReminderPolicy.current()
    assert policy.before_due == [21, 3] and policy.overdue_every_days == 5 and policy.updated_by == compliance_officer
    event = AuditEvent.objects.get(action="reminder_policy.changed")
    assert event.data["to"]["manager_after_days"] == 10


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("before_due_days", "two weeks", "whole numbers of days"),
        ("before_due_days", "0, 7", "between 1 and 365"),
        ("overdue_every_days", "0", "at least 1"),
        ("officer_after_days", "-3", "greater than or equal to 0"),
    ],
)
def test_a_bad_calendar_is_refused_and_nothing_saved(login, compliance_officer, field, value, message):
    data = {"before_due_days": "14, 7, 1", "overdue_every_days": 7, "manager_after_days": 7, "officer_after_days": 14}
    data[field] = value
    response = login(compliance_officer).post(reverse("roles:reminder_policy"), data)
    assert response.status_code == 200 and message in response.content.decode()
    assert ReminderPolicy.current().before_due == [14, 7, 1] and ReminderPolicy.current().overdue_every_days == 7
    assert not AuditEvent.objects.filter(action="reminder_policy.changed").exists()


# --- the broker is down -----------------------------------------------------------------------------------


def use_broker(url: str, eager: bool) -> None:
    """Point the app at another broker: drop the cached connection and producer pools."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.update(task_always_eager=eager, broker_url=url)


@pytest.mark.django_db(transaction=True)
def test_a_nudge_succeeds_with_the_broker_down_and_the_sweep_delivers_it(login, employee, compliance_officer):
    use_broker("redis://127.0.0.1:1/0", eager=False)
    try:
        assignment = employee.assignments.first()
        mail.outbox.clear()
        response = login(compliance_officer).post(nudge_url(assignment), follow=True)
        assert "was reminded about" in response.content.decode()
        nudge = Delivery.objects.get(kind=Delivery.NUDGE)
        assert nudge.sent_at is None and mail.outbox == []
    finally:
        use_broker(settings.CELERY_BROKER_URL, eager=True)
    send_reminders_task.delay()  # the hourly run, once the broker is back
    nudge.refresh_from_db()
    assert nudge.sent_at is not None
    assert [m.to for m in mail.outbox if m.subject.startswith("Your compliance officer")] == [[employee.email]]
