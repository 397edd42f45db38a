"""Screenshot uploads, processing and deletion (SPEC: Screenshots; docs/screenshots.md)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import structlog
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit import recording
from common.exceptions import ConflictError, GoneError, InvalidInput, PermissionDeniedError, TooLargeError
from common.jobs import claim, hold, record_failure, requeue_lost
from common.parsers import JSONTooDeep, check_depth, nul_path
from organizations import plans
from organizations.models import Company, Membership

if TYPE_CHECKING:
    from accounts.models import User
from screenshots import events, images
from screenshots.models import Screenshot, ScreenshotStatus
from screenshots.storage import on_s3
from tracking.models import TimeEntry

logger = structlog.get_logger(__name__)
MAX_ATTEMPTS = 3
MAX_METADATA_BYTES = 4096  # as compact JSON: os, resolution, displays, ... never more
MAX_METADATA_DEPTH = 4
# How far ahead of the server's clock a tracker's captured_at may be (clock skew), as for
# heartbeats; how old: no older than the company keeps screenshots (the purge would take it
# within the hour).
MAX_CAPTURED_AHEAD = timedelta(hours=1)


def effective_settings(membership: Membership) -> tuple[bool, int]:
    """(enabled, blur level): the member's override, else the company's."""
    company = membership.company
    enabled = (
        membership.screenshots_enabled if membership.screenshots_enabled is not None else company.screenshots_enabled
    )
    level = (
        membership.screenshot_blur_level
        if membership.screenshot_blur_level is not None
        else company.screenshot_blur_level
    )
    return enabled, level


class Readable(Protocol):
    """A request body, read in chunks (an HttpRequest, a file)."""

    def read(self, size: int = ..., /) -> bytes: ...


def _key(screenshot: Screenshot, name: str) -> str:
    return f"screenshots/{screenshot.company_id}/{screenshot.user_id}/{screenshot.pk}/{name}"


@transaction.atomic
def screenshot_upload(*, membership: Membership, fileobj: File, captured_at: datetime,
                      time_entry_id: UUID | None = None,
                      metadata: dict[str, Any] | None = None) -> Screenshot:  # fmt: skip
    blur_level = _check_allowed(membership)
    if fileobj.size > settings.SCREENSHOT_MAX_BYTES:  # 413, as when the request alone says so
        raise TooLargeError(f"At most {settings.SCREENSHOT_MAX_BYTES} bytes per screenshot.")
    try:
        ext = images.inspect(fileobj)
    except images.ImageRefused as exc:
        raise InvalidInput(str(exc), code="invalid_image", attr="file") from None
    screenshot = _new_screenshot(membership, blur_level, captured_at, time_entry_id, metadata)
    screenshot.original_key = default_storage.save(_key(screenshot, f"original.{ext}"), fileobj)
    screenshot.save()
    from screenshots.tasks import process_screenshot

    transaction.on_commit(lambda: process_screenshot.delay(str(screenshot.pk)))
    return screenshot


# --------------------------------------------------------------------------- presigned uploads


def upload_instructions(screenshot: Screenshot, *, absolute: Callable[[str], str]) -> dict[str, Any]:
    """Where and how the client PUTs a presigned screenshot: on S3 a presigned PUT with the
    declared type and size in its signature (S3 refuses anything else); locally a signed,
    single-use link of ours (``absolute`` makes a path absolute). Valid UPLOAD_SECONDS."""
    from django.urls import reverse

    from common.signed_links import link_token

    if on_s3():
        bucket: Any = default_storage  # django-storages' S3Storage (untyped)
        url = bucket.connection.meta.client.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": bucket.bucket_name,
                "Key": screenshot.original_key,
                "ContentType": screenshot.declared_type,
                "ContentLength": screenshot.declared_bytes,
            },
            ExpiresIn=UPLOAD_SECONDS,
        )
    else:
        token = link_token(salt=UPLOAD_LINK_SALT, value=str(screenshot.pk))
        url = absolute(reverse("screenshot-upload", args=[screenshot.pk]) + f"?token={token}")
    headers = {"Content-Type": screenshot.declared_type, "Content-Length": str(screenshot.declared_bytes)}
    return {"url": url, "method": "PUT", "headers": headers}


CONTENT_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
UPLOAD_SECONDS = 900  # how long a presigned upload link lives
UPLOAD_LINK_SALT = "screenshot-upload"


def _check_allowed(membership: Membership) -> int:
    # The plan first: a company whose plan has no screenshots is told why (402), whatever its
    # settings still say (a plan lowered after they were turned on keeps them on, unused).
    plans.check(membership.company, plans.SCREENSHOTS)
    enabled, blur_level = effective_settings(membership)
    if not enabled:
        raise PermissionDeniedError("Screenshots are turned off for you in this company.", code="screenshots_disabled")
    return blur_level


def _checked_captured_at(membership: Membership, captured_at: datetime) -> datetime:
    now = timezone.now()
    if captured_at > now + MAX_CAPTURED_AHEAD:
        raise InvalidInput("Must not be more than an hour in the future.", code="invalid", attr="captured_at")
    days = kept_days(membership.company)
    if captured_at < now - timedelta(days=days):
        raise InvalidInput(
            f"Must not be older than the company keeps screenshots ({days} days).", code="invalid", attr="captured_at"
        )
    return captured_at


def _checked_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The one rule for a screenshot's metadata, direct or presigned upload alike: a JSON object
    of at most MAX_METADATA_BYTES (compact) and MAX_METADATA_DEPTH levels, with no NUL (it is
    stored as sent, as jsonb, which refuses NUL)."""
    import json

    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInput("Must be a JSON object.", code="invalid", attr="metadata")
    try:
        check_depth(metadata, limit=MAX_METADATA_DEPTH)
    except JSONTooDeep:
        raise InvalidInput(
            f"At most {MAX_METADATA_DEPTH} levels of nesting.", code="invalid", attr="metadata"
        ) from None
    if len(json.dumps(metadata, separators=(",", ":")).encode()) > MAX_METADATA_BYTES:
        raise InvalidInput(f"At most {MAX_METADATA_BYTES} bytes as JSON.", code="invalid", attr="metadata")
    where = nul_path(metadata)
    if where is not None:
        raise InvalidInput(f"Must not contain NUL characters ({where or 'a key'}).", code="invalid", attr="metadata")
    return metadata


