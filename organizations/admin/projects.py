"""Clients and projects (with the teams that see them); projects are archived, not deleted."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count

from organizations import permissions, services
from organizations.admin.wording import plural
from organizations.admin_mixins import CompanyScopedAdminMixin, CompanyScopedInlineMixin, adopt_saved
from organizations.models import Client, Project, ProjectTeam


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
        return obj.project_count  # type: ignore[attr-defined]  # annotated by get_queryset

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
        self.message_user(request, f"Archived {plural(len(projects), 'project')}.", messages.SUCCESS)

    @admin.action(description="Unarchive selected projects", permissions=["change"])
    def unarchive_projects(self, request, queryset) -> None:
        projects = list(queryset.filter(archived_at__isnull=False))
        for project in projects:
            services.project_unarchive(project=project)
        self.message_user(request, f"Unarchived {plural(len(projects), 'project')}.", messages.SUCCESS)
