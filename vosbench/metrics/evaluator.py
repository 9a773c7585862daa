"""Evaluate a results folder against a dataset, streaming one frame at a time.

Each sequence is scored independently (in worker processes when ``workers > 1``): its
ground truth and predictions are decoded once, as ``uint8`` label maps, objects are split by
comparison on the fly and scored on their own crops. Peak memory therefore does not grow
with sequence length or object count, unlike the official evaluator's float64 one-hot
arrays. Per-frame values equal the official ones exactly.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from collections.abc import Sequence as Seq
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vosbench.datasets.base import Dataset, Sequence
from vosbench.datasets.folder import preview
from vosbench.errors import (
    ConfigError,
    EvaluationError,
    ExtraObjectError,
    InputError,
    Problem,
    SequenceTooShortError,
    SizeMismatchError,
)
from vosbench.io.masks import read_mask, read_mask_bytes
from vosbench.metrics.api import FrameContext, Metric, metric_names, resolve_metrics, summary_names
from vosbench.metrics.boundary import (
    BOUND_TH,
    boundary_radius,
    crop_box,
    region_and_boundary,
    seg2bmap,
)
from vosbench.metrics.statistics import DECAY_MODES, Statistics, db_statistics, mean_only
from vosbench.parallel import process_pool

EXTRA_ID_POLICIES = ("error", "ignore")


@dataclass(frozen=True)
class Protocol:
    """How a results folder is scored.

    Attributes:
        task: ``semi-supervised`` (frames 1 … T−2, void counts as background) or
            ``unsupervised`` (all frames, void excluded, proposals matched by Hungarian).
        bound_th: F tolerance (fraction of the diagonal, or whole pixels if ≥ 1).
        decay_mode: ``exact`` (default) or the official evaluator's ``davis2017`` overflow.
        extra_ids: ``error`` (official: ids beyond the ground truth's are an error) or
            ``ignore`` (drop them, as vos-benchmark; non-official).
        all_frames: score every frame in the semi-supervised task (non-official).
        skip_short: skip, with a warning, sequences too short for the protocol.
        max_proposals: the unsupervised task's proposal limit.
        unsupervised_drop_ends: score frames 1 … T−2 in the unsupervised task too: the DAVIS-2016
            toolkit's rule, under which DAVIS-2016 unsupervised leaderboard numbers (COSNet's
            80.5 J) were computed; :meth:`for_dataset` sets it for ``davis2016``.
        metrics: names of the metrics to compute (J and F always); :meth:`for_dataset` fills in
            the dataset's official set (DAVIS-2016: J, F and T).
    """

    task: str = "semi-supervised"
    bound_th: float = BOUND_TH
    decay_mode: str = "exact"
    extra_ids: str = "error"
    all_frames: bool = False
    skip_short: bool = False
    max_proposals: int = 20
    unsupervised_drop_ends: bool = False
    metrics: tuple[str, ...] = ("j", "f")

    @classmethod
    def for_dataset(cls, dataset: Any, **options: Any) -> Protocol:
        """The official rules for ``dataset``'s task (``options`` override them)."""
        options.setdefault("unsupervised_drop_ends", dataset.name == "davis2016")
        options["metrics"] = metric_names(options.get("metrics"), dataset.name)
        return cls(task=dataset.task, **options)

    def resolved_metrics(self) -> tuple[Metric, ...]:
        return resolve_metrics(self.metrics)

    def __post_init__(self) -> None:
        if self.task not in ("semi-supervised", "unsupervised"):
            raise ConfigError(f"unknown task {self.task!r}")
        if self.decay_mode not in DECAY_MODES:
            raise ConfigError(
                f"unknown decay mode {self.decay_mode!r}; choose one of {', '.join(DECAY_MODES)}"
            )
        if self.extra_ids not in EXTRA_ID_POLICIES:
            raise ConfigError(
                f"unknown extra-id policy {self.extra_ids!r}; choose one of "
                f"{', '.join(EXTRA_ID_POLICIES)}"
            )
        if self.bound_th <= 0:
            raise ConfigError("the boundary tolerance must be positive")

    @property
    def official(self) -> bool:
        """Whether numbers follow the official DAVIS protocol (comparable with leaderboards)."""
        return self.extra_ids == "error" and not self.all_frames and self.bound_th == BOUND_TH

    @property
    def frame_rule(self) -> str:
        if self._all_frames:
            return "all annotated frames"
        return "annotated frames 1 … T-2 (first and last dropped)"

    def evaluated_stems(self, annotated: Seq[str]) -> tuple[str, ...]:
        return tuple(annotated) if self._all_frames else tuple(annotated[1:-1])

    @property
    def _all_frames(self) -> bool:
        return self.all_frames or (self.task == "unsupervised" and not self.unsupervised_drop_ends)


