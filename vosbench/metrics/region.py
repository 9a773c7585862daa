"""Region similarity J: the Jaccard index of two binary masks, as the official DAVIS evaluator."""

from __future__ import annotations

import numpy as np


def jaccard_from_counts(intersection: int, union: int) -> float:
    """J from integer pixel counts; an empty union (both masks empty) scores 1."""
    return 1.0 if union == 0 else intersection / union


def binary_pair(
    pred: np.ndarray, gt: np.ndarray, void: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Both masks as booleans of equal shape, void pixels removed from both."""
    pred, gt = np.asarray(pred) != 0, np.asarray(gt) != 0
    if pred.shape != gt.shape:
        raise ValueError(
            f"prediction shape {pred.shape} differs from ground truth shape {gt.shape}"
        )
    if void is not None:
        keep = np.asarray(void) == 0
        pred, gt = pred & keep, gt & keep
    return pred, gt


def region_similarity(pred: np.ndarray, gt: np.ndarray, void: np.ndarray | None = None) -> float:
    """J of one frame: ``|S ∧ G ∧ ¬V| / |(S ∨ G) ∧ ¬V|``, 1 when both are empty.

    Args:
        pred: predicted mask (non-zero = foreground), shape (H, W).
        gt: ground-truth mask, same shape.
        void: pixels excluded from both counts (the unsupervised task's void); None for none.

    >>> import numpy as np
    >>> a = np.zeros((4, 4), bool); a[:2] = True
    >>> region_similarity(a, np.ones((4, 4), bool))
    0.5
    """
    pred, gt = binary_pair(pred, gt, void)
    return jaccard_from_counts(int(np.count_nonzero(pred & gt)), int(np.count_nonzero(pred | gt)))
