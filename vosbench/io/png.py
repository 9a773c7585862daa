"""A fast decoder for the PNGs masks are nearly always stored as: 8-bit, greyscale or palette,
not interlaced, rows filtered with None, Sub or Up.

Decoding a mask is most of the cost of evaluation; general decoders spend it on inflating with
stdlib zlib and copying the image out. Here the pixel rows come straight from one inflate
(zlib-ng when installed, several times faster than zlib) with vectorised un-filtering.
Anything else returns None and the caller falls back to Pillow, which also produces the error
messages for broken streams.

Decoding trusts the header only as far as it is bounded: a header above the pixel limit is
refused before anything is inflated, and the stream is inflated to at most the size the header
declares (plus one byte, to tell a file that holds more image data than it declares), so a
small file cannot unpack into gigabytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vosbench.errors import MaskFormatError, Problem
from vosbench.io.headers import check_pixels
from vosbench.io.headers import max_pixels as pixel_limit

try:  # zlib-ng inflates the same streams several times faster than zlib
    from zlib_ng import zlib_ng as _fast_zlib

    _decompressobj: Callable[[], Any] = _fast_zlib.decompressobj
except ImportError:  # pragma: no cover - depends on the platform's wheels
    _decompressobj = zlib.decompressobj

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_GREY, _PALETTE = 0, 3
_NONE, _SUB, _UP = 0, 1, 2


def decode_png_labels(
    data: bytes, *, path: Path | None = None, max_pixels: int | None = None
) -> np.ndarray | None:
    """The stored 8-bit values (palette indices or grey levels) of a simple PNG, else None.

    Raises:
        MaskFormatError (naming ``path``): the header declares more than ``max_pixels``
            (default: :func:`vosbench.io.headers.max_pixels`), or the image data inflates to
            more, or cleanly to less, than the header declares.
    """
    if not data.startswith(SIGNATURE):
        return None
    header, idat = _chunks(data)
    if header is None or len(header) != 13 or not idat:
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    check_pixels(path, (width, height), pixel_limit(max_pixels))
    if depth != 8 or colour not in (_GREY, _PALETTE) or interlace or width == 0 or height == 0:
        return None
    raw = _inflate_rows(b"".join(idat), width, height, path)
    if raw is None:
        return None
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, width + 1)
    filters, pixels = rows[:, 0], rows[:, 1:]
    if not filters.any():
        return pixels
    if int(filters.max()) > _UP:
        return None
    return _unfilter(filters, pixels)


def _inflate_rows(stream: bytes, width: int, height: int, path: Path | None) -> bytes | None:
    """Exactly the ``height`` filtered rows the header declares, inflating one byte past them.

    More data than declared, or a stream that ends cleanly short of it (which Pillow would pad
    with zeros, silently), is a damaged file; a stream that is itself broken returns None so
    that Pillow reports it.
    """
    expected = height * (width + 1)
    inflater = _decompressobj()
    try:
        raw = inflater.decompress(stream, expected + 1)
    except Exception:  # damaged stream: let Pillow report it
        return None
    if len(raw) == expected:
        return raw
    if len(raw) > expected:
        problem = f"damaged PNG: declares {width}x{height} but holds more image data"
    elif inflater.eof:
        problem = (
            f"damaged PNG: declares {width}x{height} but its image data ends after "
            f"{len(raw) // (width + 1)} of {height} rows"
        )
    else:
        return None
    raise MaskFormatError(Problem(path, problem, "unreadable"))


def _chunks(data: bytes):
    """(IHDR payload, IDAT payloads); stops at IEND or at a truncated chunk."""
    header, idat, position = None, [], len(SIGNATURE)
    idat_list: list[bytes] = idat
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        payload = data[position + 8 : position + 8 + length]
        if len(payload) != length:
            return None, []
        if kind == b"IHDR":
            header = payload
        elif kind == b"IDAT":
            idat_list.append(payload)
        elif kind == b"IEND":
            break
        position += 12 + length
    return header, idat_list


def _unfilter(filters: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Undo Sub (running sum along the row) and Up (running sum down runs of Up rows), mod 256."""
    out = pixels.copy()
    sub = filters == _SUB
    if sub.any():
        out[sub] = np.cumsum(out[sub], axis=1, dtype=np.uint8)
    up_rows = np.flatnonzero(filters == _UP)
    if up_rows.size:
        # Split the Up rows into runs of consecutive rows; each run adds onto the row above it.
        breaks = np.flatnonzero(np.diff(up_rows) != 1) + 1
        for run in np.split(up_rows, breaks):
            start, stop = run[0], run[-1] + 1
            block = np.cumsum(out[start:stop], axis=0, dtype=np.uint8)
            if start > 0:
                block += out[start - 1]
            out[start:stop] = block
    return out
