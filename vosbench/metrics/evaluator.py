"""Evaluate a results folder against a dataset, streaming one frame at a time.

Each sequence is scored independently (in worker processes when ``workers > 1``): its
ground truth and predictions are decoded once, as ``uint8`` label maps, objects are split by
comparison on the fly and scored on their own crops. Peak memory therefore does not grow with
sequence length or object count, unlike the official evaluator's float64 one-hot arrays.
Per-frame values equal the official ones exactly. Which objects are scored on which frames, how
predictions are read, the global table and the official files are the dataset's
:class:`~vosbench.benchmarks.BenchmarkRules` (DAVIS's unless its catalogue entry names others).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from collections.abc import Sequence as Seq
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vosbench.benchmarks import DAVIS_RULES, BenchmarkRules, ScoredObject, rules_for
from vosbench.datasets.base import TASKS, Dataset, Sequence
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
from vosbench.metrics.api import FrameContext, Metric, metric_names, resolve_metrics, summary_names
from vosbench.metrics.boundary import (
    BOUND_TH,
    boundary_radius,
    crop_box,
    region_and_boundary,
    seg2bmap,
)
from vosbench.metrics.statistics import DECAY_MODES, Statistics, db_statistics, mean_only

if TYPE_CHECKING:
    from concurrent.futures import Future

EXTRA_ID_POLICIES = ("error", "ignore")


@dataclass(frozen=True)
class Protocol:
    """How a results folder is scored.

    Attributes:
        task: ``semi-supervised`` (frames 1 … T−2, void counts as background),
            ``unsupervised`` (all frames, void excluded, proposals matched by Hungarian) or
            ``unsupervised-single`` (one foreground mask per frame scored against each object,
            where the benchmark's rules define it: LVOS). The benchmark's rules may change the
            frames and the void (:class:`~vosbench.benchmarks.BenchmarkRules`).
        bound_th: F tolerance (fraction of the diagonal, or whole pixels if ≥ 1).
        decay_mode: ``exact`` (default), or the official evaluator's (``davis2017``: its
            uint8 overflow; ``lvos``); :meth:`for_dataset` turns ``compat`` into the dataset's
            rules' official mode.
        extra_ids: ``error`` (DAVIS's official rule: ids beyond the ground truth's are an
            error) or ``ignore`` (drop them, with a warning); :meth:`for_dataset` takes the
            dataset's rules' official policy (VOST's evaluator drops them) unless given.
        all_frames: score every frame in the semi-supervised task (non-official).
        skip_short: skip, with a warning, sequences too short for the protocol.
        max_proposals: the unsupervised task's proposal limit (higher ids follow
            ``extra_ids``: an error, or dropped).
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
        """The official rules for ``dataset``'s task (``options`` override them); the metrics
        default to those its benchmark rules name, else the dataset's official set."""
        options.setdefault("unsupervised_drop_ends", dataset.name == "davis2016")
        rules = rules_for(dataset)
        if options.get("decay_mode") == "compat":  # the official Decay, whatever it is
            options["decay_mode"] = rules.decay_compat
        if options.get("extra_ids") is None:  # the benchmark's own rule
            options["extra_ids"] = rules.extra_ids
        chosen = options.get("metrics") or rules.metrics or None
        options["metrics"] = metric_names(chosen, dataset.name)
        return cls(task=dataset.task, **options)

    def resolved_metrics(self) -> tuple[Metric, ...]:
        return resolve_metrics(self.metrics)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
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
        return self.official_under(DAVIS_RULES)

    def official_under(self, rules: BenchmarkRules) -> bool:
        """Whether numbers follow ``rules``' official protocol: its extra-id policy, the
        official frames and tolerance."""
        return (
            self.extra_ids == rules.extra_ids and not self.all_frames and self.bound_th == BOUND_TH
        )

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
    group: str = ""  # the benchmark's group of the object (seen / unseen), "" for none

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
    rules: BenchmarkRules = DAVIS_RULES

    @property
    def objects(self) -> list[ObjectScores]:
        return [obj for seq in self.sequences for obj in seq.objects]

    @property
    def warnings(self) -> list[str]:
        return [w for seq in self.sequences for w in seq.warnings]

    def global_metrics(self) -> dict[str, float]:
        """The benchmark's global numbers (:meth:`BenchmarkRules.global_metrics`; DAVIS: the
        unweighted means over all (sequence, object) pairs, then each other metric's
        statistics, means over the objects it scored, e.g. T's ``eval_t`` ones)."""
        if not self.objects:
            raise EvaluationError(Problem(self.results_dir, "no object was evaluated", "empty"))
        return self.rules.global_metrics(self)

    @property
    def extra_metrics(self) -> tuple[Metric, ...]:
        """The metrics beyond J and F that this evaluation ran (their columns follow J's and
        F's)."""
        return self.protocol.resolved_metrics()[2:]

    def protocol_record(self) -> dict[str, object]:
        record = asdict(self.protocol)
        record.update(
            frame_rule=self.rules.frame_rule(self.protocol),
            official=self.protocol.official_under(self.rules),
            rules=self.rules.name,
        )
        return record


