"""The built-in metrics: J and F (exactly the official DAVIS values), DAVIS-2016's T, and the
per-frame presence record (``absent``, ``pred-absent``) benchmarks count frames by."""

from __future__ import annotations

import math
from typing import Any

import cv2

from vosbench.metrics.api import FrameContext, Metric
from vosbench.metrics.boundary import f_from_boundaries
from vosbench.metrics.region import jaccard_from_counts


class RegionSimilarity(Metric):
    """J: intersection over union of the object's prediction and ground truth (1 when both
    empty)."""

    name = "J"
    description = "region similarity (Jaccard index)"

    def frame(self, context: FrameContext) -> float:
        pred, gt = context.crops
        if pred.size == 0:
            return 1.0
        return jaccard_from_counts(
            cv2.countNonZero(cv2.bitwise_and(pred, gt)), cv2.countNonZero(cv2.bitwise_or(pred, gt))
        )


class BoundaryAccuracy(Metric):
    """F: the F-measure of boundary precision and recall within the tolerance radius."""

    name = "F"
    description = "boundary accuracy (contour F-measure)"

    def frame(self, context: FrameContext) -> float:
        if context.box is None:
            return 1.0
        pred, gt = context.boundaries
        return f_from_boundaries(pred, gt, context.radius)


#: FrameContext.memo key of the prediction's contour descriptor (T).
_T_DESCRIPTOR = "T:contour_descriptor"


class TemporalStability(Metric):
    """T: how much the predicted shape changes between consecutive evaluated frames.

    The DAVIS-2016 definition (:mod:`vosbench.metrics.temporal`); only sequences flagged
    ``eval_t`` in DAVIS-2016's ``db_info.yml`` are scored, and only its Mean is defined.
    The first evaluated frame has no pair and is NaN. Each prediction's contour descriptor
    is computed once and kept in the frame's memo for the next pair.
    """

    name = "T"
    description = "temporal stability (lower is better)"
    higher_is_better = False
    statistics = ("Mean",)
    needs_previous = True

    def applies(self, sequence: Any, dataset_name: str) -> bool:
        return dataset_name == "davis2016" and bool((sequence.attributes or {}).get("eval_t"))

    def frame(self, context: FrameContext) -> float:
        from vosbench.metrics.temporal import contour_descriptor, descriptor_stability

        current = context.memo[_T_DESCRIPTOR] = contour_descriptor(context.pred)
        if context.previous is None:
            return math.nan
        memo = context.previous_memo
        if memo is not None and _T_DESCRIPTOR in memo:
            previous = memo[_T_DESCRIPTOR]
        else:  # fed by a caller that keeps no memo
            previous = contour_descriptor(context.previous)
        return descriptor_stability(previous, current)


class ObjectAbsent(Metric):
    """1 where the object's ground truth is empty in the frame, else 0: MOSEv2's disappearance
    and reappearance segments are the runs of this flag; SA-V scores an object only if it is 0
    somewhere."""

    name = "absent"
    description = "1 where the object's ground truth is empty (its mean: the share of frames)"
    higher_is_better = False
    statistics = ("Mean",)

    def frame(self, context: FrameContext) -> float:
        return 0.0 if context.box is not None and context.crops[1].any() else 1.0


class PredictionAbsent(Metric):
    """1 where the object's prediction is empty in the frame, else 0: with ``absent``, SA-V
    counts an object's frames from the first where either is 0."""

    name = "pred-absent"
    description = "1 where the object's prediction is empty (its mean: the share of frames)"
    higher_is_better = False
    statistics = ("Mean",)

    def frame(self, context: FrameContext) -> float:
        return 0.0 if context.box is not None and context.crops[0].any() else 1.0
