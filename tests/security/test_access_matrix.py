"""The access matrix: every URL pattern of the project, asked for by every kind of person.

ONE table (MATRIX) says what each persona gets. A URL pattern with no entry fails the test, so a new page
cannot go unreviewed. When you add a URL: add its row here (and, for an object URL, an IDOR case below).
Statuses: 200 page, 302 redirect (for anonymous: to the login), 403 wrong role, 404 not theirs / not there,
405 wrong method (the page only answers POST).

The client auditor (an auditor bound to one client, here to a client that is not the walk's "Matrix Clinic") gets
what the employee gets, except where CLIENT_AUDITOR says otherwise: a new row with an employee's 200 must be
reviewed for them too.
"""

from __future__ import annotations

from fnmatch import fnmatch
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from courses.drafts import draft_start
from courses.models import CourseDraft, CourseVersion, PolicyVersion
from records.documents.certificate import certificate_issue
from records.documents.jobs import report_build
from records.exports import ExportFilters
from records.models import Certificate, Completion, ReportJob
from records.services import report_request
from roles.assignments import sync_policy_assignments
from roles.bulletins import bulletin_create
from roles.models import Bulletin, PolicyAssignment, SSOClaimMapping, User
from tests.records.helpers import assignment_of, take
from tests.records.policy_helpers import pdf_bytes, publish
from tests.security.urlwalk import Route, fill, walk

PERSONAS = ("anonymous", "employee", "manager", "compliance_officer", "auditor", "administrator", "client_auditor")
COLUMNS = PERSONAS[:-1]


def row(anonymous: int, employee: int, manager: int, compliance_officer: int, auditor: int, administrator: int) -> dict:
    return dict(zip(COLUMNS, (anonymous, employee, manager, compliance_officer, auditor, administrator), strict=True))


def same(status: int) -> dict:
    return row(status, status, status, status, status, status)


def signed_in(status: int, anonymous: int = 302) -> dict:
    return row(anonymous, status, status, status, status, status)


# Admin model pages: anyone not staff is sent to log in (every one of them is walked); for staff the Django
# admin's permission checks decide, and the walk asks only for the lists (the administrator gets every one).
STAFF_ONLY = "staff only"

