"""Tasks and time entries in the company-scoped admin: team admins see their company's rows
only (CompanyScopedAdminMixin); every write goes through the tracking services, so the
admin cannot break an invariant the API keeps."""

from __future__ import annotations

from django.contrib import admin

from organizations import permissions
from organizations.admin_mixins import CompanyScopedAdminMixin, adopt_saved
from tracking import services
from tracking.models import Task, TimeEntry


@admin.register(Task)
class TaskAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    manage_permission = permissions.can_manage_projects
    list_display = ("title", "project", "parent", "status", "billing_type", "estimate_seconds", "updated_at")
    list_filter = ("status", "billing_type", "project")
    search_fields = ("title",)
    list_select_related = ("project", "parent")
    raw_id_fields = ("parent",)
    exclude = ("company",)

    def save_model(self, request, obj: Task, form, change: bool) -> None:
        data: services.TaskData = {
            "title": obj.title,
            "status": obj.status,
            "position": obj.position,
            "estimate_seconds": obj.estimate_seconds,
            "billing_type": obj.billing_type,
            "hourly_rate_cents": obj.hourly_rate_cents,
            "task_price_cents": obj.task_price_cents,
            "parent_id": obj.parent_id,
        }
        if change:
            services.task_update(task=obj, data=data)
        else:
            adopt_saved(obj, services.task_create(project=obj.project, data={**data, "id": obj.pk}))

    def delete_model(self, request, obj: Task) -> None:
        services.task_delete(task=obj)

    def delete_queryset(self, request, queryset) -> None:
        for task in queryset:
            services.task_delete(task=task)


@admin.register(TimeEntry)
class TimeEntryAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    """Read and correct entries; new time is tracked by the apps, not typed here."""

    manage_permission = permissions.can_manage_members  # OWNER and ADMIN edit others' entries
    list_display = ("user", "project", "task", "description", "started_at", "ended_at", "duration_seconds", "source")
    list_filter = ("source", "billable", "project", "user")
    search_fields = ("description", "user__email")
    list_select_related = ("user", "project", "task")
    date_hierarchy = "started_at"
    readonly_fields = ("user", "source", "duration_seconds", "created_at", "updated_at", "deleted_at")
    fields = (
        "user",
        "project",
        "task",
        "description",
        "started_at",
        "ended_at",
        "duration_seconds",
        "billable",
        "source",
        "deleted_at",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj: TimeEntry, form, change: bool) -> None:
        membership = permissions.membership_in(request.user, obj.company_id) if not request.user.is_superuser else None
        data: services.EntryData = {
            "description": obj.description,
            "billable": obj.billable,
            "started_at": obj.started_at,
            "ended_at": obj.ended_at,
            "project_id": obj.project_id,
            "task_id": obj.task_id,
        }
        if membership is None:  # a superuser edits as the entry's owner would
            membership = obj.user.memberships.get(company_id=obj.company_id)
        # actor: who is signed in (audited when it is not the entry's owner), whichever
        # membership decides the projects the entry may move to.
        services.entry_update(entry=obj, membership=membership, data=data, actor=request.user)

    # A refusal (a locked period: the database's 409 ``period_locked``) becomes an error
    # message with nothing deleted (CompanyScopedAdminMixin), for one entry and the bulk
    # action alike: the action is all or nothing.
    def delete_model(self, request, obj: TimeEntry) -> None:
        services.entry_delete(entry=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for entry in queryset:
            services.entry_delete(entry=entry, actor=request.user)
