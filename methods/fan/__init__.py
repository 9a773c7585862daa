"""FAN (djzgroup/FANforVOS): RGMP with CBAM attention in the refine modules."""

from __future__ import annotations

from .method import FAN, FANConfig
from .network import FANNet

__all__ = ["FAN", "FANConfig", "FANNet"]
