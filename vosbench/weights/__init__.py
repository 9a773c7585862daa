"""Released weights that fetch themselves: cards, download, cache (torch-free until conversion).

``vosbench.weights.cards`` describes each released checkpoint (:class:`WeightCard`) and the
numbers published for it (:class:`Reference`); the catalogue gathers them from the method
cards; :func:`fetch_weights` downloads one into the cache, checks it and converts it once.
Names are imported on first use (PEP 562), so importing this package costs nothing.
"""

from __future__ import annotations

from vosbench.registry import lazy_attributes

_EXPORTS = {
    "Reference": "cards",
    "Source": "cards",
    "WeightCard": "cards",
    "weight_card": "catalogue",
    "weight_cards": "catalogue",
    "official_tag": "catalogue",
    "WeightsCache": "cache",
    "cache_root": "cache",
    "WeightsUnavailableError": "download",
    "FetchResult": "fetch",
    "fetch_weights": "fetch",
    "resolve_weights": "fetch",
    "weights_tag": "fetch",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_attributes(__name__, _EXPORTS)
