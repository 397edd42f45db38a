"""Change-log entries for imports, in the API's output shape; the events themselves are
``changelog.catalogue``'s. Both go to the requester only (like ``report.ready``)."""

from __future__ import annotations

from typing import cast

from changelog import catalogue, recording
from imports.models import ImportJob


def import_progress(job: ImportJob) -> None:
    from imports.api.serializers import ImportSerializer

    data = dict(ImportSerializer(job).data)
    data.pop("summary", None)
    recording.record(
        catalogue.IMPORT_PROGRESS,
        company_id=job.company_id,
        entity_id=job.pk,
        payload=cast(catalogue.ImportPayload, data),
        user_id=job.requested_by_id,
    )


def import_finished(job: ImportJob) -> None:
    from imports.api.serializers import ImportSerializer

    data = dict(ImportSerializer(job).data)
    recording.record(
        catalogue.IMPORT_FINISHED,
        company_id=job.company_id,
        entity_id=job.pk,
        payload=cast(catalogue.ImportFinishedPayload, data),
        user_id=job.requested_by_id,
    )
