"""LVOS v1 / v2 scored as github LingyiHongfd/lvos-evaluation (commit 25cb02d) scores them.

Rules learnt from its ``lvos/evaluation.py``, ``lvos/results.py``, ``lvos/utils.py`` and
``evaluation_method.py`` (docs/benchmarks/lvos.md lists each with its quirk):

* each object is scored on its own range, every 5th frame ``start, start+5, …``; in the
  semi-supervised task without the range's first and last frame (``frame_nums - 2`` frames);
  in the unsupervised tasks (official ``unsupervised_multiple`` = vosbench's ``unsupervised``,
  ``unsupervised_single`` = ``unsupervised-single``) from its first frame on, the last one
  (``end``) never read but counted with J = F = 0 (``frame_nums`` values, one of them 0);
* ``unsupervised``: proposals 1 … 20 of an id map, all 20 weighed against the objects (an
  absent id is an empty proposal, which may win), matched by the Hungarian assignment on
  J&F, void as background; higher ids are dropped by the official code (an error here unless
  ``--extra-ids ignore``); a video with more than 20 objects fails there (an error here);
* ``unsupervised-single``: the videos of ``unsupervised_videos.txt``, one foreground mask per
  frame (:func:`salient_mask`) scored against every object;
* per object: J and F as DAVIS's, and V = sqrt(round(Σ(mean(JF) − JF)² / n, 4)) with
  JF = (J + F) / 2 per frame (the rounding to 4 places before the root is the official's);
* seen / unseen: by the unseen-videos list; every global number is the mean of the seen and
  the unseen averages (each group's objects weigh by their group's size, not the whole's);
* the official Decay is taken on a (1, n) array, so its bins span the whole series and it is
  always 0; it reaches no official file. vosbench's exact Decay is the default,
  ``--decay-compat`` gives the official 0;
* official files: ``global_results-<split>.csv`` (J&F-Mean, J-Mean, J-seen-Mean, …,
  V-unseen-Mean) and ``per-sequence_results-<split>.csv`` (one row per object,
  ``<video>_<position in the meta file>``, J-Mean, F-Mean, V-Mean), ``%.3f``, NaN empty.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence as Seq
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vosbench.benchmarks.rules import BenchmarkRules, ScoredObject
from vosbench.errors import ConfigError, MaskFormatError, Problem
from vosbench.io.masks import read_mask, read_mask_bytes

if TYPE_CHECKING:
    from vosbench.datasets.base import Sequence
    from vosbench.metrics.evaluator import EvaluationResult, ObjectScores, Protocol

GLOBAL_COLUMNS = (
    "J&F-Mean",
    "J-Mean",
    "J-seen-Mean",
    "J-unseen-Mean",
    "F-Mean",
    "F-seen-Mean",
    "F-unseen-Mean",
    "V-Mean",
    "V-seen-Mean",
    "V-unseen-Mean",
)
GROUPS = ("seen", "unseen")


def variance_measure(j: np.ndarray, f: np.ndarray) -> float:
    """LVOS's V of one object: the standard deviation of its per-frame (J + F) / 2 about their
    mean, the variance rounded to 4 places first (as the official ``db_statistics_var``)."""
    jf = (np.asarray(j, dtype=np.float64) + np.asarray(f, dtype=np.float64)) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(jf) if np.isfinite(jf).any() else np.nan
        variance = np.nansum((mean - jf) ** 2) / jf.size
    return math.sqrt(float(np.round(np.float64(variance), 4)))


def _mean(values: Seq[float]) -> float:
    """``np.mean`` of a possibly empty list: NaN for none (an empty group), as the official."""
    return float(np.mean(values)) if len(values) else math.nan


class LVOSRules(BenchmarkRules):
    name = "lvos"
    description = (
        "LVOS: each object on its own frame range, every 5th frame, first and last dropped "
        "(unsupervised: the last counted as 0); global = mean of the seen and unseen averages, "
        "V = per-object J&F deviation"
    )
    decay_compat = "lvos"
    tasks = ("semi-supervised", "unsupervised", "unsupervised-single")
    unsupervised_void = "background"

    def scored_objects(self, sequence: Sequence, protocol: Protocol) -> list[ScoredObject]:
        ranges = getattr(sequence, "ranges", None)
        if ranges is None:
            raise ConfigError(f"sequence {sequence.name!r} is not an LVOS sequence")
        group = getattr(sequence, "group", "seen")
        objects = []
        for object_id, frames in ranges.items():
            stems = frames.stems()
            unread: tuple[str, ...] = ()
            if protocol.all_frames:
                scored = stems
            elif protocol.task == "semi-supervised":
                scored = stems[1:-1]
            else:  # the official arrays hold frame_nums values, range(start, end) fills one less
                scored, unread = stems, stems[-1:]
            objects.append(ScoredObject(int(object_id), scored, group, unread))
        return objects

    def frame_rule(self, protocol: Protocol) -> str:
        if protocol.all_frames:
            return "each object's whole frame range, every 5th frame"
        if protocol.task == "semi-supervised":
            return "each object's frame range, every 5th frame, first and last dropped"
        return "each object's frame range, every 5th frame, the last counted as 0 unread"

    def proposal_rows(self, top_id: int, objects: int, protocol: Protocol) -> int:
        """Always the protocol's limit (20): the official matrix has a row per id 1 … 20."""
        return protocol.max_proposals

    def read_foreground(self, results_dir: Path, sequence: str, stem: str, digest: Any):
        path = self.prediction_files(results_dir, sequence, stem, ())[0]
        data = read_mask_bytes(path)
        digest.update(data)
        return salient_mask(read_mask(path, data=data), path)

    def global_metrics(self, result: EvaluationResult) -> dict[str, float]:
        """The official global table (full precision), then each other metric's mean."""
        table = _official_table(result.objects)
        for metric in result.extra_metrics:
            from vosbench.benchmarks.rules import object_means

            extra = object_means(result.objects, [metric])
            table.update({k: v for k, v in extra.items() if k.startswith(f"{metric.name}-")})
        return table

    def official_outputs(self, result: EvaluationResult) -> dict[str, tuple[str, str]]:
        from vosbench.metrics.outputs import csv_text, official_number

        split = result.split
        table = _official_table(result.objects)
        rows = [
            [
                o.name,
                official_number(o.j_stats.mean),
                official_number(o.f_stats.mean),
                official_number(variance_measure(o.j, o.f)),
            ]
            for o in result.objects
        ]
        return {
            "global": (
                f"global_results-{split}.csv",
                csv_text(GLOBAL_COLUMNS, [[official_number(table[c]) for c in GLOBAL_COLUMNS]]),
            ),
            "per-sequence": (
                f"per-sequence_results-{split}.csv",
                csv_text(("Sequence", "J-Mean", "F-Mean", "V-Mean"), rows),
            ),
        }


