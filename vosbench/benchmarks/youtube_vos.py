"""YouTube-VOS: the synthetic layout and the local score of the held-out part of ``train``.

The server's code is not public (docs/benchmarks/youtube-vos.md says what is known of it).
The local score follows what it publishes: J and F per object over the annotated frames after
the object's first appearance (the frame it is given at is never scored), then per category
group the mean over objects, J-seen, F-seen, J-unseen, F-unseen, and G = their mean.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence as Seq
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vosbench.benchmarks.rules import BenchmarkRules, ScoredObject, object_means
from vosbench.datasets.base import Dataset, Sequence
from vosbench.datasets.synthetic import (
    SyntheticConfig,
    SyntheticSequence,
    _write_jpeg,
    claim_folder,
    resolve_config,
    save_record,
)
from vosbench.datasets.youtube_vos import META_FILE, YouTubeVOSSequence
from vosbench.errors import DatasetError, EvaluationError, Problem
from vosbench.io import atomic_write_text, write_mask

if TYPE_CHECKING:
    from vosbench.metrics.evaluator import EvaluationResult, Protocol

FRAME_STEP = 5  # annotations (and the 6 fps frames) are every 5th frame of the 30 fps video
GROUPS = ("seen", "unseen")
GLOBAL_COLUMNS = ("G", "J-seen", "F-seen", "J-unseen", "F-unseen")


# --------------------------------------------------------------------------------------------
# Synthetic layout


def write_synthetic(
    out_dir: str | Path,
    config_or_preset: str | SyntheticConfig = "val",
    *,
    split: str = "valid",
    all_frames: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic split in the YouTube-VOS layout under ``out_dir``; returns ``out_dir``.

    ``split`` is ``train`` (every 6 fps frame annotated) or ``valid`` (``val``; only each
    object's first-appearance frame, holding only the objects new there). Videos come from the
    DAVIS generator with one object entering late, rendered at 30 fps; the 6 fps frames are every
    5th, named by their 30 fps index (``00000``, ``00005`` …), and ``all_frames`` also writes
    the 30 fps ones to ``<split>_all_frames/JPEGImages``. Categories are the objects' shapes.
    """
    split = {"val": "valid"}.get(split, split)
    if split not in ("train", "valid"):
        raise DatasetError(
            Problem(None, f"synthetic youtube-vos writes train or valid, not {split!r}", "config")
        )
    base = resolve_config(config_or_preset)
    config = dataclasses.replace(
        base, late_objects=True, num_frames=FRAME_STEP * (base.num_frames - 1) + 1
    )
    out = Path(out_dir).expanduser()
    record = claim_folder(out, base, "youtube-vos")
    save_record(out, record)  # claim the folder first
    generator_split = "train" if split == "train" else "val"
    videos = {}
    for index in range(config.num_sequences):
        sequence = SyntheticSequence(config, index, generator_split)
        videos[sequence.name] = {
            "objects": _write_video(out, split, sequence, all_frames, overwrite)
        }
    atomic_write_text(out / split / META_FILE, json.dumps({"videos": videos}, indent=1) + "\n")
    save_record(out, record, split, list(videos))
    return out


def _write_video(
    out: Path, split: str, sequence: SyntheticSequence, all_frames: bool, overwrite: bool
) -> dict[str, dict[str, object]]:
    """Frames and masks of one video; returns its ``meta.json`` objects."""
    shapes = sequence.attributes["shapes"]
    stems = sequence.frames[::FRAME_STEP]
    seen: dict[int, list[str]] = {oid: [] for oid in range(1, sequence.num_objects + 1)}
    first: dict[int, str] = {}
    for stem in stems:
        labels = sequence.read_annotation(stem)
        present = [oid for oid in seen if (labels == oid).any()]
        for oid in present:
            seen[oid].append(stem)
            first.setdefault(oid, stem)
        _write_frame(
            out / split / "JPEGImages" / sequence.name / f"{stem}.jpg", sequence, stem, overwrite
        )
        mask_path = out / split / "Annotations" / sequence.name / f"{stem}.png"
        if split == "train":
            write_mask(mask_path, labels)
        else:
            new = [oid for oid in present if first[oid] == stem]
            if new:
                write_mask(mask_path, np.where(np.isin(labels, new), labels, 0).astype(np.uint8))
    if all_frames:
        folder = out / f"{split}_all_frames" / "JPEGImages" / sequence.name
        for stem in sequence.frames:
            _write_frame(folder / f"{stem}.jpg", sequence, stem, overwrite)
    objects = {}
    for oid, frames in seen.items():
        if not frames:
            continue  # never visible on an annotated frame: YouTube-VOS would not list it
        listed = frames if split == "train" else [s for s in stems if s >= first[oid]]
        objects[str(oid)] = {"category": shapes[oid - 1], "frames": listed}
    return objects


def _write_frame(path: Path, sequence: SyntheticSequence, stem: str, overwrite: bool) -> None:
    if overwrite or not path.is_file():
        _write_jpeg(path, sequence.read_frame(stem))


