"""The one mask reader, the one palette writer and atomic file writes."""

from vosbench.io.atomic import atomic_write_bytes, atomic_write_text
from vosbench.io.masks import (
    DAVIS_PALETTE,
    encode_mask,
    read_frame,
    read_mask,
    write_mask,
)

__all__ = [
    "DAVIS_PALETTE",
    "encode_mask",
    "atomic_write_bytes",
    "atomic_write_text",
    "read_frame",
    "read_mask",
    "write_mask",
]
