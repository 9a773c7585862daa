"""J and F exactly as the official DAVIS evaluator: functional per-frame metrics, per-object
statistics and a streaming, parallel evaluator.

Functional API (arrays in, numbers out)::

    region_similarity(pred, gt, void=None)            # J of one frame
    boundary_measure(pred, gt, void=None, bound_th)   # F of one frame
    db_statistics(values, decay_mode="exact")         # (mean, recall, decay)

Metric API (:mod:`vosbench.metrics.api`): a :class:`Metric` is fed each evaluated frame of one
object through a :class:`FrameContext`; ``METRICS`` is the catalogue (entry-point group
``vosbench.metrics``), J, F and T its built-in entries.

Evaluator API (files in, tables out)::

    result = evaluate(dataset, results_dir, Protocol(task="semi-supervised"), workers=2)
    evaluator = Evaluator(dataset, workers=2); result = evaluator(results_dir)   # reusable
    result.global_metrics(); write_outputs(result, out_dir)
"""

from vosbench.metrics.api import METRICS, FrameContext, Metric, get_metric, resolve_metrics
from vosbench.metrics.boundary import boundary_measure, boundary_radius, seg2bmap
from vosbench.metrics.evaluator import (
    EvaluationResult,
    Evaluator,
    ObjectScores,
    Protocol,
    SequenceScores,
    evaluate,
)
from vosbench.metrics.outputs import write_outputs
from vosbench.metrics.region import region_similarity
from vosbench.metrics.statistics import DECAY_MODES, Statistics, db_statistics, decay_bin_ids

__all__ = [
    "DECAY_MODES",
    "EvaluationResult",
    "Evaluator",
    "FrameContext",
    "METRICS",
    "Metric",
    "ObjectScores",
    "Protocol",
    "SequenceScores",
    "Statistics",
    "boundary_measure",
    "boundary_radius",
    "db_statistics",
    "decay_bin_ids",
    "evaluate",
    "get_metric",
    "region_similarity",
    "resolve_metrics",
    "seg2bmap",
    "write_outputs",
]
