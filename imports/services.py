"""Imports: asking for one (the file kept until the job ends), running it (once, whatever the
task's redeliveries), cancelling it. The rows themselves are imports.pipeline's."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import BinaryIO, cast
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from audit import recording
from common import jobs
from common.exceptions import InvalidInput, PermissionDeniedError, TooLargeError
from imports import events, people, sources
from imports.models import ImportJob, ImportStatus
from imports.pipeline import Cancelled, Importer, TooManyRows
from imports.sources.base import ParseOptions
from organizations import permissions
from organizations.models import Membership

logger = structlog.get_logger(__name__)
MAX_ATTEMPTS = 3
PROGRESS_EVERY_SECONDS = 1.0


def check_source(source: str) -> None:
    if source not in sources.SOURCES:
        raise InvalidInput(f"Unknown source {source!r}.", code="invalid_choice", attr="source")
    if not sources.supported(source):
        raise InvalidInput(
            f"Importing {source} is not available yet (docs/imports.md).", code="unsupported_source", attr="source"
        )


@transaction.atomic
def import_request(*, membership: Membership, fileobj: File, source: str, dry_run: bool, tz: str | None = None,
                   date_format: str | None = None, invite_unknown: bool = False) -> ImportJob:  # fmt: skip
    """Keep the file and queue its import (a dry run: its summary only)."""
    check_source(source)
    check_invite(membership, invite_unknown)
    if fileobj.size > settings.IMPORT_MAX_BYTES:
        raise TooLargeError(f"At most {settings.IMPORT_MAX_BYTES} bytes per import file (IMPORT_MAX_BYTES).")
    job = _new_job(
        membership, fileobj, source=source, dry_run=dry_run, tz=tz, date_format=date_format,
        invite_unknown=invite_unknown,
    )  # fmt: skip
    recording.record(
        action="import_job.created",
        target_type="import_job",
        target_id=job.pk,
        company_id=job.company_id,
        actor=membership.user,
        changes={
            "source": [None, source],
            "dry_run": [None, dry_run],
            "file_name": [None, job.file_name],
            **({"invite_unknown": [None, True]} if invite_unknown else {}),
        },  # fmt: skip
    )
    from imports.tasks import run_import

    transaction.on_commit(lambda: run_import.delay(str(job.pk)))
    return job


def import_cancel(*, job: ImportJob) -> ImportJob:
    """PENDING or RUNNING -> CANCELLED. A PENDING job (never started, or waiting for its retry)
    ends here and now; a RUNNING one stops at its next chunk, its worker ends it (the chunks
    committed before stay). A finished job is a 409."""
    from common.exceptions import ConflictError

    now = timezone.now()
    waiting = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PENDING).update(
        status=ImportStatus.CANCELLED, updated_at=now
    )
    running = waiting or ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
        status=ImportStatus.CANCELLED, updated_at=now
    )
    job.refresh_from_db()
    if not running:
        raise ConflictError(f"The import is already {job.status}.", code="finished", attr="status")
    if waiting:  # no worker holds it: nobody else will end it
        _finish(job, ImportStatus.CANCELLED)
    return job


def check_invite(membership: Membership, invite_unknown: bool) -> None:
    """Inviting people is managing members: OWNER and ADMIN only."""
    if invite_unknown and not permissions.can_manage_members(membership):
        raise PermissionDeniedError(
            "Only an OWNER or ADMIN may invite the file's unknown people.", code="permission_denied",
            attr="invite_unknown",
        )  # fmt: skip


def _new_job(membership: Membership, fileobj: File, *, source: str, dry_run: bool, tz: str | None,
             date_format: str | None, invite_unknown: bool = False) -> ImportJob:  # fmt: skip
    """The job row, with its file kept in the default storage until the job ends."""
    job = ImportJob(
        company_id=membership.company_id,
        requested_by_id=membership.user_id,
        source=source,
        dry_run=dry_run,
        invite_unknown=invite_unknown,
        timezone=tz or membership.user.timezone or membership.company.timezone,
        date_format=date_format or "",
        file_name=(getattr(fileobj, "name", "") or "").rsplit("/", 1)[-1][:255],
        size_bytes=fileobj.size,
    )
    job.file_key = default_storage.save(f"imports/{membership.company_id}/{job.pk}/upload", fileobj)
    job.save()
    return job


# --------------------------------------------------------------------------- running


def claim(pk: UUID | str) -> ImportJob | None:
    """Take the job for one attempt (common/jobs.py's claim, with SPEC's RUNNING)."""
    return jobs.claim(
        ImportJob.objects.all(), pk, max_attempts=MAX_ATTEMPTS, running=ImportStatus.RUNNING, started_at=timezone.now()
    )


def import_run(*, job_id: UUID | str, on_progress: Callable[[ImportJob], None] | None = None) -> ImportJob | None:
    """Run a job to its end (READY, FAILED or CANCELLED, with ``import.finished``); None when
    there was nothing to do. A failure that a retry may fix raises for the task to retry;
    a real run's retry resumes after the last committed chunk."""
    job = claim(job_id)
    if job is None:
        return None
    try:
        run_pipeline(job, on_progress=on_progress)
    except Cancelled:
        job.refresh_from_db()
        _finish(job, ImportStatus.CANCELLED)
    except TooManyRows as exc:
        job.refresh_from_db()
        job.error = str(exc)
        _finish(job, ImportStatus.FAILED)
    except Exception as exc:
        job.refresh_from_db()
        job.error = f"{type(exc).__name__}: {exc}"[:1000]
        final = job.attempts >= MAX_ATTEMPTS or isinstance(exc, PermissionError)
        logger.warning("import_failed", import_id=str(job.pk), attempt=job.attempts, final=final, error=job.error)
        if final:
            _finish(job, ImportStatus.FAILED)
            return job
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.PENDING, error=job.error, updated_at=timezone.now()
        )
        raise
    else:
        job.refresh_from_db()
        _finish(job, ImportStatus.READY)
    return job