# --------------------------------------------------------------------------------------------
# Local scoring: the benchmark rules


class YouTubeVOSRules(BenchmarkRules):
    """Each object from the annotated frame after its first appearance to the end of the video;
    global: J and F means per seen / unseen group and G, their mean."""

    name = "youtube-vos"
    description = (
        "valid/test: the CodaLab server (vosbench submission packs Annotations/<video>/<frame>.png "
        "for the meta.json frames); holdout: J and F per object on the annotated frames after "
        "its first appearance, G = mean of J-seen, F-seen, J-unseen, F-unseen"
    )

    def scored_objects(self, sequence: Sequence, protocol: Protocol) -> list[ScoredObject]:
        if not isinstance(sequence, YouTubeVOSSequence):
            return super().scored_objects(sequence, protocol)
        if sequence.server_scored:
            raise EvaluationError(
                Problem(
                    sequence.meta_path,
                    f"video {sequence.name!r} belongs to a split scored by the CodaLab server "
                    "only (its ground truth is not public): pack the run with `vosbench "
                    "submission`, or score the local split --split holdout",
                    "config",
                )
            )
        frames = scored_frames(sequence, keep_first=protocol.all_frames)
        return [
            ScoredObject(object_id, stems, sequence.groups.get(object_id, ""))
            for object_id, stems in frames.items()
        ]

    def frame_rule(self, protocol: Protocol) -> str:
        first = "from" if protocol.all_frames else "after"
        return f"annotated frames {first} each object's first appearance"

    def global_metrics(self, result: EvaluationResult) -> dict[str, float]:
        """G, J-seen, F-seen, J-unseen, F-unseen (unweighted means over the group's objects of
        their mean J and F; NaN for an empty group, and then G too), then the DAVIS columns
        over every object."""
        metrics: dict[str, float] = {}
        for group in GROUPS:
            objects = [o for o in result.objects if o.group == group]
            metrics[f"J-{group}"] = _mean([o.j_stats.mean for o in objects])
            metrics[f"F-{group}"] = _mean([o.f_stats.mean for o in objects])
        parts = [metrics[c] for c in GLOBAL_COLUMNS[1:]]
        metrics["G"] = _mean(parts) if all(np.isfinite(parts)) else math.nan
        ordered = {column: metrics[column] for column in GLOBAL_COLUMNS}
        return {**ordered, **object_means(result.objects, result.extra_metrics)}

    def official_outputs(self, result: EvaluationResult) -> dict[str, tuple[str, str]]:
        """No official scorer exists: DAVIS's two files (over every object, which the report
        reads) and ``youtube-vos_results-<split>.csv`` with the published columns (G and the four
        group means, ``%.3f`` like DAVIS's file) and the number of objects in each group."""
        metrics = self.global_metrics(result)
        counts = {g: sum(1 for o in result.objects if o.group == g) for g in GROUPS}
        header = [*GLOBAL_COLUMNS, "Objects-seen", "Objects-unseen"]
        values = [f"{metrics[c]:.3f}" for c in GLOBAL_COLUMNS] + [str(counts[g]) for g in GROUPS]
        text = ",".join(header) + "\n" + ",".join(values) + "\n"
        return {
            **super().official_outputs(result),
            "youtube-vos": (f"youtube-vos_results-{result.split}.csv", text),
        }


YOUTUBE_VOS_RULES = YouTubeVOSRules()


def _mean(values: Seq[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def scored_frames(
    sequence: YouTubeVOSSequence, *, keep_first: bool = False
) -> dict[int, tuple[str, ...]]:
    """Object id → the annotated frames scored for it: every one after its first appearance
    (``keep_first``: from it, non-official)."""
    order = {stem: i for i, stem in enumerate(sequence.frames)}
    first = sequence.first_appearance
    return {
        object_id: tuple(
            s for s in sequence.annotated if order[s] > order[stem] or (keep_first and s == stem)
        )
        for object_id, stem in first.items()
    }


def evaluate_holdout(dataset: Dataset, results_dir: str | Path, **options: Any) -> EvaluationResult:
    """Score ``results_dir/<video>/<frame>.png`` on a YouTube-VOS split with ground truth
    (``holdout``) under :data:`YOUTUBE_VOS_RULES`; ``options`` go to
    :func:`vosbench.metrics.evaluate` (``workers``, ``collect_problems`` …)."""
    from vosbench.metrics import Protocol, evaluate

    if dataset.info.get("scoring") == "server":
        raise EvaluationError(
            Problem(
                dataset.root,
                f"{dataset.label} is scored by the CodaLab server only (its ground truth is not "
                "public): pack the run with `vosbench submission`, or score the local "
                "split --split holdout",
                "config",
            )
        )
    protocol = options.pop("protocol", None) or Protocol.for_dataset(dataset)
    return evaluate(dataset, Path(results_dir), protocol, rules=YOUTUBE_VOS_RULES, **options)
