"""COSNet (Lu et al., CVPR 2019): network, released test protocol and checkpoint conversion.

Names are imported on first use, so that the card (``card.py``: the card and Config, torch-free)
loads without the network.
"""

from __future__ import annotations

from vosbench.registry import lazy_attributes

_EXPORTS = {
    "COSNet": "method",
    "COSNetConfig": "card",
    "COSNetNet": "network",
    "DeepLabV3": "network",
    "CARD": "card",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_attributes(__name__, _EXPORTS)