MATRIX: dict[str, dict | str] = {
    "home": row(302, 302, 302, 302, 302, 302),
    "healthz": same(200),
    "records:training": signed_in(200),  # an auditor (no workforce role) sees an empty list
    # the player, on the employee's own completed assignment: theirs alone (anyone else 404, not 403)
    "records:overview": row(302, 200, 404, 404, 404, 404),
    "records:lesson": row(302, 200, 404, 404, 404, 404),
    "records:check": row(302, 302, 404, 404, 404, 404),  # completed: the check sends the owner to the result
    "records:attempt": row(302, 200, 404, 404, 404, 404),
    "records:attest": row(302, 302, 404, 404, 404, 404),
    "records:done": row(302, 200, 404, 404, 404, 404),
    "records:certificates": signed_in(200),  # one's own certificates only
    # the employee's certificate: its owner, compliance officers and auditors
    "records:certificate_download": row(302, 200, 404, 200, 200, 404),
    "records:verify": same(200),  # public
    # the compliance officer's dashboard, the manager's team, transcripts (the employee's, whose manager asks)
    "records:dashboard": row(302, 403, 403, 200, 403, 403),
    "records:dashboard_overdue": row(302, 403, 403, 200, 403, 403),  # the full lists behind the first screen
    "records:dashboard_due_soon": row(302, 403, 403, 200, 403, 403),
    "records:team": row(302, 403, 200, 403, 403, 403),
    "records:transcript": row(302, 200, 200, 200, 200, 404),  # their own; anyone else who may not see them: 404
    # should have been trained vs was trained (the employee's): officers, administrators, auditors, their manager
    "records:should_vs_was": row(302, 403, 200, 200, 200, 200),
    "records:should_vs_was_csv": row(302, 403, 200, 200, 200, 200),
    # the auditors' evidence (compliance officers too); the report download is the auditor's own job
    "records:audit": row(302, 403, 403, 200, 200, 403),
    "records:audit_export": row(302, 403, 403, 200, 200, 403),
    "records:audit_request": same(405),  # POST only (tests/records/test_reports.py)
    "records:audit_download": row(302, 403, 403, 404, 200, 403),
    # a client's evidence pack (tests/records/test_client_pack.py): officers and administrators for any client; a
    # client auditor for theirs (tests/security/test_client_auditor.py)
    "records:client_pack": row(302, 403, 403, 200, 403, 200),
    "records:audit_client_pack": row(302, 403, 403, 200, 403, 200),
    # policies (tests/records/test_policy_pages.py): officers and administrators write, auditors read; each person
    # reads and acknowledges their own (the employee's, a PDF policy for the billing role)
    "records:policies": row(302, 403, 403, 200, 200, 200),
    "records:policy_new": row(302, 403, 403, 200, 403, 200),
    "records:policy_detail": row(302, 403, 403, 200, 200, 200),
    "records:policy_audience": same(405),  # POST only
    "records:policy_publish": row(302, 403, 403, 200, 403, 200),
    "records:policy_retire": same(405),  # POST only, asks to confirm (tests/records/test_policy_retire.py)
    "records:policy_version": row(302, 403, 403, 200, 200, 200),
    "records:policy_read": row(302, 200, 404, 404, 404, 404),
    "records:policy_pdf": row(302, 200, 200, 200, 200, 200),  # the billing role's policy: the manager is billing too
    # the course editor (tests/records/test_course_editor.py): officers and administrators edit, auditors read;
    # its POST-only pages answer a GET from an editor with 405 after the role check
    "records:course_list": row(302, 403, 403, 200, 200, 200),
    "records:course_draft_new": row(302, 403, 403, 200, 403, 200),
    "records:course_upload": row(302, 403, 403, 200, 403, 200),
    "records:course_markdown_preview": row(302, 403, 403, 405, 403, 405),
    "records:course_draft": row(302, 403, 403, 200, 200, 200),
    "records:course_draft_history": row(302, 403, 403, 200, 200, 200),
    "records:course_discard": row(302, 403, 403, 405, 403, 405),  # POST only (tests/records/test_draft_discard.py)
    "records:course_lesson": row(302, 403, 403, 200, 403, 200),
    "records:course_lesson_change": row(302, 403, 403, 405, 403, 405),
    "records:course_question": row(302, 403, 403, 200, 403, 200),
    "records:course_question_change": row(302, 403, 403, 405, 403, 405),
    "records:course_preview": row(302, 403, 403, 200, 200, 200),
    "records:course_preview_lesson": row(302, 403, 403, 200, 200, 200),
    "records:course_preview_check": row(302, 403, 403, 200, 200, 200),
    "records:course_publish": row(302, 403, 403, 200, 403, 200),
    "records:course_version": row(302, 403, 403, 200, 200, 200),
    "records:course_version_download": row(302, 403, 403, 200, 200, 200),
    "roles:import": row(302, 403, 403, 200, 403, 403),
    "roles:import_apply": same(405),  # POST only (tests/roles/test_import.py)
    # reminders and security reminders (roles)
    "roles:reminder_policy": row(302, 403, 403, 200, 403, 403),
    "roles:nudge": same(405),  # POST only (its three cases: tests/roles/test_reminders.py)
    "roles:bulletin_list": row(302, 403, 403, 200, 403, 403),
    "roles:bulletin_new": row(302, 403, 403, 200, 403, 403),
    "roles:bulletin_report": row(302, 403, 403, 200, 403, 403),
    "roles:bulletin": row(302, 200, 200, 200, 404, 200),  # its audience: the workforce (the auditor is not)
    "roles:bulletin_ack": same(405),  # POST only (tests/roles/test_bulletins.py)
    # people (roles/views/people.py): officers and administrators write; auditors read the list; a manager reads
    # the list of their own reports (tests/roles/test_people.py has each page's cases)
    "roles:people": row(302, 403, 200, 200, 200, 200),
    "roles:person_new": row(302, 403, 403, 200, 403, 200),
    "roles:person_added": row(302, 403, 403, 200, 403, 200),
    "roles:person_manage": row(302, 403, 403, 200, 403, 200),
    "roles:person_leave": same(405),  # POST only
    "roles:person_reactivate": same(405),  # POST only
    "roles:person_invite": same(405),  # POST only
    "roles:person_sessions_end": same(405),  # POST only
    "roles:people_bulk": same(405),  # POST only (its three cases and bad input: tests/roles/test_people_bulk.py)
    # the roles grid: officers and administrators change it, auditors read it (tests/roles/test_roles_grid.py)
    "roles:grid": row(302, 403, 403, 200, 200, 200),
    "roles:grid_apply": same(405),  # POST only (tests/roles/test_roles_grid.py)
    "roles:role_new": same(405),  # POST only (tests/roles/test_roles_departments.py)
    "roles:role_edit": row(302, 403, 403, 200, 403, 200),
    "roles:role_retire": same(405),  # POST only (tests/roles/test_roles_departments.py)
    "roles:departments": row(302, 403, 403, 200, 403, 200),
    "roles:department_edit": row(302, 403, 403, 200, 403, 200),
    "roles:department_retire": same(405),  # POST only (tests/roles/test_roles_departments.py)
    # clients (tests/roles/test_clients_pages.py): officers and administrators change them, auditors read them
    "roles:clients": row(302, 403, 403, 200, 200, 200),
    "roles:client": row(302, 403, 403, 200, 200, 200),
    "roles:client_requirement": same(405),  # POST only
    "roles:client_requirement_remove": same(405),  # POST only
    "roles:client_scope": same(405),  # POST only
    "roles:client_retire": same(405),  # POST only
    "roles:client_auditors": row(302, 403, 403, 200, 403, 200),
    "roles:client_auditor_revoke": same(405),  # POST only
    # the settings page (its three cases and bad input: tests/roles/test_settings_page.py)
    "roles:settings": row(302, 403, 403, 200, 403, 200),
    "roles:settings_sign_in": same(405),  # POST only
    "roles:settings_organization": same(405),  # POST only
    "roles:organization_logo": row(302, 403, 403, 404, 403, 404),  # no logo uploaded in the walk
    # the SSO groups mapping (tests/sso/test_sso_mapping_page.py): like the settings page, officers and admins
    "roles:settings_sso": row(302, 403, 403, 200, 403, 200),
    "roles:settings_sso_edit": row(302, 403, 403, 200, 403, 200),
    "roles:settings_sso_delete": same(405),  # POST only
    # allauth: account
    "account_login": row(200, 302, 302, 302, 302, 302),
    "account_logout": row(302, 200, 200, 200, 200, 200),
    "account_inactive": same(200),
    "account_signup": row(200, 302, 302, 302, 302, 302),
    "account_reauthenticate": signed_in(200),
    "account_request_reauthentication_code": same(302),
    "account_confirm_reauthentication_code": same(302),
    "account_email": signed_in(403),  # addresses belong to the organisation (tests/security/test_identity.py)
    "account_email_verification_sent": same(200),
    "account_change_password": signed_in(200),
    "account_set_password": signed_in(302),
    "account_reset_password": same(200),
    "account_confirm_login_code": same(302),
    "account_confirm_email": same(200),
    "account_reset_password_from_key_done": same(200),
    "account_reset_password_from_key": same(200),
    "account_reset_password_done": same(200),
    # allauth: second factor
    "mfa_index": signed_in(200),
    "mfa_authenticate": same(302),
    "mfa_reauthenticate": row(302, 302, 302, 200, 200, 200),
    "mfa_activate_totp": row(302, 200, 200, 302, 302, 302),
    "mfa_deactivate_totp": row(302, 404, 404, 200, 200, 200),
    "mfa_view_recovery_codes": signed_in(404),
    "mfa_generate_recovery_codes": signed_in(200),
    "mfa_download_recovery_codes": signed_in(404),
    "mfa_list_webauthn": signed_in(200),
    "mfa_add_webauthn": signed_in(200),
    "mfa_reauthenticate_webauthn": signed_in(302),
    "mfa_remove_webauthn": signed_in(404),
    "mfa_edit_webauthn": signed_in(404),
    "mfa_login_webauthn": same(302),
    # allauth: single sign-on (no provider configured in tests -> the provider pages are 404)
    "socialaccount_login_cancelled": same(200),
    "socialaccount_login_error": same(401),
    "socialaccount_signup": same(302),
    "socialaccount_connections": signed_in(200),
    "accounts/social/login/cancelled/": same(301),
    "accounts/social/login/error/": same(301),
    "accounts/social/signup/": same(301),
    "accounts/social/connections/": same(301),
    "openid_connect_login": same(404),
    "openid_connect_callback": same(404),
    "sso_reauthenticate": signed_in(404),
    "roles:sso_setup": row(302, 403, 403, 403, 403, 200),  # administrators only
    "usersessions_list": signed_in(200),
    # the Django admin: staff only (the officer is staff in this matrix, as in the demo company)
    "admin:index": row(302, 302, 302, 200, 302, 200),
    "admin:login": row(302, 403, 403, 302, 403, 302),
    "admin:logout": row(302, 302, 302, 405, 302, 405),
    "admin:password_change": row(302, 302, 302, 200, 302, 200),
    "admin:password_change_done": row(302, 302, 302, 200, 302, 200),
    "admin:autocomplete": row(302, 302, 302, 403, 302, 403),
    "admin:jsi18n": row(302, 302, 302, 200, 302, 200),
    "admin:view_on_site": row(302, 302, 302, 404, 302, 404),
    "admin:app_list": row(302, 302, 302, 200, 302, 200),
    "admin/(?P<url>.*)$": row(302, 302, 302, 404, 302, 404),
    "admin:*": STAFF_ONLY,
}