def _new_screenshot(membership: Membership, blur_level: int, captured_at: datetime, time_entry_id: UUID | None,
                    metadata: dict[str, Any] | None) -> Screenshot:  # fmt: skip
    """An unsaved screenshot of ``membership``'s user, its ``captured_at`` and ``metadata``
    checked; its time entry must be theirs."""
    captured_at = _checked_captured_at(membership, captured_at)
    metadata = _checked_metadata(metadata)
    if (
        time_entry_id is not None
        and not TimeEntry.objects.filter(
            pk=time_entry_id, user_id=membership.user_id, company_id=membership.company_id, deleted_at__isnull=True
        ).exists()
    ):
        raise InvalidInput("No such time entry of yours.", code="does_not_exist", attr="time_entry_id")
    return Screenshot(
        company_id=membership.company_id,
        user_id=membership.user_id,
        time_entry_id=time_entry_id,
        captured_at=captured_at,
        blur_level=blur_level,
        metadata=metadata,
    )


@transaction.atomic
def screenshot_presign(*, membership: Membership, captured_at: datetime, content_type: str, size: int,
                       time_entry_id: UUID | None = None,
                       metadata: dict[str, Any] | None = None) -> Screenshot:  # fmt: skip
    """A screenshot waiting for its upload: the client PUTs the file to a signed, single-use
    link of ours, then confirms (``screenshot_confirm``)."""
    blur_level = _check_allowed(membership)
    if content_type not in CONTENT_TYPES:
        raise InvalidInput("PNG, JPEG or WebP only.", code="invalid", attr="content_type")
    if not 0 < size <= settings.SCREENSHOT_MAX_BYTES:
        raise InvalidInput(f"1 to {settings.SCREENSHOT_MAX_BYTES} bytes.", code="too_large", attr="size")
    screenshot = _new_screenshot(membership, blur_level, captured_at, time_entry_id, metadata)
    screenshot.declared_type, screenshot.declared_bytes = content_type, size
    screenshot.upload_expires_at = timezone.now() + timedelta(seconds=UPLOAD_SECONDS)
    if on_s3():  # the client PUTs straight to the bucket, at a key fixed now
        screenshot.original_key = _key(screenshot, f"original.{CONTENT_TYPES[content_type]}")
    screenshot.save()
    return screenshot


