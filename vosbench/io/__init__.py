"""The one mask reader, the one palette writer, atomic file writes and the pixel limit."""

from vosbench.io.atomic import atomic_write_bytes, atomic_write_text
from vosbench.io.headers import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV, max_pixels
from vosbench.io.masks import (
    DAVIS_PALETTE,
    encode_mask,
    read_frame,
    read_mask,
    write_mask,
)

__all__ = [
    "DAVIS_PALETTE",
    "DEFAULT_MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "max_pixels",
    "encode_mask",
    "atomic_write_bytes",
    "atomic_write_text",
    "read_frame",
    "read_mask",
    "write_mask",
]
