"""SA-V (Segment Anything Video) val and test: its layout, rules and official file.

Rules learnt from the official evaluator, github facebookresearch/sam2 at commit
``2b90b9f5ceec907a1c18123530e92e794ad901a4`` (``sav_dataset/sav_evaluator.py``,
``sav_dataset/utils/sav_benchmark.py``; the per-object output layout from
``tools/vos_inference.py --per_obj_png_file``); ``docs/benchmarks/sav.md`` writes every one
of them down:

* layout: ``<split>.txt``, ``JPEGImages_24fps/<video>/NNNNN.jpg``,
  ``Annotations_6fps/<video>/<object>/NNNNN.png``: one binary PNG per object and annotated
  frame (every 4th frame), so masks may overlap; objects are folders ``000``, ``001`` …;
* predictions: the same per-object layout (``<video>/<object>/NNNNN.png``, any non-zero
  value is the object, at most one non-zero value per file);
* frames: each object's own annotated frames without its first and its last;
* per object, a frame counts from the first evaluated frame where the ground truth or the
  prediction is non-empty (earlier frames where both are empty are not averaged); J and F
  are the means over those frames, times 100; an object whose ground truth is empty on every
  evaluated frame has no score (the evaluator stops on an assertion);
* global J and F: the means over every object of every video; J&F = (J + F) / 2;
* file: ``results.csv`` in the predictions folder: ``sequence,obj, J&F, J, F``, a ``Global
  score`` row, one row per object (``<video>,<object folder>``), one decimal.

vosbench's object ids are the folder numbers plus one (``000`` → id 1), so the id maps a
method receives and returns keep the folder numbers; where masks overlap in a prompt, the
lowest id is drawn on top (as ``tools/vos_inference.py`` composes them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vosbench.benchmarks.layout_files import (
    claim_folder,
    generator_split,
    save_record,
    write_jpeg,
)
from vosbench.datasets.base import Sequence
from vosbench.datasets.sav import (
    ANNOTATION_FOLDER,
    COMMIT,
    IMAGE_FOLDER,
    SPLITS,
    SavSequence,
    object_folder,
)
from vosbench.errors import DatasetError, Problem
from vosbench.io import atomic_write_text, read_mask, write_mask

__all__ = [
    "ANNOTATION_STEP",
    "COMMIT",
    "SPLITS",
    "export_predictions",
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
    record = claim_folder(out, config, "sav")
    out.mkdir(parents=True, exist_ok=True)
    save_record(out, record)
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
    record["splits"] = {**record.get("splits", {}), split: names}
    record["annotation_step"] = step
    record["parts"] = parts
    save_record(out, record)
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
