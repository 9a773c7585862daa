"""VOST (Video Object Segmentation under Transformations): its rules, official files and
synthetic layout (the loader is :mod:`vosbench.datasets.vost`).

Rules learnt from the official evaluator, github TRI-ML/VOST ``evaluation/`` at commit
``fe274574cb03c8a3ea83e121dd76e20b703781fd`` (``evaluation_method.py``,
``source/evaluation.py``, ``source/dataset.py``, ``source/results.py``, ``source/utils.py``);
``docs/benchmarks/vost.md`` writes every one of them down:

* layout: ``JPEGImages/<video>/<frame>.jpg``, ``Annotations/<video>/<frame>.png`` (palette
  ids, 255 = ignore), ``ImageSets/<split>.txt``; the evaluator scores whichever frames have
  an annotation file (VOST annotates every 6th frame of its 30 fps videos);
* objects: ids 1 … max id of the first annotation (255 excluded), later ids never scored;
* frames: the annotated frames without the first and the last;
* ignore (255): turned into background in the ground truth and *not* excluded (the evaluator
  builds the void masks but passes ``None`` to the Jaccard), so a prediction over an ignore
  region counts as a false positive;
* predictions: one id map per annotated frame; ids above the ground truth's objects are
  dropped (the evaluator prints a warning and truncates);
* J only (no F); J_last = the same statistics over the last quarter of the evaluated frames,
  ``j[floor(0.75 · n):]``;
* Decay: DAVIS's four bins with the uint8 index wrap past 256 evaluated frames (the exact
  value by default, the official one under ``decay_mode="davis2017-numpy1"``, the numpy
  version the code runs under: it uses ``np.bool``, removed in numpy 1.24);
* files: ``global_results-<split>.csv`` (``J-Mean,J-Recall,J-Decay,J_last-Mean,J_last-Recall,
  J_last-Decay``) and ``per-sequence_results-<split>.csv`` (``Sequence,J-Mean,J_last-Mean``,
  rows ``<video>_<k>``), both ``%.3f``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vosbench.benchmarks.layout_files import (
    claim_folder,
    generator_split,
    save_record,
    write_jpeg,
)
from vosbench.datasets.vost import ANNOTATION_FOLDER, COMMIT, SPLITS
from vosbench.errors import DatasetError, Problem
from vosbench.io import atomic_write_text, write_mask

__all__ = [
    "ANNOTATION_STEP",
    "COMMIT",
    "SPLITS",
    "VOST_RULES",
    "j_last_start",
    "write_synthetic",
]

ANNOTATION_STEP = 6  # VOST annotates 5 of every 30 frames; the synthetic layout does the same
FRAME_PREFIX = "frame"


def j_last_start(evaluated: int) -> int:
    """The first index of J_last among ``evaluated`` frames: ``int(floor(n * 0.75))``.

    ``3n // 4`` is the same number (``n * 0.75`` is exact in binary floating point).

    >>> [j_last_start(n) for n in (1, 2, 3, 4, 5, 7, 8)]
    [0, 1, 2, 3, 3, 5, 6]
    """
    return (3 * evaluated) // 4


def write_synthetic(
    out_dir: str | Path,
    preset: Any = "val",
    *,
    split: str = "val",
    step: int = ANNOTATION_STEP,
    overwrite: bool = False,
) -> Path:
    """A synthetic split in the VOST layout: every frame as ``frameNNNNN.jpg``, every
    ``step``-th one annotated (``frameNNNNN.png``, the generator's void band as 255 = ignore),
    ``ImageSets/<split>.txt``. Deterministic; existing files are kept unless ``overwrite``."""
    from vosbench.datasets.synthetic import resolve_config, synthetic_dataset

    if step < 1:
        raise DatasetError(Problem(None, "the annotation step must be >= 1", "config"))
    config = resolve_config(preset)
    dataset = synthetic_dataset(config, generator_split(split, {"val": "val", "train": "train"}))
    out = Path(out_dir).expanduser()
    record = claim_folder(out, config, "vost", options={"annotation_step": step})
    if config.num_frames < 2 * step + 1:  # the first and last annotations are never scored
        raise DatasetError(
            Problem(
                None,
                f"{config.num_frames} frames annotated every {step}th leave no annotated frame "
                f"to score in VOST's layout; use a preset of at least {2 * step + 1} frames "
                "(val, bench)",
                "config",
            )
        )
    save_record(out, record)  # claim the folder first
    for sequence in dataset:
        for t, stem in enumerate(sequence.frames):
            name = f"{FRAME_PREFIX}{t:05d}"
            frame = out / "JPEGImages" / sequence.name / f"{name}.jpg"
            if overwrite or not frame.is_file():
                write_jpeg(frame, sequence.read_frame(stem))
            mask = out / ANNOTATION_FOLDER / sequence.name / f"{name}.png"
            if t % step == 0 and (overwrite or not mask.is_file()):
                write_mask(mask, sequence.read_annotation(stem))
    atomic_write_text(out / "ImageSets" / f"{split}.txt", "\n".join(dataset.names) + "\n")
    save_record(out, record, split, dataset.names)
    return out


# ------------------------------------------------------------------------------------------
# Aggregates and official files (from each object's per-frame J)

GLOBAL_COLUMNS = ("J-Mean", "J-Recall", "J-Decay", "J_last-Mean", "J_last-Recall", "J_last-Decay")


def object_statistics(j: Any, decay_mode: str = "exact") -> dict[str, float]:
    """J and J_last Mean / Recall / Decay of one object's per-frame J (evaluated frames)."""
    import numpy as np

    from vosbench.metrics.statistics import db_statistics

    values = np.asarray(j, dtype=np.float64)
    whole = db_statistics(values, decay_mode)
    last = db_statistics(values[j_last_start(len(values)) :], decay_mode)
    return {
        "J-Mean": whole.mean,
        "J-Recall": whole.recall,
        "J-Decay": whole.decay,
        "J_last-Mean": last.mean,
        "J_last-Recall": last.recall,
        "J_last-Decay": last.decay,
    }


def global_metrics(objects: Any) -> dict[str, float]:
    """VOST's global table: each column the unweighted ``np.mean`` over all (video, object)
    pairs (NaN propagates, as in the official table)."""
    import numpy as np

    rows = [object_statistics(o.j, o.decay_mode) for o in objects]
    return {
        c: float(np.mean(np.array([r[c] for r in rows], dtype=np.float64))) for c in GLOBAL_COLUMNS
    }


def official_files(objects: Any, split: str) -> dict[str, tuple[str, str]]:
    """``global_results-<split>.csv`` and ``per-sequence_results-<split>.csv`` as the official
    script writes them (pandas ``float_format="%.3f"``, NaN as an empty cell)."""
    from vosbench.metrics.outputs import csv_text, official_number

    objects = list(objects)
    totals = global_metrics(objects)
    rows = []
    for o in objects:
        stats = object_statistics(o.j, o.decay_mode)
        rows.append(
            [o.name, official_number(stats["J-Mean"]), official_number(stats["J_last-Mean"])]
        )
    return {
        "global": (
            f"global_results-{split}.csv",
            csv_text(GLOBAL_COLUMNS, [[official_number(totals[c]) for c in GLOBAL_COLUMNS]]),
        ),
        "per-sequence": (
            f"per-sequence_results-{split}.csv",
            csv_text(("Sequence", "J-Mean", "J_last-Mean"), rows),
        ),
    }


def _rules_base() -> type:
    from vosbench.benchmarks.rules import BenchmarkRules

    return BenchmarkRules


class VostRules(_rules_base()):  # type: ignore[misc]
    """VOST: DAVIS's objects and frames (ids 1 … max of the first annotation, annotated frames
    1 … T-2, 255 as background), its own global table (J and J_last) and files."""

    name = "vost"
    extra_ids = "ignore"  # the official evaluator drops them with a warning
    description = (
        "VOST: ids 1 … max of the first annotation on annotated frames 1 … T-2, 255 (ignore) "
        "as background; J and J_last (last quarter), no F"
    )

    def global_metrics(self, result: Any) -> dict[str, float]:
        return global_metrics(result.objects)

    def official_outputs(self, result: Any) -> dict[str, tuple[str, str]]:
        return official_files(result.objects, result.split)


VOST_RULES = VostRules()
