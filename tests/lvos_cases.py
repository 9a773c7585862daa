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
import math
import shutil
from pathlib import Path

import numpy as np

from vosbench.benchmarks.lvos import write_synthetic
from vosbench.datasets import load_dataset
from vosbench.datasets.synthetic import SyntheticConfig, write_predictions
from vosbench.io import read_mask, write_mask

SPLIT = "valid"
GOLDEN = Path(__file__).parent / "golden" / "lvos"  # the recorded official numbers
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


def golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9


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


# --------------------------------------------------------------------------------------------
# The unsupervised tasks

# The unsupervised-single task's list: out of sorted order, a video the meta file lacks (left
# out), one unseen video and three seen ones; case-001 is not listed.
SINGLE_LIST = ("case-003", "case-000", "ghost-000", "long-000", "case-002")


def build_unsupervised(out: Path) -> tuple[Path, dict[str, Path]]:
    """The unsupervised cases: the ground truth of :func:`build` (under ``out/gt``) with a void
    band across case-000 (void is background in LVOS's unsupervised scoring) and two short
    objects in case-003 (id 4 on 2 frames, id 6 on 1: too short for the semi-supervised rule,
    scored in the unsupervised tasks), plus ``unsupervised_videos.txt``.

    Predictions (every 5th frame, the frames the official evaluator reads):

    * ``multiple``: proposal id maps. case-000: more proposals than objects (ids permuted,
      object 2 split in two, a blob that matches nothing, a proposal over the void band);
      case-001: fewer (one proposal for two objects); case-002: proposals 1 and 2 for its two
      objects, but the object that leaves and returns is best matched by an absent id (an
      empty proposal, from the 20 the official weighs; DAVIS's rule would weigh only 2);
      case-003: non-contiguous ids (a blob that matches nothing, then 3, 4, 5, 6); long-000:
      id 2 only.
    * ``multiple-extra``: the same plus ids 21 and 255 on background pixels, which the
      official evaluator drops (vosbench: an error unless ``extra_ids="ignore"``).
    * ``single``: one foreground mask per frame in the encodings the official reads: 0/255
      (case-000, one frame all 255, one all 0), a grey map of many values thresholded at 127
      (case-002), an id map of several objects, which reads as empty (case-003), 0/1
      (long-000).
    """
    gt, _ = build(out)
    folder = gt / SPLIT
    meta_path = folder / f"{SPLIT}_meta.json"
    meta = json.loads(meta_path.read_text())
    for path in sorted((folder / "Annotations" / "case-000").iterdir()):
        labels = read_mask(path).copy()
        labels[20:24, :] = 255
        write_mask(path, labels)
    for stem, ids in (("00000040", (4,)), ("00000045", (4, 6))):
        path = folder / "Annotations" / "case-003" / f"{stem}.png"
        labels = read_mask(path).copy()
        for object_id in ids:
            row = 2 + 8 * (object_id - 4)
            labels[row : row + 6, 70:78] = object_id
        write_mask(path, labels)
    objects = meta["videos"]["case-003"]["objects"]
    objects["4"] = {"frame_range": {"start": "00000040", "end": "00000045", "frame_nums": 2}}
    objects["6"] = {"frame_range": {"start": "00000045", "end": "00000045", "frame_nums": 1}}
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    (folder / "unsupervised_videos.txt").write_text("".join(f"{n}\n" for n in SINGLE_LIST))
    from vosbench.datasets.synthetic import predict_sequence

    dataset = load_dataset("lvos", gt, SPLIT, task="unsupervised")
    folders = {name: out / name for name in ("multiple", "multiple-extra", "single")}
    for sequence in dataset:
        stems = set(sequence.annotated)
        for t, (stem, base) in enumerate(predict_sequence(sequence, seed=11)):
            if stem not in stems:
                continue
            proposals = _proposals(sequence.name, base, t)
            write_mask(folders["multiple"] / sequence.name / f"{stem}.png", proposals)
            extra = proposals.copy()
            if t % 10 == 0:
                extra[-1, :3] = np.where(extra[-1, :3] == 0, 21, extra[-1, :3])
                extra[0, -2:] = np.where(extra[0, -2:] == 0, 255, extra[0, -2:])
            write_mask(folders["multiple-extra"] / sequence.name / f"{stem}.png", extra)
            if sequence.name in SINGLE_LIST:
                single = _foreground(sequence.name, base, t)
                write_mask(folders["single"] / sequence.name / f"{stem}.png", single)
    return gt, folders


def _proposals(video: str, base: np.ndarray, t: int) -> np.ndarray:
    """One frame's proposal id map, from the noisy per-object map ``base``."""
    out = np.zeros_like(base)
    if video == "case-000":
        out[base == 1], out[base == 3] = 4, 7
        cols = np.arange(base.shape[1])[None, :]
        out[(base == 2) & (cols < 40)], out[(base == 2) & (cols >= 40)] = 2, 3
        out[40:46, 2:12] = 1  # matches nothing
        out[20:24, 30:60] = np.where(out[20:24, 30:60] == 0, 9, out[20:24, 30:60])  # on void
    elif video == "case-001":
        out[base == 1] = 1  # object 5 has no proposal
    elif video == "case-002":
        out[base == 2] = 1
        out[base == 1] = 2
        out[2:10, 2 + t // 5 : 12 + t // 5] = 2  # a false positive while object 1 is away
    elif video == "case-003":
        out[44:47, 0:6] = 1  # matches nothing
        for object_id, proposal in ((1, 3), (2, 4), (3, 5)):
            out[base == object_id] = proposal
        out[2:8, 69:77] = 6  # near object 4's square (frames 40 and 45)
    else:
        out[base == 1] = 2
    return out


def _foreground(video: str, base: np.ndarray, t: int) -> np.ndarray:
    """One frame's unsupervised-single prediction, in the video's encoding."""
    fg = base > 0
    if video == "case-000":
        if t == 25:
            return np.full_like(base, 255)
        if t == 30:
            return np.zeros_like(base)
        return np.where(fg, 255, 0).astype(np.uint8)
    if video == "case-002":
        rows = np.arange(base.shape[0], dtype=np.uint8)[:, None]
        grey = np.broadcast_to(rows * 2 + 30, base.shape).copy()  # 30 … 124: background
        grey[fg] = 127 + (t % 3)  # 127 is already foreground
        return grey
    if video == "case-003":
        labels = base.copy()
        labels[0, 0], labels[0, 1] = 2, 3  # always three values or more: read as empty
        return labels
    return fg.astype(np.uint8)
