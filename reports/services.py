"""Report exports: asking for one, building it (once, whatever the retries), expiring it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

import structlog
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit import recording
from common.exceptions import InvalidInput
from common.jobs import claim, hold, record_failure, requeue_lost
from common.replica import replica_reads
from organizations import plans
from organizations.models import Membership
from reports.models import ExportFilters, ExportStatus, ReportExport

logger = structlog.get_logger(__name__)
MAX_ATTEMPTS = 3


@transaction.atomic
def export_request(*, membership: Membership, report: str, fmt: str, first: date | None, last: date | None, tz: str,
                   filters: ExportFilters | None = None) -> ReportExport:  # fmt: skip
    """An export of ``first`` .. ``last`` (local days in ``tz``); both None: all time (the
    full export only, which the serializer checks)."""
    if first is not None and last is not None and (last < first or (last - first).days > 366):
        raise InvalidInput("to must be on or after from, at most 366 days later.", code="invalid", attr="to")
    # Under the company's row lock (taken by the check) until this insert commits.
    plans.check(membership.company, plans.EXPORTS_PER_DAY)
    export = ReportExport.objects.create(
        company_id=membership.company_id,
        requested_by_id=membership.user_id,
        report=report,
        format=fmt,
        params={
            "from": first.isoformat() if first else None,
            "to": last.isoformat() if last else None,
            "tz": tz,
            "filters": (filters or ExportFilters()).as_params(),
        },
    )
    from reports.tasks import build_export

    transaction.on_commit(lambda: build_export.delay(str(export.pk)))
    return export


def exports_today(company_id: UUID) -> int:
    """The company's exports asked for since 00:00 UTC (plans' ``exports_per_day`` counter).
    Expired exports are purged after EXPORT_RETENTION_DAYS (a day at least), so today's stay."""
    return ReportExport.objects.filter(company_id=company_id, created_at__gte=plans.start_of_utc_day()).count()


def export_build(*, export_id: UUID | str) -> ReportExport | None:
    """Build the file and mark the export READY (emitting report.ready to the requester);
    None when there was nothing to do. A failure raises for the task to retry, and marks the
    export FAILED with the reason once its attempts are spent."""
    from reports import events, exports

    export = claim(ReportExport.objects.all(), export_id, max_attempts=MAX_ATTEMPTS)
    if export is None:
        return None
    failure: Exception | None = None
    with transaction.atomic():
        if not hold(export):
            return None  # a later delivery took it over: that one finishes it
        try:
            with replica_reads(export.requested_by_id):  # the rows, from the replica if there is one
                key, size, rows = _write(export)
        except Exception as exc:
            failure = exc
            final, reason = record_failure(
                export, exc, max_attempts=MAX_ATTEMPTS, final=isinstance(exc, PermissionError)
            )
        else:
            export.status, export.file_key, export.size_bytes, export.rows = ExportStatus.READY, key, size, rows
            export.finished_at, export.expires_at, export.error = timezone.now(), exports.expiry(), ""
            export.save(
                update_fields=[
                    "status",
                    "file_key",
                    "size_bytes",
                    "rows",
                    "finished_at",
                    "expires_at",
                    "error",
                    "updated_at",
                ]
            )
            events.export_ready(export)
    if failure is not None:  # recorded and committed above; raised here for the task to retry
        logger.warning("export_failed", export_id=str(export.pk), attempt=export.attempts, final=final, error=reason)
        if final:
            return None
        raise failure
    return export


def _write(export: ReportExport) -> tuple[str, int, int]:
    """Write the export's file for its requester, while they are still a member."""
    from reports import exports

    membership = Membership.objects.filter(
        company_id=export.company_id, user_id=export.requested_by_id, is_active=True
    ).first()
    if membership is None:
        raise PermissionError("The requester is no longer a member of the company.")
    return exports.write(export, membership)


@transaction.atomic
def export_downloaded(*, export: ReportExport, downloader_id: UUID | str | None) -> None:
    """The audit log's row for one download (SPEC: "exports downloaded"), by whoever the signed
    link was issued to (``downloader_id``, from its signature; None: a link made outside a
    request). Written before the file is sent: a download whose row failed is not served."""
    downloader = User.objects.filter(pk=downloader_id).first() if downloader_id else None
    recording.record(
        action="report_export.downloaded",
        target_type="report_export",
        target_id=export.pk,
        company_id=export.company_id,
        actor=downloader,
        subject_user_id=export.requested_by_id,
    )


def exports_requeue_lost(*, older_than: timedelta | None = None) -> int:
    """Build again the exports whose task message the broker lost (``common.jobs.requeue_lost``)."""
    from reports.tasks import build_export

    after = older_than or timedelta(seconds=settings.JOB_REQUEUE_AFTER_SECONDS)
    return requeue_lost(ReportExport.objects.all(), build_export, older_than=after)


def exports_purge(*, now: datetime | None = None) -> int:
    """Delete expired exports and their files (beat, daily)."""
    now = now or timezone.now()
    gone = 0
    for export in ReportExport.objects.filter(expires_at__lt=now).iterator():
        if export.file_key:
            default_storage.delete(export.file_key)
        export.delete()
        gone += 1
    return gone