# --------------------------------------------------------------------------------------------
# Reading predictions


def _check_ids(
    labels: np.ndarray, top_id: int, path: Path, policy: str
) -> tuple[np.ndarray, Problem | None]:
    """Ids beyond the ground truth's highest object id: an error (official) or dropped
    (``ignore``)."""
    top = int(labels.max()) if labels.size else 0
    if top <= top_id:
        return labels, None
    if policy == "ignore":
        return np.where(labels > top_id, 0, labels).astype(np.uint8), None
    if top == 255:
        return labels, Problem(
            path,
            "prediction contains label 255 (void is not a valid prediction; "
            "write object ids 1 … K and 0 for background)",
            "extra-id",
        )
    extra = sorted(int(v) for v in np.unique(labels) if v > top_id)
    return labels, Problem(
        path,
        f"prediction holds object id(s) {extra} but the ground truth defines "
        f"only {top_id} object(s) (ids 1 … {top_id})",
        "extra-id",
    )


def _object_mask(masks: np.ndarray, layer: int, object_id: int) -> np.ndarray:
    """One object's mask (predicted or ground truth): a layer of a per-object stack, or its
    pixels of an id map."""
    return masks[layer] if masks.ndim == 3 else masks == object_id


# --------------------------------------------------------------------------------------------
# Scoring one sequence


