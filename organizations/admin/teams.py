"""Teams and who is in them; every write through the team services."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from organizations import permissions, services
from organizations.admin_mixins import CompanyScopedAdminMixin, CompanyScopedInlineMixin, adopt_saved
from organizations.models import Team, TeamMember


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
        return obj.member_count  # type: ignore[attr-defined]  # annotated by get_queryset

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
            services.team_member_remove(team_member=team_member, actor=request.user)
        for team_member, changed in formset.changed_objects:
            if "user" in changed:  # another person in this row: a removal and an addition
                services.team_member_remove(team_member=team_member, actor=request.user)
                services.team_member_add(
                    team=team, user_id=team_member.user_id, role=team_member.role, actor=request.user
                )
            else:
                services.team_member_update(team_member=team_member, role=team_member.role, actor=request.user)
        for team_member in formset.new_objects:
            services.team_member_add(team=team, user_id=team_member.user_id, role=team_member.role, actor=request.user)

    def delete_model(self, request, obj: Team) -> None:
        services.team_delete(team=obj)

    def delete_queryset(self, request, queryset) -> None:
        for team in queryset:
            services.team_delete(team=team)