# The client auditor, where they differ from an employee: nobody's player, certificate or transcript is theirs (404),
# their /audit/ page is their client's, every organisation-wide export, report and download is 404, another client's
# pack is 404 (their own: tests/security/test_client_auditor.py), and, having a second factor, the second-factor
# pages answer them as they answer an auditor.
CLIENT_AUDITOR: dict[str, int] = {
    "records:overview": 404,
    "records:lesson": 404,
    "records:check": 404,
    "records:attempt": 404,
    "records:attest": 404,
    "records:done": 404,
    "records:certificate_download": 404,
    "records:transcript": 404,
    "records:audit": 200,
    "records:audit_export": 404,
    "records:audit_download": 404,
    "records:client_pack": 404,
    "records:audit_client_pack": 404,
    "records:policy_read": 404,  # the employee's policy to acknowledge, and its PDF
    "records:policy_pdf": 404,
    "roles:bulletin": 404,  # the bulletin's audience is the workforce
    "mfa_reauthenticate": 200,
    "mfa_activate_totp": 302,
    "mfa_deactivate_totp": 200,
}


def expected_for(route: Route) -> dict | str | None:
    if route.key in MATRIX:
        return MATRIX[route.key]
    for key, value in MATRIX.items():
        if "*" in key and fnmatch(route.key, key) or "*" in key and fnmatch(route.route, key.replace(":", "/")):
            return value
    return None


