"""Screenshots in the company-scoped admin: OWNER and ADMIN see their company's, with the
thumbnail (through a signed link, as the API gives it), and may delete one, files and all."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from organizations import permissions
from organizations.admin_mixins import CompanyScopedAdminMixin
from screenshots import services
from screenshots.api.serializers import ScreenshotLinksSerializer
from screenshots.models import Screenshot


@admin.register(Screenshot)
class ScreenshotAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    manage_permission = permissions.can_manage_members  # OWNER and ADMIN
    list_display = ("thumbnail", "user", "captured_at", "status", "blur_level", "width", "height")
    list_filter = ("status", "blur_level")
    list_select_related = ("user",)
    date_hierarchy = "captured_at"
    readonly_fields = (
        "thumbnail", "user", "time_entry", "captured_at", "blur_level", "status", "attempts", "error", "width",
        "height", "bytes", "sha256", "metadata", "processed_at",
    )  # fmt: skip
    exclude = ("company", "original_key", "image_key", "thumbnail_key")

    @admin.display(description="Thumbnail")
    def thumbnail(self, screenshot: Screenshot) -> str:
        url = ScreenshotLinksSerializer(screenshot).get_thumbnail_url(screenshot)
        return format_html('<img src="{}" width="160" alt="">', url) if url else "—"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # read-only; deleting is allowed

    def delete_model(self, request, obj: Screenshot) -> None:
        services.screenshot_delete(screenshot=obj)

    def delete_queryset(self, request, queryset) -> None:
        for screenshot in queryset:
            services.screenshot_delete(screenshot=screenshot)
