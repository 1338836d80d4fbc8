from __future__ import annotations

from django.urls import path

from .views import audit, certificates, client_pack, course_editor, dashboard, history, player, policies, training

app_name = "records"

urlpatterns = [
    path("training/", training.training, name="training"),
    path("training/<int:assignment_id>/", player.overview, name="overview"),
    path("training/<int:assignment_id>/lessons/<int:position>/", player.lesson, name="lesson"),
    path("training/<int:assignment_id>/check/", player.check, name="check"),
    path("training/<int:assignment_id>/check/attempts/<int:number>/", player.attempt, name="attempt"),
    path("training/<int:assignment_id>/attestation/", player.attest, name="attest"),
    path("training/<int:assignment_id>/done/", player.done, name="done"),
    path("certificates/", certificates.my_certificates, name="certificates"),
    path("certificates/<str:code>/download/", certificates.certificate_download, name="certificate_download"),
    path("verify/<str:code>/", certificates.verify, name="verify"),
    path("training/team/", dashboard.team, name="team"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/overdue/", dashboard.overdue, name="dashboard_overdue"),
    path("dashboard/due-soon/", dashboard.due_soon, name="dashboard_due_soon"),
    path("dashboard/people/<int:person_id>/", dashboard.person_transcript, name="transcript"),
    path("dashboard/people/<int:person_id>/should-vs-was/", history.person_should_vs_was, name="should_vs_was"),
    path(
        "dashboard/people/<int:person_id>/should-vs-was.csv", history.person_should_vs_was_csv, name="should_vs_was_csv"
    ),
    path("policies/<int:policy_assignment_id>/", policies.policy_read, name="policy_read"),
    path("policies/versions/<int:version_id>/document.pdf", policies.policy_pdf, name="policy_pdf"),
    path("dashboard/policies/", policies.policy_list, name="policies"),
    path("dashboard/policies/new/", policies.policy_new, name="policy_new"),
    path("dashboard/policies/<int:policy_id>/", policies.policy_detail, name="policy_detail"),
    path("dashboard/policies/<int:policy_id>/audience/", policies.policy_audience, name="policy_audience"),
    path("dashboard/policies/<int:policy_id>/publish/", policies.policy_publish, name="policy_publish"),
    path("dashboard/policies/<int:policy_id>/retire/", policies.policy_retire_view, name="policy_retire"),
    path("dashboard/policies/versions/<int:version_id>/", policies.policy_version, name="policy_version"),
    # the course editor (records/views/course_editor.py)
    path("dashboard/courses/", course_editor.course_list, name="course_list"),
    path("dashboard/courses/new/", course_editor.draft_new, name="course_draft_new"),
    path("dashboard/courses/upload/", course_editor.draft_upload, name="course_upload"),
    path("dashboard/courses/markdown-preview/", course_editor.markdown_preview, name="course_markdown_preview"),
    path("dashboard/courses/drafts/<int:draft_id>/", course_editor.draft_detail, name="course_draft"),
    path("dashboard/courses/drafts/<int:draft_id>/history/", course_editor.draft_history, name="course_draft_history"),
    path("dashboard/courses/drafts/<int:draft_id>/discard/", course_editor.draft_discard_view, name="course_discard"),
    path(
        "dashboard/courses/drafts/<int:draft_id>/lessons/<int:position>/",
        course_editor.lesson_edit,
        name="course_lesson",
    ),
    path(
        "dashboard/courses/drafts/<int:draft_id>/lessons/<int:position>/change/",
        course_editor.lesson_change,
        name="course_lesson_change",
    ),
    path(
        "dashboard/courses/drafts/<int:draft_id>/questions/<int:position>/",
        course_editor.question_edit,
        name="course_question",
    ),
    path(
        "dashboard/courses/drafts/<int:draft_id>/questions/<int:position>/change/",
        course_editor.question_change,
        name="course_question_change",
    ),
    path("dashboard/courses/drafts/<int:draft_id>/preview/", course_editor.preview_overview, name="course_preview"),
    path(
        "dashboard/courses/drafts/<int:draft_id>/preview/lessons/<int:position>/",
        course_editor.preview_lesson,
        name="course_preview_lesson",
    ),
    path(
        "dashboard/courses/drafts/<int:draft_id>/preview/check/",
        course_editor.preview_check,
        name="course_preview_check",
    ),
    path("dashboard/courses/drafts/<int:draft_id>/publish/", course_editor.draft_publish_view, name="course_publish"),
    path("dashboard/courses/versions/<int:version_id>/", course_editor.version_detail, name="course_version"),
    path(
        "dashboard/courses/versions/<int:version_id>/download/",
        course_editor.version_download,
        name="course_version_download",
    ),
    path("audit/", audit.audit_home, name="audit"),
    path("audit/clients/<int:client_id>/pack/", client_pack.client_pack, name="audit_client_pack"),
    path("dashboard/clients/<int:client_id>/pack/", client_pack.client_pack, name="client_pack"),
    path("audit/export/<slug:slug>.csv", audit.export_csv, name="audit_export"),
    path("audit/reports/", audit.request_report, name="audit_request"),
    path("audit/reports/<int:job_id>/download/", audit.download_report, name="audit_download"),
]
