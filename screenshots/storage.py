"""Where screenshot files live: the default storage, an S3-compatible bucket when S3_BUCKET is
set. Read by the services (presigned uploads) and the output serializer (links) alike."""

from __future__ import annotations

from django.core.files.storage import default_storage


def on_s3() -> bool:
    """Is the default storage an S3-compatible bucket (S3_BUCKET set)?"""
    return hasattr(default_storage, "bucket_name")
