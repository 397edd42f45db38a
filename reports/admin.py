"""Exports in the company-scoped admin: OWNER and ADMIN see their company's (who asked, what,
status), and may delete one, which removes its file. New exports are asked for in the API."""

from __future__ import annotations

from django.contrib import admin
from django.core.files.storage import default_storage

from organizations import permissions
from organizations.admin_mixins import CompanyScopedAdminMixin
from reports.models import ReportExport


@admin.register(ReportExport)
class ReportExportAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    manage_permission = permissions.can_see_others_exports
    list_display = ("report", "format", "requested_by", "status", "rows", "created_at", "expires_at")
    list_filter = ("report", "format", "status")
    list_select_related = ("requested_by",)
    readonly_fields = (
        "requested_by", "report", "format", "params", "status", "attempts", "error", "file_key", "size_bytes",
        "rows", "finished_at", "expires_at", "created_at",
    )  # fmt: skip
    exclude = ("company",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # read-only; deleting is allowed

    def delete_model(self, request, obj: ReportExport) -> None:
        if obj.file_key:
            default_storage.delete(obj.file_key)
        obj.delete()

    def delete_queryset(self, request, queryset) -> None:
        for export in queryset:
            self.delete_model(request, export)
