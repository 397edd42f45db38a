"""Privacy rules in the company-scoped admin (OWNER, ADMIN); every write goes through the
activity services, so a rule saved here bumps the rules version like one saved by the API."""

from __future__ import annotations

from django.contrib import admin

from activity import services
from activity.models import PrivacyRule
from organizations import permissions
from organizations.admin_mixins import CompanyScopedAdminMixin, adopt_saved


@admin.register(PrivacyRule)
class PrivacyRuleAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    """What the trackers' heartbeats may store: drop or redact by a pattern (OWNER, ADMIN)."""

    manage_permission = permissions.can_manage_privacy_rules
    list_display = ("field", "pattern", "action", "updated_at")
    list_filter = ("field", "action")
    search_fields = ("pattern",)
    fields = ("company", "field", "pattern", "action")

    def save_model(self, request, obj: PrivacyRule, form, change: bool) -> None:
        data = {"field": obj.field, "pattern": obj.pattern, "action": obj.action}
        if change:
            services.privacy_rule_update(rule=obj, data=data, actor=request.user)
        else:
            self.assign_company(request, obj)  # hidden from an admin of one company
            adopt_saved(obj, services.privacy_rule_create(company=obj.company, actor=request.user, **data))

    def delete_model(self, request, obj: PrivacyRule) -> None:
        services.privacy_rule_delete(rule=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for rule in queryset:
            services.privacy_rule_delete(rule=rule, actor=request.user)