def run_pipeline(job: ImportJob, *, on_progress: Callable[[ImportJob], None] | None = None) -> dict:
    """The rows of the job's file through the pipeline; the job row follows its progress."""
    membership = (
        Membership.objects.filter(company_id=job.company_id, user_id=job.requested_by_id, is_active=True)
        .select_related("company", "user")
        .first()
    )
    if membership is None:
        raise PermissionError("The requester is no longer a member of the company.")
    parse = sources.parser_for(job.source)
    options = ParseOptions(
        timezone=ZoneInfo(job.timezone),
        date_format=job.date_format or None,
        importer_email=membership.user.email,
        emails_by_name=people.emails_by_name(job.company_id),
    )
    if job.progress_total is None:
        job.progress_total = _estimate_rows(job)
        ImportJob.objects.filter(pk=job.pk).update(progress_total=job.progress_total)
    resume = job.committed_row if not job.dry_run else 0
    last_event = [float("-inf")]  # the first chunk tells the requester at once; then once a second

    def on_chunk(importer: Importer, last_row: int) -> None:
        job.progress_done = importer.rows_seen
        job.summary = importer.summary
        if not job.dry_run:
            job.committed_row = last_row
        # Only while it still runs: a cancel in between stops it here (a real run's chunk
        # then rolls back with this transaction).
        if not ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
            progress_done=job.progress_done,
            summary=job.summary,
            committed_row=job.committed_row,
            updated_at=timezone.now(),
        ):
            raise Cancelled
        if time.monotonic() - last_event[0] >= PROGRESS_EVERY_SECONDS:
            last_event[0] = time.monotonic()
            job.status = ImportStatus.RUNNING
            with transaction.atomic():
                events.import_progress(job)
        if on_progress is not None:
            on_progress(job)

    importer = Importer(
        company=membership.company,
        membership=membership,
        source=job.source,
        dry_run=job.dry_run,
        fields=dict(sources.field_names(job.source)),
        chunk_rows=settings.IMPORT_CHUNK_ROWS,
        max_rows=settings.IMPORT_MAX_ROWS,
        summary=job.summary if resume else ImportJob._meta.get_field("summary").get_default(),
        resume_after=resume,
        on_chunk=on_chunk,
        job_id=job.pk,
        # Re-checked at run time: a requester demoted since the request invites nobody.
        invite_unknown=job.invite_unknown and permissions.can_manage_members(membership),
    )
    with default_storage.open(job.file_key, "rb") as stream:
        summary = importer.run(parse(cast(BinaryIO, stream), options))
    job.summary, job.progress_done = summary, importer.rows_seen
    return summary


def _estimate_rows(job: ImportJob) -> int | None:
    """A CSV's data rows, counted by its lines (a quoted field may hold a line break: the
    count is then a little high, and becomes exact at the end); None for JSON."""
    if not job.source.endswith("_csv"):
        return None
    lines, last = 0, b"\n"
    with default_storage.open(job.file_key, "rb") as stream:
        while block := stream.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(0, lines + (last != b"\n") - 1)


def _finish(job: ImportJob, status: str) -> None:
    """The end of a job: its status and summary, the file gone, ``import.finished`` to the requester."""
    job.status = status
    job.finished_at = timezone.now()
    if status == ImportStatus.READY:
        job.progress_total = job.progress_done
    if job.file_key:
        default_storage.delete(job.file_key)
        job.file_key = ""
    with transaction.atomic():
        job.save(
            update_fields=[
                "status", "finished_at", "progress_total", "progress_done", "summary", "error", "file_key",
                "updated_at",
            ]
        )  # fmt: skip
        events.import_finished(job)


def import_file(*, membership: Membership, path: str, source: str, dry_run: bool, tz: str | None = None,
                date_format: str | None = None, invite_unknown: bool = False,
                on_progress: Callable[[ImportJob], None] | None = None) -> ImportJob:  # fmt: skip
    """``manage.py import_data``: the same job and pipeline as the API's, run here and now."""
    with open(path, "rb") as handle:
        fileobj = File(handle, name=path.rsplit("/", 1)[-1])
        check_source(source)
        check_invite(membership, invite_unknown)
        job = _new_job(
            membership, fileobj, source=source, dry_run=dry_run, tz=tz, date_format=date_format,
            invite_unknown=invite_unknown,
        )  # fmt: skip
    import_run(job_id=job.pk, on_progress=on_progress)
    job.refresh_from_db()
    return job
