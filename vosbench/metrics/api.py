"""The per-object metric interface and the metric catalogue.

A metric is fed each evaluated frame of one object and returns one value per frame. What J and
F compute once per frame (the object's crop, both boundary maps, the tolerance, the pixel
counts) is handed to every metric in a :class:`FrameContext`, so a new measure costs only its
own arithmetic. Metrics are registered like methods and datasets: lazy ``"module:Object"``
entries here, and outside packages through the entry-point group ``vosbench.metrics``::

    [options.entry_points]
    vosbench.metrics =
        area-ratio = my_package.metrics:AreaRatio

A metric class needs no constructor arguments; see :class:`Metric` for what it declares.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from functools import cached_property
from typing import Any

import numpy as np

from vosbench.errors import ConfigError
from vosbench.metrics.boundary import boundary_map, crop_box
from vosbench.registry import Registry

ALL_STATISTICS = ("Mean", "Recall", "Decay")


class FrameContext:
    """One object in one evaluated frame, with what J and F compute computed once.

    Attributes:
        pred, gt: full-frame boolean masks of the object (void already removed where the
            protocol removes it).
        radius: the boundary tolerance in pixels.
        frame: the frame's stem; ``index``: its position among the evaluated frames.
        previous: the object's predicted mask at the previous evaluated frame (None at the
            first one); filled only when a metric declares ``needs_previous``.
        memo: a dict where a metric may keep what it derived from this frame's masks, under
            a key of its own (T keeps the prediction's contour descriptor).
        previous_memo: the previous evaluated frame's ``memo`` (None where ``previous`` is),
            so that a metric of pairs derives each frame's values once.
    """

    def __init__(
        self,
        pred: np.ndarray,
        gt: np.ndarray,
        radius: int,
        frame: str = "",
        index: int = 0,
        previous: np.ndarray | None = None,
        previous_memo: dict | None = None,
    ):
        self.pred, self.gt, self.radius = pred, gt, radius
        self.frame, self.index, self.previous = frame, index, previous
        self.memo: dict = {}
        self.previous_memo = previous_memo

    @cached_property
    def box(self) -> tuple[slice, slice] | None:
        """The joint crop of ``pred ∨ gt`` grown by one pixel (None when both are empty)."""
        return crop_box(self.pred | self.gt)

    @cached_property
    def crops(self) -> tuple[np.ndarray, np.ndarray]:
        """(pred, gt) on :attr:`box`, as contiguous ``uint8`` 0/1 (empty arrays when no box)."""
        if self.box is None:
            empty = np.zeros((0, 0), np.uint8)
            return empty, empty
        return (
            np.ascontiguousarray(self.pred[self.box]).view(np.uint8),
            np.ascontiguousarray(self.gt[self.box]).view(np.uint8),
        )

    @cached_property
    def boundaries(self) -> tuple[np.ndarray, np.ndarray]:
        """(pred, gt) one-pixel boundary maps on the crop (``seg2bmap``, as the official code)."""
        pred, gt = self.crops
        if pred.size == 0:
            return pred, gt
        return boundary_map(pred), boundary_map(gt)


class Metric:
    """One per-frame measure of an object.

    Class attributes a metric declares:
        name: the column name (``J``); tables add ``-Mean``, ``-Recall``, ``-Decay``.
        higher_is_better: the direction (T is lower-is-better).
        statistics: which of Mean / Recall / Decay make sense for it.
        needs_previous: whether :attr:`FrameContext.previous` (and ``previous_memo``) must
            be filled.
        in_mean: whether it joins the J&F average (only J and F do).
    """

    name: str = ""
    description: str = ""
    higher_is_better: bool = True
    statistics: tuple[str, ...] = ALL_STATISTICS
    needs_previous: bool = False

    def applies(self, sequence: Any, dataset_name: str) -> bool:
        """Whether the metric scores ``sequence`` at all (T: only DAVIS-2016's ``eval_t`` ones)."""
        return True

    def frame(self, context: FrameContext) -> float:
        """The value of one evaluated frame (NaN where undefined)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<metric {self.name}>"


METRICS: Registry = Registry("metric", entry_point_group="vosbench.metrics")
METRICS.register(
    "J",
    "vosbench.metrics.builtin:RegionSimilarity",
    description="region similarity (Jaccard index), as the official DAVIS evaluator",
)
METRICS.register(
    "F",
    "vosbench.metrics.builtin:BoundaryAccuracy",
    description="boundary F-measure with the official tolerance",
)
METRICS.register(
    "T",
    "vosbench.metrics.builtin:TemporalStability",
    description="DAVIS-2016 temporal stability (shape-context matching of consecutive "
    "predictions; lower is better; eval_t sequences only)",
)
METRICS.register(
    "J-smoothed",
    "vosbench.metrics.mose_v2:SmoothedRegionSimilarity",
    description="MOSEv2's J: the Jaccard index with +1 smoothing, (I + 1) / (U + 1)",
)
METRICS.register(
    "F-mosev2",
    "vosbench.metrics.mose_v2:MoseBoundaryAccuracy",
    description="MOSEv2's fixed-tolerance F (0.008 x diagonal; the raw non-integer radius "
    "where the adaptive tolerance reaches it)",
)
METRICS.register(
    "F-adaptive",
    "vosbench.metrics.mose_v2:AdaptiveBoundaryAccuracy",
    description="MOSEv2's size-adaptive boundary F (F_new): tolerance ceil(0.1 x sqrt(area)), "
    "capped at 0.008 x diagonal",
)
METRICS.register(
    "absent",
    "vosbench.metrics.builtin:ObjectAbsent",
    description="1 where the object's ground truth is empty (MOSEv2's disappearance segments, "
    "SA-V's counted frames)",
)
METRICS.register(
    "pred-absent",
    "vosbench.metrics.builtin:PredictionAbsent",
    description="1 where the object's prediction is empty (SA-V's counted frames)",
)

OFFICIAL_METRICS: dict[str, tuple[str, ...]] = {"davis2016": ("J", "F", "T")}
DEFAULT_METRICS = ("J", "F")


def get_metric(name: str) -> Metric:
    """An instance of the metric registered as ``name`` (checked to be a :class:`Metric`)."""
    target = METRICS.get(name)
    metric = target() if isinstance(target, type) else target
    if not isinstance(metric, Metric) or not metric.name:
        raise ConfigError(
            f"metric {name!r} ({METRICS.entry(name).origin}) is not a vosbench.metrics.Metric "
            "with a name"
        )
    return metric


def metric_names(names: Seq[str] | None, dataset_name: str = "") -> tuple[str, ...]:
    """The catalogue names of the metrics to run: ``names``, else the dataset's official set
    (DAVIS-2016: J, F, T; others: J, F); J and F always, first (J&F, the unsupervised matching
    and the official CSVs need both)."""
    chosen = list(names) if names else list(OFFICIAL_METRICS.get(dataset_name, DEFAULT_METRICS))
    keys = [
        METRICS.entry(name).name for name in chosen
    ]  # unknown names fail here, with suggestions
    rest = [key for key in dict.fromkeys(keys) if key not in ("j", "f")]
    return ("j", "f", *rest)


def resolve_metrics(names: Seq[str] | None, dataset_name: str = "") -> tuple[Metric, ...]:
    """The metric instances of :func:`metric_names`, in that order."""
    return tuple(get_metric(name) for name in metric_names(names, dataset_name))


def summary_names(metric: Metric) -> tuple[str, ...]:
    """The global-table column names of a metric (``J-Mean``, ``J-Recall``, …)."""
    return tuple(f"{metric.name}-{stat}" for stat in metric.statistics)
