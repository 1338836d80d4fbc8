from __future__ import annotations

from django.urls import path

from .views import bulletins, imports, reminders, workforce_roles
from .views import settings as settings_views

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
    path("dashboard/roles/", workforce_roles.grid, name="grid"),
    path("dashboard/roles/apply/", workforce_roles.grid_apply, name="grid_apply"),
    path("dashboard/roles/new/", workforce_roles.role_new, name="role_new"),
    path("dashboard/roles/<int:role_id>/", workforce_roles.role_edit, name="role_edit"),
    path("dashboard/roles/<int:role_id>/retire/", workforce_roles.role_retire_view, name="role_retire"),
    path("dashboard/departments/", workforce_roles.departments, name="departments"),
    path("dashboard/departments/<int:department_id>/", workforce_roles.department_edit, name="department_edit"),
    path(
        "dashboard/departments/<int:department_id>/retire/",
        workforce_roles.department_retire_view,
        name="department_retire",
    ),
    path("dashboard/settings/", settings_views.settings_page, name="settings"),
    path("dashboard/settings/sign-in/", settings_views.sign_in_policy, name="settings_sign_in"),
    path("dashboard/settings/organization/", settings_views.organization, name="settings_organization"),
    path("dashboard/settings/logo/", settings_views.organization_logo, name="organization_logo"),
]
