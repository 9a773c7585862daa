"""The one bilinear resize of the networks and their protocols: half-pixel centres, no antialiasing.

It is OpenCV's ``INTER_LINEAR`` (RGMP's test scales and COSNet's answer, both resized with
OpenCV in the released code) and ``F.upsample(mode="bilinear")`` as PyTorch >= 0.4 runs it
(COSNet's heads, RANet's crops), i.e. ``align_corners=False``. Resizes with aligned corners
(RGMP's decoder, RANet's way back from a crop) are other computations and stay where they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor


def bilinear_resize(x: Tensor, size: Sequence[int]) -> Tensor:
    """(N, C, h, w) → (N, C, H, W) bilinear with half-pixel centres; ``x`` itself when it already
    has that size (interpolating onto the same grid is the identity, so nothing is computed)."""
    size = (int(size[0]), int(size[1]))
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
