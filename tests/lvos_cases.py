"""The LVOS golden set's data: synthetic LVOS videos with crafted edge cases, rebuilt from seeds.

Shared by tests/test_lvos.py (which compares vosbench with the recorded official numbers) and
tools/parity/lvos_golden.py (which runs the official evaluator on the same data to record them).

Edge cases: objects that start late (their own ranges), an object that leaves and re-enters
(ground truth empty in the middle of its range), non-contiguous ids listed out of order in the
meta file (5 before 1: rows are named by meta position), an all-empty prediction, and a video
with more than 256 scored frames (the Decay wrap of the DAVIS code).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from vosbench.benchmarks.lvos import write_synthetic
from vosbench.datasets import load_dataset
from vosbench.datasets.synthetic import SyntheticConfig, write_predictions
from vosbench.io import read_mask, write_mask

SPLIT = "valid"
SHORT = SyntheticConfig(
    num_sequences=4,
    num_frames=46,
    height=48,
    width=80,
    min_objects=2,
    max_objects=3,
    late_objects=True,
    seed=18,
    name_prefix="case",
)
LONG = SyntheticConfig(
    num_sequences=1,
    num_frames=1331,  # 267 annotated frames; the object seen throughout has 265 scored
    height=24,
    width=32,
    min_objects=1,
    max_objects=1,
    camera_motion=0.2,
    border_entry=0.0,
    seed=5,
    name_prefix="long",
)


def build(out: Path) -> tuple[Path, Path]:
    """Write the dataset under ``out/gt`` and predictions under ``out/pred``; returns both."""
    gt, pred = out / "gt", out / "pred"
    write_synthetic(gt, SHORT, split=SPLIT)
    write_synthetic(out / "long", LONG, split=SPLIT)
    folder = gt / SPLIT
    meta_path = folder / f"{SPLIT}_meta.json"
    meta = json.loads(meta_path.read_text())
    long_meta = json.loads((out / "long" / SPLIT / f"{SPLIT}_meta.json").read_text())
    for kind in ("JPEGImages", "Annotations"):
        for video in (out / "long" / SPLIT / kind).iterdir():
            shutil.copytree(video, folder / kind / video.name)
    meta["videos"].update(long_meta["videos"])
    shutil.rmtree(out / "long")
    names = sorted(meta["videos"])
    _renumber(folder, meta, names[1], old=2, new=5)
    _leave_and_return(folder, meta, names[2])
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    (folder / "unseen_videos.txt").write_text(f"{names[1]}\n{names[3]}\n")
    write_predictions(load_dataset("lvos", gt, SPLIT), pred, seed=3)
    for path in (pred / names[0]).iterdir():  # an all-empty prediction
        labels = read_mask(path)
        write_mask(path, np.zeros_like(labels))
    return gt, pred


def _renumber(folder: Path, meta: dict, video: str, *, old: int, new: int) -> None:
    """Object ``old`` becomes ``new`` (ids 1 and 5), listed first in the meta file."""
    for path in (folder / "Annotations" / video).iterdir():
        labels = read_mask(path).copy()
        labels[labels == old] = new
        write_mask(path, labels)
    objects = meta["videos"][video]["objects"]
    moved = {str(new): objects.pop(str(old))}
    meta["videos"][video]["objects"] = {**moved, **objects}


def _leave_and_return(folder: Path, meta: dict, video: str) -> None:
    """The first object of ``video`` is absent from the middle third of its range."""
    key, entry = next(iter(meta["videos"][video]["objects"].items()))
    start, end = int(entry["frame_range"]["start"]), int(entry["frame_range"]["end"])
    third = (end - start) // 15 * 5
    for t in range(start + third, end - third + 1, 5):
        path = folder / "Annotations" / video / f"{t:08d}.png"
        labels = read_mask(path).copy()
        labels[labels == int(key)] = 0
        write_mask(path, labels)