class _Scorer:
    """Shared per-sequence state: the scored objects and their frames, problems, digest, the
    stop-or-collect rule."""

    def __init__(
        self,
        sequence: Sequence,
        results_dir: Path,
        protocol: Protocol,
        binary: bool,
        collect: bool,
        dataset_name: str,
        rules: BenchmarkRules,
        scored: list[ScoredObject],
    ):
        self.sequence = sequence
        self.results_dir = results_dir
        self.protocol = protocol
        self.binary = binary
        self.collect = collect
        self.rules = rules
        self.scored = scored
        self.digest = hashlib.blake2b(digest_size=16)
        self.result = SequenceScores(sequence.name)
        metrics = protocol.resolved_metrics()
        self.region, self.boundary = metrics[0], metrics[1]
        self.extras = tuple(m for m in metrics[2:] if m.applies(sequence, dataset_name))
        # Ids of ground-truth objects are never extra, scored here or not (an object first seen
        # on the last annotated frame is handed to the method there but has no frame to score).
        self.top_id = max((o.object_id for o in scored), default=0)
        if scored:
            self.top_id = max(self.top_id, max(sequence.object_ids, default=0))
        self.stems, self.on_frame = _frame_plan(sequence, scored)
        # position of each stem in each object's own frames (its per-frame arrays' index)
        self.position = [{stem: t for t, stem in enumerate(o.frames)} for o in scored]

    def fail(self, error: InputError) -> None:
        if not self.collect:
            raise error
        self.result.problems.extend(error.problems)

    def frames(self, *, again: bool = False):
        """Yield (stem, ground truth, prediction, indices of the objects scored there) per
        frame; bad frames are reported, not yielded.

        ``again``: a second pass over frames already read (not added to the digest again).
        """
        digest = hashlib.blake2b(digest_size=16) if again else self.digest
        for stem in self.stems:
            indices = self.on_frame[stem]
            objects = [self.scored[k] for k in indices]
            try:
                gt = self._ground_truth(stem, objects)
                pred = self._prediction(stem, objects, digest)
            except InputError as error:
                self.fail(error)
                continue
            if pred.shape[-2:] != gt.shape[-2:]:
                self.fail(SizeMismatchError(self._size_problem(stem, objects, pred, gt)))
                continue
            yield stem, gt, pred, indices

    def _prediction(self, stem: str, objects: list[ScoredObject], digest: Any) -> np.ndarray:
        """The rules' prediction of ``stem``; in the ``unsupervised-single`` task the one
        foreground mask, as a read-only (len(objects), H, W) stack (each object scored
        against it)."""
        name = self.sequence.name
        if self.protocol.task == "unsupervised-single":
            foreground = self.rules.read_foreground(self.results_dir, name, stem, digest)
            return np.broadcast_to(foreground, (len(objects), *foreground.shape))
        return self.rules.read_prediction(
            self.results_dir, name, stem, objects, digest, self.binary
        )

    def _ground_truth(self, stem: str, objects: list[ScoredObject]) -> np.ndarray:
        """The id map of ``stem``, or, where the sequence stores one mask per object (masks may
        overlap: SA-V), the (len(objects), H, W) stack of the objects scored there."""
        if self.sequence.overlapping_objects:
            return self.sequence.read_objects(stem, [o.object_id for o in objects])
        return self.sequence.read_annotation(stem)

    def prediction_file(self, stem: str) -> Path:
        """The (first) prediction file of ``stem``, for problems."""
        objects = [self.scored[k] for k in self.on_frame[stem]]
        return self.rules.prediction_files(self.results_dir, self.sequence.name, stem, objects)[0]

    def _size_problem(
        self, stem: str, objects: list[ScoredObject], pred: np.ndarray, gt: np.ndarray
    ) -> Problem:
        gt_path = self.sequence.annotation_path(stem)
        return Problem(
            self.prediction_file(stem),
            f"prediction is {pred.shape[-1]}×{pred.shape[-2]} (W×H) but "
            f"ground truth {gt_path or stem} is {gt.shape[-1]}×{gt.shape[-2]}",
            "size",
        )

    def object_scores(
        self, k: int, j: np.ndarray, f: np.ndarray, radius: int, extra: dict[str, np.ndarray]
    ) -> ObjectScores:
        """The scores of the ``k``-th scored object (semi-supervised: it is its own match)."""
        obj = self.scored[k]
        return ObjectScores(
            self.sequence.name,
            k + 1,
            obj.object_id,
            None,
            obj.frames,
            j,
            f,
            radius,
            self.protocol.decay_mode,
            extra,
            obj.group,
        )


def _frame_plan(
    sequence: Sequence, scored: list[ScoredObject]
) -> tuple[tuple[str, ...], dict[str, list[int]]]:
    """Every frame some object is read on (each read once, in the sequence's order), and the
    objects read on each. DAVIS: every object on the same frames."""
    if not scored:
        return (), {}
    first = scored[0].read_frames
    if all(o.read_frames == first for o in scored):
        everyone = list(range(len(scored)))
        return first, {stem: everyone for stem in first}
    on_frame: dict[str, list[int]] = {}
    for k, obj in enumerate(scored):
        for stem in obj.read_frames:
            on_frame.setdefault(stem, []).append(k)
    order = {stem: i for i, stem in enumerate(sequence.frames)}
    stems = tuple(sorted(on_frame, key=lambda stem: (order.get(stem, len(order)), stem)))
    return stems, on_frame


def too_short(
    sequence: Sequence, protocol: Protocol, rules: BenchmarkRules = DAVIS_RULES
) -> Problem:
    """The problem of a sequence that leaves no frame to score under ``protocol``."""
    where = sequence.annotation_path(sequence.annotated[0]) if sequence.annotated else None
    return Problem(
        where,
        f"sequence {sequence.name!r} has {len(sequence.annotated)} annotated frame(s): too "
        f"short for the {protocol.task} protocol ({rules.frame_rule(protocol)}); pass "
        "--skip-short to skip it",
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
    rules: BenchmarkRules = DAVIS_RULES,
) -> SequenceScores:
    """Score one sequence's predictions; raises at the first problem unless ``collect``."""
    scored = [o for o in rules.scored_objects(sequence, protocol) if o.frames]
    scorer = _Scorer(sequence, results_dir, protocol, binary, collect, dataset_name, rules, scored)
    if not scored:
        error = SequenceTooShortError(too_short(sequence, protocol, rules))
        if protocol.skip_short:
            scorer.result.skipped = True
            scorer.result.warnings.append(f"{sequence.name}: skipped, too short for the protocol")
            return scorer.result
        scorer.fail(error)
        return scorer.result
    if protocol.task == "unsupervised":
        _score_unsupervised(scorer)
    else:
        _score_semisupervised(scorer)
    scorer.result.digest = scorer.digest.hexdigest()
    return scorer.result


