from __future__ import annotations

from django.urls import path

from .oidc import setup_views as sso_setup_views
from .views import bulletins, clients, imports, people, reminders, sso_mapping, workforce_roles
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
    # people; /dashboard/people/<id>/ itself is the person's transcript (records:transcript)
    path("dashboard/people/", people.people_list, name="people"),
    path("dashboard/people/new/", people.person_new, name="person_new"),
    path("dashboard/people/bulk/", people.people_bulk, name="people_bulk"),
    path("dashboard/people/<int:person_id>/added/", people.person_added, name="person_added"),
    path("dashboard/people/<int:person_id>/manage/", people.person_manage, name="person_manage"),
    path("dashboard/people/<int:person_id>/leave/", people.person_leave, name="person_leave"),
    path("dashboard/people/<int:person_id>/reactivate/", people.person_reactivate, name="person_reactivate"),
    path("dashboard/people/<int:person_id>/invite/", people.person_invite, name="person_invite"),
    path("dashboard/people/<int:person_id>/sessions/end/", people.person_sessions_end, name="person_sessions_end"),
    path("dashboard/import/apply/", imports.import_apply, name="import_apply"),
    path("accounts/sso/", sso_setup_views.sso_setup, name="sso_setup"),
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
    path("dashboard/clients/", clients.client_list, name="clients"),
    path("dashboard/clients/<int:client_id>/", clients.client_detail, name="client"),
    path("dashboard/clients/<int:client_id>/requirements/", clients.client_requirement, name="client_requirement"),
    path(
        "dashboard/clients/<int:client_id>/requirements/<int:requirement_id>/remove/",
        clients.client_requirement_remove_view,
        name="client_requirement_remove",
    ),
    path("dashboard/clients/<int:client_id>/scope/", clients.client_scope, name="client_scope"),
    path("dashboard/clients/<int:client_id>/retire/", clients.client_retire_view, name="client_retire"),
    path("dashboard/clients/<int:client_id>/auditors/", clients.client_auditors, name="client_auditors"),
    path(
        "dashboard/clients/<int:client_id>/auditors/<int:binding_id>/revoke/",
        clients.client_auditor_revoke_view,
        name="client_auditor_revoke",
    ),
    path("dashboard/settings/", settings_views.settings_page, name="settings"),
    path("dashboard/settings/sign-in/", settings_views.sign_in_policy, name="settings_sign_in"),
    path("dashboard/settings/organization/", settings_views.organization, name="settings_organization"),
    path("dashboard/settings/sso/", sso_mapping.mapping_list, name="settings_sso"),
    path("dashboard/settings/sso/<int:mapping_id>/", sso_mapping.mapping_edit, name="settings_sso_edit"),
    path("dashboard/settings/sso/<int:mapping_id>/remove/", sso_mapping.mapping_delete, name="settings_sso_delete"),
    path("dashboard/settings/logo/", settings_views.organization_logo, name="organization_logo"),
]
