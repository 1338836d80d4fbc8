from __future__ import annotations

from django.urls import path

from .views import bulletins, imports, reminders

app_name = "roles"

urlpatterns = [
    path("dashboard/reminders/", reminders.policy, name="reminder_policy"),
    path(
        "dashboard/people/<int:person_id>/nudge/<int:assignment_id>/",
        reminders.nudge,
        name="nudge",
    ),
    path("dashboard/bulletins/", bulletins.bulletin_list, name="bulletin_list"),
    path("dashboard/bulletins/new/", bulletins.bulletin_new, name="bulletin_new"),
    path("dashboard/bulletins/<int:bulletin_id>/", bulletins.bulletin_report, name="bulletin_report"),
    path("bulletins/<int:bulletin_id>/", bulletins.bulletin, name="bulletin"),
    path("bulletins/<int:bulletin_id>/acknowledge/", bulletins.bulletin_ack, name="bulletin_ack"),
    path("dashboard/import/", imports.import_upload, name="import"),
    path("dashboard/import/apply/", imports.import_apply, name="import_apply"),
]
