from __future__ import annotations

from django.urls import path

from . import import_views

app_name = "roles"

urlpatterns = [
    path("dashboard/import/", import_views.import_upload, name="import"),
    path("dashboard/import/apply/", import_views.import_apply, name="import_apply"),
]
