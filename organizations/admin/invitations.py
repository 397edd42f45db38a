"""Invitations: listed and revoked here, made through the API (which shows the token once)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from organizations import permissions, services
from organizations.admin.wording import plural
from organizations.admin_mixins import CompanyScopedAdminMixin
from organizations.models import Invitation


class InvitationStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("accepted", "Accepted"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        value = self.value()
        if value == "pending":
            return queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
        if value == "accepted":
            return queryset.filter(accepted_at__isnull=False)
        if value == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if value == "expired":
            return queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(Invitation)
class InvitationAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    """List and revoke. Invitations are made through the API, which shows the token once;
    only its hash is stored, so an admin form could never hand it out."""

    manage_permission = permissions.can_manage_members
    list_display = ("email", "role", "company", "status", "invited_by", "expires_at", "created_at")
    list_filter = (InvitationStatusFilter, "role", "company")
    search_fields = ("email",)
    list_select_related = ("company", "invited_by")
    fields = (
        "company",
        "email",
        "role",
        "invited_by",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
        "created_at",
    )
    readonly_fields = fields
    actions = ["revoke_invitations"]

    @admin.display(description="status")
    def status(self, obj: Invitation) -> str:
        if obj.accepted_at is not None:
            return "accepted"
        if obj.revoked_at is not None:
            return "revoked"
        return "expired" if obj.expires_at <= timezone.now() else "pending"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # view only; revoking is the action below

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def has_revoke_permission(self, request) -> bool:
        if request.user.is_superuser:
            return True
        return self._may(request)

    @admin.action(description="Revoke selected invitations", permissions=["revoke"])
    def revoke_invitations(self, request, queryset) -> None:
        pending = list(queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True))
        for invitation in pending:
            services.invitation_revoke(invitation=invitation)
        self.message_user(request, f"Revoked {plural(len(pending), 'invitation')}.", messages.SUCCESS)
