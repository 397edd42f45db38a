"""Change-log entries for projects, in the API's output shape (with the computed fields); the
event itself is ``changelog.catalogue``'s."""

from __future__ import annotations

from typing import cast

from changelog import catalogue, recording
from organizations.models import Project


def project_changed(project: Project) -> None:
    from organizations.api.serializers import ProjectSerializer
    from organizations.selectors import project_stats_annotations

    annotated = Project.objects.annotate(**project_stats_annotations()).prefetch_related("teams").get(pk=project.pk)
    recording.record(
        catalogue.PROJECT_UPSERTED,
        company_id=project.company_id,
        entity_id=project.pk,
        payload=cast(catalogue.ProjectPayload, dict(ProjectSerializer(annotated).data)),
        project_id=project.pk,
    )