def _score_semisupervised(scorer: _Scorer) -> None:
    scored = scorer.scored
    j = [np.zeros(len(o.frames)) for o in scored]
    f = [np.zeros(len(o.frames)) for o in scored]
    extra = [{m.name: np.full(len(o.frames), np.nan) for m in scorer.extras} for o in scored]
    previous: list[np.ndarray | None] = [None] * len(scored)
    previous_memo: list[dict | None] = [None] * len(scored)
    keep_previous = any(m.needs_previous for m in scorer.extras)
    radius, identical, empty, dropped = None, True, True, ""
    for stem, gt, pred, indices in scorer.frames():
        if pred.ndim == 2:
            top = int(pred.max()) if pred.size else 0
            if top > scorer.top_id:  # the file is named only then (finding it costs a path)
                pred, problem = _check_ids(
                    pred, scorer.top_id, scorer.prediction_file(stem), scorer.protocol.extra_ids
                )
                if problem:
                    scorer.fail(ExtraObjectError(problem))
                    continue
                dropped = dropped or f"{stem}.png (up to id {top})"
            if gt.ndim == 2:
                identical = identical and np.array_equal(pred, gt)
        radius = radius or boundary_radius(gt.shape[-2:], scorer.protocol.bound_th)
        empty = empty and not pred.any()
        for layer, k in enumerate(indices):
            object_id = scored[k].object_id
            t = scorer.position[k][stem]
            # Void (255) never equals an object id, so it counts as background here.
            mask = _object_mask(pred, layer, object_id)
            truth = _object_mask(gt, layer, object_id)
            if pred.ndim == 3 or gt.ndim == 3:
                identical = identical and np.array_equal(mask, truth)
            context = FrameContext(mask, truth, radius, stem, t, previous[k], previous_memo[k])
            j[k][t], f[k][t] = scorer.region.frame(context), scorer.boundary.frame(context)
            for metric in scorer.extras:
                extra[k][metric.name][t] = metric.frame(context)
            if keep_previous:
                previous[k], previous_memo[k] = context.pred, context.memo
    if scorer.result.problems:
        return
    for k in range(len(scored)):
        try:  # the benchmark's count of the object's frames (SA-V drops leading empty ones)
            scores = scorer.rules.object_result(
                scorer.object_scores(k, j[k], f[k], radius or 0, extra[k]), scorer.sequence
            )
        except InputError as error:
            scorer.fail(error)
            continue
        scorer.result.objects.append(scores)
    if scorer.result.problems:
        scorer.result.objects = []
        return
    name = scorer.sequence.name
    if dropped:
        scorer.result.warnings.append(
            f"{name}: prediction ids above the ground truth's {scorer.top_id} object(s) were "
            f"dropped, first in {dropped}"
        )
    if not scorer.stems:  # nothing read (LVOS's one-frame ranges): nothing to warn about
        return
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


