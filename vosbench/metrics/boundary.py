"""Boundary accuracy F, exactly as the official DAVIS evaluator, without its full-frame cost.

The official code extracts one-pixel boundaries (``seg2bmap``), dilates both over the whole
frame with a disk of radius ``ceil(0.008 · diagonal)`` and counts matches. Here the same
numbers come from work proportional to the object, not the frame:

* boundaries only exist next to foreground, so they are computed on the bounding box of
  ``pred ∨ gt`` grown by one pixel, which is exact (see :func:`seg2bmap`);
* the disk is a union of a few centred rectangles, and a rectangle dilation costs a fraction
  of a disk dilation; rectangles are applied until every boundary pixel is matched, which for
  a reasonable prediction is after the first.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from vosbench.metrics.region import binary_pair, jaccard_from_counts

BOUND_TH = 0.008


def boundary_radius(shape: tuple[int, ...], bound_th: float = BOUND_TH) -> int:
    """Tolerance in pixels: ``bound_th`` itself if ≥ 1, else ``ceil(bound_th · diagonal)``.

    >>> boundary_radius((480, 854)), boundary_radius((480, 910)), boundary_radius((360, 640))
    (8, 9, 6)
    """
    if bound_th >= 1:
        if bound_th != int(bound_th):
            raise ValueError(f"a pixel tolerance must be an integer, got {bound_th}")
        return int(bound_th)
    height, width = shape[:2]
    return int(math.ceil(bound_th * math.sqrt(height * height + width * width)))


def seg2bmap(mask: np.ndarray) -> np.ndarray:
    """One-pixel boundary map of a binary mask (D. Martin's rule, as the official code).

    A pixel is a boundary pixel iff it differs from its east, south or south-east neighbour,
    neighbours outside the image being ignored: the image border is never a boundary.
    """
    mask = np.ascontiguousarray(np.asarray(mask) != 0)
    return boundary_map(mask.view(np.uint8)) != 0


_QUAD = np.ones((2, 2), np.uint8)


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """:func:`seg2bmap` on a ``uint8`` 0/1 mask, as ``uint8`` (non-zero = boundary).

    "Differs from a neighbour among E, S, SE" is "max ≠ min over the 2 × 2 window anchored
    at the pixel"; OpenCV's morphology ignores pixels outside the image, which is exactly the
    rule that the border is never a boundary.
    """
    high = cv2.dilate(mask, _QUAD, anchor=(0, 0))
    low = cv2.erode(mask, _QUAD, anchor=(0, 0))
    return cv2.subtract(high, low)


@lru_cache(maxsize=64)
def disk_rectangles(radius: int) -> tuple[tuple[int, int], ...]:
    """The disk ``dy² + dx² ≤ r²`` as a union of centred rectangles (half-width, half-height).

    Row ``dy`` of the disk spans ``|dx| ≤ isqrt(r² − dy²)``; widths shrink with ``|dy|``, so
    one rectangle per distinct width covers the disk exactly.
    """
    widths = [math.isqrt(radius * radius - dy * dy) for dy in range(radius + 1)]
    return tuple(
        (widths[dy], dy) for dy in range(radius + 1) if dy == radius or widths[dy + 1] < widths[dy]
    )


@lru_cache(maxsize=64)
def _rectangle_kernels(radius: int) -> tuple[np.ndarray, ...]:
    """Structuring elements of :func:`disk_rectangles`, largest area first."""
    rects = sorted(disk_rectangles(radius), key=lambda wh: -(2 * wh[0] + 1) * (2 * wh[1] + 1))
    return tuple(
        cv2.getStructuringElement(cv2.MORPH_RECT, (2 * w + 1, 2 * h + 1)) for w, h in rects
    )


def _count_near(points: np.ndarray, other: np.ndarray, radius: int) -> int:
    """How many non-zero pixels of ``points`` have a non-zero pixel of ``other`` in their disk.

    The disk dilation of ``other`` is the union of its rectangle dilations (each cheap);
    rectangles are applied largest first and stop as soon as every point is matched, so a
    prediction close to the ground truth usually costs one dilation.
    """
    total = cv2.countNonZero(points)
    left = total
    for kernel in _rectangle_kernels(radius):
        if left == 0:
            break
        points = cv2.subtract(points, cv2.dilate(other, kernel))
        left = cv2.countNonZero(points)
    return total - left


def f_from_boundaries(pred_boundary: np.ndarray, gt_boundary: np.ndarray, radius: int) -> float:
    """F from two boundary maps of equal shape (official precision/recall edge cases).

    Maps are ``uint8`` 0/1 (or bool). Pixels on both boundaries match at distance 0; only
    the others are looked up.
    """
    pred_u8, gt_u8 = _as_u8(pred_boundary), _as_u8(gt_boundary)
    n_pred, n_gt = cv2.countNonZero(pred_u8), cv2.countNonZero(gt_u8)
    if n_pred == 0 or n_gt == 0:
        return 1.0 if n_pred == n_gt else 0.0
    n_both = cv2.countNonZero(cv2.bitwise_and(pred_u8, gt_u8))
    precision = (n_both + _count_near(cv2.subtract(pred_u8, gt_u8), gt_u8, radius)) / n_pred
    recall = (n_both + _count_near(cv2.subtract(gt_u8, pred_u8), pred_u8, radius)) / n_gt
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _as_u8(mask: np.ndarray) -> np.ndarray:
    return mask.view(np.uint8) if mask.dtype == np.bool_ else mask


def crop_box(mask: np.ndarray) -> tuple[slice, slice] | None:
    """Bounding box of the non-zero pixels grown by one pixel (clipped), or None if empty.

    Boundaries of anything inside lie within this box, and the box's own outer rows and
    columns are background unless they are the image border, so :func:`seg2bmap` on the
    crop equals the full-frame map restricted to it.
    """
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    if w == 0:
        return None
    height, width = mask.shape
    return slice(max(y - 1, 0), min(y + h + 1, height)), slice(max(x - 1, 0), min(x + w + 1, width))


def region_and_boundary(pred: np.ndarray, gt: np.ndarray, radius: int) -> tuple[float, float]:
    """(J, F) of two boolean masks with the tolerance ``radius``, computed on their joint crop.

    Void handling is the caller's: pass ``pred & ~void`` and ``gt & ~void``.
    """
    box = crop_box(pred | gt)
    if box is None:
        return 1.0, 1.0
    pred, gt = (
        np.ascontiguousarray(pred[box]).view(np.uint8),
        np.ascontiguousarray(gt[box]).view(np.uint8),
    )
    intersection = cv2.countNonZero(cv2.bitwise_and(pred, gt))
    union = cv2.countNonZero(cv2.bitwise_or(pred, gt))
    return jaccard_from_counts(intersection, union), f_from_boundaries(
        boundary_map(pred), boundary_map(gt), radius
    )


def boundary_measure(
    pred: np.ndarray, gt: np.ndarray, void: np.ndarray | None = None, bound_th: float = BOUND_TH
) -> float:
    """F of one frame: the boundary F-measure with tolerance ``bound_th`` (fraction of the
    diagonal, or pixels if ≥ 1). With ``void``, both masks lose the void pixels first
    (the unsupervised task's rule, which can create boundaries along void edges).
    """
    pred, gt = binary_pair(pred, gt, void)
    return region_and_boundary(pred, gt, boundary_radius(gt.shape, bound_th))[1]
