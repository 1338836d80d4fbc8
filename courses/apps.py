from __future__ import annotations

from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = "Course catalogue"
    default_auto_field = "django.db.models.BigAutoField"