def screenshot_receive_upload(*, screenshot: Screenshot, stream: Readable, content_length: int) -> None:
    """Store the body of a presigned PUT: once, within its time, no larger than declared
    (read in chunks, never whole into memory)."""
    if screenshot.original_key or screenshot.status != ScreenshotStatus.PENDING:
        raise ConflictError("This upload link was used already.", code="already_uploaded")
    if screenshot.upload_expires_at is None or screenshot.upload_expires_at < timezone.now():
        raise GoneError("This upload link has expired: presign again.", code="upload_expired")
    if content_length != screenshot.declared_bytes:
        raise InvalidInput("The body must be exactly the declared size.", code="size_mismatch", attr="size")
    with tempfile.TemporaryFile() as buffer:
        received = 0
        while chunk := stream.read(64 * 1024):
            received += len(chunk)
            if received > screenshot.declared_bytes:
                raise InvalidInput("The body is larger than declared.", code="size_mismatch", attr="size")
            buffer.write(chunk)
        buffer.seek(0)
        ext = CONTENT_TYPES[screenshot.declared_type]
        key = default_storage.save(_key(screenshot, f"original.{ext}"), File(buffer))
    claimed = Screenshot.objects.filter(pk=screenshot.pk, original_key="").update(original_key=key)
    if not claimed:  # a concurrent PUT got there first
        default_storage.delete(key)
        raise ConflictError("This upload link was used already.", code="already_uploaded")


def screenshot_confirm(*, screenshot: Screenshot) -> Screenshot:
    """Check what arrived against what was declared (size, and type by decoding the header)
    and queue the processing; a mismatch deletes the upload (presign again)."""
    if screenshot.status != ScreenshotStatus.PENDING or screenshot.attempts:
        return screenshot  # confirmed already: idempotent
    if not screenshot.original_key or not default_storage.exists(screenshot.original_key):
        raise InvalidInput("Nothing was uploaded yet.", code="not_uploaded", attr=None)
    try:
        if default_storage.size(screenshot.original_key) != screenshot.declared_bytes:
            raise images.ImageRefused("The upload is not the declared size.")
        with default_storage.open(screenshot.original_key, "rb") as stored:
            ext = images.inspect(stored)
        if ext != CONTENT_TYPES[screenshot.declared_type]:
            raise images.ImageRefused("The upload is not of the declared type.")
    except images.ImageRefused as exc:
        default_storage.delete(screenshot.original_key)
        if not on_s3():  # our own PUT link may be used again; an S3 key stays where it was
            Screenshot.objects.filter(pk=screenshot.pk).update(original_key="")
        raise InvalidInput(str(exc), code="invalid_image", attr="file") from None
    from screenshots.tasks import process_screenshot

    transaction.on_commit(lambda: process_screenshot.delay(str(screenshot.pk)))
    return screenshot


def screenshot_process(*, screenshot_id: UUID | str) -> Screenshot | None:
    """Decode, strip, blur, thumbnail, store, mark READY and emit screenshot.ready; then delete
    the original (it carries the metadata, and the unblurred pixels when a level applies).
    None when there was nothing to do; raises for the task to retry until the attempts are
    spent, then FAILED with the reason."""
    uploaded = Screenshot.objects.exclude(original_key="")  # a presigned one before its upload: not yet
    screenshot = claim(uploaded, screenshot_id, max_attempts=MAX_ATTEMPTS)
    if screenshot is None:
        # A redelivery of a task whose process died after its commit: finish what it left.
        leftover = uploaded.filter(pk=screenshot_id, status=ScreenshotStatus.READY).first()
        if leftover is not None:
            _drop_original(leftover)
        return None
    failure: Exception | None = None
    with transaction.atomic():
        if not hold(screenshot):
            return None  # a later delivery took it over: that one finishes it
        try:
            image, thumbnail, (width, height) = _render_and_store(screenshot)
        except Exception as exc:
            failure = exc
            final, reason = record_failure(
                screenshot, exc, max_attempts=MAX_ATTEMPTS, final=isinstance(exc, images.ImageRefused)
            )
        else:
            screenshot.status = ScreenshotStatus.READY
            screenshot.width, screenshot.height, screenshot.bytes = width, height, len(image)
            screenshot.sha256, screenshot.processed_at = hashlib.sha256(image).hexdigest(), timezone.now()
            screenshot.error = ""
            screenshot.save()
            events.screenshot_ready(screenshot)
            transaction.on_commit(lambda: _drop_original(screenshot))
    if failure is not None:  # recorded and committed above; raised here for the task to retry
        logger.warning("screenshot_failed", screenshot_id=str(screenshot.pk), final=final, error=reason)
        if final:
            return None
        raise failure
    return screenshot


