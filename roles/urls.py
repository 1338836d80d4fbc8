from __future__ import annotations

from django.urls import path

from . import bulletin_views, import_views, reminder_views
from .oidc import setup_views as sso_setup_views

app_name = "roles"

urlpatterns = [
    path("dashboard/reminders/", reminder_views.policy, name="reminder_policy"),
    path(
        "dashboard/people/<int:person_id>/nudge/<int:assignment_id>/",
        reminder_views.nudge,
        name="nudge",
    ),
    path("dashboard/bulletins/", bulletin_views.bulletin_list, name="bulletin_list"),
    path("dashboard/bulletins/new/", bulletin_views.bulletin_new, name="bulletin_new"),
    path("dashboard/bulletins/<int:bulletin_id>/", bulletin_views.bulletin_report, name="bulletin_report"),
    path("bulletins/<int:bulletin_id>/", bulletin_views.bulletin, name="bulletin"),
    path("bulletins/<int:bulletin_id>/acknowledge/", bulletin_views.bulletin_ack, name="bulletin_ack"),
    path("dashboard/import/", import_views.import_upload, name="import"),
    path("dashboard/import/apply/", import_views.import_apply, name="import_apply"),
    path("accounts/sso/", sso_setup_views.sso_setup, name="sso_setup"),
]
