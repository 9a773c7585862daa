"""COSNet (Lu et al., CVPR 2019): network, released test protocol and checkpoint conversion."""

from __future__ import annotations

from .method import COSNet, COSNetConfig
from .network import COSNetNet, DeepLabV3

__all__ = ["COSNet", "COSNetConfig", "COSNetNet", "DeepLabV3"]
