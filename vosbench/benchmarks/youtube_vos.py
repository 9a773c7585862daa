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
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vosbench.datasets.base import Dataset
from vosbench.datasets.synthetic import (
    SyntheticConfig,
    SyntheticSequence,
    _write_jpeg,
    resolve_config,
)
from vosbench.datasets.youtube_vos import META_FILE, YouTubeVOSSequence
from vosbench.errors import DatasetError, EvaluationError, Problem, SizeMismatchError
from vosbench.io import atomic_write_text, write_mask
from vosbench.io.masks import read_mask
from vosbench.metrics.boundary import BOUND_TH, boundary_radius, region_and_boundary

FRAME_STEP = 5  # annotations (and the 6 fps frames) are every 5th frame of the 30 fps video
GROUPS = ("seen", "unseen")
GLOBAL_COLUMNS = ("G", "J-seen", "F-seen", "J-unseen", "F-unseen")
RULE = (
    "each object on the annotated frames after its first appearance; J and F per object, "
    "means per seen/unseen category group, G = mean of J-seen, F-seen, J-unseen, F-unseen"
)


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
    _refuse_foreign(out, split)
    generator_split = "train" if split == "train" else "val"
    videos = {}
    for index in range(config.num_sequences):
        sequence = SyntheticSequence(config, index, generator_split)
        videos[sequence.name] = {
            "objects": _write_video(out, split, sequence, all_frames, overwrite)
        }
    atomic_write_text(out / split / META_FILE, json.dumps({"videos": videos}, indent=1) + "\n")
    return out


def _refuse_foreign(out: Path, split: str) -> None:
    if out.exists() and not out.is_dir():
        raise DatasetError(Problem(out, "exists and is not a folder", "exists"))
    target = out / split
    if target.is_dir() and any(target.iterdir()) and not (target / META_FILE).is_file():
        raise DatasetError(
            Problem(
                target, f"is not empty and holds no {META_FILE}; refusing to write there", "exists"
            )
        )


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
# Local scoring


@dataclass
class ObjectResult:
    """J and F of one object on the frames scored for it (after its first appearance)."""

    video: str
    object_id: int
    category: str
    group: str
    first_frame: str
    frames: tuple[str, ...]
    j: np.ndarray
    f: np.ndarray

    @property
    def j_mean(self) -> float:
        return float(np.mean(self.j)) if self.j.size else math.nan

    @property
    def f_mean(self) -> float:
        return float(np.mean(self.f)) if self.f.size else math.nan


@dataclass
class YouTubeVOSResult:
    """Per-object results of a held-out evaluation and the published global numbers."""

    dataset: str
    split: str
    results_dir: Path
    objects: list[ObjectResult] = field(default_factory=list)

    def global_metrics(self) -> dict[str, float]:
        """J-seen, F-seen, J-unseen, F-unseen (unweighted means over the group's objects with at
        least one scored frame) and G, their mean (NaN when a group has no such object)."""
        metrics: dict[str, float] = {}
        for group in GROUPS:
            scored = [o for o in self.objects if o.group == group and o.frames]
            metrics[f"J-{group}"] = _mean([o.j_mean for o in scored])
            metrics[f"F-{group}"] = _mean([o.f_mean for o in scored])
        parts = [metrics[c] for c in GLOBAL_COLUMNS[1:]]
        metrics["G"] = _mean(parts) if all(np.isfinite(parts)) else math.nan
        return {column: metrics[column] for column in GLOBAL_COLUMNS}

    def object_rows(self) -> list[dict[str, object]]:
        return [
            {
                "Video": o.video,
                "Object": o.object_id,
                "Category": o.category,
                "Group": o.group,
                "First frame": o.first_frame,
                "Frames": len(o.frames),
                "J-Mean": o.j_mean,
                "F-Mean": o.f_mean,
            }
            for o in self.objects
        ]


