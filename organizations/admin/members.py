"""Members: roles and settings; deactivation through the service (last OWNER, team clean-up)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from common.exceptions import ServiceError
from organizations import permissions, services
from organizations.admin.wording import plural
from organizations.admin_mixins import CompanyScopedAdminMixin
from organizations.admin_site import admin_membership_in
from organizations.models import Membership


@admin.register(Membership)
class MembershipAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    admin_label = "Members"  # StintAdminSite shows this in the menus: people, not rows
    unscoped_fields = ("user",)  # whoever joins; only superusers add rows, and it is read-only after
    manage_permission = permissions.can_manage_members
    list_display = (
        "user_email",
        "user_name",
        "company",
        "role",
        "is_active",
        "hourly_rate_cents",
        "screenshots_enabled",
        "screenshot_blur_level",
    )
    list_filter = ("role", "is_active", "company")
    search_fields = ("user__email", "user__name")
    list_select_related = ("user", "company")
    fields = (
        "company",
        "user",
        "role",
        "is_active",
        "hourly_rate_cents",
        "screenshots_enabled",
        "screenshot_blur_level",
    )
    # Deactivation (the action below) also drops the member from their teams and guards the
    # last OWNER; coming back is accepting a new invitation.
    readonly_fields = ("is_active",)
    actions = ["deactivate_members"]

    @admin.display(description="email", ordering="user__email")
    def user_email(self, obj: Membership) -> str:
        return obj.user.email

    @admin.display(description="name", ordering="user__name")
    def user_name(self, obj: Membership) -> str:
        return obj.user.name

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Members", **(extra_context or {})})

    def has_add_permission(self, request) -> bool:
        # People join through invitations (the invitee accepts with their own account).
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Never for anyone: deleting the row would skip the last-OWNER rule and the team
        # clean-up of services.member_remove, and lose who did the company's past work.
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or request.user.is_superuser:
            return True
        actor = admin_membership_in(request, obj.company_id)
        return actor is not None and permissions.can_change_member(actor, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("user")
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        role = form.base_fields.get("role")
        actor = admin_membership_in(request, obj.company_id) if obj is not None else None
        if role is not None and actor is not None and not request.user.is_superuser:
            # An ADMIN is never offered OWNER; a posted OWNER fails as "not a valid choice".
            role.choices = [(v, label) for v, label in role.choices if permissions.can_grant_role(actor, v)]
        return form

    def save_model(self, request, obj: Membership, form, change: bool) -> None:
        if not change:
            return super().save_model(request, obj, form, change)  # superusers only
        actor = admin_membership_in(request, obj.company_id)
        if not request.user.is_superuser and (actor is None or not permissions.can_grant_role(actor, obj.role)):
            raise PermissionDenied
        # The service's last-OWNER check reads the role being left, so it gets the row as
        # stored, not the form's instance that already carries the new role.
        stored = Membership.objects.get(pk=obj.pk)
        services.member_update(
            membership=stored, changes={f: getattr(obj, f) for f in form.changed_data}, actor=request.user
        )

    @admin.action(description="Deactivate selected members", permissions=["change"])
    def deactivate_members(self, request, queryset) -> None:
        done = 0
        for membership in queryset.filter(is_active=True).select_related("user"):
            if not self.has_change_permission(request, membership):
                self.message_user(
                    request, f"{membership.user.email}: only an OWNER can remove an OWNER.", messages.ERROR
                )
                continue
            try:
                services.member_remove(membership=membership, actor=request.user)
            except ServiceError as exc:
                self.message_user(request, f"{membership.user.email}: {exc.message}", messages.ERROR)
                continue
            done += 1
        if done:
            self.message_user(request, f"Deactivated {plural(done, 'member')}.", messages.SUCCESS)
