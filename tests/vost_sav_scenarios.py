"""Seeded edge-case data in the VOST and SA-V layouts, for the golden tests.

``build_vost(root)`` writes ``root/gt`` (``Annotations/<video>/frameNNNNN.png``,
``ImageSets/val.txt``) and ``root/results/<video>/frameNNNNN.png``; ``build_sav(root)`` writes
``root/gt`` (``sav_val.txt``, ``Annotations_6fps/<video>/<object>/NNNNN.png``) and
``root/results/<video>/<object>/NNNNN.png``. Everything is drawn with numpy from fixed seeds,
so the files are the same on every machine; ``tests/golden/vost/`` and ``tests/golden/sav/``
hold what the official evaluators computed on them (see the README there).

The cases: VOST: ignore (255) regions under predictions, an object absent from frame 0 whose
id is still below the largest (scored from frame 0), an id that appears only later (never
scored), prediction ids above the ground truth's (dropped) and 255 in a prediction, an
object that leaves and comes back, an all-empty prediction, non-contiguous ids, and two long
videos (302 and 1030 evaluated frames: the Decay's uint8 wrap for J, and for J_last, which
spans a quarter). SA-V: overlapping masks (a part and its whole), a late object, a
prediction that fires before its object appears, an object that leaves and comes back, an
empty prediction, non-contiguous object folders, objects annotated on different frames, 0/1
palette ground truth against 0/255 greyscale predictions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from vosbench.io import write_mask

H, W = 24, 32


def disc(cy: float, cx: float, r: float, h: int = H, w: int = W) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def _track(rng: np.random.Generator, t: int, n: int, phase: float) -> tuple[float, float, float]:
    """Centre and radius of a disc moving along a seeded path."""
    a = phase + 2 * np.pi * t / max(n, 1)
    return 11 + 6 * np.sin(a), 15 + 9 * np.cos(a * 0.7), 4 + 2 * np.sin(a * 1.3) ** 2


def _noisy(rng: np.random.Generator, mask: np.ndarray, t: int, n: int) -> np.ndarray:
    """A prediction drifting away from ``mask`` over time, with random holes and extra pixels."""
    shift = int(round(3 * t / max(n, 1)))
    out = np.roll(mask, shift, axis=1)
    flips = rng.random(mask.shape) < 0.04
    return out ^ flips


# ------------------------------------------------------------------------------------------
# VOST

VOST_SEED = 18


def _vost_video(
    rng: np.random.Generator, frames: int, ids: tuple[int, ...], present
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """GT and prediction id maps; ``present(k, t)`` says whether object k is drawn at t."""
    gts, preds = [], []
    phases = {k: rng.uniform(0, 2 * np.pi) for k in ids}
    for t in range(frames):
        gt = np.zeros((H, W), np.uint8)
        pred = np.zeros((H, W), np.uint8)
        for k in ids:
            if not present(k, t):
                continue
            cy, cx, r = _track(rng, t, frames, phases[k])
            mask = disc(cy, cx, r)
            gt[mask] = k
            pred[_noisy(rng, mask, t, frames) & (pred == 0)] = k
        gts.append(gt)
        preds.append(pred)
    return gts, preds


def _vost_cases(rng: np.random.Generator) -> dict[str, tuple[list, list]]:
    cases: dict[str, tuple[list, list]] = {}
    # ignore regions: a 255 band in the GT, the prediction covering part of it
    gts, preds = _vost_video(rng, 12, (1, 2, 3), lambda k, t: True)
    for t, (gt, pred) in enumerate(zip(gts, preds)):
        gt[:, 3 + t % 5 : 6 + t % 5] = 255
        pred[2:10, 3 + t % 5 : 5 + t % 5] = 1
    cases["ignore_band"] = (gts, preds)
    # id 2 absent from frame 0 (still scored: ids 1 … max of frame 0), id 4 appears at frame 5
    # (never scored); the prediction writes 4 and one 255 pixel (both dropped)
    gts, preds = _vost_video(
        rng, 10, (1, 2, 3, 4), lambda k, t: not (k == 2 and t < 4) and not (k == 4 and t < 5)
    )
    preds[6][0, 0] = 255
    cases["late_objects"] = (gts, preds)
    # object 1 leaves for frames 4-6 and comes back; the prediction keeps a stale mask
    gts, preds = _vost_video(rng, 11, (1, 2), lambda k, t: not (k == 1 and 4 <= t <= 6))
    for t in (4, 5):
        preds[t][disc(5, 5, 3)] = 1
    cases["leave_reenter"] = (gts, preds)
    # an all-empty prediction
    gts, _ = _vost_video(rng, 9, (1, 2), lambda k, t: True)
    cases["empty_prediction"] = (gts, [np.zeros((H, W), np.uint8) for _ in gts])
    # non-contiguous ids in frame 0: 1 and 3 (2 is scored, and never there)
    gts, preds = _vost_video(rng, 10, (1, 3), lambda k, t: True)
    preds[3][disc(18, 26, 3)] = 2
    cases["non_contiguous"] = (gts, preds)
    # long videos: 304 and 1032 annotated frames (302 and 1030 evaluated)
    for frames in (304, 1032):
        gts, preds = _vost_video(rng, frames, (1, 2), lambda k, t: True)
        cases[f"long_{frames - 2}"] = (gts, preds)
    return cases


def build_vost(root: Path) -> dict[str, Path]:
    """Write the VOST scenarios under ``root``; returns ``gt`` and ``results`` folders."""
    rng = np.random.default_rng(VOST_SEED)
    gt_root, results = root / "gt", root / "results"
    names = []
    for name, (gts, preds) in _vost_cases(rng).items():
        names.append(name)
        for t, (gt, pred) in enumerate(zip(gts, preds)):
            stem = f"frame{6 * t:05d}"
            write_mask(gt_root / "Annotations" / name / f"{stem}.png", gt)
            write_mask(results / name / f"{stem}.png", pred)
    (gt_root / "ImageSets").mkdir(parents=True, exist_ok=True)
    (gt_root / "ImageSets" / "val.txt").write_text("\n".join(names) + "\n")
    return {"gt": gt_root, "results": results}


# ------------------------------------------------------------------------------------------
# SA-V

SAV_SEED = 24


def _write_grey(path: Path, mask: np.ndarray, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((mask * value).astype(np.uint8), mode="L").save(path)


def _sav_objects(rng: np.random.Generator, frames: int, count: int) -> list[list[np.ndarray]]:
    phases = [rng.uniform(0, 2 * np.pi) for _ in range(count)]
    return [[disc(*_track(rng, t, frames, phases[k])) for t in range(frames)] for k in range(count)]


def _sav_cases(rng: np.random.Generator) -> dict[str, dict[str, tuple[list, list, list]]]:
    """video → object folder → (frame numbers, GT masks, predicted masks)."""
    videos: dict[str, dict[str, tuple[list, list, list]]] = {}
    n = 9
    frames = list(range(0, 4 * n, 4))
    noisy = lambda masks: [_noisy(rng, m, t, n) for t, m in enumerate(masks)]  # noqa: E731
    # a whole and its part (overlapping), and a third object
    whole, other = _sav_objects(rng, n, 2)
    part = [m & (np.arange(H)[:, None] < 12) for m in whole]
    videos["sav_000001"] = {
        "000": (frames, whole, noisy(whole)),
        "001": (frames, part, noisy(part)),
        "002": (frames, other, noisy(other)),
    }
    # late object (frames before it are both empty: not averaged); a prediction firing early;
    # an object that leaves and comes back; an empty prediction
    late, early, away, missed = _sav_objects(rng, n, 4)
    late = [m if t >= 4 else np.zeros_like(m) for t, m in enumerate(late)]
    early_gt = [m if t >= 5 else np.zeros_like(m) for t, m in enumerate(early)]
    away = [np.zeros_like(m) if 3 <= t <= 5 else m for t, m in enumerate(away)]
    late_pred = noisy(late)
    for t in range(4):
        late_pred[t] = np.zeros_like(late_pred[t])
    videos["sav_000002"] = {
        "000": (frames, late, late_pred),
        "001": (frames, early_gt, noisy(early)),
        "002": (frames, away, noisy(away)),
        "003": (frames, missed, [np.zeros_like(m) for m in missed]),
    }
    # non-contiguous folders, and an object annotated on fewer frames (its own first and last
    # annotated frames are dropped)
    a, b = _sav_objects(rng, n, 2)
    videos["sav_000003"] = {
        "000": (frames, a, noisy(a)),
        "004": (frames[2:7], b[2:7], noisy(b[2:7])),
    }
    return videos


def build_sav(root: Path) -> dict[str, Path]:
    """Write the SA-V scenarios under ``root``; returns ``gt`` (the split folder),
    ``annotations`` (what the official ``--gt_root`` takes) and ``results``."""
    rng = np.random.default_rng(SAV_SEED)
    gt_root, results = root / "gt", root / "results"
    annotations = gt_root / "Annotations_6fps"
    videos = _sav_cases(rng)
    for video, objects in videos.items():
        for folder, (numbers, gts, preds) in objects.items():
            for number, gt, pred in zip(numbers, gts, preds):
                write_mask(annotations / video / folder / f"{number:05d}.png", gt.view(np.uint8))
                _write_grey(results / video / folder / f"{number:05d}.png", pred, 255)
    gt_root.mkdir(parents=True, exist_ok=True)
    (gt_root / "sav_val.txt").write_text("\n".join(videos) + "\n")
    return {"gt": gt_root, "annotations": annotations, "results": results}
