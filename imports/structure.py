"""The clients, projects and tasks an import's rows name (imports/pipeline.py): matched by
name, created when missing; a dry run only counts what it would create."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from common.models import uuid7
from organizations.models import Client, Company, Project
from tracking.models import Task

# Where an entry without a project goes (Stint's entries always have one): found or created
# by this name, like any other project.
NO_PROJECT = "No project"


class Structure:
    """Clients, projects and tasks by name (case-insensitive), found or created. A real run
    creates them through the services (with their change-log events); a dry run only counts
    them and hands out ids that no row is ever written with."""

    def __init__(self, company: Company, *, dry_run: bool, created: dict[str, int]) -> None:
        self.company, self.dry_run, self.created = company, dry_run, created
        self.clients = {c.name.casefold(): c.pk for c in Client.objects.filter(company=company)}
        # Oldest first: of two projects with one name, the first made keeps the imported time.
        self.projects: dict[str, UUID] = {}
        for pk, name in Project.objects.filter(company=company).order_by("-created_at").values_list("pk", "name"):
            self.projects[name.casefold()] = pk
        self.tasks: dict[tuple[UUID, UUID | None, str], UUID] = {}
        self.task_projects: set[UUID] = set()

    def client(self, name: str | None) -> UUID | None:
        if not name or not name.strip():
            return None
        key = name.strip().casefold()
        if key not in self.clients:
            self.created["clients"] += 1
            if self.dry_run:
                self.clients[key] = uuid7()
            else:
                from organizations import services

                self.clients[key] = services.client_create(company=self.company, name=name.strip()[:150]).pk
        return self.clients[key]

    def project(self, name: str | None, client: str | None, **attrs: Any) -> UUID:
        name = (name or "").strip() or NO_PROJECT
        key = name.casefold()
        if key not in self.projects:
            client_id = self.client(client)
            self.created["projects"] += 1
            if self.dry_run:
                self.projects[key] = uuid7()
            else:
                from organizations import services

                data = {"name": name[:150], "client_id": client_id, **{k: v for k, v in attrs.items() if v is not None}}
                archived = data.pop("archived", False)
                project = services.project_create(company=self.company, data=data)
                if archived:
                    services.project_archive(project=project)
                self.projects[key] = project.pk
        return self.projects[key]

    def task(self, project_id: UUID, path: tuple[str, ...], **attrs: Any) -> UUID | None:
        if project_id not in self.task_projects:
            self.task_projects.add(project_id)
            for pk, parent_id, title in Task.objects.filter(project_id=project_id).values_list(
                "pk", "parent_id", "title"
            ):
                self.tasks.setdefault((project_id, parent_id, title.casefold()), pk)
        parent: UUID | None = None
        for depth, title in enumerate(t.strip() for t in path):
            if not title:
                break
            key = (project_id, parent, title.casefold())
            if key not in self.tasks:
                self.created["tasks"] += 1
                last = depth == len(path) - 1
                if self.dry_run:
                    self.tasks[key] = uuid7()
                else:
                    from tracking.services.tasks import task_create

                    project = Project.objects.get(pk=project_id)
                    data: dict[str, Any] = {"title": title[:255], "parent_id": parent}
                    if last:
                        data.update({k: v for k, v in attrs.items() if v is not None})
                    self.tasks[key] = task_create(project=project, data=data).pk  # type: ignore[arg-type]
            parent = self.tasks[key]
        return parent
