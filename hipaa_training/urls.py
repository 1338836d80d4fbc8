from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from records.views.training import home

from . import views

admin.site.site_header = "HIPAA training administration"
admin.site.site_title = "HIPAA training"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("records.urls")),
    path("", include("roles.urls")),
]
