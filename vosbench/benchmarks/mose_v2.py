"""MOSEv2's scoring rules, official output files and synthetic layout.

The rules are those of the official local scorer, henghuiding/MOSE-api
``MOSEv2/sam2_rcms/tools/score.py`` with ``metricsv2.py`` (commit
241977ae2ceceee054fa2a2c8a2690838c451369); docs/benchmarks/mosev2.md lists each one:

* every object of the meta is scored on frames 1 … length − 2 with J-smoothed, F-adaptive
  ("F_new") and F-mosev2 ("F") (:mod:`vosbench.metrics.mose_v2`);
* per object, the means over those frames, and the J / F_new means over its *disappearance*
  segments (runs of frames where its ground truth is empty, except a run that starts at the
  first scored frame) and its *reappearance* segments (runs where it is visible again after
  such a run), each the mean of the segments' own means (:func:`object_summary`);
* globally, unweighted means over objects; the disappearance and reappearance numbers over the
  objects that have such segments (:func:`global_summary`);
* ``metrics.json`` and ``scores.txt`` rounded as the scorer rounds them (numpy's
  ``round(x · 100, 2)``: ``rint(x · 10⁴) / 100``), :func:`metrics_json`, :func:`scores_text`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vosbench.benchmarks.rules import BenchmarkRules, ScoredObject
from vosbench.errors import ConfigError

OFFICIAL_COMMIT = "241977ae2ceceee054fa2a2c8a2690838c451369"
METRICS = ("J-smoothed", "F-adaptive", "F-mosev2")
"""The per-frame measures MOSEv2 scores by: its J, its Ḟ (F_new) and its F."""

GLOBAL_KEYS = ("J&F_new", "J", "F_new", "disappear_J&F_new", "reappear_J&F_new", "F", "J&F")
"""The scorer's global numbers, in the order it prints them."""


@dataclass(frozen=True)
class ObjectSummary:
    """One object's numbers, at full precision (fractions, not percentages).

    ``disappear_*`` / ``reappear_*`` are None for an object without such a segment.
    """

    j: float
    f_new: float
    f: float
    disappear_j: float | None = None
    disappear_f: float | None = None
    reappear_j: float | None = None
    reappear_f: float | None = None


def segments(absent: np.ndarray) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(disappearance, reappearance) segments as ``[start, stop)`` index ranges of the scored
    frames, from ``absent`` (the object's ground truth is empty in that frame).

    A disappearance is a run of absent frames that starts after a visible one (a run at the
    very first scored frame is not one, as in the official scorer); a reappearance is a run of
    visible frames that starts after an absent one (including that first run).

    >>> segments(np.array([0, 1, 1, 0, 0, 1], bool))
    ([(1, 3), (5, 6)], [(3, 5)])
    >>> segments(np.array([1, 0, 1, 0], bool))
    ([(2, 3)], [(1, 2), (3, 4)])
    """
    absent = np.asarray(absent, dtype=bool)
    changes = np.flatnonzero(absent[1:] != absent[:-1]) + 1
    starts = np.concatenate(([0], changes)).tolist()
    stops = np.concatenate((changes, [absent.size])).tolist()
    disappear, reappear = [], []
    for start, stop in zip(starts, stops):
        if start == 0:
            continue
        (disappear if absent[start] else reappear).append((start, stop))
    return disappear, reappear


def _segment_mean(values: np.ndarray, ranges: Seq[tuple[int, int]]) -> float | None:
    if not ranges:
        return None
    return float(np.mean([values[start:stop].mean() for start, stop in ranges]))


def object_summary(
    j: np.ndarray, f_new: np.ndarray, f: np.ndarray, absent: np.ndarray
) -> ObjectSummary:
    """An object's numbers from its per-frame J-smoothed, F-adaptive and F-mosev2 values and
    which scored frames have an empty ground truth. Segments use J and F_new."""
    j, f_new, f = (np.asarray(v, dtype=np.float64) for v in (j, f_new, f))
    disappear, reappear = segments(absent)
    return ObjectSummary(
        float(j.mean()),
        float(f_new.mean()),
        float(f.mean()),
        _segment_mean(j, disappear),
        _segment_mean(f_new, disappear),
        _segment_mean(j, reappear),
        _segment_mean(f_new, reappear),
    )


def global_summary(objects: Seq[ObjectSummary]) -> dict[str, float]:
    """The scorer's seven global numbers as fractions at full precision (NaN where no object
    has a disappearance or reappearance segment), keyed as :data:`GLOBAL_KEYS`."""
    j = float(np.mean([o.j for o in objects]))
    f_new = float(np.mean([o.f_new for o in objects]))
    f = float(np.mean([o.f for o in objects]))
    return {
        "J&F_new": (j + f_new) / 2,
        "J": j,
        "F_new": f_new,
        "disappear_J&F_new": _pair_mean(objects, "disappear"),
        "reappear_J&F_new": _pair_mean(objects, "reappear"),
        "F": f,
        "J&F": (j + f) / 2,
    }


def _pair_mean(objects: Seq[ObjectSummary], kind: str) -> float:
    """(mean J + mean F_new) / 2 over the objects that have a ``kind`` segment, each side over
    its own objects (the scorer filters J and F separately; both are set together)."""
    j = [getattr(o, f"{kind}_j") for o in objects if getattr(o, f"{kind}_j") is not None]
    f = [getattr(o, f"{kind}_f") for o in objects if getattr(o, f"{kind}_f") is not None]
    if not j or not f:
        return math.nan
    return (float(np.mean(j)) + float(np.mean(f))) / 2


def percent(value: float) -> float:
    """``value · 100`` rounded to 2 decimals as the scorer's numpy floats round (``rint`` of
    ``x · 100 · 100``, then ``/ 100``), which is not always Python's decimal rounding."""
    return float(np.round(np.float64(value) * 100, 2))


