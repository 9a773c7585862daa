"""Pillow's resampling of 8-bit images, reproduced in torch (same bytes, on any device).

Released test code often resizes uint8 frames with Pillow (COSNet through
``scipy.misc.imresize``, which is ``PIL.Image.resize`` on the uint8 array). Pillow's resize is
not a plain bilinear interpolation: it is a separable convolution whose filter support grows
with the downscaling factor (an antialiased resize), computed horizontally first, each pass
rounded back to 8 bits, with the filter weights in 22-bit fixed point. ``F.interpolate(...,
antialias=True)`` computes the same filter in floating point and differs by one grey level
here and there; this module follows Pillow's integer arithmetic (``libImaging/Resample.c``:
coefficients normalised in double precision, rounded to fixed point, accumulated from half a
unit, clipped to 0…255), so a frame can stay on the GPU and still give Pillow's bytes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch import Tensor

PRECISION_BITS = 32 - 8 - 2
"""Pillow's fixed-point precision for 8-bit images."""


def _bilinear(x: float) -> float:
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def _bicubic(x: float, a: float = -0.5) -> float:
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return 0.0


FILTERS: dict[str, tuple[Callable[[float], float], float]] = {
    "bilinear": (_bilinear, 1.0),
    "bicubic": (_bicubic, 2.0),
}
"""Filter function and support (in input pixels at scale 1) by Pillow's name."""


@functools.lru_cache(maxsize=64)
def coefficients(in_size: int, out_size: int, kind: str) -> tuple[Tensor, Tensor]:
    """(first input index per output pixel (out,), fixed-point weights (out, taps)) for one axis."""
    if kind not in FILTERS:
        raise ValueError(f"unknown Pillow filter {kind!r}; known: {', '.join(FILTERS)}")
    if in_size < 1 or out_size < 1:
        raise ValueError(f"cannot resize {in_size} pixels to {out_size}")
    function, support = FILTERS[kind]
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    support *= filter_scale
    taps = int(math.ceil(support)) * 2 + 1
    first = torch.zeros(out_size, dtype=torch.long)
    weights = torch.zeros(out_size, taps, dtype=torch.long)
    inverse = 1.0 / filter_scale
    for out in range(out_size):
        centre = (out + 0.5) * scale
        low = max(int(centre - support + 0.5), 0)
        count = min(int(centre + support + 0.5), in_size) - low
        values = [function((i + low - centre + 0.5) * inverse) for i in range(count)]
        total = sum(values)
        if total != 0.0:
            values = [v / total for v in values]
        first[out] = low
        # rounded half away from zero, then truncated, as Pillow's normalize_coeffs_8bpc
        weights[out, :count] = torch.tensor(
            [int(v * (1 << PRECISION_BITS) + (0.5 if v >= 0 else -0.5)) for v in values],
            dtype=torch.long,
        )
    return first, weights


def _resample(image: Tensor, out_size: int, kind: str) -> Tensor:
    """One pass along the first axis of an int32 (N, ...) image: Pillow's ``ImagingResample*_8bpc``.

    int32 as Pillow's accumulator (no overflow: at most 255 x 2^22 x the filter's absolute sum).
    """
    in_size = image.shape[0]
    first, weights = coefficients(in_size, out_size, kind)
    index = (
        (first[:, None] + torch.arange(weights.shape[1])).clamp_(max=in_size - 1).to(image.device)
    )
    weights = weights.to(device=image.device, dtype=torch.int32).view(
        out_size, -1, *[1] * (image.ndim - 1)
    )
    total = torch.full((), 1 << (PRECISION_BITS - 1), dtype=torch.int32, device=image.device)
    for tap in range(weights.shape[1]):  # taps past a row's end carry weight 0
        total = total + image.index_select(0, index[:, tap]) * weights[:, tap]
    return (total >> PRECISION_BITS).clamp_(0, 255)


def pillow_resize(image: Tensor, size: tuple[int, int], kind: str = "bilinear") -> Tensor:
    """``PIL.Image.fromarray(image).resize((w, h), kind)`` for a uint8 (H, W, C) tensor → uint8
    (h, w, C).

    Horizontal pass first, as Pillow; a dimension whose size does not change is not resampled.
    """
    if image.dtype != torch.uint8 or image.ndim != 3:
        raise ValueError(
            f"expected a uint8 (H, W, C) image, got {image.dtype} {tuple(image.shape)}"
        )
    height, width = size
    out = image.to(torch.int32)
    if width != image.shape[1]:  # along columns: (W, H, C) so that whole columns are gathered
        out = _resample(out.transpose(0, 1).contiguous(), width, kind).transpose(0, 1)
    if height != image.shape[0]:
        out = _resample(out.contiguous(), height, kind)
    return out.to(torch.uint8).contiguous()
