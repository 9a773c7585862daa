"""Per-object statistics of a per-frame series: Mean, Recall and Decay.

Decay compares the first and last of four temporal bins. The official evaluator casts the
bin indices to ``uint8``, which breaks for objects with 256 or more evaluated frames (NaN or
a wrong value). ``exact`` (the default) uses integer indices; ``davis2017`` reproduces the
official value bit for bit under numpy ≥ 2, ``davis2017-numpy1`` under numpy 1.x. ``lvos`` is
the LVOS evaluator's: it hands the statistics a (1, n) array, so every bin is the whole series
and Decay is mean − mean (0, NaN when every value is NaN).
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np

DECAY_MODES = ("exact", "davis2017", "davis2017-numpy1", "lvos")
N_BINS = 4


class Statistics(NamedTuple):
    mean: float
    recall: float
    decay: float


def decay_bin_ids(n: int) -> tuple[int, ...]:
    """Indices ``round_half_up(1 + k(n−1)/4) − 1`` for k = 0…4 (bins share their ends).

    >>> decay_bin_ids(10), decay_bin_ids(2)
    ((0, 2, 5, 7, 9), (0, 0, 1, 1, 1))
    """
    # 4·x_k = 4 + k(n−1) is an integer, so round-half-up is exact in integer arithmetic.
    return tuple((4 + k * (n - 1) + 2) // 4 - 1 for k in range(N_BINS + 1))


def _nanmean(values: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(values)) if values.size else math.nan


def decay(values: np.ndarray, mode: str = "exact") -> float:
    """Mean of the first quarter minus mean of the last quarter (NaN frames ignored)."""
    if mode not in DECAY_MODES:
        raise ValueError(f"unknown decay mode {mode!r}; choose one of {', '.join(DECAY_MODES)}")
    if mode == "lvos":
        return _nanmean(values) - _nanmean(values)
    ids = decay_bin_ids(len(values))
    if mode == "exact":
        first, last = values[ids[0] : ids[1] + 1], values[ids[3] : ids[4] + 1]
    else:
        wrapped = [i % 256 for i in ids]
        end = (lambda i: (i + 1) % 256) if mode == "davis2017" else (lambda i: i + 1)
        first, last = values[wrapped[0] : end(wrapped[1])], values[wrapped[3] : end(wrapped[4])]
    return _nanmean(first) - _nanmean(last)


class MeanOnly(NamedTuple):
    mean: float


def mean_only(values) -> MeanOnly:
    """The Mean of a measure for which Recall and Decay are undefined (T): NaN frames ignored."""
    return MeanOnly(_nanmean(np.asarray(values, dtype=np.float64)))


def db_statistics(values, decay_mode: str = "exact") -> Statistics:
    """Mean, Recall (fraction of frames strictly above 0.5; NaN counts as a failure) and Decay.

    >>> db_statistics([1.0, 0.8, 0.6, 0.4])
    Statistics(mean=0.7, recall=0.75, decay=0.4)
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("statistics need a non-empty 1-D series of per-frame values")
    mean = _nanmean(values)
    recall = float(np.mean(values > 0.5))
    return Statistics(mean, recall, decay(values, decay_mode))
