from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from hipaa_training.admin_utils import ReadOnlyAdmin

from .models import Course, CourseVersion, Lesson, Question


class LessonInline(admin.TabularInline):
    model = Lesson
    fields = ["position", "title"]
    readonly_fields = ["position", "title"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "created_at", "retired_at"]
    readonly_fields = ["slug", "created_at"]
    search_fields = ["title", "slug"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # courses are published from the catalogue files (manage.py load_catalog)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CourseVersion)
class CourseVersionAdmin(ReadOnlyAdmin):
    list_display = ["title", "number", "published_at", "material", "regulation", "pass_mark"]
    list_filter = ["course", "material"]
    inlines = [LessonInline]


@admin.register(Lesson)
class LessonAdmin(ReadOnlyAdmin):
    list_display = ["title", "version", "position"]
    list_filter = ["version__course"]


@admin.register(Question)
class QuestionAdmin(ReadOnlyAdmin):
    list_display = ["prompt", "version", "position", "kind"]
    list_filter = ["version__course"]
