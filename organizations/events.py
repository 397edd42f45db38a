"""Change-log entries for projects, in the API's output shape (with the computed fields)."""

from __future__ import annotations

from changelog import recording
from organizations.models import Project


def project_changed(project: Project) -> None:
    from organizations.api.serializers import ProjectSerializer
    from organizations.selectors import project_stats_annotations

    annotated = Project.objects.annotate(**project_stats_annotations()).prefetch_related("teams").get(pk=project.pk)
    recording.record_change(
        company_id=project.company_id,
        entity="project",
        entity_id=project.pk,
        action="upsert",
        event="project.upserted",
        payload=dict(ProjectSerializer(annotated).data),
        project_id=project.pk,
    )
