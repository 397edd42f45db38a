"""Change-log entries for exports, in the API's output shape; the event itself is
``changelog.catalogue``'s. Called by the services inside their transaction."""

from __future__ import annotations

from typing import cast

from changelog import catalogue, recording
from reports.models import ReportExport


def export_ready(export: ReportExport) -> None:
    """``report.ready``, to the requester only (the catalogue's audience for it is private)."""
    from reports.api.serializers import ExportSerializer

    recording.record(
        catalogue.REPORT_READY,
        company_id=export.company_id,
        entity_id=export.pk,
        # No link: it is short-lived, a client GETs the export for a fresh one.
        payload=cast(catalogue.ExportPayload, dict(ExportSerializer(export).data)),
        user_id=export.requested_by_id,
    )
