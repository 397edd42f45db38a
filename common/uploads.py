"""How large an upload request may be: one number per upload view, shared with the
idempotency layer, which hashes keyed bodies whole (a key must never turn a 201 into a 413),
and the two checks every upload view makes before it reads the form."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ValidationError

from common.exceptions import PayloadTooLarge

# A multipart request is the file plus its other fields and the part headers and boundaries.
FORM_OVERHEAD_BYTES = 64 * 1024


def screenshot_request_bytes() -> int:
    """The largest screenshot upload request: the file (SCREENSHOT_MAX_BYTES) and its form."""
    return settings.SCREENSHOT_MAX_BYTES + FORM_OVERHEAD_BYTES


def import_request_bytes() -> int:
    """The largest import upload request: the file (IMPORT_MAX_BYTES) and its form."""
    return settings.IMPORT_MAX_BYTES + FORM_OVERHEAD_BYTES


def max_upload_request_bytes() -> int:
    """The largest upload request any view takes. Each view checks its own limit."""
    return max(screenshot_request_bytes(), import_request_bytes())


def refuse_larger_than(request, limit: int, detail: str) -> None:
    """413 by the declared length, before Django reads (and spools) the body."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        raise PayloadTooLarge(detail)


def one_file(request) -> None:
    """400 on ``file`` when the form carries more than one file, in any field."""
    if sum(len(request.FILES.getlist(name)) for name in request.FILES) > 1:
        raise ValidationError({"file": ["One file per request."]})