@dataclass
class ObjectScores:
    """Per-frame values of one (sequence, object) pair — J, F and any other metric — and their
    statistics."""

    sequence: str
    index: int  # 1-based position in the sequence's results (official ``<seq>_<index>`` name)
    object_id: int  # ground-truth id
    proposal_id: int | None  # matched proposal (unsupervised), else None
    frames: tuple[str, ...]
    j: np.ndarray
    f: np.ndarray
    bound_pix: int
    decay_mode: str = "exact"
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # other metrics' per-frame values

    @property
    def name(self) -> str:
        return f"{self.sequence}_{self.index}"

    @property
    def j_stats(self) -> Statistics:
        return db_statistics(self.j, self.decay_mode)

    @property
    def f_stats(self) -> Statistics:
        return db_statistics(self.f, self.decay_mode)

    def values(self, name: str) -> np.ndarray | None:
        """The per-frame values of metric ``name`` (None when it did not score this object)."""
        return {"J": self.j, "F": self.f}.get(name, self.extra.get(name))

    def summary(self, metric: Metric) -> dict[str, float]:
        """``{"T-Mean": …}``: the statistics the metric declares, NaN where it did not apply."""
        values = self.values(metric.name)
        if values is None:
            return {column: float("nan") for column in summary_names(metric)}
        stats = (
            db_statistics(values, self.decay_mode)
            if len(metric.statistics) > 1
            else mean_only(values)
        )
        return {
            f"{metric.name}-{stat}": float(getattr(stats, stat.lower()))
            for stat in metric.statistics
        }


@dataclass
class SequenceScores:
    """What scoring one sequence produced: object scores, problems and warnings."""

    name: str
    objects: list[ObjectScores] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    digest: str = ""
    skipped: bool = False


@dataclass
class EvaluationResult:
    """Scores of a whole results folder; tables and files come from
    :mod:`vosbench.metrics.outputs`."""

    dataset: str
    split: str
    protocol: Protocol
    results_dir: Path
    sequences: list[SequenceScores]
    info: dict[str, object] = field(default_factory=dict)

    @property
    def objects(self) -> list[ObjectScores]:
        return [obj for seq in self.sequences for obj in seq.objects]

    @property
    def warnings(self) -> list[str]:
        return [w for seq in self.sequences for w in seq.warnings]

    def global_metrics(self) -> dict[str, float]:
        """Official global numbers (unweighted means over all (sequence, object) pairs), then each
        other metric's statistics (means over the objects it scored, e.g. T's ``eval_t`` ones)."""
        objects = self.objects
        if not objects:
            raise EvaluationError(Problem(self.results_dir, "no object was evaluated", "empty"))
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
        for metric in self.extra_metrics:
            scored = [o.summary(metric) for o in objects if o.values(metric.name) is not None]
            for column in summary_names(metric):
                values = np.array([row[column] for row in scored], dtype=np.float64)
                metrics[column] = (
                    float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
                )
        return metrics

    @property
    def extra_metrics(self) -> tuple[Metric, ...]:
        """The metrics beyond J and F that this evaluation ran (their columns follow J's and
        F's)."""
        return self.protocol.resolved_metrics()[2:]

    def protocol_record(self) -> dict[str, object]:
        record = asdict(self.protocol)
        record.update(frame_rule=self.protocol.frame_rule, official=self.protocol.official)
        return record


# --------------------------------------------------------------------------------------------
# Reading predictions


def prediction_path(results_dir: Path, sequence: str, stem: str) -> Path:
    return Path(os.path.join(results_dir, sequence, f"{stem}.png"))


