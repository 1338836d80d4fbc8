"""The sections of the auditor's PDF report an auditor reads one by one: each security reminder, each new hire,
each retraining after a material change, and the facts that make the PDF checkable against the bundle; in a
number of queries that does not grow with the workforce."""

from __future__ import annotations

import datetime as dt
import io

import pdfplumber
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses.models import Course
from hipaa_training import anchor, audit
from records import report_sections, summaries
from records.documents.report import render_report, report_context
from records.exports import ExportFilters
from roles.bulletins import bulletin_create
from roles.models import Assignment, BulletinAcknowledgement, BulletinDelivery, User, WorkforceRole
from tests.records.evidence import at, complete, grow, person, reschedule, today
from tests.roles.test_assignments import _publish_new_version

pytestmark = pytest.mark.usefixtures("catalog")


def _done(who: User, slug: str, day: dt.date) -> None:
    complete(Assignment.objects.get(user=who, course__slug=slug, completed_at__isnull=True), at(day))


def _done_all(who: User, day: dt.date) -> None:
    for a in Assignment.objects.filter(user=who, completed_at__isnull=True):
        complete(a, at(day))


@pytest.fixture
def year(compliance_officer):
    """Four new hires (late, overdue, on time, still in their window), one long-standing employee, two security
    reminders and a material new version of Privacy essentials that two people had to retrain for."""
    t = today()
    late = person("lou@example.test", "Lou Late", "intake", "Patient Services", hired=t - dt.timedelta(days=50))
    reschedule(late, assigned=t - dt.timedelta(days=50), due=t - dt.timedelta(days=20))
    _done_all(late, t - dt.timedelta(days=15))
    overdue = person(
        "ana@example.test", "Ana Alvarez", "billing", "Billing Operations", hired=t - dt.timedelta(days=40)
    )
    reschedule(overdue, assigned=t - dt.timedelta(days=40), due=t - dt.timedelta(days=10))
    _done(overdue, "privacy-essentials", t - dt.timedelta(days=20))
    _done(overdue, "security-awareness", t - dt.timedelta(days=20))
    ontime = person("dee@example.test", "Dee Diaz", "billing", "Billing Operations", hired=t - dt.timedelta(days=30))
    reschedule(ontime, assigned=t - dt.timedelta(days=30), due=t)
    _done_all(ontime, t - dt.timedelta(days=25))
    person("cy@example.test", "Cy Young", "intake", "Patient Services", hired=t - dt.timedelta(days=5))
    veteran = person(
        "vic@example.test", "Vic Veteran", "billing", "Billing Operations", hired=t - dt.timedelta(days=900)
    )
    reschedule(veteran, assigned=t - dt.timedelta(days=400), due=t - dt.timedelta(days=370))
    _done_all(veteran, t - dt.timedelta(days=380))

    officer = compliance_officer
    everyone = bulletin_create(
        title="Phishing: check the sender", body="Hover first.", send_at=at(t - dt.timedelta(days=9)), actor=officer
    )
    billing_only = bulletin_create(
        title="Claims portal passwords",
        body="Rotate them.",
        send_at=at(t - dt.timedelta(days=3)),
        actor=officer,
        everyone=False,
        roles=[WorkforceRole.objects.get(slug="billing")],
    )
    for b, people, acks in ((everyone, [late, overdue, ontime], [late, ontime]), (billing_only, [overdue], [])):
        for p in people:
            BulletinDelivery.objects.create(bulletin=b, person=p, sent_at=b.send_at + dt.timedelta(minutes=5))
        for p in acks:
            BulletinAcknowledgement.objects.create(
                bulletin=b, person=p, acknowledged_at=b.send_at + dt.timedelta(hours=2)
            )

    version = _publish_new_version(Course.objects.get(slug="privacy-essentials"), material=True)
    retrain = Assignment.objects.filter(reason=Assignment.NEW_VERSION)
    assert set(retrain.values_list("user__email", flat=True)) == {
        "lou@example.test",
        "ana@example.test",
        "dee@example.test",
        "vic@example.test",
    }
    complete(retrain.get(user=ontime), timezone.now())
    return {"version": version}


def test_each_security_reminder_with_its_audience_deliveries_and_acknowledgement_rate(year):
    rows = report_sections.security_reminders(report_sections.Period.of(ExportFilters()))
    assert [(r.bulletin.title, r.audience, r.delivered, r.acknowledged, r.percent) for r in rows] == [
        ("Phishing: check the sender", "Everyone", 3, 2, 67),
        ("Claims portal passwords", "Billing and revenue cycle", 1, 0, 0),
    ]
    later = ExportFilters(start=today() - dt.timedelta(days=5))
    assert [r.bulletin.title for r in report_sections.security_reminders(report_sections.Period.of(later))] == [
        "Claims portal passwords"
    ]


