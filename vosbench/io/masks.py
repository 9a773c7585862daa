"""The one mask reader and the one palette writer every part of vosbench goes through.

Masks are label maps: a 2-D ``uint8`` array whose values are object ids (0 = background,
255 = void where a dataset defines it). Ids are read from the stored indices, never from
colours: a palette PNG's colours are irrelevant and an RGB PNG is refused unless the caller
says it is a grey mask stored in three equal channels (SegTrackv2).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from vosbench.errors import MaskFormatError, Problem
from vosbench.io.atomic import atomic_write_bytes
from vosbench.io.headers import check_pixels, image_format
from vosbench.io.headers import max_pixels as max_pixels_limit
from vosbench.io.png import decode_png_labels

PathLike = str | os.PathLike[str]


def _voc_palette() -> np.ndarray:
    """The Pascal VOC colour map used by the DAVIS annotations and the official writer."""
    palette = np.zeros((256, 3), dtype=np.uint8)
    for index in range(256):
        label, r, g, b = index, 0, 0, 0
        for bit in range(8):
            r |= ((label >> 0) & 1) << (7 - bit)
            g |= ((label >> 1) & 1) << (7 - bit)
            b |= ((label >> 2) & 1) << (7 - bit)
            label >>= 3
        palette[index] = (r, g, b)
    return palette


DAVIS_PALETTE: np.ndarray = _voc_palette()
DAVIS_PALETTE.setflags(write=False)

_INDEX_MODES = {"P", "L", "1"}
_MASK_FORMATS = ("PNG", "BMP")  # lossless; SegTrackv2 ships BMP masks


def read_mask(
    path: PathLike,
    *,
    grey_rgb: bool = False,
    data: bytes | None = None,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Read a mask PNG (or BMP) as a ``uint8`` label map of shape (H, W).

    The file is identified by its bytes, not its name: a JPEG named ``.png`` is refused, since
    lossy compression has already changed its ids.

    Args:
        path: the mask file (named in errors).
        data: the file's bytes when the caller already read them (to hash them, say).
        grey_rgb: accept 3-channel masks whose channels are equal (SegTrackv2) and return
            channel 0. Without it an RGB mask is an error: ids cannot be recovered from
            colours.
        max_pixels: refuse images declaring more pixels (default
            :func:`vosbench.io.headers.max_pixels`: ``$VOSBENCH_MAX_PIXELS`` or 2**27).

    Raises:
        MaskFormatError: unreadable file, not a PNG or BMP, too many pixels, RGB without
            ``grey_rgb``, more than 8 bits.
    """
    path = Path(path)
    if data is None:
        data = read_mask_bytes(path)
    limit = max_pixels_limit(max_pixels)
    if _mask_format(path, data) == "PNG":
        labels = decode_png_labels(data, path=path, max_pixels=limit)
        if labels is not None:
            return labels
    mode, array = _decode_with_pillow(path, data, limit)
    return _labels_from_mode(path, mode, array, grey_rgb)


def _mask_format(path: Path, data: bytes) -> str:
    """ "PNG" or "BMP" from the file's leading bytes; any other content is a MaskFormatError."""
    found = image_format(data)
    if found in _MASK_FORMATS:
        return found
    if found is not None:
        message = f"is a {found} file, not a PNG; masks must be lossless indexed PNGs"
        raise MaskFormatError(Problem(path, message, "format"))
    what = "empty file" if not data else "neither a PNG nor a BMP file"
    raise MaskFormatError(Problem(path, f"cannot be read as an image ({what})", "unreadable"))


def _decode_with_pillow(path: Path, data: bytes, limit: int) -> tuple[str, np.ndarray]:
    """(mode, pixels) through Pillow, refusing a declared size above ``limit`` before decoding."""
    from PIL import Image

    with _image_errors(path), Image.open(io.BytesIO(data)) as image:
        check_pixels(path, image.size, limit)
        return image.mode, np.asarray(image)