@pytest.fixture
def people(employee, manager, compliance_officer, auditor, administrator) -> dict[str, User | None]:
    User.objects.filter(pk=compliance_officer.pk).update(is_staff=True)
    compliance_officer.refresh_from_db()
    take(assignment_of(employee))  # the employee's objects: a completed assignment, an attempt, a certificate
    certificate_issue(completion_id=Completion.objects.get(user=employee).pk)
    bulletin_create(title="Phishing wave", body="Check the sender.", send_at=timezone.now(), actor=compliance_officer)
    publish(compliance_officer, roles=("billing",), body_markdown="", pdf=pdf_bytes())
    sync_policy_assignments()
    job = report_request(kind=ReportJob.REPORT, requested_by=auditor, filters=ExportFilters())
    report_build(job_id=job.pk)  # the auditor's own report, ready to download
    draft_start(version=CourseVersion.objects.get(course__slug="security-awareness"), actor=compliance_officer)
    return {
        "anonymous": None,
        "employee": employee,
        "manager": manager,
        "compliance_officer": compliance_officer,
        "auditor": auditor,
        "administrator": administrator,
        "client_auditor": _client_auditor(),
    }


def _client_auditor() -> User:
    """An auditor of another client than the walk's Matrix Clinic, with a second factor."""
    import datetime as dt

    from roles.clients import client_auditor_grant, client_create
    from tests.conftest import enrol_totp

    own = client_create(name="Own Clinic", baa_effective_on=dt.date(2024, 1, 1))
    binding = client_auditor_grant(
        client=own,
        email="rita@own-clinic.test",
        full_name="Rita Reviewer",
        access_expires_on=timezone.localdate() + dt.timedelta(days=30),
    )
    binding.user.set_password("correct horse battery staple")  # as after following the invitation
    binding.user.save(update_fields=["password"])
    return enrol_totp(binding.user)