def _read_prediction(path: Path, digest: hashlib._Hash, binary: bool) -> np.ndarray:
    data = read_mask_bytes(path)
    digest.update(data)
    labels = read_mask(path, data=data)
    return (labels != 0).view(np.uint8) if binary else labels


def _check_ids(
    labels: np.ndarray, n_objects: int, path: Path, policy: str
) -> tuple[np.ndarray, Problem | None]:
    """Ids beyond the ground truth's objects: an error (official) or dropped (``ignore``)."""
    top = int(labels.max()) if labels.size else 0
    if top <= n_objects:
        return labels, None
    if policy == "ignore":
        return np.where(labels > n_objects, 0, labels).astype(np.uint8), None
    if top == 255:
        return labels, Problem(
            path,
            "prediction contains label 255 (void is not a valid prediction; "
            "write object ids 1 … K and 0 for background)",
            "extra-id",
        )
    extra = sorted(int(v) for v in np.unique(labels) if v > n_objects)
    return labels, Problem(
        path,
        f"prediction holds object id(s) {extra} but the ground truth defines "
        f"only {n_objects} object(s) (ids 1 … {n_objects})",
        "extra-id",
    )


# --------------------------------------------------------------------------------------------
# Scoring one sequence


class _Scorer:
    """Shared per-sequence state: frames to read, problems, digest, the stop-or-collect rule."""

    def __init__(
        self,
        sequence: Sequence,
        results_dir: Path,
        protocol: Protocol,
        binary: bool,
        collect: bool,
        dataset_name: str = "",
    ):
        self.sequence = sequence
        self.results_dir = results_dir
        self.protocol = protocol
        self.binary = binary
        self.collect = collect
        self.digest = hashlib.blake2b(digest_size=16)
        self.result = SequenceScores(sequence.name)
        metrics = protocol.resolved_metrics()
        self.region, self.boundary = metrics[0], metrics[1]
        self.extras = tuple(m for m in metrics[2:] if m.applies(sequence, dataset_name))

    def fail(self, error: InputError) -> None:
        if not self.collect:
            raise error
        self.result.problems.extend(error.problems)

    def frames(self, stems: Iterable[str], *, again: bool = False):
        """Yield (stem, ground truth, prediction) per frame; bad frames are reported, not yielded.

        ``again``: a second pass over frames already read (not added to the digest again).
        """
        digest = hashlib.blake2b(digest_size=16) if again else self.digest
        for stem in stems:
            path = prediction_path(self.results_dir, self.sequence.name, stem)
            try:
                gt = self.sequence.read_annotation(stem)
                pred = _read_prediction(path, digest, self.binary)
            except InputError as error:
                self.fail(error)
                continue
            if pred.shape != gt.shape:
                gt_path = self.sequence.annotation_path(stem)
                self.fail(
                    SizeMismatchError(
                        Problem(
                            path,
                            f"prediction is {pred.shape[1]}×{pred.shape[0]} (W×H) but "
                            f"ground truth {gt_path or stem} is {gt.shape[1]}×{gt.shape[0]}",
                            "size",
                        )
                    )
                )
                continue
            yield stem, gt, pred


def too_short(sequence: Sequence, protocol: Protocol) -> Problem:
    """The problem of a sequence that leaves no frame to score under ``protocol``."""
    where = sequence.annotation_path(sequence.annotated[0]) if sequence.annotated else None
    return Problem(
        where,
        f"sequence {sequence.name!r} has {len(sequence.annotated)} annotated frame(s): too "
        f"short for the {protocol.task} protocol ({protocol.frame_rule}); pass --skip-short "
        "to skip it",
        "too-short",
    )


def score_sequence(
    sequence: Sequence,
    results_dir: Path,
    protocol: Protocol,
    *,
    binary: bool = False,
    collect: bool = False,
    dataset_name: str = "",
) -> SequenceScores:
    """Score one sequence's predictions; raises at the first problem unless ``collect``."""
    scorer = _Scorer(sequence, results_dir, protocol, binary, collect, dataset_name)
    stems = protocol.evaluated_stems(sequence.annotated)
    if not stems:
        error = SequenceTooShortError(too_short(sequence, protocol))
        if protocol.skip_short:
            scorer.result.skipped = True
            scorer.result.warnings.append(f"{sequence.name}: skipped, too short for the protocol")
            return scorer.result
        scorer.fail(error)
        return scorer.result
    if protocol.task == "unsupervised":
        _score_unsupervised(scorer, stems)
    else:
        _score_semisupervised(scorer, stems)
    scorer.result.digest = scorer.digest.hexdigest()
    return scorer.result


