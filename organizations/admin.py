"""The team admin's view of their company (SPEC: "Team admins"). Scoping, permissions and
form choices come from ``admin_mixins``; rights within a company from ``permissions``; every
write goes through ``services``, like the API's."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.utils import timezone

from common.exceptions import ServiceError
from organizations import permissions, services
from organizations.admin_mixins import CompanyScopedAdminMixin, CompanyScopedInlineMixin, adopt_saved
from organizations.admin_site import admin_membership_in
from organizations.models import Client, Company, Invitation, Membership, Project, ProjectTeam, Team, TeamMember


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --------------------------------------------------------------------------- companies


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
            "Screenshots and idle time",
            {
                "fields": (
                    "screenshots_enabled",
                    "screenshot_interval_seconds",
                    "screenshot_blur_level",
                    "idle_timeout_seconds",
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
            services.company_update(company=obj, changes={f: getattr(obj, f) for f in form.changed_data})
        else:
            # Superusers only. services.company_create would make the superuser its OWNER;
            # the company's people join through invitations instead.
            super().save_model(request, obj, form, change)


# --------------------------------------------------------------------------- members


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
        return permissions.can_change_member(admin_membership_in(request, obj.company_id), obj)

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
        if not request.user.is_superuser and not permissions.can_grant_role(actor, obj.role):
            raise PermissionDenied
        # The service's last-OWNER check reads the role being left, so it gets the row as
        # stored, not the form's instance that already carries the new role.
        stored = Membership.objects.get(pk=obj.pk)
        services.member_update(membership=stored, changes={f: getattr(obj, f) for f in form.changed_data})

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
                services.member_remove(membership=membership)
            except ServiceError as exc:
                self.message_user(request, f"{membership.user.email}: {exc.message}", messages.ERROR)
                continue
            done += 1
        if done:
            self.message_user(request, f"Deactivated {_plural(done, 'member')}.", messages.SUCCESS)


# --------------------------------------------------------------------------- teams


class TeamMemberInline(CompanyScopedInlineMixin, admin.TabularInline):
    model = TeamMember
    manage_permission = permissions.can_manage_members
    fields = ("user", "role")
    extra = 1


@admin.register(Team)
class TeamAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    manage_permission = permissions.can_manage_members
    list_display = ("name", "company", "member_count", "created_at")
    list_filter = ("company",)
    search_fields = ("name",)
    list_select_related = ("company",)
    inlines = [TeamMemberInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("members", distinct=True))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj: Team) -> int:
        return obj.member_count

    def save_model(self, request, obj: Team, form, change: bool) -> None:
        self.assign_company(request, obj)
        if change:
            services.team_update(team=obj, name=obj.name)
        else:
            adopt_saved(obj, services.team_create(company=obj.company, name=obj.name))

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is not TeamMember:
            return super().save_formset(request, form, formset, change)
        team = form.instance
        formset.save(commit=False)  # fills new_objects, changed_objects, deleted_objects
        for team_member in formset.deleted_objects:
            services.team_member_remove(team_member=team_member)
        for team_member, changed in formset.changed_objects:
            if "user" in changed:  # another person in this row: a removal and an addition
                services.team_member_remove(team_member=team_member)
                services.team_member_add(team=team, user_id=team_member.user_id, role=team_member.role)
            else:
                services.team_member_update(team_member=team_member, role=team_member.role)
        for team_member in formset.new_objects:
            services.team_member_add(team=team, user_id=team_member.user_id, role=team_member.role)

    def delete_model(self, request, obj: Team) -> None:
        services.team_delete(team=obj)

    def delete_queryset(self, request, queryset) -> None:
        for team in queryset:
            services.team_delete(team=team)


# --------------------------------------------------------------------------- clients


@admin.register(Client)
class ClientAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    manage_permission = permissions.can_manage_projects
    list_display = ("name", "company", "project_count", "created_at")
    list_filter = ("company",)
    search_fields = ("name",)
    list_select_related = ("company",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(project_count=Count("projects", distinct=True))

    @admin.display(description="projects", ordering="project_count")
    def project_count(self, obj: Client) -> int:
        return obj.project_count

    def save_model(self, request, obj: Client, form, change: bool) -> None:
        self.assign_company(request, obj)
        if change:
            services.client_update(client=obj, name=obj.name)
        else:
            adopt_saved(obj, services.client_create(company=obj.company, name=obj.name))

    def delete_model(self, request, obj: Client) -> None:
        services.client_delete(client=obj)

    def delete_queryset(self, request, queryset) -> None:
        for client in queryset:
            services.client_delete(client=client)


# --------------------------------------------------------------------------- projects


class ArchivedListFilter(admin.SimpleListFilter):
    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", "Active"), ("yes", "Archived")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(archived_at__isnull=self.value() == "no")
        return queryset


class ProjectTeamInline(CompanyScopedInlineMixin, admin.TabularInline):
    model = ProjectTeam
    manage_permission = permissions.can_manage_projects
    fields = ("team",)
    extra = 1
    verbose_name = "team"
    verbose_name_plural = "teams (with none, every member of the company sees the project)"


@admin.register(Project)
class ProjectAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    manage_permission = permissions.can_manage_projects
    list_display = ("name", "client", "company", "billable", "rate", "currency", "archived")
    list_filter = (ArchivedListFilter, "billable", "client", "company")
    search_fields = ("name", "client__name")
    list_select_related = ("client", "company")
    fields = (
        "company",
        "name",
        "client",
        "color",
        "billable",
        "hourly_rate_cents",
        "currency",
        "estimate_seconds",
        "archived_at",
    )
    readonly_fields = ("archived_at",)  # the archive actions below set it
    inlines = [ProjectTeamInline]
    actions = ["archive_projects", "unarchive_projects"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A project carries its tracked time: team admins archive it (as the API does).
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    @admin.display(description="hourly rate", ordering="hourly_rate_cents")
    def rate(self, obj: Project) -> str | None:
        return None if obj.hourly_rate_cents is None else f"{obj.hourly_rate_cents / 100:.2f}"

    @admin.display(description="archived", boolean=True, ordering="archived_at")
    def archived(self, obj: Project) -> bool:
        return obj.is_archived

    def save_model(self, request, obj: Project, form, change: bool) -> None:
        self.assign_company(request, obj)
        if change:
            data = {f: getattr(obj, f) for f in form.changed_data if f in services.PROJECT_FIELDS}
            if "client" in form.changed_data:
                data["client_id"] = obj.client_id
            services.project_update(project=obj, data=data)
        else:
            data = {f: getattr(obj, f) for f in services.PROJECT_FIELDS}
            created = services.project_create(
                company=obj.company, data={**data, "id": obj.pk, "client_id": obj.client_id}
            )
            adopt_saved(obj, created)

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is not ProjectTeam:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # for the change message (new, changed, deleted rows)
        team_ids = [
            f.cleaned_data["team"].pk
            for f in formset.forms
            if f.cleaned_data.get("team") is not None and not f.cleaned_data.get("DELETE")
        ]
        # The service replaces the project's teams with this set, checking each is the company's.
        services.project_update(project=form.instance, data={"team_ids": team_ids})

    @admin.action(description="Archive selected projects", permissions=["change"])
    def archive_projects(self, request, queryset) -> None:
        projects = list(queryset.filter(archived_at__isnull=True))
        for project in projects:
            services.project_archive(project=project)
        self.message_user(request, f"Archived {_plural(len(projects), 'project')}.", messages.SUCCESS)

    @admin.action(description="Unarchive selected projects", permissions=["change"])
    def unarchive_projects(self, request, queryset) -> None:
        projects = list(queryset.filter(archived_at__isnull=False))
        for project in projects:
            services.project_unarchive(project=project)
        self.message_user(request, f"Unarchived {_plural(len(projects), 'project')}.", messages.SUCCESS)


# --------------------------------------------------------------------------- invitations


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
        self.message_user(request, f"Revoked {_plural(len(pending), 'invitation')}.", messages.SUCCESS)
