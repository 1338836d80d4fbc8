"""THE table of hostile input: values, and every form and query parameter the product owns.

tests/security/test_input.py submits each value to each field of each target and asserts no server error and
no half-saved row. A new form or query parameter joins TARGETS here; a product URL with no target fails
`test_every_product_url_is_in_the_hostile_table` (list it in NO_INPUT if it truly takes none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Model

TEN_MB = "A" * (10 * 1024 * 1024)

VALUES: dict[str, str] = {
    "empty": "",
    "spaces": "   ",
    "10 MB": TEN_MB,
    "NUL": "abc\x00def",
    "only NUL": "\x00",
    "RTL marks": "\u202egnp.exe\u202c \u200f\u061c",
    "SQL": "' OR '1'='1'; DROP TABLE roles_user; --",
    "SQL comment": '1" /*',
    "negative": "-1",
    "huge number": "9" * 40,
    "float": "1e308",
    "not a number": "NaN",
    "impossible date": "2026-02-30",
    "year 1": "0001-01-01",
    "year 9999": "9999-12-31",
    "year 99999": "99999-01-01",
    "datetime year 1": "0001-01-01T00:00",
    "datetime far ahead": "2999-12-31T23:59",
    "long line": "x" * 5000,
    "html": "<script>alert(1)</script>",
    "path traversal": "../../etc/passwd",
    "url": "https://evil.example/",
    "protocol relative": "//evil.example/",
}

Context = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One form or page with parameters. `path(ctx)` gives the URL; `data(ctx)` a submission that would work;
    each name in `fields` is replaced by each hostile value in turn. `watch` names the models whose rows must
    not change unless the submission succeeded (a redirect)."""

    key: str  # the url name
    persona: str
    method: str
    path: Callable[[Context], str]
    fields: tuple[str, ...]
    data: Callable[[Context], dict[str, Any]] = lambda ctx: {}
    watch: tuple[str, ...] = ()
    in_path: bool = False  # the hostile value replaces a path parameter (`fields` names it)
    staff: bool = field(default=False)

    def models(self) -> list[type[Model]]:
        return [apps.get_model(label) for label in self.watch]