def arguments(route: Route, person: User | None, everyone: dict[str, Any]) -> dict[str, str]:
    """Real objects of the right person for the URL's parameters."""
    values: dict[str, str] = {}
    for name in route.params:
        if name == "pk":  # a passkey: none enrolled here (see test_idor for another person's)
            values[name] = "999999"
        elif name == "object_id":
            values[name] = str(everyone["employee"].pk)
        elif name == "content_type_id":
            values[name] = str(ContentType.objects.get_for_model(User).pk)
        elif name == "app_label":
            values[name] = "roles"
        elif name == "provider_id":
            values[name] = "sso"
        elif name == "url":
            values[name] = "no-such-page/"
        elif name == "assignment_id":  # the employee's own completed security-awareness assignment
            values[name] = str(assignment_of(everyone["employee"]).pk)
        elif name in ("position", "number"):
            values[name] = "1"
        elif name == "person_id":
            values[name] = str(everyone["employee"].pk)
        elif name == "job_id":
            values[name] = str(ReportJob.objects.get().pk)
        elif name == "slug":
            values[name] = "training"
        elif name == "role_id":
            values[name] = str(everyone["employee"].workforce_role_id)
        elif name == "department_id":
            values[name] = str(everyone["employee"].department_id)
        elif name == "mapping_id":
            mapping, _ = SSOClaimMapping.objects.get_or_create(
                claim_value="all-staff", defaults={"access_group": "employee"}
            )
            values[name] = str(mapping.pk)
        elif name == "client_id":
            values[name] = str(_matrix_client().pk)
        elif name == "requirement_id":
            values[name] = str(_matrix_client().requirements.get().pk)
        elif name == "binding_id":
            values[name] = "999999"  # POST only: never reached by a GET
        elif name == "policy_id":
            values[name] = str(PolicyVersion.objects.get().policy_id)
        elif name == "version_id" and route.key.startswith("records:policy"):
            values[name] = str(PolicyVersion.objects.get().pk)
        elif name == "policy_assignment_id":
            values[name] = str(PolicyAssignment.objects.get(user=everyone["employee"]).pk)
        elif name == "draft_id":  # a draft of security awareness
            values[name] = str(CourseDraft.objects.get().pk)
        elif name == "version_id":  # a course version
            values[name] = str(CourseVersion.objects.get(course__slug="security-awareness").pk)
        elif name == "bulletin_id":
            values[name] = str(Bulletin.objects.get().pk)
        elif name == "code":  # the employee's certificate
            values[name] = Certificate.objects.get(completion__user=everyone["employee"]).code
        else:
            values[name] = "not-a-real-key"
    return values


def _matrix_client() -> Any:
    import datetime as dt

    from courses.models import Course
    from roles.clients import client_create, client_requirement_set
    from roles.models import Client

    client = Client.objects.filter(name="Matrix Clinic").first()
    if client is None:
        client = client_create(name="Matrix Clinic", baa_effective_on=dt.date(2024, 1, 1))
        client_requirement_set(client=client, course=Course.objects.get(slug="leadership-oversight"))
    return client


ROUTES = list(walk())


def test_every_url_pattern_has_a_row_in_the_matrix():
    missing = [route.key for route in ROUTES if expected_for(route) is None]
    assert not missing, f"add these URL patterns to MATRIX in {__file__}: {missing}"
    stale = [key for key in MATRIX if "*" not in key and key not in {r.key for r in ROUTES}]
    assert not stale, f"MATRIX rows for URLs that no longer exist: {stale}"


def test_each_persona_gets_what_the_matrix_says(people):
    wrong: list[str] = []
    for persona in PERSONAS:
        wrong += check_persona(persona, people)
    assert not wrong, "\n".join(wrong)


def check_persona(persona: str, people: dict[str, Any]) -> list[str]:
    from django.test import Client as TestClient

    from tests.conftest import just_signed_in

    person = people[persona]
    wrong: list[str] = []
    client = TestClient()  # one client per persona; no GET in the matrix signs anyone out
    if person is not None:
        client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
        just_signed_in(client, person)
    for route in ROUTES:
        expected = expected_for(route)
        want_status: int | None = None
        staff = person is not None and person.is_staff
        if expected == STAFF_ONLY and staff and not route.key.endswith("_changelist"):
            continue  # the admin's own permission checks; only the lists are walked for staff (time)
        path = fill(route.route, arguments(route, person, people))
        response = client.get(path)
        got = response.status_code
        if expected == STAFF_ONLY:
            if staff:  # the administrator sees every list; the officer those their group may view
                ok = got == 200 if person.is_superuser else got in (200, 403)
            else:
                ok = got == 302 and "/login/" in response.url
        else:
            if persona == "client_auditor":
                want_status = CLIENT_AUDITOR.get(route.key, expected["employee"])
            ok = got == (want_status if want_status is not None else expected[persona])
            if ok and got == 302 and person is None and route.key not in ("home",):
                ok = "login" in response.url or response.url == "/admin/"  # the admin's own logout
        if not ok:
            want = expected if isinstance(expected, str) else want_status or expected[persona]
            wrong.append(f"{persona}: {route.key} {path}: expected {want}, got {got} {getattr(response, 'url', '')}")
    if person is not None and client.session.get("_auth_user_id") != str(person.pk):
        wrong.append(f"{persona}: was signed out during the walk")
    return wrong
