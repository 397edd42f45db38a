"""Change-log entries for imports, in the API's output shape; the events themselves are
``changelog.catalogue``'s. Both go to the requester only (like ``report.ready``)."""

from __future__ import annotations

from typing import cast

from changelog import catalogue, recording
from imports.models import ImportJob


def import_progress(job: ImportJob) -> None:
    """The job without its summary (progress only)."""
    _record(job, catalogue.IMPORT_PROGRESS, summary=False)


def import_finished(job: ImportJob) -> None:
    _record(job, catalogue.IMPORT_FINISHED, summary=True)


def _record(job: ImportJob, event: catalogue.Event, *, summary: bool) -> None:
    from imports.api.serializers import ImportSerializer

    data = dict(ImportSerializer(job).data)
    if not summary:
        data.pop("summary", None)
    recording.record(
        event,
        company_id=job.company_id,
        entity_id=job.pk,
        payload=cast(catalogue.ImportFinishedPayload, data),
        user_id=job.requested_by_id,
    )
