"""What an image file is and how many pixels it declares, judged before anything is decoded.

A header of a few bytes can ask a decoder for gigabytes, and a file's name says nothing about
its contents (a JPEG saved as ``.png`` decodes, lossily). So readers identify files by their
leading bytes and refuse a declared size above a pixel limit before allocating for it.

The limit is read on each call (argument, else ``$VOSBENCH_MAX_PIXELS``, else
:data:`DEFAULT_MAX_PIXELS`); importing vosbench changes no global setting, Pillow's included.
"""

from __future__ import annotations

import os
from pathlib import Path

from vosbench.errors import ConfigError, MaskFormatError, Problem

DEFAULT_MAX_PIXELS = 2**27  # 134 M pixels: four 8K UHD frames (7680x4320 = 33 M) and more
MAX_PIXELS_ENV = "VOSBENCH_MAX_PIXELS"

# Leading bytes of the formats a mask or frame could plausibly be, in the order tried.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"BM", "BMP"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"qoif", "QOI"),
    (b"\x00\x00\x01\x00", "ICO"),
)


def max_pixels(limit: int | None = None) -> int:
    """The pixel limit in force: ``limit``, else ``$VOSBENCH_MAX_PIXELS``, else the default."""
    if limit is not None:
        return _positive(limit, "max_pixels")
    value = os.environ.get(MAX_PIXELS_ENV)
    if value is None or not value.strip():
        return DEFAULT_MAX_PIXELS
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    return _positive(number, f"{MAX_PIXELS_ENV}={value!r}")


def _positive(number: int, name: str) -> int:
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise ConfigError(
            f"{name}: expected a positive whole number of pixels (default {DEFAULT_MAX_PIXELS})"
        )
    return number


def check_pixels(path: Path | None, size: tuple[int, int], limit: int) -> None:
    """Refuse a declared (width, height) above ``limit`` pixels, naming the file and the size."""
    width, height = size
    if width * height > limit:
        raise MaskFormatError(
            Problem(
                path,
                f"declares {width}x{height} = {width * height:,} pixels, more than the limit of "
                f"{limit:,} (set {MAX_PIXELS_ENV} to allow larger images)",
                "too_large",
            )
        )


def image_format(data: bytes) -> str | None:
    """The image format ``data`` starts with ("PNG", "BMP", "JPEG", ...), or None when unknown."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return None
