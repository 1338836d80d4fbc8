"""Policies to acknowledge join the reminder calendar: before due, due, overdue, the manager's and the officers'
escalations, each once; an acknowledged policy gets nothing more."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from records.services import policy_acknowledge
from roles.assignments import sync_policy_assignments
from roles.models import Delivery, PolicyAssignment
from tests.records.policy_helpers import publish
from tests.roles.test_reminders import later_that_week, run, sent_to

pytestmark = pytest.mark.usefixtures("catalog")


def policy_mail(messages: list[mail.EmailMessage]) -> list[mail.EmailMessage]:
    return [m for m in messages if "Acceptable use" in m.subject or "acknowledge the policy" in m.body]


def test_the_calendar_reminds_and_escalates_a_policy_once_per_window(employee, manager, compliance_officer):
    version = publish(compliance_officer, roles=("billing",), ack_within_days=20)
    sync_policy_assignments()
    mine = PolicyAssignment.objects.get(user=employee, policy_version=version)
    due = mine.due_on

    before = policy_mail(run(due - dt.timedelta(days=14)))
    assert sorted(m.to[0] for m in before) == sorted([employee.email, manager.email])
    message = next(m for m in before if m.to == [employee.email])
    assert message.subject.startswith("Reminder: please acknowledge Acceptable use by")
    assert "Policies to acknowledge" in message.body and "/training/" in message.body
    assert policy_mail(run(due - dt.timedelta(days=13))) == []  # the same window: sent already
    on_the_day = [m for m in policy_mail(run(due)) if m.to == [employee.email]]
    assert [m.subject for m in on_the_day] == ["Due today: acknowledge Acceptable use"]

    week_two = run(due + dt.timedelta(days=14))
    overdue = [m for m in sent_to(employee.email) if m.subject.startswith("Overdue: acknowledging Acceptable use")]
    assert len(overdue) == 1
    team = [m for m in week_two if "team have overdue" in m.subject]
    assert len(team) == 1 and "Billie Biller: acknowledge the policy Acceptable use" in team[0].body
    officers = [m for m in week_two if m.subject.startswith("Overdue HIPAA training")]
    assert len(officers) == 1 and "acknowledge the policy Acceptable use" in officers[0].body
    assert Delivery.objects.filter(policy_assignment=mine).count() == 5  # 14 days, due, overdue, manager, officer
    assert policy_mail(run(later_that_week(due + dt.timedelta(days=14)))) == []


def test_an_acknowledged_policy_gets_no_reminder(employee, compliance_officer):
    version = publish(compliance_officer, roles=("billing",), ack_within_days=20)
    sync_policy_assignments()
    mine = PolicyAssignment.objects.get(user=employee, policy_version=version)
    policy_acknowledge(
        assignment=mine,
        version_id=version.pk,
        typed_name=employee.full_name,
        ip_address=None,
        user_agent="",
        actor=employee,
    )
    assert [m for m in policy_mail(run(mine.due_on)) if m.to == [employee.email]] == []
    assert not Delivery.objects.filter(policy_assignment=mine).exists()
