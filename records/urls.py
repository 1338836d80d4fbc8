from __future__ import annotations

from django.urls import path

from . import audit_views, dashboard, views

app_name = "records"

urlpatterns = [
    path("training/", views.training, name="training"),
    path("training/team/", dashboard.team, name="team"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/people/<int:person_id>/", dashboard.person_transcript, name="transcript"),
    path("audit/", audit_views.audit_home, name="audit"),
    path("audit/export/<slug:slug>.csv", audit_views.export_csv, name="audit_export"),
    path("audit/reports/", audit_views.request_report, name="audit_request"),
    path("audit/reports/<int:job_id>/download/", audit_views.download_report, name="audit_download"),
]
