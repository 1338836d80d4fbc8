from __future__ import annotations

from django.urls import path

from .views import audit, certificates, client_pack, dashboard, history, player, policies, training

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
    path("dashboard/policies/versions/<int:version_id>/", policies.policy_version, name="policy_version"),
    path("audit/", audit.audit_home, name="audit"),
    path("audit/clients/<int:client_id>/pack/", client_pack.client_pack, name="audit_client_pack"),
    path("dashboard/clients/<int:client_id>/pack/", client_pack.client_pack, name="client_pack"),
    path("audit/export/<slug:slug>.csv", audit.export_csv, name="audit_export"),
    path("audit/reports/", audit.request_report, name="audit_request"),
    path("audit/reports/<int:job_id>/download/", audit.download_report, name="audit_download"),
]