def _score_semisupervised(scorer: _Scorer, stems: tuple[str, ...]) -> None:
    n_objects = len(scorer.sequence.object_ids)
    j = np.zeros((n_objects, len(stems)))
    f = np.zeros((n_objects, len(stems)))
    extra = {m.name: np.full((n_objects, len(stems)), np.nan) for m in scorer.extras}
    previous: list[np.ndarray | None] = [None] * n_objects
    keep_previous = any(m.needs_previous for m in scorer.extras)
    radius, identical, empty = None, True, True
    for t, (stem, gt, pred) in enumerate(scorer.frames(stems)):
        pred, problem = _check_ids(
            pred,
            n_objects,
            prediction_path(scorer.results_dir, scorer.sequence.name, stem),
            scorer.protocol.extra_ids,
        )
        if problem:
            scorer.fail(ExtraObjectError(problem))
            continue
        radius = radius or boundary_radius(gt.shape, scorer.protocol.bound_th)
        identical = identical and np.array_equal(pred, gt)
        empty = empty and not pred.any()
        for k in range(n_objects):
            # Void (255) never equals an object id, so it counts as background here.
            context = FrameContext(pred == k + 1, gt == k + 1, radius, stem, t, previous[k])
            j[k, t], f[k, t] = scorer.region.frame(context), scorer.boundary.frame(context)
            for metric in scorer.extras:
                extra[metric.name][k, t] = metric.frame(context)
            if keep_previous:
                previous[k] = context.pred
    if scorer.result.problems:
        return
    name = scorer.sequence.name
    scorer.result.objects = [
        ObjectScores(
            name,
            k + 1,
            k + 1,
            None,
            stems,
            j[k],
            f[k],
            radius or 0,
            scorer.protocol.decay_mode,
            {m: v[k] for m, v in extra.items()},
        )
        for k in range(n_objects)
    ]
    if identical:
        scorer.result.warnings.append(
            f"{name}: predictions are identical to the ground truth "
            "(evaluating the ground truth, or the wrong folder?)"
        )
    elif empty:
        scorer.result.warnings.append(f"{name}: every evaluated prediction is empty")


def _grown_box(mask: np.ndarray, margin: int) -> tuple[int, int, int, int] | None:
    box = crop_box(mask)
    if box is None:
        return None
    rows, cols = box
    return rows.start - margin, rows.stop + margin, cols.start - margin, cols.stop + margin


def _far_apart(a: tuple | None, b: tuple | None) -> bool:
    """Two non-empty masks whose grown boxes are disjoint score J = F = 0 exactly."""
    return (
        a is not None
        and b is not None
        and (a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2])
    )