def screenshots_requeue_lost(*, older_than: timedelta | None = None) -> int:
    """Process again the uploads whose task message the broker lost (``common.jobs.requeue_lost``).
    A presigned upload never attempted is left alone: it may not be confirmed yet, and
    confirming again queues it (``screenshot_confirm`` is idempotent until the first attempt)."""
    from screenshots.tasks import process_screenshot

    waiting = Screenshot.objects.exclude(original_key="").exclude(declared_type__gt="", attempts=0)
    after = older_than or timedelta(seconds=settings.JOB_REQUEUE_AFTER_SECONDS)
    return requeue_lost(waiting, process_screenshot, older_than=after)


def _render_and_store(screenshot: Screenshot) -> tuple[bytes, bytes, tuple[int, int]]:
    """Decode, strip, blur and thumbnail the original; store both files and set their keys."""
    with default_storage.open(screenshot.original_key, "rb") as original:
        image, thumbnail, size = images.process(original.read(), blur_level=screenshot.blur_level)
    image_key, thumbnail_key = _key(screenshot, "image.webp"), _key(screenshot, "thumbnail.webp")
    # An attempt killed after storing these and before its commit left them behind: the
    # storage would save beside them under a new name, and one file would be left twice.
    for key in (image_key, thumbnail_key):
        default_storage.delete(key)
    screenshot.image_key = default_storage.save(image_key, ContentFile(image))
    screenshot.thumbnail_key = default_storage.save(thumbnail_key, ContentFile(thumbnail))
    return image, thumbnail, size


def _drop_original(screenshot: Screenshot) -> None:
    """Delete a READY screenshot's original (its metadata, and its unblurred pixels), then
    forget its key. In that order: a process killed between the READY commit and the delete
    leaves the key set, and the redelivered task (acknowledged only once it returns) deletes
    the file; forgetting the key first would leave the original behind for good."""
    default_storage.delete(screenshot.original_key)
    Screenshot.objects.filter(pk=screenshot.pk, original_key=screenshot.original_key).update(original_key="")
    screenshot.original_key = ""


def screenshot_delete(*, screenshot: Screenshot) -> None:
    keys = [k for k in (screenshot.original_key, screenshot.image_key, screenshot.thumbnail_key) if k]
    screenshot.delete()
    for key in keys:
        default_storage.delete(key)


def kept_days(company: Company) -> int:
    """How many days the company keeps screenshots: its own setting, or its plan's retention
    when that is shorter (organizations.plans)."""
    days = plans.retention_days(company, company.screenshot_retention_days)
    assert days is not None  # the company's own setting is never "forever"
    return days


def screenshots_purge(*, now: datetime | None = None) -> int:
    """Delete screenshots past their company's retention (``kept_days``: the shorter of its
    ``screenshot_retention_days`` and its plan's ``retention_days``), files and all."""
    from datetime import timedelta

    from django.db.models import DurationField, ExpressionWrapper, IntegerField
    from django.db.models.functions import Coalesce, Least

    now = now or timezone.now()
    own = F("company__screenshot_retention_days")
    plan_days = Coalesce(plans.retention_days_sql("company__subscription_status"), own, output_field=IntegerField())
    days = Least(own, plan_days, output_field=IntegerField())
    retention = ExpressionWrapper(days * timedelta(days=1), output_field=DurationField())
    expired = Screenshot.objects.alias(retention=retention).filter(
        captured_at__lt=now - F("retention")  # type: ignore[operator]  # a SQL expression (Combinable.__rsub__)
    )
    gone = 0
    for screenshot in expired.iterator():
        screenshot_delete(screenshot=screenshot)
        gone += 1
    return gone


def screenshot_viewed(*, screenshot: Screenshot, viewer: User) -> None:
    """The audit log's row for a screenshot opened by someone other than its owner (SPEC: "who
    viewed their screenshots"): ``GET /screenshots/{id}`` of a processed one, the request that
    hands out its full-size link. The owner looking at their own writes nothing; nor do list
    pages (docs/audit.md says why)."""
    if screenshot.status != ScreenshotStatus.READY or str(screenshot.user_id) == str(viewer.pk):
        return
    recording.record(
        action="screenshot.viewed",
        target_type="screenshot",
        target_id=screenshot.pk,
        company_id=screenshot.company_id,
        actor=viewer,
        subject_user_id=screenshot.user_id,
    )
