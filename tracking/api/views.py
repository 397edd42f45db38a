"""Tracking endpoints (SPEC: REST API, Tracking). Thin: scope through the company-scoped base
view, ask ``permissions``, call a service, render."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import authenticated_user
from common.exceptions import InvalidInput
from common.openapi import UUID_PATTERN
from common.pagination import CursorPagination
from common.query import validated_query
from organizations import permissions
from organizations.api.scoping import COMPANY_PARAM, CompanyScopedViewSet
from organizations.models import Membership, Project
from organizations.selectors import visible_project
from tracking import selectors, services
from tracking.api import serializers as s
from tracking.models import Task, TimeEntry
from tracking.selectors import EntryFilters

NO_CONTENT = OpenApiResponse(description="No content")
ENTRY_FILTERS = [  # as s.EntryFilterSerializer reads them
    COMPANY_PARAM,
    OpenApiParameter("from", OpenApiTypes.DATETIME, description="Entries overlapping [from, to) (RFC 3339)."),
    OpenApiParameter("to", OpenApiTypes.DATETIME),
    OpenApiParameter("user", str, pattern=f"^(me|{UUID_PATTERN})$", description='"me" or a user id'),
    OpenApiParameter("project", OpenApiTypes.UUID),
    OpenApiParameter("task", OpenApiTypes.UUID),
    OpenApiParameter("descendants", bool, description="With task=: include its subtasks' entries."),
]


class ProjectResolvingViewSet(CompanyScopedViewSet):
    """Find a project (from a body's ``project_id``) among those the caller sees, and the
    caller's membership in its company."""

    def project_and_membership(self, project_id: uuid.UUID) -> tuple[Project, Membership]:
        # The project decides the company; a company named as well (?company=, body
        # company_id) must be the project's, else the project is "no such project" there.
        named = "company" in self.request.query_params or self.request.data.get("company_id") is not None
        memberships = [self.company_membership()] if named else self.memberships()
        found = visible_project(memberships=memberships, project_id=project_id)
        if found is None:
            raise InvalidInput("No such project.", code="does_not_exist", attr="project_id")
        return found


# --------------------------------------------------------------------------- tasks


@extend_schema(tags=["tasks"], parameters=[COMPANY_PARAM])
class ProjectTaskTreeViewSet(CompanyScopedViewSet):
    queryset = Project.objects.none()
    pagination_class = None  # the whole tree, one bare list of root nodes (else the schema says paginated)

    def scoped_queryset(self, memberships: list[Membership]) -> QuerySet[Project]:
        return Project.objects.filter(permissions.visible_projects_in_any_q(memberships))

    @extend_schema(responses={200: s.TaskNodeSerializer(many=True)})
    def tree(self, request: Request, project_id: uuid.UUID | None = None) -> Response:
        project = get_object_or_404(self.get_queryset(), pk=project_id)
        return Response(s.TaskNodeSerializer(selectors.task_tree(project=project), many=True).data)


# ?project= filters the list only: documented on the list only (other actions ignore it).
@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("project", uuid.UUID)]))
@extend_schema(tags=["tasks"], parameters=[COMPANY_PARAM])
class TaskViewSet(ProjectResolvingViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Tasks of the projects the caller sees; writes need the role table's say."""

    queryset = Task.objects.none()
    serializer_class = s.TaskSerializer

    def scoped_queryset(self, memberships: list[Membership]) -> QuerySet[Task]:
        qs = selectors.task_list(memberships=memberships)
        project = self.request.query_params.get("project")
        if self.action == "list" and project is not None:
            try:
                qs = qs.filter(project_id=uuid.UUID(project))
            except ValueError:  # the ORM would raise a Django ValidationError: a 500
                raise ValidationError({"project": ["Must be a project id."]}) from None
        return qs

    def _require_tasks(self, task_or_project: Task | Project) -> None:
        project = task_or_project if isinstance(task_or_project, Project) else task_or_project.project
        self.require(permissions.can_manage_tasks_in(self.membership_for(project), project))

    @extend_schema(request=s.TaskWriteSerializer, responses={201: s.TaskSerializer})
    def create(self, request: Request) -> Response:
        data = self.validated(s.TaskWriteSerializer)
        project, membership = self.project_and_membership(data["project_id"])
        self.require(permissions.can_manage_tasks_in(membership, project))
        task = services.task_create(project=project, data=services.task_data(data))
        return Response(s.TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.TaskUpdateSerializer, responses={200: s.TaskSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        self._require_tasks(task)
        data = services.task_data(self.validated(s.TaskUpdateSerializer, partial=True))
        task = services.task_update(task=task, data=data)
        return Response(s.TaskSerializer(task).data)

    @extend_schema(responses={204: NO_CONTENT})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        self._require_tasks(task)
        services.task_delete(task=task)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.TaskStatusSerializer, responses={200: s.TaskSerializer})
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        self._require_tasks(task)
        task = services.task_set_status(task=task, status=self.validated(s.TaskStatusSerializer)["status"])
        return Response(s.TaskSerializer(task).data)

    @extend_schema(parameters=ENTRY_FILTERS[1:], responses={200: s.TimeEntrySerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="time-entries")
    def time_entries(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        filters = replace(_entry_filters(request), task=task.pk, project=task.project_id)
        page = self.paginate_queryset(selectors.time_entry_list(memberships=self.memberships(), filters=filters))
        return self.get_paginated_response(s.TimeEntrySerializer(page, many=True).data)


# --------------------------------------------------------------------------- time entries


def _entry_filters(request: Request) -> EntryFilters:
    query = validated_query(request, s.EntryFilterSerializer)
    since, until = query.get("from"), query.get("to")
    if since and until and until <= since:
        raise ValidationError({"to": ["Must be after from."]})
    user = query.get("user")
    return EntryFilters(
        since=since,
        until=until,
        user=authenticated_user(request).pk if user == "me" else user,
        project=query.get("project"),
        task=query.get("task"),
        descendants=query["descendants"],
    )


class EntryPagination(CursorPagination):
    ordering = ("-started_at", "-id")  # history, newest first (SPEC)


# ?company= narrows the lookup of an entry by id too (CompanyScopedViewSet.get_queryset).
@extend_schema_view(
    retrieve=extend_schema(parameters=[COMPANY_PARAM]),
    partial_update=extend_schema(parameters=[COMPANY_PARAM]),
    destroy=extend_schema(parameters=[COMPANY_PARAM]),
)
@extend_schema(tags=["time entries"])
class TimeEntryViewSet(ProjectResolvingViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Timers, manual entries and history (SPEC: Tracking)."""

    queryset = TimeEntry.objects.none()
    serializer_class = s.TimeEntrySerializer
    pagination_class = EntryPagination

    def scoped_queryset(self, memberships: list[Membership]) -> QuerySet[TimeEntry]:
        filters = _entry_filters(self.request) if self.action == "list" else None
        return selectors.time_entry_list(memberships=memberships, filters=filters)

    @extend_schema(parameters=ENTRY_FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=s.EntryCreateSerializer, responses={201: s.TimeEntrySerializer})
    def create(self, request: Request) -> Response:
        data = self.validated(s.EntryCreateSerializer)
        _, membership = self.project_and_membership(data["project_id"])
        entry = services.entry_create(membership=membership, data=services.entry_data(data))
        return Response(s.TimeEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.EntryUpdateSerializer, responses={200: s.TimeEntrySerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        entry = self.get_object()
        membership = self.membership_for(entry)
        self.require(permissions.can_edit_user_entries(membership, entry.user_id), "You may not edit this entry.")
        data = services.entry_data(self.validated(s.EntryUpdateSerializer, partial=True))
        return Response(
            s.TimeEntrySerializer(
                services.entry_update(entry=entry, membership=membership, data=data, actor=authenticated_user(request))
            ).data
        )

    @extend_schema(responses={204: NO_CONTENT})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        entry = self.get_object()
        self.require(
            permissions.can_edit_user_entries(self.membership_for(entry), entry.user_id),
            "You may not delete this entry.",
        )
        services.entry_delete(entry=entry, actor=authenticated_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.TimerStartSerializer, responses={201: s.TimeEntrySerializer})
    @action(detail=False, methods=["post"])
    def start(self, request: Request) -> Response:
        data = self.validated(s.TimerStartSerializer)
        _, membership = self.project_and_membership(data["project_id"])
        entry = services.timer_start(
            membership=membership,
            project_id=data["project_id"],
            task_id=data.get("task_id"),
            description=data["description"],
            started_at=data.get("started_at"),
            entry_id=data.get("id"),
            timezone_name=data.get("timezone"),
        )
        return Response(s.TimeEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.TimerStopSerializer, responses={200: s.TimeEntrySerializer})
    @action(detail=False, methods=["post"])
    def stop(self, request: Request) -> Response:
        data = self.validated(s.TimerStopSerializer)
        entry = services.timer_stop(user=authenticated_user(request), ended_at=data.get("ended_at"))
        return Response(s.TimeEntrySerializer(entry).data)

    @extend_schema(request=s.TimerPauseSerializer, responses={200: s.TimeEntrySerializer})
    @action(detail=False, methods=["post"])
    def pause(self, request: Request) -> Response:
        """Stop the running timer, as /stop does, and remember it for /resume."""
        data = self.validated(s.TimerPauseSerializer)
        entry = services.timer_pause(user=authenticated_user(request), ended_at=data.get("ended_at"))
        return Response(s.TimeEntrySerializer(entry).data)

    @extend_schema(request=s.TimerResumeSerializer, parameters=[COMPANY_PARAM], responses={201: s.TimeEntrySerializer})
    @action(detail=False, methods=["post"])
    def resume(self, request: Request) -> Response:
        """Start a new timer with the paused entry's project, task, description and billable
        flag. ?company= narrows it to one company: a pause elsewhere is 409 ``not_paused``."""
        self.validated(s.TimerResumeSerializer)
        named = "company" in request.query_params
        memberships = [self.company_membership()] if named else self.memberships()
        entry = services.timer_resume(user=authenticated_user(request), memberships=memberships)
        return Response(s.TimeEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.TimeEntrySerializer, 204: NO_CONTENT})
    @action(detail=False, methods=["get"])
    def current(self, request: Request) -> Response:
        entry = selectors.current_entry(user=authenticated_user(request))
        if entry is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(s.TimeEntrySerializer(entry).data)