def _mean(values: Seq[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def scored_frames(sequence: YouTubeVOSSequence) -> dict[int, tuple[str, ...]]:
    """Object id → the annotated frames scored for it: every one after its first appearance."""
    order = {stem: i for i, stem in enumerate(sequence.frames)}
    first = sequence.first_appearance
    return {
        object_id: tuple(s for s in sequence.annotated if order[s] > order[stem])
        for object_id, stem in first.items()
    }


def score_sequence(
    sequence: YouTubeVOSSequence, results_dir: Path, bound_th: float = BOUND_TH
) -> list[ObjectResult]:
    """J and F of every object of one video, each frame read once."""
    frames = scored_frames(sequence)
    wanted = sorted({s for stems in frames.values() for s in stems}, key=sequence.frames.index)
    values = {object_id: ([], []) for object_id in frames}
    for stem, gt, pred in _frames(sequence, results_dir, wanted):
        radius = boundary_radius(gt.shape, bound_th)
        for object_id, stems in frames.items():
            if stem in stems:
                j, f = region_and_boundary(pred == object_id, gt == object_id, radius)
                values[object_id][0].append(j)
                values[object_id][1].append(f)
    first = sequence.first_appearance
    return [
        ObjectResult(
            sequence.name,
            object_id,
            sequence.objects[object_id].category,
            sequence.groups.get(object_id, ""),
            first[object_id],
            frames[object_id],
            np.asarray(values[object_id][0], dtype=np.float64),
            np.asarray(values[object_id][1], dtype=np.float64),
        )
        for object_id in frames
    ]


def _frames(
    sequence: YouTubeVOSSequence, results_dir: Path, stems: Seq[str]
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    for stem in stems:
        path = Path(results_dir) / sequence.name / f"{stem}.png"
        pred = read_mask(path)
        gt = sequence.read_annotation(stem)
        if pred.shape != gt.shape:
            raise SizeMismatchError(
                Problem(
                    path,
                    f"prediction is {pred.shape[1]}×{pred.shape[0]} (W×H) but ground truth "
                    f"{sequence.annotation_path(stem)} is {gt.shape[1]}×{gt.shape[0]}",
                    "size",
                )
            )
        yield stem, gt, pred


def evaluate_holdout(
    dataset: Dataset,
    results_dir: str | Path,
    *,
    bound_th: float = BOUND_TH,
    progress: Callable[[str], None] | None = None,
) -> YouTubeVOSResult:
    """Score ``results_dir/<video>/<frame>.png`` against a YouTube-VOS split with ground truth
    (``holdout``; any split whose annotations go past each object's first frame)."""
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
    result = YouTubeVOSResult(dataset.name, dataset.split, Path(results_dir))
    for sequence in dataset:
        if not isinstance(sequence, YouTubeVOSSequence):
            raise EvaluationError(
                Problem(dataset.root, f"{sequence.name!r} is no YouTube-VOS video")
            )
        result.objects.extend(score_sequence(sequence, Path(results_dir), bound_th))
        if progress is not None:
            progress(sequence.name)
    if not any(o.frames for o in result.objects):
        raise EvaluationError(Problem(Path(results_dir), "no object has a frame to score", "empty"))
    return result


def group_counts(result: YouTubeVOSResult) -> Mapping[str, int]:
    """Objects scored per group (for the report line under the table)."""
    return {g: sum(1 for o in result.objects if o.group == g and o.frames) for g in GROUPS}


def write_outputs(result: YouTubeVOSResult, output_dir: str | Path) -> dict[str, Path]:
    """``global_results-<split>.csv`` (G and the four group means) and
    ``per-object_results-<split>.csv`` (one row per object), full precision, written whole."""
    from vosbench.io.atomic import atomic_write_texts

    split = result.split
    rows = result.object_rows()
    global_row = {
        **result.global_metrics(),
        **{f"objects-{g}": n for g, n in group_counts(result).items()},
    }
    files = {
        f"global_results-{split}.csv": _csv([global_row]),
        f"per-object_results-{split}.csv": _csv(rows),
    }
    return atomic_write_texts(Path(output_dir), files)


def _csv(rows: Seq[Mapping[str, object]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()