def _score_unsupervised(scorer: _Scorer, stems: tuple[str, ...]) -> None:
    """Every proposal against every GT object, then the official Hungarian assignment."""
    from scipy.optimize import linear_sum_assignment

    sequence, protocol = scorer.sequence, scorer.protocol
    gt_ids = sequence.object_ids
    n_gt, n_frames = len(gt_ids), len(stems)
    empty_j = np.zeros((n_gt, n_frames))
    empty_f = np.zeros((n_gt, n_frames))
    pairs: dict[tuple[int, int, int], tuple[float, float]] = {}
    top_id, radius = 0, 0
    for t, (_stem, gt, pred) in enumerate(scorer.frames(stems)):
        radius = radius or boundary_radius(gt.shape, protocol.bound_th)
        keep = gt != 255 if sequence.void_label is not None else None
        frame_top = int(pred.max())
        top_id = max(top_id, frame_top)
        if frame_top > protocol.max_proposals:
            continue
        gts = [_without(gt == g, keep) for g in gt_ids]
        for g, mask in enumerate(gts):  # a proposal absent from this frame is an empty mask
            empty_j[g, t] = float(not mask.any())
            empty_f[g, t] = float(not seg2bmap(mask).any())
        gt_boxes = [_grown_box(mask, radius) for mask in gts]
        for p in range(1, frame_top + 1):
            proposal = _without(pred == p, keep)
            box = _grown_box(proposal, radius)
            if box is None:
                continue
            for g, mask in enumerate(gts):
                pairs[p, g, t] = (
                    (0.0, 0.0)
                    if _far_apart(box, gt_boxes[g])
                    else region_and_boundary(proposal, mask, radius)
                )
    if top_id > protocol.max_proposals:
        scorer.fail(
            ExtraObjectError(
                Problem(
                    scorer.results_dir / sequence.name,
                    f"{top_id} proposals (highest id); the unsupervised protocol allows at most "
                    f"{protocol.max_proposals}",
                    "extra-id",
                )
            )
        )
    if scorer.result.problems:
        return
    n_proposals = max(top_id, n_gt)
    j = np.broadcast_to(empty_j, (n_proposals, n_gt, n_frames)).copy()
    f = np.broadcast_to(empty_f, (n_proposals, n_gt, n_frames)).copy()
    for (p, g, t), (jv, fv) in pairs.items():
        j[p - 1, g, t], f[p - 1, g, t] = jv, fv
    score = (np.mean(j, axis=2) + np.mean(f, axis=2)) / 2
    rows, cols = linear_sum_assignment(-score)
    scorer.result.objects = [
        ObjectScores(
            sequence.name,
            i + 1,
            int(gt_ids[c]),
            int(r) + 1,
            stems,
            j[r, c],
            f[r, c],
            radius,
            protocol.decay_mode,
        )
        for i, (r, c) in enumerate(zip(rows, cols))
    ]
    if scorer.extras:
        _score_matched_extras(scorer, stems, radius)


def _score_matched_extras(scorer: _Scorer, stems: tuple[str, ...], radius: int) -> None:
    """The metrics beyond J and F, for each matched (proposal, object) pair, in a second pass:
    only the matching needs every pair, and it is decided by J and F alone."""
    objects = scorer.result.objects
    keep_void = scorer.sequence.void_label is not None
    previous: list[np.ndarray | None] = [None] * len(objects)
    for obj in objects:
        obj.extra = {m.name: np.full(len(stems), np.nan) for m in scorer.extras}
    for t, (stem, gt, pred) in enumerate(scorer.frames(stems, again=True)):
        keep = gt != 255 if keep_void else None
        for i, obj in enumerate(objects):
            context = FrameContext(
                _without(pred == obj.proposal_id, keep),
                _without(gt == obj.object_id, keep),
                radius,
                stem,
                t,
                previous[i],
            )
            for metric in scorer.extras:
                obj.extra[metric.name][t] = metric.frame(context)
            previous[i] = context.pred