def _score_unsupervised(scorer: _Scorer) -> None:
    """Every proposal against every GT object (on that object's frames), then the official
    Hungarian assignment on the mean of J and F.

    The rules decide the void (excluded, DAVIS; background, LVOS) and how many proposals are
    weighed (:meth:`~vosbench.benchmarks.BenchmarkRules.proposal_rows`; absent ones are empty
    masks). Ids above ``max_proposals`` are an error, or dropped with ``extra_ids="ignore"``.
    """
    from scipy.optimize import linear_sum_assignment

    sequence, protocol, scored = scorer.sequence, scorer.protocol, scorer.scored
    n_gt, limit = len(scored), protocol.max_proposals
    empty_j = [np.zeros(len(o.frames)) for o in scored]
    empty_f = [np.zeros(len(o.frames)) for o in scored]
    pairs: dict[tuple[int, int, int], tuple[float, float]] = {}
    top_id, radius, over, dropped = 0, 0, "", ""
    exclude_void = scorer.rules.unsupervised_void == "exclude" and sequence.void_label is not None
    for stem, gt, pred, indices in scorer.frames():
        radius = radius or boundary_radius(gt.shape, protocol.bound_th)
        keep = gt != 255 if exclude_void else None
        frame_top = int(pred.max())
        if frame_top > limit:
            if protocol.extra_ids != "ignore":
                top_id, over = max(top_id, frame_top), over or stem
                continue
            pred = np.where(pred > limit, 0, pred).astype(np.uint8)
            dropped = dropped or f"{stem}.png (up to id {frame_top})"
            frame_top = int(pred.max())
        top_id = max(top_id, frame_top)
        gts = {g: _without(gt == scored[g].object_id, keep) for g in indices}
        for g, mask in gts.items():  # a proposal absent from this frame is an empty mask
            t = scorer.position[g][stem]
            empty_j[g][t] = float(not mask.any())
            empty_f[g][t] = float(not seg2bmap(mask).any())
        gt_boxes = {g: _grown_box(mask, radius) for g, mask in gts.items()}
        for p in range(1, frame_top + 1):
            proposal = _without(pred == p, keep)
            box = _grown_box(proposal, radius)
            if box is None:
                continue
            for g, mask in gts.items():
                pairs[p, g, scorer.position[g][stem]] = (
                    (0.0, 0.0)
                    if _far_apart(box, gt_boxes[g])
                    else region_and_boundary(proposal, mask, radius)
                )
    if over:
        scorer.fail(ExtraObjectError(_too_many_proposals(scorer, over, top_id)))
    n_proposals = scorer.rules.proposal_rows(top_id, n_gt, protocol)
    if n_proposals < n_gt:
        scorer.fail(
            EvaluationError(
                Problem(
                    sequence.annotation_path(sequence.annotated[0]) if sequence.annotated else None,
                    f"sequence {sequence.name!r} has {n_gt} objects but the {scorer.rules.name} "
                    f"unsupervised matching weighs {n_proposals} proposals: every object needs "
                    "one (the official evaluator fails on such a sequence)",
                    "too-many-objects",
                )
            )
        )
    if scorer.result.problems:
        return
    if dropped:
        scorer.result.warnings.append(
            f"{sequence.name}: proposal ids above {limit} were dropped, first in {dropped}"
        )
    j = [np.broadcast_to(e, (n_proposals, len(e))).copy() for e in empty_j]
    f = [np.broadcast_to(e, (n_proposals, len(e))).copy() for e in empty_f]
    for (p, g, t), (jv, fv) in pairs.items():
        j[g][p - 1, t], f[g][p - 1, t] = jv, fv
    score = np.stack(
        [(np.mean(j[g], axis=1) + np.mean(f[g], axis=1)) / 2 for g in range(n_gt)], axis=1
    )
    rows, cols = linear_sum_assignment(-score)
    scorer.result.objects = [
        ObjectScores(
            sequence.name,
            i + 1,
            scored[c].object_id,
            int(r) + 1,
            scored[c].frames,
            j[c][r],
            f[c][r],
            radius,
            protocol.decay_mode,
            group=scored[c].group,
        )
        for i, (r, c) in enumerate(zip(rows, cols))
    ]
    if scorer.extras:
        _score_matched_extras(scorer, radius)


def _too_many_proposals(scorer: _Scorer, stem: str, top_id: int) -> Problem:
    """The problem of proposal ids above the protocol's limit, first seen in frame ``stem``."""
    limit = scorer.protocol.max_proposals
    if top_id == 255:
        message = (
            "prediction holds label 255 (void is not a proposal id; write proposals 1 … "
            f"{limit} and 0 for background)"
        )
    else:
        message = (
            f"{top_id} proposals (highest id); the unsupervised protocol allows at most {limit}"
        )
    return Problem(
        scorer.prediction_file(stem), f"{message}; --extra-ids ignore drops them", "extra-id"
    )


