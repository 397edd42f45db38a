"""The audit log and webhooks in the Django admin. The audit log: read only, for everyone. An OWNER or ADMIN sees their
companies' rows (``admin_mixins.scoped_company_ids``, as every scoped admin does), a superuser
all of them; nobody adds, changes or deletes one here (the database would refuse the last two
anyway: audit/migrations/0001).

Not ``CompanyScopedAdminMixin``: that one is for rows with a ``company`` foreign key, forms
and services; an audit row has a plain ``company_id`` (it outlives its company) and no form."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest

from audit.models import AuditEntry
from integrations import services
from integrations.models import WebhookDelivery, WebhookEndpoint
from organizations import permissions
from organizations.admin_mixins import CalendarSafeChangeList, CompanyScopedAdminMixin, adopt_saved, scoped_company_ids
from organizations.admin_site import admin_memberships

FIELDS = (
    "at", "action", "target_type", "target_id", "actor_name", "actor_email", "actor_id", "subject_user_id",
    "changes", "ip", "request_id", "company_id", "id",
)  # fmt: skip


class _ReadOnlyCompanyLog(admin.ModelAdmin):
    """A log an admin reads and nobody writes (not even a superuser: only services append),
    scoped to the companies ``admitted`` lets the caller read; ``company_path`` leads to them."""

    company_path = "company_id"
    show_full_result_count = False  # no COUNT(*) over a log that only grows

    def admitted(self, request: HttpRequest) -> list:
        return list(admin_memberships(request))

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        if scoped_company_ids(request) is None:
            return queryset
        return queryset.filter(**{f"{self.company_path}__in": self.admitted(request)})

    def has_module_permission(self, request: HttpRequest) -> bool:
        if request.user.is_superuser:
            return super().has_module_permission(request)
        return bool(admin_memberships(request))

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return bool(admin_memberships(request)) and (obj is None or self._company_of(obj) in self.admitted(request))

    def _company_of(self, obj):
        for name in self.company_path.split("__"):
            obj = getattr(obj, name)
        return obj

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(_ReadOnlyCompanyLog):
    list_display = ("at", "action", "actor_email", "target_type", "target_id", "ip")
    list_filter = ("action", "target_type")  # values from the caller's own rows (get_queryset)
    search_fields = ("actor_email", "actor_name", "action", "target_id", "request_id")
    date_hierarchy = "at"
    fields = FIELDS
    readonly_fields = FIELDS
    list_per_page = 50

    def get_changelist(self, request: HttpRequest, **kwargs):
        return CalendarSafeChangeList  # a date drill-down past the calendar is a bad filter, not a 500


# --------------------------------------------------------------------------- webhooks


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    """A company's webhook endpoints (OWNER, ADMIN), through the same services as the API. The
    secret is never on a page: shown once in a message when the endpoint is made or its secret
    rotated (the "Rotate secret" action)."""

    manage_permission = permissions.can_manage_webhooks
    list_display = ("url", "company", "active", "events", "disabled_at", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "description")
    fields = (
        "company", "url", "events", "description", "active",
        "disabled_at", "disabled_reason", "previous_secret_expires_at", "created_at",
    )  # fmt: skip
    readonly_fields = ("disabled_at", "disabled_reason", "previous_secret_expires_at", "created_at")
    actions = ("rotate_secret",)
    # A URL typed without a scheme means https (the only scheme a server accepts); the
    # services check the rest.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request, obj: WebhookEndpoint, form, change: bool) -> None:
        data = {"url": obj.url, "events": obj.events, "description": obj.description}
        if change:
            fresh = WebhookEndpoint.objects.get(pk=obj.pk)  # the service compares with what is stored
            services.endpoint_update(endpoint=fresh, data={**data, "active": obj.active}, actor=request.user)
            adopt_saved(obj, fresh)
            return
        self.assign_company(request, obj)
        endpoint = services.endpoint_create(company=obj.company, actor=request.user, **data)
        adopt_saved(obj, endpoint)
        self.message_user(
            request, f"The endpoint's signing secret, shown this once: {endpoint.secret}", messages.WARNING
        )

    def delete_model(self, request, obj: WebhookEndpoint) -> None:
        services.endpoint_delete(endpoint=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for endpoint in queryset:
            services.endpoint_delete(endpoint=endpoint, actor=request.user)

    @admin.action(description="Rotate secret (the old one signs too for 24 h)")
    def rotate_secret(self, request, queryset) -> None:
        for endpoint in queryset:
            endpoint = services.endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
            self.message_user(
                request, f"{endpoint.url}: new secret, shown this once: {endpoint.secret}", messages.WARNING
            )


DELIVERY_FIELDS = (
    "created_at", "endpoint", "type", "event_id", "webhook_id", "status", "attempts", "response_status",
    "response_ms", "response_body", "error", "next_attempt_at", "updated_at", "id",
)  # fmt: skip


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnlyCompanyLog):
    """The delivery log, read only (redeliver through the API). Scoped like the audit log."""

    list_display = (
        "created_at",
        "endpoint",
        "type",
        "webhook_id",
        "status",
        "attempts",
        "response_status",
        "response_ms",
    )
    list_filter = ("status", "type")
    search_fields = ("webhook_id", "endpoint__url")
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS
    list_select_related = ("endpoint",)
    company_path = "endpoint__company_id"

    def admitted(self, request: HttpRequest) -> list:
        return [c for c, m in admin_memberships(request).items() if permissions.can_manage_webhooks(m)]