def _without(mask: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    return mask if keep is None else mask & keep


# --------------------------------------------------------------------------------------------
# Checks before scoring and the parallel driver


def missing_predictions(dataset: Dataset, results_dir: Path, protocol: Protocol) -> list[Problem]:
    """Every absent prediction, and every sequence too short, at once: one problem per sequence
    (an empty folder of 80 frames is one line, not 80)."""
    problems: list[Problem] = []
    if not results_dir.is_dir():
        return [Problem(results_dir, "results folder does not exist", "missing")]
    for sequence in dataset:
        stems = protocol.evaluated_stems(sequence.annotated)
        if not stems and not protocol.skip_short:
            problems.append(too_short(sequence, protocol))
            continue
        folder = results_dir / sequence.name
        if not folder.is_dir():
            problems.append(
                Problem(
                    folder,
                    f"no results folder for sequence {sequence.name!r} "
                    f"({len(stems)} frames expected)",
                    "missing",
                )
            )
            continue
        present = {entry.name for entry in os.scandir(folder)}
        absent = [f"{stem}.png" for stem in stems if f"{stem}.png" not in present]
        if absent:
            problems.append(_missing_files(folder, absent, len(stems)))
    return problems


def _missing_files(folder: Path, absent: list[str], expected: int) -> Problem:
    """One problem per sequence: a lone missing file by its path, many as a count and a preview."""
    if len(absent) == 1:
        return Problem(folder / absent[0], "prediction file not found", "missing")
    return Problem(
        folder,
        f"{len(absent)} of {expected} prediction files missing ({preview(absent)})",
        "missing",
    )


def evaluate(
    dataset: Dataset,
    results_dir,
    protocol: Protocol | None = None,
    *,
    workers: int | None = None,
    collect_problems: bool = False,
    progress: Callable[[SequenceScores], None] | None = None,
) -> EvaluationResult:
    """Score ``results_dir`` (``<seq>/<frame>.png``) against ``dataset``.

    Args:
        dataset: the ground truth (its task must match the protocol's).
        results_dir: folder of predictions in the official layout.
        protocol: scoring rules; defaults to the official rules for the dataset's task.
        workers: processes scoring sequences in parallel (default: the number of cores).
        collect_problems: report every problem found instead of stopping at the first.
        progress: called with each finished sequence (for progress bars).

    Raises:
        EvaluationError: missing files, size mismatches, extra ids, unreadable or RGB
            masks, sequences too short; ``.problems`` lists each with its file.
    """
    results_dir = Path(results_dir)
    protocol = protocol or Protocol.for_dataset(dataset)
    if protocol.task != dataset.task:
        raise ConfigError(
            f"protocol task {protocol.task!r} differs from the dataset's {dataset.task!r}"
        )
    missing = missing_predictions(dataset, results_dir, protocol)
    if missing:
        raise EvaluationError(missing)
    scores = _run_all(
        dataset, results_dir, protocol, workers or os.cpu_count() or 1, collect_problems, progress
    )
    problems = [p for s in scores for p in s.problems]
    if problems:
        raise EvaluationError(problems)
    info = {"dataset_info": dict(dataset.info), "binary": dataset.binary}
    return EvaluationResult(dataset.name, dataset.split, protocol, results_dir, scores, info)


class Evaluator:
    """A dataset and a protocol, applied to any number of results folders (several methods).

    >>> protocol = Protocol(task="semi-supervised")
    >>> evaluator = Evaluator(dataset, protocol, workers=4)  # doctest: +SKIP
    >>> scores = {name: evaluator(folder) for name, folder in runs.items()}  # doctest: +SKIP
    """

    def __init__(
        self,
        dataset: Dataset,
        protocol: Protocol | None = None,
        *,
        workers: int | None = None,
        collect_problems: bool = False,
    ):
        self.dataset = dataset
        self.protocol = protocol or Protocol.for_dataset(dataset)
        self.workers = workers
        self.collect_problems = collect_problems

    def __call__(
        self, results_dir, progress: Callable[[SequenceScores], None] | None = None
    ) -> EvaluationResult:
        return evaluate(
            self.dataset,
            results_dir,
            self.protocol,
            workers=self.workers,
            collect_problems=self.collect_problems,
            progress=progress,
        )


def _run_all(
    dataset: Dataset,
    results_dir: Path,
    protocol: Protocol,
    workers: int,
    collect: bool,
    progress: Callable[[SequenceScores], None] | None,
) -> list[SequenceScores]:
    sequences = list(dataset)
    done: dict[str, SequenceScores] = {}

    def finish(scores: SequenceScores) -> None:
        done[scores.name] = scores
        if progress:
            progress(scores)

    if workers <= 1 or len(sequences) <= 1:
        for sequence in sequences:
            finish(
                score_sequence(
                    sequence,
                    results_dir,
                    protocol,
                    binary=dataset.binary,
                    collect=collect,
                    dataset_name=dataset.name,
                )
            )
    else:
        longest_first = sorted(sequences, key=lambda s: -len(s.annotated))
        with process_pool(min(workers, len(sequences))) as pool:
            pending = {
                pool.submit(
                    score_sequence,
                    s,
                    results_dir,
                    protocol,
                    binary=dataset.binary,
                    collect=collect,
                    dataset_name=dataset.name,
                )
                for s in longest_first
            }
            while pending:
                finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in finished:
                    _collect(future, finish, pending)
    return [done[s.name] for s in sequences]


def _collect(future: Future, finish: Callable[[SequenceScores], None], pending: set) -> None:
    error = future.exception()
    if error is not None:
        for other in pending:
            other.cancel()
        raise error
    finish(future.result())