@contextmanager
def _image_errors(path: Path) -> Iterator[None]:
    """Pillow's exceptions, bomb checks included, as a MaskFormatError naming ``path``.

    Pillow is imported where it is used: the usual PNG mask never reaches it (the built-in
    decoder reads it), and importing it costs a command that only scores masks.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        yield
    except FileNotFoundError:
        raise MaskFormatError(Problem(path, "file not found", "missing")) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        message = f"declares more pixels than Pillow will decode ({error})"
        raise MaskFormatError(Problem(path, message, "too_large")) from None
    except UnidentifiedImageError:
        message = "cannot be read as an image (unrecognised format)"
        raise MaskFormatError(Problem(path, message, "unreadable")) from None
    except (OSError, ValueError, SyntaxError) as error:
        message = f"cannot be read as an image ({error})"
        raise MaskFormatError(Problem(path, message, "unreadable")) from None


def _labels_from_mode(path: Path, mode: str, array: np.ndarray, grey_rgb: bool) -> np.ndarray:
    """The label map held by a decoded image of ``mode``; colours never become ids."""
    if mode in _INDEX_MODES:
        return array.astype(np.uint8, copy=False) if mode == "1" else array
    if mode == "LA":  # one real DAVIS-2016 annotation is grey + alpha
        return np.ascontiguousarray(array[..., 0])
    if mode in ("RGB", "RGBA"):
        if grey_rgb:
            channel = array[..., 0]
            if np.array_equal(channel, array[..., 1]) and np.array_equal(channel, array[..., 2]):
                return np.ascontiguousarray(channel)
            raise MaskFormatError(
                Problem(path, "RGB mask whose channels differ; expected a grey mask", "format")
            )
        raise MaskFormatError(
            Problem(
                path,
                f"{mode} PNG: expected an indexed (palette) or greyscale PNG whose pixel values "
                "are object ids; save masks with vosbench.io.write_mask or PIL mode 'P'",
                "format",
            )
        )
    raise MaskFormatError(
        Problem(
            path, f"unsupported image mode {mode!r}; expected 8-bit indexed or greyscale", "format"
        )
    )


def read_mask_bytes(path: Path) -> bytes:
    """A mask file's bytes; a missing or unreadable file is a :class:`MaskFormatError` naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MaskFormatError(Problem(path, "file not found", "missing")) from None
    except OSError as error:
        raise MaskFormatError(
            Problem(path, f"cannot be read ({error.strerror})", "unreadable")
        ) from None


def write_mask(path: PathLike, labels: np.ndarray, palette: np.ndarray = DAVIS_PALETTE) -> Path:
    """Write a label map as an indexed PNG with the DAVIS palette, atomically.

    The file is readable by :func:`read_mask`, by ``vosbench eval`` and by the official
    DAVIS evaluator (which reads indices with ``np.array(Image.open(p))``).
    """
    return atomic_write_bytes(path, encode_mask(labels, palette))


def encode_mask(labels: np.ndarray, palette: np.ndarray = DAVIS_PALETTE) -> bytes:
    """A label map as the bytes of an indexed PNG with ``palette`` (what :func:`write_mask`
    writes)."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"a label map must be 2-D, got shape {labels.shape}")
    if labels.dtype != np.uint8:
        if labels.size and (labels.min() < 0 or labels.max() > 255):
            raise ValueError("label values must lie in 0..255")
        labels = labels.astype(np.uint8)
    labels = np.ascontiguousarray(labels)
    from PIL import Image

    image = Image.frombytes("P", (labels.shape[1], labels.shape[0]), labels.tobytes())
    image.putpalette(np.asarray(palette, dtype=np.uint8).reshape(-1).tolist())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def read_frame(path: PathLike, *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file (JPEG, PNG, BMP) as RGB ``uint8`` of shape (H, W, 3).

    The size is read from the header first and refused above ``max_pixels`` (default
    :func:`vosbench.io.headers.max_pixels`), so a hostile header never reaches the decoder.
    """
    import cv2

    path = Path(path)
    check_pixels(path, _frame_size(path), max_pixels_limit(max_pixels))
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        kind = "missing" if not path.exists() else "unreadable"
        raise MaskFormatError(
            Problem(
                path, "file not found" if kind == "missing" else "cannot be read as an image", kind
            )
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _frame_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image header; Pillow reads headers without decoding pixels."""
    from PIL import Image

    with _image_errors(path), Image.open(path) as image:
        return image.size
