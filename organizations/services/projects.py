"""Clients and projects (same-company references, the teams a project is shared with, archiving)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import structlog
from django.db import transaction
from django.utils import timezone

from common.exceptions import ConflictError, InvalidInput
from organizations import events
from organizations.models import (
    Client,
    Company,
    Project,
    ProjectTeam,
    Team,
)
from organizations.services.teams import unique_name

logger = structlog.get_logger(__name__)


# --------------------------------------------------------------------------- clients


@transaction.atomic
def client_create(*, company: Company, name: str) -> Client:
    with unique_name("client"):
        return Client.objects.create(company=company, name=name)


@transaction.atomic
def client_update(*, client: Client, name: str) -> Client:
    client.name = name
    with unique_name("client"):
        client.save(update_fields=["name", "updated_at"])
    return client


@transaction.atomic
def client_delete(*, client: Client) -> None:
    client.delete()  # its projects keep going, without a client (SET_NULL)


# --------------------------------------------------------------------------- projects

PROJECT_FIELDS = ("name", "color", "billable", "hourly_rate_cents", "currency", "estimate_seconds")


def _same_company_client(company_id: UUID, client_id: UUID | None) -> Client | None:
    if client_id is None:
        return None
    client = Client.objects.filter(company_id=company_id, pk=client_id).first()
    if client is None:
        raise InvalidInput("No such client in this company.", code="does_not_exist", attr="client_id")
    return client


def _set_teams(project: Project, team_ids: Iterable) -> None:
    team_ids = set(team_ids)
    teams = list(Team.objects.filter(company_id=project.company_id, pk__in=team_ids))
    if len(teams) != len(team_ids):
        raise InvalidInput("No such team in this company.", code="does_not_exist", attr="team_ids")
    ProjectTeam.objects.filter(project=project).exclude(team__in=teams).delete()
    existing = set(ProjectTeam.objects.filter(project=project).values_list("team_id", flat=True))
    ProjectTeam.objects.bulk_create(
        [ProjectTeam(company_id=project.company_id, project=project, team=t) for t in teams if t.pk not in existing]
    )


@transaction.atomic
def project_create(*, company: Company, data: dict) -> Project:
    project = Project(company=company, **{k: v for k, v in data.items() if k in PROJECT_FIELDS})
    if "id" in data and data["id"] is not None:
        if Project.objects.filter(pk=data["id"]).exists():
            raise ConflictError("A project with this id already exists.", code="duplicate_id", attr="id")
        project.id = data["id"]
    project.client = _same_company_client(company.pk, data.get("client_id"))
    project.save()
    if data.get("team_ids"):
        _set_teams(project, data["team_ids"])
    events.project_changed(project)
    return project


@transaction.atomic
def project_update(*, project: Project, data: dict) -> Project:
    fields = [k for k in data if k in PROJECT_FIELDS]
    for field in fields:
        setattr(project, field, data[field])
    if "client_id" in data:
        project.client = _same_company_client(project.company_id, data["client_id"])
        fields.append("client")
    if fields:
        project.save(update_fields=[*fields, "updated_at"])
    if "team_ids" in data:
        _set_teams(project, data["team_ids"] or [])
    events.project_changed(project)
    return project


@transaction.atomic
def project_archive(*, project: Project) -> Project:
    if project.archived_at is None:
        project.archived_at = timezone.now()
        project.save(update_fields=["archived_at", "updated_at"])
        events.project_changed(project)
    return project


@transaction.atomic
def project_unarchive(*, project: Project) -> Project:
    if project.archived_at is not None:
        project.archived_at = None
        project.save(update_fields=["archived_at", "updated_at"])
        events.project_changed(project)
    return project
