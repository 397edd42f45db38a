"""Decoding and rewriting screenshots with Pillow, safely.

- An image is what Pillow decodes as PNG, JPEG or WebP, whatever the file is called or claims.
- Decompression bombs are refused from the header, before any pixel is decoded: more than
  ``MAX_PIXELS`` (40 megapixels) is an error, and Pillow's own bomb warning is an error too.
- What is stored is rebuilt from the pixels alone (no EXIF, ICC, text chunks or XMP survive),
  as WebP: the processed image and a 320-pixel-wide thumbnail.

Blur radius by level, relative to the image's width so a 4K and an HD screenshot are equally
unreadable: 1 = width/400 (≈5 px at 1920, shapes and colours stay), 2 = width/160 (≈12 px, text
unreadable), 3 = width/64 (≈30 px, only layout and colour areas)."""

from __future__ import annotations

import io
import warnings
from typing import IO, cast

from django.core.files import File
from PIL import Image, ImageFilter

MAX_PIXELS = 40_000_000
FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
BLUR_DIVISOR = {1: 400, 2: 160, 3: 64}
THUMBNAIL_WIDTH = 320
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow warns past this (an error here), and refuses past twice it


class ImageRefused(ValueError):
    """Not an image we take; the message says why."""


def _open(data: IO[bytes] | File) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(cast(IO[bytes], data))  # a File proxies the reads and seeks Pillow makes
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(f"More than {MAX_PIXELS // 1_000_000} megapixels.") from None
    except Exception:
        raise ImageRefused("Not a PNG, JPEG or WebP image.") from None
    if image.format not in FORMATS:
        raise ImageRefused("Not a PNG, JPEG or WebP image.")
    width, height = image.size
    if width * height > MAX_PIXELS:  # from the header: nothing decoded yet
        raise ImageRefused(f"More than {MAX_PIXELS // 1_000_000} megapixels.")
    return image


def inspect(fileobj: IO[bytes] | File) -> str:
    """Check an upload without decoding its pixels: returns the file extension of its format."""
    image = _open(fileobj)
    try:
        image.verify()  # structure and checksums, cheaply
    except Exception:
        raise ImageRefused("The image is damaged.") from None
    fileobj.seek(0)
    return FORMATS[image.format or ""]  # _open refused an image of no format


def process(data: bytes, *, blur_level: int) -> tuple[bytes, bytes, tuple[int, int]]:
    """(image WebP, thumbnail WebP, (width, height)): decoded in full, rebuilt from pixels only,
    blurred at ``blur_level``."""
    image = _open(io.BytesIO(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except Exception as exc:
        raise ImageRefused(f"The image could not be decoded: {exc}") from None
    transparent = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    mode = "RGBA" if transparent else "RGB"
    pixels = image.convert(mode)
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())  # pixels only: no metadata comes along
    if blur_level:
        clean = clean.filter(ImageFilter.GaussianBlur(radius=max(1.0, clean.width / BLUR_DIVISOR[blur_level])))
    thumbnail = clean.resize((THUMBNAIL_WIDTH, max(1, round(clean.height * THUMBNAIL_WIDTH / clean.width))))
    return _webp(clean), _webp(thumbnail), clean.size


def _webp(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=82, method=4)
    return out.getvalue()