def test_each_new_hire_with_hire_due_and_completion_dates_and_the_late_ones_marked(year):
    t = today()
    rows = {r.name: r for r in report_sections.new_hires(report_sections.Period.of(ExportFilters()))}
    assert set(rows) == {"Lou Late", "Ana Alvarez", "Dee Diaz", "Cy Young"}  # not the veteran
    lou, ana, dee, cy = rows["Lou Late"], rows["Ana Alvarez"], rows["Dee Diaz"], rows["Cy Young"]
    assert (lou.hired, lou.due, lou.completed, lou.days, lou.status) == (
        t - dt.timedelta(days=50),
        t - dt.timedelta(days=20),
        t - dt.timedelta(days=15),
        35,
        "late",
    )
    assert (ana.completed, ana.done, ana.modules, ana.status, ana.is_late) == (None, 2, 3, "overdue", True)
    assert (dee.completed, dee.days, dee.status, dee.is_late) == (t - dt.timedelta(days=25), 5, "on time", False)
    assert (cy.completed, cy.status, cy.is_late) == (None, "in window", False)


def test_each_material_version_with_its_change_note_who_had_to_retrain_and_who_has(year):
    entries = report_sections.retraining(report_sections.Period.of(ExportFilters()))
    assert [e.version.pk for e in entries] == [year["version"].pk]
    entry = entries[0]
    assert entry.version.change_note.startswith("Shows which privacy rules bind us")
    people = {p.name: p for p in entry.people}
    assert set(people) == {"Lou Late", "Ana Alvarez", "Dee Diaz", "Vic Veteran"}
    assert people["Dee Diaz"].completed == today() and people["Dee Diaz"].status == "on time"
    assert people["Ana Alvarez"].completed is None and entry.done == 1 and entry.percent == 25
    before = ExportFilters(end=today() - dt.timedelta(days=1))
    assert report_sections.retraining(report_sections.Period.of(before)) == []


def test_the_pdf_states_its_period_filters_author_chain_head_and_anchor(year, auditor):
    head = audit.head()
    signed = anchor.anchor_head(seq=head.seq, hash=head.hash)
    audit.record("test.after_anchor")  # one event since the anchor: linked by the chain, not yet signed
    filters = ExportFilters(start=today() - dt.timedelta(days=60), end=today())
    with pdfplumber.open(io.BytesIO(render_report(filters, requested_by=auditor))) as pdf:
        text = " ".join(" ".join(page.extract_text() or "" for page in pdf.pages).split())
    start = (today() - dt.timedelta(days=60)).strftime("%B %-d, %Y")
    assert f"Period {start} to {today().strftime('%B %-d, %Y')}" in text
    assert f"start {(today() - dt.timedelta(days=60)).isoformat()}; end {today().isoformat()}; as of none" in text
    assert f"for {auditor.full_name} ({auditor.email})" in text
    new_head = audit.head()
    assert f"event #{new_head.seq} of" in text and new_head.hash in text
    assert signed["signature"] in text and f"event #{head.seq}, SHA-256 {head.hash}" in text
    assert f"The audit trail still holds that hash at event #{head.seq}." in text
    assert "The 1 event after it, up to the head, is linked to it by the hash chain" in text
    # the sections, read back
    assert "Security reminders" in text and "Phishing: check the sender Everyone" in text and "67%" in text
    assert "Lou Late" in text and "LATE (3 of 3" in text and "LATE: overdue" in text
    assert "Privacy essentials v2, published" in text and "4 had to retrain; 1 have (25%)." in text


def test_the_report_reads_the_same_number_of_queries_for_10_and_100_people(year):
    def count() -> int:
        summaries.store_today()  # today's dashboard figures stored, as a worker keeps them
        with CaptureQueriesContext(connection) as ctx:
            context = report_context(ExportFilters())
        assert context["reminders"] and context["new_hire_rows"] and context["retraining_versions"]
        return len(ctx)

    grow(10, 0)
    small = count()
    grow(90, 10)
    assert count() == small


def test_the_new_sections_read_a_fixed_number_of_queries(year, django_assert_num_queries):
    period = report_sections.Period.of(ExportFilters())
    with django_assert_num_queries(4):  # bulletins, their roles, deliveries, acknowledgements
        report_sections.security_reminders(period)
    with django_assert_num_queries(1):
        report_sections.new_hires(period)
    with django_assert_num_queries(2):
        report_sections.retraining(period)
    head = audit.head()
    anchor.anchor_head(seq=head.seq, hash=head.hash)
    with django_assert_num_queries(2):  # the head, and the hash the chain holds at the anchor's event
        assert report_sections.chain_state().anchor_matches is True