def salient_mask(labels: np.ndarray, path: Path | None = None) -> np.ndarray:
    """The foreground of an ``unsupervised-single`` prediction, by the official
    ``read_mask_salient`` rule: a mask of more than two values is thresholded at 127 (so an id
    map of several objects reads as empty); one of two values must be 0/1 or 0/255 (the
    non-zero one is foreground); one value: 0 is empty, 1 or 255 all foreground. Other
    masks are an error (the official code raises on them)."""
    present = np.flatnonzero(np.bincount(labels.ravel(), minlength=256))
    if len(present) > 2:
        return labels >= 127
    values = tuple(int(v) for v in present)
    if values == (0,):
        return np.zeros(labels.shape, dtype=bool)
    if values in ((1,), (255,)):
        return np.ones(labels.shape, dtype=bool)
    if values in ((0, 1), (0, 255)):
        return labels == values[1]
    raise MaskFormatError(
        Problem(
            path,
            f"foreground mask of the values {list(values)}: LVOS's unsupervised-single task "
            "reads 0/1 or 0/255 masks (or a grey map of more than two values, thresholded at "
            "127)",
            "format",
        )
    )


def _official_table(objects: Seq[ObjectScores]) -> dict[str, float]:
    """The ten official numbers: each the mean of the seen and the unseen group's average."""
    means: dict[str, dict[str, float]] = {}
    for group in GROUPS:
        members = [o for o in objects if o.group == group]
        means[group] = {
            "J": _mean([o.j_stats.mean for o in members]),
            "F": _mean([o.f_stats.mean for o in members]),
            "V": _mean([variance_measure(o.j, o.f) for o in members]),
        }
    seen, unseen = means["seen"], means["unseen"]
    table = {"J&F-Mean": ((seen["J"] + seen["F"]) + (unseen["J"] + unseen["F"])) / 4.0}
    for measure in ("J", "F", "V"):
        table[f"{measure}-Mean"] = (seen[measure] + unseen[measure]) / 2
        table[f"{measure}-seen-Mean"] = seen[measure]
        table[f"{measure}-unseen-Mean"] = unseen[measure]
    return {column: float(table[column]) for column in GLOBAL_COLUMNS}


