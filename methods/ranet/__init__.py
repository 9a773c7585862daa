"""RANet (Wang et al., ICCV 2019): network, released test protocol and checkpoint conversion."""

from __future__ import annotations

from .method import RANet, RANetConfig
from .network import RANetNet

__all__ = ["RANet", "RANetConfig", "RANetNet"]
