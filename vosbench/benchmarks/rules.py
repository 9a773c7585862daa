"""BenchmarkRules: what a benchmark scores, how it aggregates, what its official files are.

The evaluator (:mod:`vosbench.metrics.evaluator`) does the per-frame work and knows nothing of
any benchmark; every place where benchmarks differ is a method of :class:`BenchmarkRules`:

* :meth:`~BenchmarkRules.scored_objects`: which objects are scored on which frame stems, and
  each object's group (``seen`` / ``unseen`` …), so objects that appear late or leave early are
  scored on their own frames;
* :meth:`~BenchmarkRules.prediction_files` and :meth:`~BenchmarkRules.read_prediction`: where
  a sequence's predictions live and how they are decoded (one id map per frame, or one binary
  mask per object);
* :meth:`~BenchmarkRules.global_metrics`: the benchmark's own aggregate (vosbench's global
  table);
* :meth:`~BenchmarkRules.official_outputs`: the official CSV files, byte for byte.

This class is the DAVIS behaviour, so datasets that name no rules (``davis2016``,
``davis2017``, ``segtrackv2``, ``folder``, ``synthetic``, plug-ins) are scored as before. A
benchmark subclasses it and overrides only what differs. Instances travel to worker processes
with each sequence: keep them small and picklable (module-level classes, plain attributes).
Nothing here imports torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vosbench.io.masks import read_mask, read_mask_bytes

if TYPE_CHECKING:  # the evaluator imports this module, not the other way round
    from vosbench.datasets.base import Sequence
    from vosbench.metrics.api import Metric
    from vosbench.metrics.evaluator import EvaluationResult, ObjectScores, Protocol


@dataclass(frozen=True)
class ScoredObject:
    """One object a benchmark scores in a sequence.

    Attributes:
        object_id: its id in the ground truth's id maps (and in the predictions).
        frames: the frame stems it is scored on, in frame order (may differ per object).
        group: the benchmark's group of the object (``seen`` / ``unseen``); ``""`` for none.
        unread: stems of ``frames`` that count in its statistics with J = F = 0 but are never
            read (LVOS's unsupervised tasks size an object's arrays for one frame more than
            they read).
    """

    object_id: int
    frames: tuple[str, ...]
    group: str = ""
    unread: tuple[str, ...] = ()

    @property
    def read_frames(self) -> tuple[str, ...]:
        """The stems whose ground truth and prediction are read: ``frames`` less ``unread``."""
        if not self.unread:
            return self.frames
        skip = set(self.unread)
        return tuple(stem for stem in self.frames if stem not in skip)


class BenchmarkRules:
    """The DAVIS rules: every object of the first annotation, on annotated frames 1 … T-2.

    Class attributes a benchmark sets:
        name: short name recorded with results (``davis``, ``lvos`` …).
        description: one line shown by ``vosbench datasets``.
        metrics: the metric catalogue names scored by default (empty: the dataset's official
            set from :data:`vosbench.metrics.api.OFFICIAL_METRICS`, i.e. J and F, DAVIS-2016's
            T).
        decay_compat: the decay mode (:data:`vosbench.metrics.statistics.DECAY_MODES`) that
            reproduces the official evaluator's Decay, what ``--decay-compat`` selects.
        extra_ids: what the official evaluator does with prediction ids above the ground
            truth's (``error``: DAVIS refuses them; ``ignore``: dropped, as VOST's does), the
            default of ``--extra-ids``; in the unsupervised task, with proposal ids above the
            protocol's limit.
        tasks: the tasks the benchmark scores (:data:`vosbench.datasets.base.TASKS`);
            ``unsupervised-single`` only where a benchmark defines it (LVOS).
        unsupervised_void: the unsupervised task's void pixels (255 in the ground truth):
            ``exclude`` them from J and F (DAVIS-2017's evaluator) or count them as
            ``background`` (LVOS's).
    """

    name: str = "davis"
    description: str = (
        "DAVIS: objects of the first annotated frame, scored on annotated frames 1 … T-2; "
        "global = mean over (sequence, object)"
    )
    metrics: tuple[str, ...] = ()
    decay_compat: str = "davis2017"
    extra_ids: str = "error"
    tasks: tuple[str, ...] = ("semi-supervised", "unsupervised")
    unsupervised_void: str = "exclude"

    # -- what is scored -------------------------------------------------------------------
    def scored_objects(self, sequence: Sequence, protocol: Protocol) -> list[ScoredObject]:
        """The objects of ``sequence`` to score and their frames (empty: nothing to score,
        the evaluator reports the sequence as too short)."""
        stems = protocol.evaluated_stems(sequence.annotated)
        if not stems:
            return []
        return [ScoredObject(int(object_id), stems) for object_id in sequence.object_ids]

    def frame_rule(self, protocol: Protocol) -> str:
        """The frame rule in words, for messages and the evaluation record."""
        return protocol.frame_rule

    # -- how predictions are read ---------------------------------------------------------
    def prediction_files(
        self, results_dir: Path, sequence: str, stem: str, objects: Seq[ScoredObject]
    ) -> list[Path]:
        """The files that must exist for frame ``stem`` (checked before scoring starts).

        ``objects`` are the objects scored on that frame; the default layout is one id map,
        ``<results>/<sequence>/<stem>.png``, whatever the objects.
        """
        return [Path(os.path.join(results_dir, sequence, f"{stem}.png"))]

    def read_prediction(
        self,
        results_dir: Path,
        sequence: str,
        stem: str,
        objects: Seq[ScoredObject],
        digest: Any,
        binary: bool,
    ) -> np.ndarray:
        """The prediction of frame ``stem``, its bytes added to ``digest`` (a blake2b).

        Returns a ``uint8`` (H, W) id map (pixel value = object id), or, for a benchmark that
        stores one binary mask per object (masks may overlap), a boolean
        (len(objects), H, W) stack whose layer ``i`` is ``objects[i]``. ``binary``:
        single-object data, any non-zero value is the object (DAVIS-2016).
        """
        path = self.prediction_files(results_dir, sequence, stem, objects)[0]
        data = read_mask_bytes(path)
        digest.update(data)
        labels = read_mask(path, data=data)
        return (labels != 0).view(np.uint8) if binary else labels

    def read_foreground(
        self, results_dir: Path, sequence: str, stem: str, digest: Any
    ) -> np.ndarray:
        """The ``unsupervised-single`` task's prediction of frame ``stem``: one boolean (H, W)
        foreground mask, its bytes added to ``digest``; every object of the frame is scored
        against it. The default: any non-zero value is foreground."""
        path = self.prediction_files(results_dir, sequence, stem, ())[0]
        data = read_mask_bytes(path)
        digest.update(data)
        return read_mask(path, data=data) != 0

    def proposal_rows(self, top_id: int, objects: int, protocol: Protocol) -> int:
        """How many proposals the unsupervised matching weighs against the ``objects`` of a
        sequence whose highest proposal id is ``top_id`` (absent ids are empty proposals).
        DAVIS: ``max(top_id, objects)``, its evaluator pads the proposals to the objects."""
        return max(top_id, objects)

    def object_result(self, scores: ObjectScores, sequence: Sequence) -> ObjectScores:
        """An object's scores as the benchmark counts them, from its values on every frame it
        was scored on (DAVIS: unchanged). A benchmark may keep only some frames (SA-V: from
        the first where the ground truth or the prediction is non-empty) or raise an
        :class:`~vosbench.errors.InputError` for an object it cannot score."""
        return scores

    # -- aggregates and official files ----------------------------------------------------
    def global_metrics(self, result: EvaluationResult) -> dict[str, float]:
        """vosbench's global table: DAVIS's unweighted means over all (sequence, object) pairs,
        then each other metric's statistics."""
        return object_means(result.objects, result.extra_metrics)

    def official_outputs(self, result: EvaluationResult) -> dict[str, tuple[str, str]]:
        """The official evaluator's files: key → (file name, text). DAVIS:
        ``global_results-<split>.csv`` and ``per-sequence_results-<split>.csv``, ``%.3f``."""
        from vosbench.metrics.outputs import global_csv, per_sequence_csv

        split = result.split
        return {
            "global": (f"global_results-{split}.csv", global_csv(result)),
            "per-sequence": (f"per-sequence_results-{split}.csv", per_sequence_csv(result)),
        }

    def __repr__(self) -> str:
        return f"<benchmark rules {self.name}>"


DAVIS_RULES = BenchmarkRules()


def object_means(objects: Seq[ObjectScores], extra_metrics: Seq[Metric] = ()) -> dict[str, float]:
    """The DAVIS global table over ``objects``: unweighted means of each object's statistics
    (J&F, J and F Mean / Recall / Decay), then each other metric's (means over the objects it
    scored). Benchmarks that average groups (seen / unseen) call it once per group."""
    from vosbench.metrics.api import summary_names

    j = np.array([o.j_stats for o in objects], dtype=np.float64)
    f = np.array([o.f_stats for o in objects], dtype=np.float64)
    j_mean, f_mean = np.mean(j[:, 0]), np.mean(f[:, 0])
    metrics = {
        "J&F-Mean": float((j_mean + f_mean) / 2.0),
        "J-Mean": float(j_mean),
        "J-Recall": float(np.mean(j[:, 1])),
        "J-Decay": float(np.mean(j[:, 2])),
        "F-Mean": float(f_mean),
        "F-Recall": float(np.mean(f[:, 1])),
        "F-Decay": float(np.mean(f[:, 2])),
    }
    for metric in extra_metrics:
        scored = [o.summary(metric) for o in objects if o.values(metric.name) is not None]
        for column in summary_names(metric):
            values = np.array([row[column] for row in scored], dtype=np.float64)
            metrics[column] = (
                float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
            )
    return metrics