def object_row(summary: ObjectSummary) -> dict[str, float | None]:
    """One object's ``metrics.json`` entry: the scorer's keys, order and rounding."""

    def both(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else percent((a + b) / 2)

    return {
        "J&F_new": percent((summary.j + summary.f_new) / 2),
        "J": percent(summary.j),
        "F_new": percent(summary.f_new),
        "disappear_J&F_new": both(summary.disappear_j, summary.disappear_f),
        "reappear_J&F_new": both(summary.reappear_j, summary.reappear_f),
        "F": percent(summary.f),
        "J&F": percent((summary.j + summary.f) / 2),
    }


def metrics_json(rows: Mapping[str, ObjectSummary], total_time: float | None = None) -> str:
    """``metrics.json``: ``<video>_<object>`` → :func:`object_row`, then ``total_time``, as
    ``json.dump(..., indent=4)`` writes it (no final newline). The scorer's ``total_time`` is
    its seconds of work; vosbench leaves it null, so the file depends on the scores alone."""
    document: dict[str, object] = {name: object_row(summary) for name, summary in rows.items()}
    document["total_time"] = total_time
    return json.dumps(document, indent=4)


def scores_text(summary: Mapping[str, float]) -> str:
    """``scores.txt``: the seven rounded percentages, then the one-decimal ``Copy-Paste`` line."""
    rounded = {key: percent(summary[key]) for key in GLOBAL_KEYS}
    lines = [f"{key}: {_number(rounded[key])}" for key in GLOBAL_KEYS]
    lines.append("Copy-Paste: " + ",".join(f"{rounded[key]:.1f}" for key in GLOBAL_KEYS))
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    """A rounded percentage as the scorer prints a numpy float (``nan`` when undefined)."""
    return "nan" if math.isnan(value) else repr(value)


def official_files(
    rows: Mapping[str, ObjectSummary], total_time: float | None = None
) -> dict[str, str]:
    """File name → text of the scorer's two output files for these objects."""
    summary = global_summary(list(rows.values()))
    return {"metrics.json": metrics_json(rows, total_time), "scores.txt": scores_text(summary)}


# --------------------------------------------------------------------------------------------
# The rules on the evaluator


class MoseV2Rules(BenchmarkRules):
    """MOSEv2's ``score.py``: every object of the meta on frames 1 … length − 2, its J, Ḟ and F,
    disappearance / reappearance segments, unweighted means over objects, its two files."""

    name = "mosev2"
    description = (
        "MOSEv2 (score.py): objects of the meta on frames 1 … T-2; J = (I+1)/(U+1), F_new with a "
        "size-adaptive tolerance, J&F over disappearance and reappearance segments; "
        "global = mean over objects"
    )
    metrics = (*METRICS, "absent")

    def scored_objects(self, sequence, protocol) -> list[ScoredObject]:
        stems = protocol.evaluated_stems(sequence.annotated)
        if not stems:
            return []
        return [ScoredObject(int(object_id), stems) for object_id in sequence.object_ids]

    def read_prediction(self, results_dir, sequence, stem, objects, digest, binary):
        """The id map with ids above every scored object's set to 0: the scorer compares each
        object's id only, so other ids (an object the meta does not list) never count (ids in
        the gaps between objects' ids are left: no object mask can include them)."""
        labels = super().read_prediction(results_dir, sequence, stem, objects, digest, binary)
        ids = [scored.object_id for scored in objects]
        if not ids or int(labels.max()) <= max(ids):
            return labels  # ids in the gaps never equal an object's id: nothing to clear
        keep = np.zeros(256, np.uint8)
        keep[ids] = ids
        return cv2.LUT(labels, keep)

    def global_metrics(self, result) -> dict[str, float]:
        """The scorer's seven numbers (fractions, full precision), and ``J&F-Mean`` = J&F_new,
        the headline number vosbench's reports rank by."""
        summary = global_summary(list(summaries(result).values()))
        return {"J&F-Mean": summary["J&F_new"], **summary}

    def official_outputs(self, result) -> dict[str, tuple[str, str]]:
        files = official_files(summaries(result))
        return {
            "metrics": ("metrics.json", files["metrics.json"]),
            "scores": ("scores.txt", files["scores.txt"]),
        }


def summaries(result) -> dict[str, ObjectSummary]:
    """Row name (``<video>_<id>``) → :class:`ObjectSummary` of every scored object."""
    spelled = (result.info.get("dataset_info") or {}).get("object_names") or {}
    rows: dict[str, ObjectSummary] = {}
    for o in result.objects:
        name = (spelled.get(o.sequence) or {}).get(str(o.object_id), str(o.object_id))
        absent = o.values("absent")
        if absent is None:
            raise ConfigError("MOSEv2's segments need the 'absent' metric; keep it in --metrics")
        values = [o.values(metric) for metric in METRICS]
        if any(v is None for v in values):
            raise ConfigError(f"MOSEv2's numbers need the metrics {', '.join(METRICS)}")
        rows[f"{o.sequence}_{name}"] = object_summary(*values, absent > 0)
    return rows


MOSEV2_RULES = MoseV2Rules()


# --------------------------------------------------------------------------------------------
# Synthetic MOSEv2 layout: the generator's videos, with objects that disappear and reappear

CURTAIN_GREY = 118  # the occluder's flat colour in the frames


@dataclass(frozen=True)
class _Hide:
    """An occluder over one object: it slides in over ``sweep`` frames from ``start``, covers
    the object entirely until ``stop``, then slides out over ``sweep`` frames (0 = abrupt)."""

    object_index: int  # generator object (0-based)
    start: int
    stop: int
    sweep: int

    def cover(self, t: int) -> float:
        """How much of the object's box the occluder covers at frame ``t``, in [0, 1]."""
        if self.sweep and self.start - self.sweep <= t < self.start:
            return (t - (self.start - self.sweep) + 1) / (self.sweep + 1)
        if self.start <= t < self.stop:
            return 1.0
        if self.sweep and self.stop <= t < self.stop + self.sweep:
            return 1.0 - (t - self.stop + 1) / (self.sweep + 1)
        return 0.0


def _hides(index: int, objects: int, frames: int) -> tuple[_Hide, ...]:
    """The occluders of video ``index``: a slow one that makes an object disappear and
    reappear mid-video (twice in long videos), an abrupt one that hides an object from frame 1
    (the disappearance the scorer skips), and one that hides an object until the end."""
    if frames < 6:
        return ()
    first = index % objects
    sweep = max(1, frames // 10)
    hides = [_Hide(first, frames // 4, frames // 4 + max(1, frames // 8), sweep)]
    if frames >= 30:
        hides.append(_Hide(first, (2 * frames) // 3, (2 * frames) // 3 + 2, 0))
    other = (index + 1) % objects
    if index % 2 == 0:
        hides.append(_Hide(other, 1, 1 + max(1, frames // 10), 0))
    else:
        hides.append(_Hide(other, frames - max(2, frames // 6), frames, 0))
    return tuple(hides)


def _id_map(index: int, objects: int) -> tuple[int, ...]:
    """MOSEv2 ids of the generator's objects 1 … n: contiguous in video 0, gaps elsewhere."""
    step = 1 + index % 3
    return tuple(1 + k * step for k in range(objects))


def _occlude(
    sequence, t: int, stem: str, hides: Seq[_Hide], image: np.ndarray, labels: np.ndarray
) -> None:
    """Paint each active occluder over the frame and clear it from the masks (it is in front)."""
    height, width = labels.shape
    for hide in hides:
        cover = hide.cover(t)
        if cover <= 0:
            continue
        whole = sequence.full_mask(stem, hide.object_index + 1)
        ys, xs = np.nonzero(whole)
        if ys.size == 0:
            continue
        y0, y1 = max(int(ys.min()) - 2, 0), min(int(ys.max()) + 3, height)
        x0, x1 = max(int(xs.min()) - 2, 0), min(int(xs.max()) + 3, width)
        cut = x1 if cover >= 1 else x0 + int(round(cover * (x1 - x0)))
        labels[y0:y1, x0:cut] = 0
        image[y0:y1, x0:cut] = CURTAIN_GREY


def write_synthetic(
    out_dir: str | Path,
    config_or_preset: object = "small",
    *,
    split: str = "valid",
    overwrite: bool = False,
) -> Path:
    """Write seeded synthetic videos in the MOSEv2 layout (every frame annotated) under
    ``out_dir``: ``valid/JPEGImages``, ``valid/Annotations``, ``meta_valid.json``.

    The videos are :mod:`vosbench.datasets.synthetic`'s; on top, occluders make objects
    disappear and reappear (gradually, so visible areas also shrink to slivers, where the
    adaptive tolerance is smallest), and object ids have gaps (1, 3, 5 …) from the second
    video on. A folder holding anything but this layout of the same config is refused
    (:func:`~vosbench.datasets.synthetic.claim_folder`); files are written atomically and
    deterministically, so writing again gives the same bytes.
    """
    from vosbench.datasets.mose_v2 import SPLITS
    from vosbench.datasets.synthetic import (
        _write_jpeg,
        claim_folder,
        resolve_config,
        save_record,
        synthetic_dataset,
    )
    from vosbench.errors import DatasetError, Problem
    from vosbench.io import atomic_write_text, write_mask

    if split not in SPLITS:
        raise DatasetError(
            Problem(None, f"MOSEv2 has no split {split!r}; choose {', '.join(SPLITS)}", "config")
        )
    config = resolve_config(config_or_preset)  # type: ignore[arg-type]
    out = Path(out_dir).expanduser()
    meta_file = out / f"meta_{split}.json"
    record = claim_folder(out, config, "mosev2")
    save_record(out, record)  # claim the folder first
    videos: dict[str, dict[str, object]] = {}
    for index, sequence in enumerate(synthetic_dataset(config, "val")):
        count = sequence.num_objects
        ids = _id_map(index, count)
        hides = _hides(index, count, len(sequence.frames))
        lookup = np.zeros(256, np.uint8)
        lookup[1 : count + 1] = ids
        for t, stem in enumerate(sequence.frames):
            image = sequence.read_frame(stem)
            labels = sequence.read_annotation(stem)
            _occlude(sequence, t, stem, hides, image, labels)
            frame_path = out / split / "JPEGImages" / sequence.name / f"{stem}.jpg"
            mask_path = out / split / "Annotations" / sequence.name / f"{stem}.png"
            if overwrite or not frame_path.is_file():
                _write_jpeg(frame_path, image)
            if overwrite or not mask_path.is_file():
                write_mask(mask_path, lookup[labels])
        videos[sequence.name] = {
            "length": len(sequence.frames),
            "height": config.height,
            "width": config.width,
            "objects": [str(i) for i in ids],
        }
    atomic_write_text(meta_file, json.dumps({"videos": videos}, indent=2) + "\n")
    save_record(out, record, split, list(videos))
    return out
