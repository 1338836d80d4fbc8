"""The demo company: a year that checks out. Seeded once on a fresh database (it takes a while), then read as the
compliance officer would: the audit trail verifies, the past looks different from today, every figure "as of"
a past day equals a count made here from the records, and a second run changes nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from courses.models import CourseVersion
from hipaa_training.models import AuditEvent
from records import reports
from records.models import Certificate, Completion
from roles.models import Assignment, Bulletin, BulletinAcknowledgement, User
from tests.conftest import enrol_totp
from tests.records.test_dashboard import assert_matches, count

pytestmark = pytest.mark.django_db(transaction=True)


def _rows() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()}


def test_seed_demo_builds_a_year_that_checks_out(settings, login, tmp_path):
    call_command("flush", interactive=False, verbosity=0)  # a fresh database: no catalogue published today
    settings.AUDIT_ANCHOR_LOG = tmp_path / "anchors.jsonl"
    settings.DASHBOARD_LIST_LIMIT = 10_000  # the lists compared in full with the independent count
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    today = timezone.localdate()
    # Running it again changes nothing.
    before = _rows()
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert _rows() == before
    assert "nothing added" in again.getvalue()

    # The audit trail is whole, and the officer's first page says it was verified.
    call_command("verify_audit_chain", stdout=io.StringIO())  # raises CommandError when broken
    officer = enrol_totp(User.objects.get(email="officer@demo.example"))  # officers must have a second factor
    html = login(officer).get(reverse("records:dashboard")).content.decode()
    assert "Audit trail verified at" in html and "has not been verified" not in html

    # A company of about 60, with a history that happened on its days, not all today.
    assert 55 <= User.objects.count() <= 65
    assert Assignment.objects.filter(due_on__lt=F("assigned_on")).count() == 0
    assert not Assignment.objects.filter(created_at__date__gt=F("due_on")).exists()
    months = {c.completed_at.strftime("%Y-%m") for c in Completion.objects.all()}
    assert len(months) >= 10, months
    first = AuditEvent.objects.order_by("seq").first()
    assert first is not None and (today - timezone.localdate(first.at)).days >= 360
    for c in Certificate.objects.select_related("completion")[:20]:
        assert timezone.localdate(c.issued_at) == timezone.localdate(c.completion.completed_at)

    # One material change with its retraining wave, two security reminders acknowledged, one leaver.
    changed = CourseVersion.objects.get(course__slug="privacy-essentials", number=2)
    assert changed.material and (today - timezone.localdate(changed.published_at)).days > 90
    retraining = Assignment.objects.filter(reason=Assignment.NEW_VERSION)
    assert retraining.count() >= 20 and retraining.filter(completed_at__isnull=False).count() >= 15
    assert Bulletin.objects.count() == 2
    for bulletin in Bulletin.objects.all():
        assert BulletinAcknowledgement.objects.filter(bulletin=bulletin).count() >= 20
    assert list(User.objects.filter(terminated_on__isnull=False).values_list("is_active", flat=True)) == [False]

    # The five starter policies, published to everyone as templates and acknowledged; the billing employee's are open.
    from courses.models import PolicyVersion
    from records.models import PolicyAcknowledgement
    from roles.models import PolicyAssignment

    policies = PolicyVersion.objects.select_related("policy")
    assert policies.count() == 5
    for version in policies:
        assert "Template — adapt before publishing" in version.body_markdown
        assert PolicyAcknowledgement.objects.filter(version=version).count() >= 40
    billing = PolicyAssignment.objects.filter(user__email="billing@demo.example")
    assert billing.count() == 5 and all(a.is_open for a in billing)
    review = login(officer).get(reverse("records:dashboard")).content.decode().split("Review date approaching", 1)
    assert len(review) == 2 and "Sanctions for policy violations" in review[1].split("</p>", 1)[0]

    # A client whose accounts Billing Operations works: the officer's client page lists its people today.
    from roles.client_scope import people_on
    from roles.models import Client

    lakeside = Client.objects.get(name="Lakeside Orthopedic Group")
    billing_ops = set(User.objects.filter(department__name="Billing Operations", terminated_on__isnull=True))
    assert billing_ops and set(people_on(lakeside, today)) == billing_ops
    page = login(officer).get(reverse("roles:client", args=[lakeside.pk])).content.decode()
    assert "billing@demo.example" in page

    # Today: a few people overdue and a few due soon.
    now = reports.dashboard(reports.Filters(as_of=today))
    assert 1 <= now.overdue <= 20 and now.due_soon >= 3
    assert_matches(now, count(today))

    # "As of" three, six and nine months ago: different, plausible, and what the records say.
    figures = []
    for months_ago in (3, 6, 9):
        day = today - dt.timedelta(days=round(months_ago * 30.44))
        d = reports.dashboard(reports.Filters(as_of=day))
        assert_matches(d, count(day))
        assert d.total > 50 and d.percent is not None and 50 <= d.percent <= 100
        figures.append((d.total, d.done, d.overdue, d.due_soon, d.people))
        page = login(officer).get(reverse("records:dashboard"), {"as_of": day.isoformat()}).content.decode()
        assert f'id="fig-total">{d.total}<' in page
    assert len(set(figures)) == 3, figures
