"""RGMP (Oh et al., CVPR 2018): network, released test protocol and checkpoint conversion."""

from __future__ import annotations

from .method import RGMP, RGMPConfig
from .network import RGMPNet

__all__ = ["RGMP", "RGMPConfig", "RGMPNet"]
