"""The audit log in the Django admin: read only, for everyone. An OWNER or ADMIN sees their
companies' rows (``admin_mixins.scoped_company_ids``, as every scoped admin does), a superuser
all of them; nobody adds, changes or deletes one here (the database would refuse the last two
anyway: audit/migrations/0001).

Not ``CompanyScopedAdminMixin``: that one is for rows with a ``company`` foreign key, forms
and services; an audit row has a plain ``company_id`` (it outlives its company) and no form."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry
from organizations.admin_mixins import CalendarSafeChangeList, scoped_company_ids
from organizations.admin_site import admin_memberships

FIELDS = (
    "at", "action", "target_type", "target_id", "actor_name", "actor_email", "actor_id", "subject_user_id",
    "changes", "ip", "request_id", "company_id", "id",
)  # fmt: skip


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "action", "actor_email", "target_type", "target_id", "ip")
    list_filter = ("action", "target_type")  # values from the caller's own rows (get_queryset)
    search_fields = ("actor_email", "actor_name", "action", "target_id", "request_id")
    date_hierarchy = "at"
    fields = FIELDS
    readonly_fields = FIELDS
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over a log that only grows

    def get_changelist(self, request: HttpRequest, **kwargs):
        return CalendarSafeChangeList  # a date drill-down past the calendar is a bad filter, not a 500

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        company_ids = scoped_company_ids(request)
        return queryset if company_ids is None else queryset.filter(company_id__in=company_ids)

    def has_module_permission(self, request: HttpRequest) -> bool:
        if request.user.is_superuser:
            return super().has_module_permission(request)
        return bool(admin_memberships(request))

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        companies = admin_memberships(request)
        return bool(companies) and (obj is None or obj.company_id in companies)

    # Append-only: not even a superuser writes here (nor through any other path but services).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
