"""Companies: settings for team admins; created by signing up, deleted by superusers only."""

from __future__ import annotations

from django.contrib import admin

from organizations import permissions, services
from organizations.admin_mixins import CompanyScopedAdminMixin
from organizations.admin_site import admin_membership_in
from organizations.models import Company


@admin.register(Company)
class CompanyAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    company_field = "id"
    manage_permission = permissions.can_change_company_settings
    list_display = ("name", "slug", "subscription_status", "timezone", "screenshots_enabled", "idle_timeout_seconds")
    list_filter = ("subscription_status", "screenshots_enabled")
    search_fields = ("name", "slug")
    fieldsets = (
        (None, {"fields": ("name", "slug", "timezone", "subscription_status")}),
        (
            "Screenshots, idle and coding time",
            {
                "fields": (
                    "screenshots_enabled",
                    "screenshot_interval_seconds",
                    "screenshot_blur_level",
                    "idle_timeout_seconds",
                    "coding_timeout_seconds",
                )
            },
        ),
    )

    def has_add_permission(self, request) -> bool:
        # Companies are created by signing up (the API makes the creator OWNER).
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            membership = admin_membership_in(request, obj.pk) if obj is not None else None
            if membership is None or not permissions.can_change_billing(membership):
                readonly.append("subscription_status")
        return readonly

    def save_model(self, request, obj, form, change: bool) -> None:
        if change:
            services.company_update(
                company=obj, changes={f: getattr(obj, f) for f in form.changed_data}, actor=request.user
            )
        else:
            # Superusers only. services.company_create would make the superuser its OWNER;
            # the company's people join through invitations instead.
            super().save_model(request, obj, form, change)