LVOS_RULES = LVOSRules()


# --------------------------------------------------------------------------------------------
# The synthetic layout


def write_synthetic(
    out_dir: Any, config_or_preset: Any = "val", *, split: str = "valid", unseen_every: int = 2
) -> Path:
    """A synthetic LVOS split under ``out_dir/<split>``: every frame as JPEG, annotations on
    every 5th frame, ``<split>_meta.json`` with each object's range (from its first to its last
    visible 5th frame; objects visible on fewer than 3 are left out of the meta file, as are
    their prompts), ``unseen_videos.txt`` listing every ``unseen_every``-th video and
    ``unsupervised_videos.txt`` (the unsupervised-single task's videos) listing every video."""
    from vosbench.datasets.synthetic import (
        claim_folder,
        resolve_config,
        save_record,
        synthetic_dataset,
    )

    config = resolve_config(config_or_preset)
    dataset = synthetic_dataset(config, "train" if split == "train" else "val")
    out = Path(out_dir).expanduser()
    record = claim_folder(out, config, "lvos")
    save_record(out, record)  # claim the folder first
    folder = out / split
    videos: dict[str, Any] = {}
    for sequence in dataset:
        videos[sequence.name] = {"objects": _write_video(folder, sequence)}
    _write_text(folder / f"{split}_meta.json", json.dumps({"videos": videos}, indent=1) + "\n")
    unseen = [name for i, name in enumerate(dataset.names) if unseen_every and i % unseen_every]
    _write_text(folder / "unseen_videos.txt", "".join(f"{name}\n" for name in unseen))
    _write_text(folder / "unsupervised_videos.txt", "".join(f"{n}\n" for n in dataset.names))
    save_record(out, record, split, dataset.names)
    return out


def _write_text(path: Path, text: str) -> None:
    from vosbench.io.atomic import atomic_write_text

    atomic_write_text(path, text)


def _write_video(folder: Path, sequence: Any) -> dict[str, Any]:
    from vosbench.datasets.lvos import STEP, stem
    from vosbench.datasets.synthetic import _write_jpeg
    from vosbench.io import write_mask

    visible: dict[int, list[int]] = {}
    for t, source in enumerate(sequence.frames):
        name = stem(t)
        _write_jpeg(
            folder / "JPEGImages" / sequence.name / f"{name}.jpg", sequence.read_frame(source)
        )
        if t % STEP:
            continue
        labels = sequence.read_annotation(source)
        write_mask(folder / "Annotations" / sequence.name / f"{name}.png", labels)
        for object_id in np.unique(labels):
            if 0 < object_id < 255:
                visible.setdefault(int(object_id), []).append(t)
    objects = {}
    for object_id in sorted(visible):
        start, end = visible[object_id][0], visible[object_id][-1]
        count = (end - start) // STEP + 1
        if count >= 3:
            objects[str(object_id)] = {
                "frame_range": {"start": stem(start), "end": stem(end), "frame_nums": count}
            }
    return objects