def _score_matched_extras(scorer: _Scorer, radius: int) -> None:
    """The metrics beyond J and F, for each matched (proposal, object) pair, in a second pass:
    only the matching needs every pair, and it is decided by J and F alone."""
    objects = scorer.result.objects
    keep_void = (
        scorer.rules.unsupervised_void == "exclude" and scorer.sequence.void_label is not None
    )
    index = {obj.object_id: k for k, obj in enumerate(scorer.scored)}
    matched = {index[obj.object_id]: obj for obj in objects}
    previous: dict[int, np.ndarray | None] = dict.fromkeys(matched)
    previous_memo: dict[int, dict | None] = dict.fromkeys(matched)
    for obj in objects:
        obj.extra = {m.name: np.full(len(obj.frames), np.nan) for m in scorer.extras}
    for stem, gt, pred, indices in scorer.frames(again=True):
        keep = gt != 255 if keep_void else None
        for k in indices:
            obj = matched.get(k)
            if obj is None:
                continue
            t = scorer.position[k][stem]
            context = FrameContext(
                _without(pred == obj.proposal_id, keep),
                _without(gt == obj.object_id, keep),
                radius,
                stem,
                t,
                previous[k],
                previous_memo[k],
            )
            for metric in scorer.extras:
                obj.extra[metric.name][t] = metric.frame(context)
            previous[k], previous_memo[k] = context.pred, context.memo


def _without(mask: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    return mask if keep is None else mask & keep


# --------------------------------------------------------------------------------------------
# Checks before scoring and the parallel driver


def missing_predictions(
    dataset: Dataset,
    results_dir: Path,
    protocol: Protocol,
    rules: BenchmarkRules = DAVIS_RULES,
) -> list[Problem]:
    """Every absent prediction, and every sequence too short, at once: one problem per sequence
    (an empty folder of 80 frames is one line, not 80)."""
    problems: list[Problem] = []
    if not results_dir.is_dir():
        return [Problem(results_dir, "results folder does not exist", "missing")]
    for sequence in dataset:
        scored = [o for o in rules.scored_objects(sequence, protocol) if o.frames]
        if not scored and not protocol.skip_short:
            problems.append(too_short(sequence, protocol, rules))
            continue
        stems, on_frame = _frame_plan(sequence, scored)
        if not stems:  # objects whose frames all go unread (LVOS's one-frame ranges)
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
        expected = [
            path
            for stem in stems
            for path in rules.prediction_files(
                results_dir, sequence.name, stem, [scored[k] for k in on_frame[stem]]
            )
        ]
        absent = _absent(folder, expected)
        if absent:
            problems.append(_missing_files(folder, absent, len(expected)))
    return problems


def _absent(folder: Path, expected: list[Path]) -> list[str]:
    """The expected files that do not exist, relative to ``folder``; one directory listing per
    folder, not one stat per file."""
    listings: dict[Path, set[str]] = {}
    absent = []
    for path in expected:
        parent = path.parent
        if parent not in listings:
            try:
                listings[parent] = {entry.name for entry in os.scandir(parent)}
            except OSError:
                listings[parent] = set()
        if path.name not in listings[parent]:
            absent.append(os.path.relpath(path, folder))
    return absent


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
    rules: BenchmarkRules | None = None,
) -> EvaluationResult:
    """Score ``results_dir`` (``<seq>/<frame>.png``, or the benchmark's own layout) against
    ``dataset``.

    Args:
        dataset: the ground truth (its task must match the protocol's).
        results_dir: folder of predictions in the official layout.
        protocol: scoring rules; defaults to the official rules for the dataset's task.
        workers: processes scoring sequences in parallel (default: the number of cores).
        collect_problems: report every problem found instead of stopping at the first.
        progress: called with each finished sequence (for progress bars).
        rules: the benchmark's rules (default: those the dataset's catalogue entry names,
            else DAVIS's; see :func:`vosbench.benchmarks.rules_for`).

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
    rules = rules or rules_for(dataset)
    if protocol.task not in rules.tasks:
        raise ConfigError(
            f"{dataset.label} is scored by the {rules.name} rules, which have no "
            f"{protocol.task!r} task (they score {', '.join(rules.tasks)})"
        )
    missing = missing_predictions(dataset, results_dir, protocol, rules)
    if missing:
        raise EvaluationError(missing)
    scores = _run_all(
        dataset,
        results_dir,
        protocol,
        rules,
        workers or os.cpu_count() or 1,
        collect_problems,
        progress,
    )
    problems = [p for s in scores for p in s.problems]
    if problems:
        raise EvaluationError(problems)
    info = {"dataset_info": dict(dataset.info), "binary": dataset.binary}
    return EvaluationResult(dataset.name, dataset.split, protocol, results_dir, scores, info, rules)


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
    rules: BenchmarkRules,
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
                    rules=rules,
                )
            )
    else:
        from concurrent.futures import FIRST_EXCEPTION, wait

        from vosbench.parallel import process_pool  # the pool module loads only for -j > 1

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
                    rules=rules,
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
