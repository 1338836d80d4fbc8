from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from records.views.training import home
from roles.views.accounts import email_managed

from . import views

admin.site.site_header = "HIPAA training administration"
admin.site.site_title = "HIPAA training"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Before allauth's own: people do not manage their e-mail addresses (roles/identity.py).
    path("accounts/email/", email_managed, name="account_email"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("records.urls")),
    path("", include("roles.urls")),
]
