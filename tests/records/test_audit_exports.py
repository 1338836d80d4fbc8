"""The auditor's evidence: streamed CSV exports read back with csv.reader, formula cells neutralised,
every download audited, the read-only auditor, and access expiry."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from hipaa_training.models import AuditEvent
from records.models import AttestationSignature, QuizAttempt, ReportJob
from roles.models import Assignment, User
from tests.factories import PASSWORD
from tests.records.evidence import at, complete, grow, person, reschedule, today

pytestmark = pytest.mark.usefixtures("catalog")

EXPORT_SLUGS = ["training", "attestations", "attempts", "reminders", "audit"]


def read_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def records(compliance_officer):
    t = today()
    ana = person("ana@example.test", "Ana Alvarez", "billing", "Billing Operations", hired=t - dt.timedelta(days=90))
    reschedule(ana, assigned=t - dt.timedelta(days=90), due=t - dt.timedelta(days=60))
    first = Assignment.objects.filter(user=ana, course__slug="security-awareness").get()
    late = Assignment.objects.filter(user=ana, course__slug="billing-privacy").get()
    complete(first, at(t - dt.timedelta(days=70)), score=80, failed_first=True)
    complete(late, at(t - dt.timedelta(days=10)), score=100)
    hacker = person("hx@example.test", '=HYPERLINK("http://x")', "intake", "Patient Services", hired=t)
    complete(Assignment.objects.filter(user=hacker).first(), timezone.now(), score=90)
    return {"ana": ana, "hacker": hacker, "first": first, "late": late}


# --- who may reach what ---

AUDIT_URLS = [
    ("records:audit", []),
    ("records:audit_export", ["training"]),
    ("records:audit_export", ["audit"]),
]
PROTECTED = [*AUDIT_URLS, ("records:dashboard", []), ("records:transcript", None), ("roles:import", [])]


def _url(name, args, someone):
    return reverse(name, args=[someone.pk] if args is None else args)


@pytest.mark.parametrize("name, args", PROTECTED)
def test_anonymous_visitors_are_sent_to_log_in(client, name, args):
    response = client.get(reverse(name, args=[1] if args is None else args))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("name, args", PROTECTED)
def test_an_employee_cannot_reach_the_dashboard_or_the_audit_pages(login, employee, outsider, name, args):
    response = login(employee).get(_url(name, args, outsider))
    # A colleague's transcript is an object outside their scope (404); the officers' pages are a role's (403).
    assert response.status_code == (404 if name == "records:transcript" else 403)


@pytest.mark.parametrize("name, args", [*AUDIT_URLS, ("records:dashboard", [])])
def test_a_manager_cannot_reach_the_officers_pages(login, manager, name, args):
    assert login(manager).get(_url(name, args, manager)).status_code == 403


@pytest.mark.parametrize("persona", ["auditor", "compliance_officer"])
def test_auditors_and_officers_reach_the_audit_page_and_every_export(request, login, persona, records):
    client = login(request.getfixturevalue(persona))
    page = client.get(reverse("records:audit"))
    assert page.status_code == 200 and "Training records (one row per assignment)" in page.content.decode()
    for slug in EXPORT_SLUGS:
        rows = read_csv(client.get(reverse("records:audit_export", args=[slug])))
        assert rows[0], slug


def test_an_auditor_cannot_open_the_dashboard_but_can_read_a_transcript(login, auditor, records):
    client = login(auditor)
    assert client.get(reverse("records:dashboard")).status_code == 403
    response = client.get(reverse("records:transcript", args=[records["ana"].pk]))
    assert response.status_code == 200 and "Ana Alvarez" in response.content.decode()


def test_the_home_page_sends_officers_to_the_dashboard_and_auditors_to_the_audit_page(
    login, compliance_officer, auditor
):
    assert login(compliance_officer).get("/").url == reverse("records:dashboard")
    assert login(auditor).get("/").url == reverse("records:audit")


def test_an_unknown_export_is_404(login, auditor):
    assert login(auditor).get("/audit/export/passwords.csv").status_code == 404


# --- the exports ---


def test_training_records_read_back_to_the_values_in_the_database(login, auditor, records):
    rows = read_csv(login(auditor).get(reverse("records:audit_export", args=["training"])))
    header, body = rows[0], rows[1:]
    assert header[:13] == [
        "person",
        "email",
        "department",
        "workforce_role",
        "module",
        "version",
        "assigned",
        "due",
        "completed",
        "score",
        "on_time",
        "certificate_code",
        "attestation_time",
    ]
    assert len(body) == Assignment.objects.count()
    by_key = {(r[1], r[4]): dict(zip(header, r, strict=True)) for r in body}
    for a in Assignment.objects.select_related("user__department", "user__workforce_role", "course"):
        row = by_key[(a.user.email, a.course.title)]
        assert row["department"] == (a.user.department.name if a.user.department else "")
        assert row["workforce_role"] == (a.user.workforce_role.name if a.user.workforce_role else "")
        assert row["assigned"] == a.assigned_on.isoformat() and row["due"] == a.due_on.isoformat()
        completion = getattr(a, "completion", None) if a.completed_at else None
        if completion is None:
            assert row["completed"] == row["score"] == row["certificate_code"] == row["attestation_time"] == ""
            continue
        assert dt.datetime.fromisoformat(row["completed"]) == completion.completed_at.replace(microsecond=0)
        assert row["score"] == str(completion.score) and row["version"] == str(completion.version.number)
        assert row["certificate_code"] == completion.certificate.code
        assert dt.datetime.fromisoformat(row["attestation_time"]) == completion.attestation.signed_at.replace(
            microsecond=0
        )
        assert row["on_time"] == ("yes" if timezone.localdate(a.completed_at) <= a.due_on else "no")
    first = by_key[(records["ana"].email, "Security awareness")]
    late = by_key[(records["ana"].email, "Privacy in billing and revenue-cycle work")]
    assert (first["on_time"], first["score"], late["on_time"], late["score"]) == ("yes", "80", "no", "100")


def test_a_formula_in_a_name_comes_out_neutralised(login, auditor, records):
    client = login(auditor)
    for slug in ("training", "attestations", "attempts"):
        rows = read_csv(client.get(reverse("records:audit_export", args=[slug])))
        names = {r[0] for r in rows[1:]}
        assert '\'=HYPERLINK("http://x")' in names, slug
        assert '=HYPERLINK("http://x")' not in names
    attestations = read_csv(client.get(reverse("records:audit_export", args=["attestations"])))
    assert '\'=HYPERLINK("http://x")' in {r[4] for r in attestations}  # the typed name too


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_every_formula_prefix_is_neutralised(value):
    from records.exports import neutralise

    assert neutralise(value) == "'" + value
    assert neutralise("Ana") == "Ana" and neutralise(5) == 5


def test_attestations_and_attempts_read_back(login, auditor, records):
    client = login(auditor)
    attestations = read_csv(client.get(reverse("records:audit_export", args=["attestations"])))
    assert len(attestations) - 1 == AttestationSignature.objects.count() == 3
    signature = AttestationSignature.objects.get(assignment=records["first"])
    row = next(r for r in attestations if r[6] == signature.statement_sha256 and r[1] == records["ana"].email)
    assert row[4] == "Ana Alvarez" and row[7] == "10.0.0.7"
    attempts = read_csv(client.get(reverse("records:audit_export", args=["attempts"])))
    assert len(attempts) - 1 == QuizAttempt.objects.count() == 4
    assert sorted((r[4], r[5], r[6]) for r in attempts[1:] if r[1] == records["ana"].email) == [
        ("1", "100", "yes"),
        ("1", "40", "no"),
        ("2", "80", "yes"),
    ]


def test_the_audit_events_export_carries_the_hash_chain(login, auditor, records):
    rows = read_csv(login(auditor).get(reverse("records:audit_export", args=["audit"])))
    body = rows[1:]
    assert [int(r[0]) for r in body] == list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))[
        : len(body)
    ]
    for before, after in zip(body, body[1:], strict=False):
        assert after[7] == before[8]  # prev_hash of each event is the hash of the one before


def test_date_range_and_as_of_filters(login, auditor, records):
    client = login(auditor)
    t = today()
    url = reverse("records:audit_export", args=["attestations"])
    last_month = read_csv(client.get(url, {"start": (t - dt.timedelta(days=30)).isoformat(), "end": t.isoformat()}))
    assert len(last_month) - 1 == 2  # the late one and the hacker's; not the one from 70 days ago
    training = reverse("records:audit_export", args=["training"])
    as_of = read_csv(client.get(training, {"as_of": (t - dt.timedelta(days=30)).isoformat()}))
    ana = {r[4]: r for r in as_of[1:] if r[1] == records["ana"].email}
    assert len(as_of) - 1 == 3  # the hacker was not assigned anything yet
    assert ana["Security awareness"][8] != "" and ana["Security awareness"][13] == "completed"
    late = ana["Privacy in billing and revenue-cycle work"]
    assert late[8] == "" and late[11] == "" and late[13] == "overdue"  # finished only 10 days ago


def test_a_bad_filter_is_refused_with_a_message(login, auditor):
    response = login(auditor).get(
        reverse("records:audit_export", args=["training"]), {"start": "2025-05-01", "end": "2025-01-01"}
    )
    assert response.status_code == 400 and "The start of the range is after its end." in response.content.decode()
    assert not AuditEvent.objects.filter(action="export.downloaded").exists()


def test_every_export_is_an_audit_event_with_who_what_and_filters(login, auditor, records):
    client = login(auditor)
    read_csv(client.get(reverse("records:audit_export", args=["attempts"]), {"start": "2025-01-01"}))
    event = AuditEvent.objects.filter(action="export.downloaded").latest("seq")
    assert event.actor_id == auditor.pk and event.actor_label == auditor.email
    assert event.data["export"] == "attempts" and event.data["filters"]["start"] == "2025-01-01"


def test_export_query_counts_do_not_grow_with_the_workforce(login, auditor, compliance_officer):
    client = login(auditor)
    client.get(reverse("records:audit"))  # a session's first request also records the session

    def queries() -> list[int]:
        counts = []
        for slug in EXPORT_SLUGS:
            with CaptureQueriesContext(connection) as ctx:
                read_csv(client.get(reverse("records:audit_export", args=[slug])))
            counts.append(len(ctx))
        return counts

    grow(10, 0)
    small = queries()
    grow(90, 10)
    assert queries() == small


# --- read-only auditors and access expiry ---


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/import/",
        "/dashboard/import/apply/",
        "/audit/export/training.csv",
        "/training/",
        "/accounts/password/change/",
        "/admin/roles/user/add/",
        "/no/such/page/",
    ],
)
def test_an_auditors_post_to_any_url_is_refused(login, auditor, url):
    users = User.objects.count()
    response = login(auditor).post(url, {"email": "x@example.test", "full_name": "X"})
    assert response.status_code == 403
    assert User.objects.count() == users
    assert AuditEvent.objects.filter(action="auth.write_refused", actor_id=auditor.pk).exists()


def test_an_auditor_may_log_out_and_request_a_report(login, auditor, django_capture_on_commit_callbacks):
    client = login(auditor)
    response = client.post(reverse("records:audit_request"), {"kind": "report"})
    assert response.status_code == 302
    assert ReportJob.objects.filter(requested_by=auditor).count() == 1
    assert client.post(reverse("account_logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_the_same_post_from_an_officer_is_not_blocked(login, compliance_officer):
    response = login(compliance_officer).post("/dashboard/import/", {})
    assert response.status_code == 400  # the form's own error, not the read-only refusal


def test_an_expired_auditor_cannot_log_in(client, auditor):
    User.objects.filter(pk=auditor.pk).update(access_expires_on=today() - dt.timedelta(days=1))
    response = client.post(reverse("account_login"), {"login": auditor.email, "password": PASSWORD}, follow=True)
    assert "_auth_user_id" not in client.session
    assert "Your access ended on" in response.content.decode()
    assert client.get(reverse("records:audit")).status_code == 302


def test_an_auditor_whose_access_expires_is_logged_out_of_their_session(login, auditor):
    client = login(auditor)
    assert client.get(reverse("records:audit")).status_code == 200
    User.objects.filter(pk=auditor.pk).update(access_expires_on=today() - dt.timedelta(days=1))
    response = client.get(reverse("records:audit"))
    assert response.status_code == 302 and response.url == reverse("account_login")
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.session_ended", actor_id=auditor.pk).exists()


def test_access_that_ends_today_still_works_today(login, auditor):
    User.objects.filter(pk=auditor.pk).update(access_expires_on=today())
    assert login(auditor).get(reverse("records:audit")).status_code == 200
