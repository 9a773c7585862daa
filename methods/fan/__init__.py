"""FAN (djzgroup/FANforVOS): RGMP with CBAM attention in the refine modules.

Names are imported on first use, so that the card (``card.py``: the card and Config, torch-free)
loads without the network.
"""

from __future__ import annotations

from vosbench.registry import lazy_attributes

_EXPORTS = {"FAN": "method", "FANConfig": "card", "FANNet": "network", "CARD": "card"}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_attributes(__name__, _EXPORTS)
