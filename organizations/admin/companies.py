"""Companies: settings for team admins; created by signing up, deleted by superusers only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from organizations import permissions, plans, services
from organizations.admin_mixins import CompanyScopedAdminMixin
from organizations.admin_site import admin_membership_in
from organizations.models import Company, SubscriptionStatus


def _change_plan_action(plan: str):
    """The admin action "Change plan to <plan>" (one per plan): company_change_plan for each
    selected company the caller may change the billing of (superusers, OWNERs)."""

    def change_plan(modeladmin: CompanyAdmin, request, queryset) -> None:
        done = 0
        for company in queryset:
            membership = admin_membership_in(request, company.pk)
            if not request.user.is_superuser and (membership is None or not permissions.can_change_billing(membership)):
                modeladmin.message_user(request, f"{company.name}: only an OWNER changes the plan.", messages.ERROR)
                continue
            if company.subscription_status != plan:
                services.company_change_plan(company=company, plan=plan, actor=request.user)
                done += 1
        if done:
            moved = f"{done} {'company' if done == 1 else 'companies'}"
            modeladmin.message_user(request, f"Moved {moved} to {plan}.", messages.SUCCESS)

    change_plan.__name__ = f"change_plan_to_{plan.lower()}"
    return admin.action(description=f"Change plan to {plan}", permissions=["change"])(change_plan)


@admin.register(Company)
class CompanyAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    company_field = "id"
    manage_permission = permissions.can_change_company_settings
    list_display = ("name", "slug", "subscription_status", "timezone", "screenshots_enabled", "idle_timeout_seconds")
    actions = [_change_plan_action(plan) for plan in SubscriptionStatus.values]
    list_filter = ("subscription_status", "screenshots_enabled")
    search_fields = ("name", "slug")
    fieldsets = (
        (None, {"fields": ("name", "slug", "timezone", "subscription_status", "plan_limits")}),
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

    @admin.display(description="plan limits (used / allowed)")
    def plan_limits(self, obj: Company) -> str:
        if obj._state.adding:  # a superuser's new company: nothing to count yet
            return "-"
        limits = plans.limits_for(obj)
        rows = []
        for name in plans.COUNTED:
            allowed = getattr(limits, name)
            used = plans.usage(obj, name)
            shown = "not counted yet" if used is None else str(used)
            rows.append((plans.LABELS[name], f"{shown} / {'unlimited' if allowed is None else allowed}"))
        rows.append((plans.LABELS[plans.SCREENSHOTS], "included" if limits.screenshots else "not included"))
        days = limits.retention_days
        rows.append((plans.LABELS[plans.RETENTION_DAYS], "forever" if days is None else f"{days} days"))
        return format_html(
            "<strong>{}</strong><ul>{}</ul>",
            obj.subscription_status,
            format_html_join("", "<li>{}: {}</li>", rows),
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), "plan_limits"]
        if not request.user.is_superuser:
            membership = admin_membership_in(request, obj.pk) if obj is not None else None
            if membership is None or not permissions.can_change_billing(membership):
                readonly.append("subscription_status")
        return readonly

    # Deleting goes through the service: it lifts the locked-period check for the cascade.
    def delete_model(self, request, obj: Company) -> None:
        services.company_delete(company=obj)

    def delete_queryset(self, request, queryset) -> None:
        for company in queryset:
            services.company_delete(company=company)

    def save_model(self, request, obj, form, change: bool) -> None:
        if change:
            services.company_update(
                company=obj, changes={f: getattr(obj, f) for f in form.changed_data}, actor=request.user
            )
        else:
            # Superusers only. services.company_create would make the superuser its OWNER;
            # the company's people join through invitations instead.
            super().save_model(request, obj, form, change)
