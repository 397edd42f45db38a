"""How large an upload request may be: one number for the upload view and for the
idempotency layer, which hashes keyed bodies whole (a key must never turn a 201 into a 413)."""

from __future__ import annotations

from django.conf import settings

# A multipart request is the file plus its other fields and the part headers and boundaries.
FORM_OVERHEAD_BYTES = 64 * 1024


def screenshot_request_bytes() -> int:
    """The largest screenshot upload request: the file (SCREENSHOT_MAX_BYTES) and its form."""
    return settings.SCREENSHOT_MAX_BYTES + FORM_OVERHEAD_BYTES


def max_upload_request_bytes() -> int:
    """The largest upload request any view takes: the file (a screenshot, SCREENSHOT_MAX_BYTES,
    or an import, IMPORT_MAX_BYTES) and its form. Each view checks its own limit."""
    return max(settings.SCREENSHOT_MAX_BYTES, settings.IMPORT_MAX_BYTES) + FORM_OVERHEAD_BYTES
