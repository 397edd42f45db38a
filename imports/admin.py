"""Imports in the company-scoped admin: OWNER and ADMIN see their company's (who, which
source, status, progress, summary), read-only. New imports come through the API or
``manage.py import_data``."""

from __future__ import annotations

from django.contrib import admin

from imports.models import ImportJob
from organizations import permissions
from organizations.admin_mixins import CompanyScopedAdminMixin


@admin.register(ImportJob)
class ImportJobAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    manage_permission = permissions.can_see_others_imports
    list_display = ("source", "file_name", "dry_run", "requested_by", "status", "progress_done", "created_at")
    list_filter = ("source", "dry_run", "status")
    list_select_related = ("requested_by",)
    readonly_fields = (
        "requested_by", "source", "file_name", "size_bytes", "dry_run", "timezone", "date_format", "status",
        "attempts", "error", "progress_done", "progress_total", "summary", "created_at", "started_at",
        "finished_at",
    )  # fmt: skip
    exclude = ("company", "file_key", "committed_row")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
