"""SA-V (Segment Anything Video) val and test: its rules, official file and synthetic layout.

The loader is :mod:`vosbench.datasets.sav`. Rules learnt from the official evaluator, github
facebookresearch/sam2 at commit ``2b90b9f5ceec907a1c18123530e92e794ad901a4``
(``sav_dataset/sav_evaluator.py``, ``sav_dataset/utils/sav_benchmark.py``; the per-object
output layout from ``tools/vos_inference.py --per_obj_png_file``); ``docs/benchmarks/sav.md``
writes every one of them down:

* ground truth: one binary PNG per object and annotated frame, so masks may overlap; the
  evaluator reads each object's own mask (:meth:`SavSequence.read_objects`);
* predictions: the same per-object layout (``<video>/<object>/NNNNN.png``, any non-zero
  value is the object, at most one non-zero value per file); a run's own id maps
  (``<video>/NNNNN.png``, what ``vosbench run`` keeps) are read as ``id map == object id``,
  which is what its per-object export holds;
* frames: each object's own annotated frames without its first and its last;
* per object, a frame counts from the first evaluated frame where the ground truth or the
  prediction is non-empty (earlier frames where both are empty are not averaged;
  :meth:`SavRules.object_result`, from the ``absent`` and ``pred-absent`` records); J and F
  are the means over those frames, times 100; an object whose ground truth is empty on every
  evaluated frame has no score (the official evaluator stops on an assertion; vosbench
  reports the object);
* global J and F: the means over every object of every video (videos in name order);
  J&F = (J + F) / 2;
* file: ``results.csv``: ``sequence,obj, J&F, J, F``, a ``Global score`` row, one row per
  object (``<video>,<object folder>``), one decimal (:func:`results_csv`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence as Seq
from pathlib import Path
from typing import Any

import numpy as np

from vosbench.benchmarks.layout_files import (
    claim_folder,
    generator_split,
    save_record,
    write_jpeg,
)
from vosbench.benchmarks.rules import BenchmarkRules, ScoredObject
from vosbench.datasets.base import Sequence
from vosbench.datasets.sav import (
    ANNOTATION_FOLDER,
    COMMIT,
    IMAGE_FOLDER,
    SPLITS,
    SavSequence,
    binary_object_mask,
    object_folder,
)
from vosbench.errors import (
    ConfigError,
    DatasetError,
    EvaluationError,
    Problem,
    SequenceTooShortError,
    SizeMismatchError,
)
from vosbench.io import atomic_write_text, read_mask, write_mask
from vosbench.io.masks import read_mask_bytes

__all__ = [
    "ANNOTATION_STEP",
    "COMMIT",
    "SAV_RULES",
    "SPLITS",
    "SavRules",
    "export_predictions",
    "object_percentages",
    "results_csv",
    "write_synthetic",
]

ANNOTATION_STEP = 4  # 6 fps annotations of 24 fps videos


def write_synthetic(
    out_dir: str | Path,
    preset: Any = "val",
    *,
    split: str = "sav_val",
    step: int = ANNOTATION_STEP,
    parts: bool = True,
    overwrite: bool = False,
) -> Path:
    """A synthetic split in the SA-V layout: every frame as ``NNNNN.jpg``, every ``step``-th
    annotated with one binary PNG per object (``NNN/NNNNN.png``, 0/1 with the DAVIS palette, as
    ``tools/vos_inference.py`` writes them). ``parts`` adds, per video, a masklet for the upper
    half of the first object (a part of a whole, so the two masks overlap, as SA-V's do).
    Videos are named ``sav_<synthetic name>``."""
    from vosbench.datasets.synthetic import resolve_config, synthetic_dataset

    if step < 1:
        raise DatasetError(Problem(None, "the annotation step must be >= 1", "config"))
    config = resolve_config(preset)
    source = generator_split(split, {"sav_val": "val", "sav_test": "train"})
    dataset = synthetic_dataset(config, source)
    out = Path(out_dir).expanduser()
    record = claim_folder(out, config, "sav", options={"annotation_step": step, "parts": parts})
    save_record(out, record)  # claim the folder first
    names = []
    for sequence in dataset:
        video = f"sav_{sequence.name}"
        names.append(video)
        for t, stem in enumerate(sequence.frames):
            frame = out / IMAGE_FOLDER / video / f"{t:05d}.jpg"
            if overwrite or not frame.is_file():
                write_jpeg(frame, sequence.read_frame(stem))
            if t % step:
                continue
            labels = sequence.read_annotation(stem)
            for number, mask in enumerate(_masklets(labels, sequence.num_objects, parts)):
                path = out / ANNOTATION_FOLDER / video / f"{number:03d}" / f"{t:05d}.png"
                if overwrite or not path.is_file():
                    write_mask(path, mask.view(np.uint8))
    atomic_write_text(out / f"{split}.txt", "\n".join(names) + "\n")
    save_record(out, record, split, names)
    return out


def _masklets(labels: np.ndarray, count: int, parts: bool) -> list[np.ndarray]:
    """Each object's visible mask (void dropped), then the part masklet if asked."""
    masks = [labels == k for k in range(1, count + 1)]
    if parts:
        whole = masks[0]
        rows = np.flatnonzero(whole.any(axis=1))
        part = np.zeros_like(whole)
        if rows.size:
            middle = (int(rows[0]) + int(rows[-1]) + 1) // 2
            part[:middle] = whole[:middle]
        masks.append(part)
    return masks


OFFICIAL_FOLDER = "official"


def export_predictions(sequence: Sequence, masks_dir: Path, out_dir: Path) -> None:
    """Write one sequence's id-map predictions in the SA-V layout the official evaluator reads.

    ``masks_dir/<stem>.png`` (one id map per frame, as ``vosbench run`` writes them) becomes
    ``out_dir/<video>/<object>/<stem>.png`` for every object and each of its annotated frames
    (first and last included, so ``--do_not_skip_first_and_last_frame`` works too): a 0/1
    palette PNG whose 1 is ``id map == object id``, as ``tools/vos_inference.py
    --per_obj_png_file`` writes. Masks written from one id map never overlap.
    """
    from vosbench.io import atomic_write_bytes, encode_mask
    from vosbench.names import safe_join

    if not isinstance(sequence, SavSequence):
        raise TypeError(f"SA-V export needs a SavSequence, got {type(sequence).__name__}")
    video = safe_join(out_dir, sequence.name)
    for stem in sequence.annotated:
        labels = read_mask(masks_dir / f"{stem}.png")
        for object_id in sequence.object_ids:
            if stem in sequence.object_frames(object_id):
                mask = (labels == object_id).view(np.uint8)
                path = video / object_folder(object_id) / f"{stem}.png"
                atomic_write_bytes(path, encode_mask(mask))


# ------------------------------------------------------------------------------------------
# The rules on the evaluator

PRESENCE_METRICS = ("absent", "pred-absent")
"""The per-frame presence record SA-V counts frames by (ground truth empty, prediction empty)."""


class SavRules(BenchmarkRules):
    """``sav_evaluator.py``: every object folder on its own annotated frames without the first
    and the last, counted from its first non-empty frame, J&F, J and F means over objects, its
    ``results.csv``."""

    name = "sav"
    description = (
        "SA-V (sav_evaluator.py): each object on its own annotated frames without its first and "
        "last, counted from the first where its ground truth or prediction is non-empty; "
        "global J, F = means over every object, J&F = (J + F) / 2"
    )
    metrics = ("J", "F", *PRESENCE_METRICS)
    # The per-object layout holds no other ids, and in a run's id maps ids of no object are
    # never read (its per-object export drops them): nothing for the policy to decide.
    extra_ids = "ignore"

    def scored_objects(self, sequence: Sequence, protocol: Any) -> list[ScoredObject]:
        """Each object on :meth:`Protocol.evaluated_stems` of its own annotated frames. A video
        where no object has a frame left is too short (``--skip-short`` skips it); one object
        without frames is an error naming it (the official evaluator stops on an assertion)."""
        frames = {oid: _object_stems(sequence, oid) for oid in sequence.object_ids}
        scored = {oid: protocol.evaluated_stems(stems) for oid, stems in frames.items()}
        if not any(scored.values()):
            return []
        short = [oid for oid, stems in scored.items() if not stems]
        if short:
            oid = short[0]
            raise SequenceTooShortError(
                Problem(
                    _object_dir(sequence, oid),
                    f"object {object_folder(oid)} of video {sequence.name!r} has "
                    f"{len(frames[oid])} annotated frame(s): none is left to score "
                    f"({self.frame_rule(protocol)}); the official SA-V evaluator stops on an "
                    "assertion for such an object",
                    "too-short",
                )
            )
        return [ScoredObject(oid, stems) for oid, stems in scored.items()]

    def frame_rule(self, protocol: Any) -> str:
        if protocol.all_frames:
            return "every annotated frame of each object"
        return "each object's annotated frames without its first and its last"

    def prediction_files(
        self, results_dir: Path, sequence: str, stem: str, objects: Seq[ScoredObject]
    ) -> list[Path]:
        """A run's id map ``<video>/<stem>.png`` where it exists, else the official layout:
        ``<video>/<object folder>/<stem>.png`` for each object scored on ``stem``."""
        id_map = Path(os.path.join(results_dir, sequence, f"{stem}.png"))
        if id_map.is_file():
            return [id_map]
        video = os.path.join(results_dir, sequence)
        return [
            Path(os.path.join(video, object_folder(o.object_id), f"{stem}.png")) for o in objects
        ]

    def read_prediction(
        self,
        results_dir: Path,
        sequence: str,
        stem: str,
        objects: Seq[ScoredObject],
        digest: Any,
        binary: bool,
    ) -> np.ndarray:
        """The (len(objects), H, W) stack of the objects' predicted masks, overlaps kept."""
        paths = self.prediction_files(results_dir, sequence, stem, objects)
        if paths == [Path(os.path.join(results_dir, sequence, f"{stem}.png"))]:
            data = read_mask_bytes(paths[0])  # a run's id map
            digest.update(data)
            labels = read_mask(paths[0], data=data)
            return np.stack([labels == o.object_id for o in objects])
        masks = []
        for path in paths:
            data = read_mask_bytes(path)
            digest.update(data)
            mask = binary_object_mask(path, data)
            if masks and mask.shape != masks[0].shape:
                raise SizeMismatchError(
                    Problem(
                        path,
                        f"is {mask.shape[1]}×{mask.shape[0]} (W×H) but {paths[0].name} of "
                        f"object {paths[0].parent.name} is {masks[0].shape[1]}×"
                        f"{masks[0].shape[0]}",
                        "size",
                    )
                )
            masks.append(mask)
        return np.stack(masks)

    def object_result(self, scores: Any, sequence: Sequence) -> Any:
        """The frames from the first where the object's ground truth or prediction is
        non-empty (the official ``Evaluator`` starts an object's lists there); an object whose
        ground truth is empty on every evaluated frame is an error naming it."""
        absent, pred_absent = (scores.values(name) for name in PRESENCE_METRICS)
        if absent is None or pred_absent is None:
            raise ConfigError(
                "SA-V counts frames by the metrics 'absent' and 'pred-absent'; keep them in "
                "--metrics"
            )
        if np.all(absent > 0):
            raise EvaluationError(
                Problem(
                    _object_dir(sequence, scores.object_id),
                    f"object {object_folder(scores.object_id)} of video {scores.sequence!r} "
                    f"has an empty mask on every evaluated frame ({len(scores.frames)}: "
                    f"{scores.frames[0]} … {scores.frames[-1]}); SA-V scores an object only "
                    "where it appears (the official evaluator stops on an assertion here)",
                    "empty",
                )
            )
        start = int(np.argmax((absent == 0) | (pred_absent == 0)))
        if start == 0:
            return scores
        return dataclasses.replace(
            scores,
            frames=scores.frames[start:],
            j=scores.j[start:],
            f=scores.f[start:],
            extra={name: values[start:] for name, values in scores.extra.items()},
        )

    def global_metrics(self, result: Any) -> dict[str, float]:
        """J&F, J and F as the official ``benchmark`` averages them, as fractions (its
        percentages / 100): ``J&F-Mean``, ``J-Mean``, ``F-Mean``."""
        totals = global_percentages(object_percentages(result))
        return {key: totals[name] / 100 for key, name in _GLOBAL_KEYS}

    def official_outputs(self, result: Any) -> dict[str, tuple[str, str]]:
        return {"results": ("results.csv", results_csv(object_percentages(result)))}


SAV_RULES = SavRules()

_GLOBAL_KEYS = (("J&F-Mean", "J&F"), ("J-Mean", "J"), ("F-Mean", "F"))


def _object_stems(sequence: Sequence, object_id: int) -> tuple[str, ...]:
    """An object's annotated stems (a sequence from another loader: the annotated frames)."""
    frames = getattr(sequence, "object_frames", None)
    return tuple(frames(object_id)) if frames else tuple(sequence.annotated)


def _object_dir(sequence: Sequence, object_id: int) -> Path | None:
    folder = getattr(sequence, "folder", None)
    return Path(folder) / object_folder(object_id) if folder else None


def object_percentages(result: Any) -> dict[str, dict[str, tuple[float, float]]]:
    """video → object folder → (J, F) in percent, as the official evaluator computes them
    (``np.mean`` of the counted frames' values, times 100); videos in name order, objects in
    folder order, the order the official code lists and averages them in."""
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for sequence in sorted(result.sequences, key=lambda s: s.name):
        if not sequence.objects:
            continue
        rows = table.setdefault(sequence.name, {})
        for o in sorted(sequence.objects, key=lambda o: o.object_id):
            rows[object_folder(o.object_id)] = (
                float(np.mean(o.j) * 100),
                float(np.mean(o.f) * 100),
            )
    return table


def global_percentages(table: dict[str, dict[str, tuple[float, float]]]) -> dict[str, float]:
    """The official global numbers: J and F the means over every object, J&F their mean."""
    pairs = [pair for rows in table.values() for pair in rows.values()]
    j = float(np.array([p[0] for p in pairs]).mean())
    f = float(np.array([p[1] for p in pairs]).mean())
    return {"J&F": (j + f) / 2, "J": j, "F": f}


def results_csv(table: dict[str, dict[str, tuple[float, float]]]) -> str:
    """``results.csv`` as ``sav_benchmark.benchmark`` writes it: names padded to the longest
    video name (at least ``Global score``), one decimal, ``, `` between the numbers."""
    totals = global_percentages(table)
    width = max([len("Global score"), *(len(name) for name in table)])
    lines = [
        f"{'sequence':<{width}},{'obj':>3}, {'J&F':>4}, {'J':>4}, {'F':>4}",
        f"{'Global score':<{width}},{'':>3}, {totals['J&F']:.1f}, {totals['J']:.1f}, "
        f"{totals['F']:.1f}",
    ]
    for video, rows in table.items():
        for folder, (j, f) in rows.items():
            lines.append(f"{video:<{width}},{folder:>3}, {(j + f) / 2:>4.1f}, {j:>4.1f}, {f:>4.1f}")
    return "\n".join(lines) + "\n"