def _url(name: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


def _course_id(slug: str) -> int:
    from courses.models import Course

    return Course.objects.get(slug=slug).pk


def _department_id() -> int:
    from roles.models import Department

    return Department.objects.get_or_create(name="Hostile input department")[0].pk


def _client_id() -> int:
    """The first client (a rename by a hostile value that is a fine name keeps it the same client)."""
    import datetime as dt

    from roles.models import Client

    client = Client.objects.order_by("pk").first()
    if client is None:
        client = Client.objects.create(name="Hostile input clinic", baa_effective_on=dt.date(2024, 1, 1))
    return client.pk


def _days_ahead(days: int) -> str:
    import datetime as dt

    from django.utils import timezone

    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def _draft() -> Any:
    """The open draft of security awareness the course editor's targets work on (started on first use)."""
    from courses.drafts import draft_start
    from courses.models import CourseDraft, CourseVersion

    found = CourseDraft.objects.filter(slug="security-awareness", published_version__isnull=True).first()
    if found is None:
        found = draft_start(version=CourseVersion.objects.get(course__slug="security-awareness"), actor=None)
    return found


def _overview(ctx: Context) -> dict[str, Any]:
    draft = _draft()
    fields = ("title", "summary", "audience", "regulation", "estimated_minutes", "pass_mark", "attestation")
    return {"revision": draft.revision, **{k: draft.content[k] for k in fields}}


def _question_form(ctx: Context) -> dict[str, Any]:
    return {
        "revision": _draft().revision,
        "prompt": "A hostile question?",
        "kind": "single",
        "explanation": "Because.",
        "choice_1_text": "The right one",
        "choice_1_correct": "on",
        "choice_2_text": "A wrong one",
        "choice_2_why": "It is wrong.",
        "choice_3_text": "Another wrong",
        "choice_3_why": "Also wrong.",
    }


DRAFT = ("courses.CourseDraft", "courses.CourseDraftRevision", "courses.CourseVersion")


def _version(ctx: Context) -> int:
    from records.services import current_version

    return current_version(ctx["open"]).pk


def _person_form(ctx: Context) -> dict[str, Any]:
    e = ctx["employee"]
    return {
        "email": e.email,
        "full_name": e.full_name,
        "workforce_role": e.workforce_role_id,
        "department": e.department_id or "",
        "manager": e.manager_id or "",
        "hire_date": "",
        "access_expires_on": "",
    }


DASHBOARD_FILTERS = ("department", "role", "module", "as_of")
EXPORT_FILTERS = ("start", "end", "as_of")
PERSON = ("records.Completion", "records.AttestationSignature", "records.QuizAttempt", "records.LessonView")

TARGETS: list[Target] = [
    # --- public and sign-in
    Target("records:verify", "anonymous", "get", lambda c: _url("records:verify", c["code"]), ("code",), in_path=True),
    Target(
        "account_login",
        "anonymous",
        "post",
        lambda c: _url("account_login"),
        ("login", "password"),
        lambda c: {"login": c["employee"].email, "password": "wrong password here"},
        watch=("roles.User",),
    ),
    # --- the learner
    Target(
        "records:certificate_download",
        "employee",
        "get",
        lambda c: _url("records:certificate_download", c["code"]),
        ("code",),
        in_path=True,
    ),
    Target(
        "records:lesson",
        "employee",
        "post",
        lambda c: _url("records:lesson", c["open"].pk, 1),
        ("version",),
        lambda c: {"version": _version(c)},
        watch=PERSON,
    ),
    Target(
        "records:check",
        "employee",
        "post",
        lambda c: _url("records:check", c["open"].pk),
        ("version", "order", "q1", "q999999"),
        lambda c: {"version": _version(c), "order": ""},
        watch=PERSON,
    ),
    Target(
        "records:attest",
        "employee",
        "post",
        lambda c: _url("records:attest", c["open"].pk),
        ("version", "typed_name", "agreed"),
        lambda c: {"version": _version(c), "typed_name": c["employee"].full_name, "agreed": "on"},
        watch=PERSON,
    ),
    Target(
        "roles:bulletin_ack",
        "employee",
        "post",
        lambda c: _url("roles:bulletin_ack", c["bulletin"].pk),
        ("next",),
        watch=("roles.BulletinAcknowledgement",),
    ),
    Target(
        "records:policy_read",
        "employee",
        "post",
        lambda c: _url("records:policy_read", c["policy_assignment"].pk),
        ("version", "typed_name"),
        lambda c: {"version": c["policy_version"].pk, "typed_name": c["employee"].full_name},
        watch=("records.PolicyAcknowledgement", "roles.PolicyAssignment"),
    ),
    # --- managers, officers, auditors
    Target("records:team", "manager", "get", lambda c: _url("records:team"), DASHBOARD_FILTERS),
    Target("records:dashboard", "compliance_officer", "get", lambda c: _url("records:dashboard"), DASHBOARD_FILTERS),
    Target(
        "records:dashboard_overdue",
        "compliance_officer",
        "get",
        lambda c: _url("records:dashboard_overdue"),
        DASHBOARD_FILTERS,
    ),
    Target(
        "records:dashboard_due_soon",
        "compliance_officer",
        "get",
        lambda c: _url("records:dashboard_due_soon"),
        DASHBOARD_FILTERS,
    ),
    Target(
        "roles:people",
        "compliance_officer",
        "get",
        lambda c: _url("roles:people"),
        ("q", "role", "department", "manager", "status", "training", "page"),
    ),
    Target(
        "roles:people_bulk",
        "compliance_officer",
        "post",
        lambda c: _url("roles:people_bulk"),
        ("action", "person", "course", "due_on", "reason", "filters"),
        lambda c: {
            "action": "assign",
            "person": str(c["employee"].pk),
            "course": str(_course_id("leadership-oversight")),
            "due_on": _days_ahead(30),
            "reason": "Hostile input check",
            "filters": "",
        },
        watch=("roles.Assignment", "roles.Delivery"),
    ),
    Target(
        "roles:department_edit",
        "compliance_officer",
        "post",
        lambda c: _url("roles:department_edit", _department_id()),
        ("requirement", "course", "due_within_days", "recurrence_months", "plan"),
        lambda c: {
            "requirement": "set",
            "course": str(_course_id("patient-communication")),
            "due_within_days": "90",
            "recurrence_months": "24",
        },
        watch=("roles.DepartmentRequirement", "roles.Assignment"),
    ),
    Target(
        "roles:role_new",
        "compliance_officer",
        "post",
        lambda c: _url("roles:role_new"),
        ("name", "description"),
        lambda c: {"name": "Hostile role", "description": "", "handles_phi": "on"},
        watch=("roles.WorkforceRole",),
    ),
    Target(
        "roles:departments",
        "compliance_officer",
        "post",
        lambda c: _url("roles:departments"),
        ("name",),
        lambda c: {"name": "Hostile department"},
        watch=("roles.Department",),
    ),
    Target(
        "roles:clients",
        "compliance_officer",
        "post",
        lambda c: _url("roles:clients"),
        ("name", "baa_effective_on", "due_within_days", "notes"),
        lambda c: {"name": "Hostile clinic", "baa_effective_on": "2024-01-01", "due_within_days": "", "notes": ""},
        watch=("roles.Client",),
    ),
    Target(
        "roles:client",
        "compliance_officer",
        "post",
        lambda c: _url("roles:client", _client_id()),
        ("name", "baa_effective_on", "due_within_days", "notes"),
        lambda c: {"name": "Hostile clinic 2", "baa_effective_on": "2024-01-01", "due_within_days": "", "notes": ""},
        watch=("roles.Client",),
    ),
    Target(
        "roles:client_requirement",
        "compliance_officer",
        "post",
        lambda c: _url("roles:client_requirement", _client_id()),
        ("course", "recurrence_months"),
        lambda c: {"course": str(_course_id("leadership-oversight")), "recurrence_months": "12"},
        watch=("roles.ClientRequirement", "roles.Assignment"),
    ),
    Target(
        "roles:client_scope",
        "compliance_officer",
        "post",
        lambda c: _url("roles:client_scope", _client_id()),
        ("action", "department", "workforce_role", "person", "valid_from", "reason"),
        lambda c: {"action": "add", "person": str(c["employee"].pk), "valid_from": "", "reason": "Hostile input"},
        watch=("roles.ClientScope", "roles.Assignment"),
    ),
    Target(
        "roles:client_auditors",
        "compliance_officer",
        "post",
        lambda c: _url("roles:client_auditors", _client_id()),
        ("email", "full_name", "access_expires_on"),
        lambda c: {
            "email": "hostile@client.test",
            "full_name": "Hostile Auditor",
            "access_expires_on": _days_ahead(30),
        },
        watch=("roles.User", "roles.ClientAuditor"),
    ),
    Target(
        "records:client_pack",
        "compliance_officer",
        "post",
        lambda c: _url("records:client_pack", _client_id()),
        ("start", "end"),
        lambda c: {"start": "", "end": ""},
        watch=("records.ReportJob",),
    ),
    Target(
        "roles:settings_organization",
        "compliance_officer",
        "post",
        lambda c: _url("roles:settings_organization"),
        ("name",),
        lambda c: {"name": "Hostile Billing, Inc."},
        watch=("roles.Organization",),
    ),
    Target(
        "roles:settings_sso",
        "compliance_officer",
        "post",
        lambda c: _url("roles:settings_sso"),
        ("claim_value", "provider_id", "workforce_role", "department", "access_group"),
        lambda c: {"claim_value": "hostile-staff", "access_group": "employee"},
        watch=("roles.SSOClaimMapping",),
    ),
    Target(
        "roles:person_new",
        "compliance_officer",
        "post",
        lambda c: _url("roles:person_new"),
        ("full_name", "email", "workforce_role", "department", "manager", "hire_date"),
        lambda c: {
            "full_name": "New Hire",
            "email": "new.hire@example.test",
            "workforce_role": c["employee"].workforce_role_id,
        },
        watch=("roles.User", "roles.Assignment"),
    ),
    # --- the course editor (records/views/course_editor.py)
    Target(
        "records:course_draft",
        "compliance_officer",
        "post",
        lambda c: _url("records:course_draft", _draft().pk),
        ("revision", "title", "summary", "regulation", "estimated_minutes", "pass_mark", "attestation"),
        _overview,
        watch=DRAFT,
    ),
    Target(
        "records:course_lesson",
        "compliance_officer",
        "post",
        lambda c: _url("records:course_lesson", _draft().pk, 1),
        ("revision", "title", "body", "action"),
        lambda c: {"revision": _draft().revision, "title": "A lesson", "body": "Some *text*."},
        watch=DRAFT,
    ),
    Target(
        "records:course_lesson_change",
        "compliance_officer",
        "post",
        lambda c: _url("records:course_lesson_change", _draft().pk, 2),
        ("revision", "action"),
        lambda c: {"revision": _draft().revision, "action": "up"},
        watch=DRAFT,
    ),
    Target(
        "records:course_question",
        "compliance_officer",
        "post",
        lambda c: _url("records:course_question", _draft().pk, 1),
        (
            "revision",
            "prompt",
            "kind",
            "explanation",
            "choice_1_text",
            "choice_1_correct",
            "choice_2_why",
            "choice_6_text",
        ),
        _question_form,
        watch=DRAFT,
    ),
    Target(
        "records:course_question_change",
        "compliance_officer",
        "post",
        lambda c: _url("records:course_question_change", _draft().pk, 2),
        ("revision", "action"),
        lambda c: {"revision": _draft().revision, "action": "down"},
        watch=DRAFT,
    ),
    Target(
        "records:course_publish",
        "compliance_officer",
        "post",
        lambda c: _url("records:course_publish", _draft().pk),
        ("revision", "change_note", "material", "confirmed"),
        lambda c: {"revision": -1, "change_note": "Hostile input check.", "material": "no"},
        watch=DRAFT,
    ),
    Target(  # a stale revision with the confirmation, or the right one without it: the draft stays open
        "records:course_discard",
        "compliance_officer",
        "post",
        lambda c: _url("records:course_discard", _draft().pk),
        ("revision", "confirmed"),
        lambda c: {"revision": -1, "confirmed": "yes"},
        watch=DRAFT,
    ),
    Target(
        "records:course_draft_new",
        "compliance_officer",
        "post",
        lambda c: _url("records:course_draft_new"),
        ("slug", "title"),
        lambda c: {"slug": "hostile-course", "title": "Hostile course"},
        watch=DRAFT,
    ),
    Target(
        "records:course_upload",
        "compliance_officer",
        "post",
        lambda c: _url("records:course_upload"),
        ("file",),
        watch=DRAFT,
    ),
    Target(
        "records:course_markdown_preview",
        "compliance_officer",
        "post",
        lambda c: _url("records:course_markdown_preview"),
        ("body",),
    ),
    Target(
        "records:course_preview_check",
        "auditor",
        "get",
        lambda c: _url("records:course_preview_check", _draft().pk),
        ("q1",),
    ),
    Target("records:audit", "auditor", "get", lambda c: _url("records:audit"), EXPORT_FILTERS),
    Target(
        "records:should_vs_was",
        "compliance_officer",
        "get",
        lambda c: _url("records:should_vs_was", c["employee"].pk),
        ("start", "end"),
    ),
    Target(
        "records:should_vs_was_csv",
        "auditor",
        "get",
        lambda c: _url("records:should_vs_was_csv", c["employee"].pk),
        ("start", "end"),
    ),
    Target(
        "records:audit_export", "auditor", "get", lambda c: _url("records:audit_export", "training"), EXPORT_FILTERS
    ),
    Target(
        "records:audit_request",
        "auditor",
        "post",
        lambda c: _url("records:audit_request"),
        ("kind", *EXPORT_FILTERS),
        lambda c: {"kind": "report"},
        watch=("records.ReportJob",),
    ),
    Target(
        "roles:reminder_policy",
        "compliance_officer",
        "post",
        lambda c: _url("roles:reminder_policy"),
        ("before_due_days", "overdue_every_days", "manager_after_days", "officer_after_days"),
        lambda c: {"before_due_days": 7, "overdue_every_days": 7, "manager_after_days": 7, "officer_after_days": 14},
        watch=("roles.ReminderPolicy",),
    ),
    Target(
        "roles:nudge",
        "compliance_officer",
        "post",
        lambda c: _url("roles:nudge", c["employee"].pk, c["open"].pk),
        ("next",),
        watch=("roles.Delivery",),
    ),
    Target(
        "roles:bulletin_new",
        "compliance_officer",
        "post",
        lambda c: _url("roles:bulletin_new"),
        ("title", "body", "audience", "roles", "send_at"),
        lambda c: {"title": "Phishing", "body": "Check the sender.", "audience": "everyone", "send_at": c["now"]},
        watch=("roles.Bulletin",),
    ),
    Target(
        "records:policy_new",
        "compliance_officer",
        "post",
        lambda c: _url("records:policy_new"),
        ("title", "owner", "audience", "roles"),
        lambda c: {"title": "Clean desk", "owner": "Privacy officer", "audience": "everyone"},
        watch=("courses.Policy", "roles.PolicyAudience"),
    ),
    Target(
        "records:policy_publish",
        "compliance_officer",
        "post",
        lambda c: _url("records:policy_publish", c["policy_version"].policy_id),
        ("body_markdown", "effective_on", "review_on", "ack_within_days", "change_note", "material", "pdf"),
        lambda c: {
            "body_markdown": "Use company systems for company work.",
            "effective_on": _days_ahead(0),
            "review_on": _days_ahead(365),
            "ack_within_days": 30,
            "change_note": "Reworded.",
            "material": "no",
        },
        watch=("courses.PolicyVersion", "roles.PolicyAssignment"),
    ),
    Target(  # the one field is the confirmation: never "yes" here, so the policy is only asked about, never retired
        "records:policy_retire",
        "compliance_officer",
        "post",
        lambda c: _url("records:policy_retire", c["policy_version"].policy_id),
        ("confirmed",),
        lambda c: {"confirmed": "yes"},
        watch=("courses.Policy", "roles.PolicyAssignment"),
    ),
    Target(
        "records:policy_audience",
        "compliance_officer",
        "post",
        lambda c: _url("records:policy_audience", c["policy_version"].policy_id),
        ("audience", "roles"),
        lambda c: {"audience": "roles", "roles": [c["employee"].workforce_role_id]},
        watch=("roles.PolicyAudience", "roles.PolicyAssignment"),
    ),
    Target(
        "roles:import",
        "compliance_officer",
        "post",
        lambda c: _url("roles:import"),
        ("file",),
        watch=("roles.WorkforceImport", "roles.User"),
    ),
    Target(
        "roles:import_apply",
        "compliance_officer",
        "post",
        lambda c: _url("roles:import_apply"),
        ("upload", "plan"),
        lambda c: {"upload": 1, "plan": "0" * 64},
        watch=("roles.User",),
    ),
    # --- the admin (administrators)
    Target(
        "admin:roles_user_changelist",
        "administrator",
        "get",
        lambda c: _url("admin:roles_user_changelist"),
        ("q", "o", "p", "is_active__exact", "workforce_role__id__exact", "department__id__exact"),
    ),
    Target(
        "admin:roles_assignment_changelist",
        "administrator",
        "get",
        lambda c: _url("admin:roles_assignment_changelist"),
        ("due_on__year", "due_on__month", "due_on__day", "due_on__gte", "q"),
    ),
    Target(
        "admin:hipaa_training_auditevent_changelist",
        "administrator",
        "get",
        lambda c: _url("admin:hipaa_training_auditevent_changelist"),
        ("at__year", "at__month", "at__gte", "action", "q"),
    ),
    Target(
        "admin:roles_delivery_changelist",
        "administrator",
        "get",
        lambda c: _url("admin:roles_delivery_changelist"),
        ("sent_at__gte", "sent_at__lt", "kind__exact"),
    ),
    Target(
        "admin:roles_user_change",
        "administrator",
        "post",
        lambda c: _url("admin:roles_user_change", c["employee"].pk),
        ("email", "full_name", "workforce_role", "department", "manager", "hire_date", "access_expires_on"),
        _person_form,
        watch=("roles.User", "roles.Assignment"),
    ),
    Target(
        "admin:roles_user_add",
        "administrator",
        "post",
        lambda c: _url("admin:roles_user_add"),
        ("email", "full_name", "workforce_role", "manager", "hire_date", "access_expires_on"),
        lambda c: {**_person_form(c), "email": "new.person@example.test", "full_name": "New Person"},
        watch=("roles.User", "roles.Assignment"),
    ),
    Target(
        "admin:roles_user_changelist",
        "administrator",
        "post",
        lambda c: _url("admin:roles_user_changelist"),
        ("action", "_selected_action", "index"),
        lambda c: {"action": "deactivate", "_selected_action": [c["outsider"].pk], "index": 0},
        watch=("roles.User", "roles.Assignment"),
    ),
]

# Product URLs with no parameter a person types (their ids are covered by the IDOR tests), or covered above
# under another name.
NO_INPUT = {
    "home",
    "healthz",
    "records:training",
    "records:overview",
    "records:attempt",
    "records:done",
    "records:certificates",
    "records:transcript",
    "records:audit_download",
    "records:policies",
    "records:policy_detail",
    "records:policy_version",
    "records:policy_pdf",
    "roles:bulletin_list",
    "roles:bulletin_report",
    # the course editor's read pages: ids only (drafts and versions are not a person's objects)
    "records:course_list",
    "records:course_draft_history",
    "records:course_preview",
    "records:course_preview_lesson",
    "records:course_version",
    "records:course_version_download",
    "roles:bulletin",
    # The officer's actions on one person: a date and a fingerprint, whose bad values (dates out of range,
    # stale fingerprints, leavers) are tested one by one in tests/roles/test_people.py.
    "roles:person_added",
    "roles:person_manage",
    "roles:person_leave",
    "roles:person_reactivate",
    "roles:person_invite",
    "roles:person_sessions_end",
    "roles:sso_setup",
    # The roles grid posts one cell per role and module: its bad values (days, months, stale versions, retired
    # courses, two officers at once) are tested in tests/roles/test_roles_grid.py; renames and retirements, and the
    # sign-in policy's check boxes, in tests/roles/test_roles_departments.py and test_settings_page.py.
    "roles:grid",
    "roles:grid_apply",
    "roles:role_edit",
    "roles:role_retire",
    "roles:department_retire",
    "roles:settings",
    "roles:settings_sign_in",
    "roles:organization_logo",
    # One SSO mapping's edit and removal: the same fields as its add form (a TARGET above), plus a fingerprint;
    # their bad values and stale fingerprints are tested in tests/sso/test_sso_mapping_page.py.
    "roles:settings_sso_edit",
    "roles:settings_sso_delete",
    # A client's actions on one of its rows: ids only (other clients' rows are 404: tests/roles/test_clients_pages.py).
    "roles:client_requirement_remove",
    "roles:client_retire",
    "roles:client_auditor_revoke",
    "records:audit_client_pack",  # the same view and form as records:client_pack (a TARGET above)
}
