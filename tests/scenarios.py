"""Deterministic synthetic regression scenarios (metrics.md §12.4), written in the DAVIS-2017
layout.

Every builder draws shapes with numpy only (fixed seeds) and writes:

* ``<root>/gt/JPEGImages/480p/<seq>/<stem>.jpg``   flat grey frames (the official evaluator
  globs them to count frames; it never reads them)
* ``<root>/gt/Annotations/480p/<seq>/<stem>.png``  palette PNGs (``Annotations_unsupervised``
  for the unsupervised task)
* ``<root>/gt/ImageSets/2017/val.txt``
* ``<root>/results/<seq>/<stem>.png``               predictions (palette PNGs unless noted)

``build_scenario(name, root)`` returns a dict: ``gt_root``, ``results``, ``task``, ``split``,
``sequences``, ``expect`` (``"ok"`` or the kind of failure for the error scenarios) and
``notes``. ``SCENARIOS`` lists the scored scenarios, ``ERROR_SCENARIOS`` the error paths.
``scenario_digest(info)`` hashes the decoded label data of a built scenario; the golden file
records it (``data_digest``) so a test can tell "the data changed" from "the metric changed".

The per-frame J and F of the official evaluator (davis2017-evaluation ac7c43f) on every scored
scenario are frozen in ``tests/golden/official_scenarios.json``; they were produced by running
the official code side by side on the folders these builders write. Changing a builder
changes the data, so the golden file must then be regenerated with the official tool.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from vosbench.io import write_mask

PathLike = str | os.PathLike[str]
SPLIT = "val"

# ----------------------------------------------------------------------------------------------
# drawing helpers (numpy only)
# ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _grid(h: int, w: int):
    g = np.mgrid[0:h, 0:w].astype(np.float64)
    g.setflags(write=False)
    return g


def ellipse(
    h: int, w: int, cy: float, cx: float, ry: float, rx: float, angle: float = 0.0
) -> np.ndarray:
    """Boolean filled ellipse (angle in radians)."""
    yy, xx = _grid(h, w)
    dy, dx = yy - cy, xx - cx
    c, s = np.cos(angle), np.sin(angle)
    u = (dx * c + dy * s) / rx
    v = (-dx * s + dy * c) / ry
    return u * u + v * v <= 1.0


def rect(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """Boolean rectangle, rows y0..y1-1 and columns x0..x1-1 (clipped to the frame)."""
    m = np.zeros((h, w), dtype=bool)
    m[max(y0, 0) : max(min(y1, h), 0), max(x0, 0) : max(min(x1, w), 0)] = True
    return m


def shift(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate a boolean mask by (dy, dx) pixels, filling with False."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = mask[ys, xs]
    return out


def dilate_square(mask: np.ndarray, r: int) -> np.ndarray:
    """Chebyshev dilation by r pixels (numpy only)."""
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= shift(mask, dy, dx)
    return out


def speckles(h: int, w: int, rng: np.random.Generator, n: int, rmax: int = 3) -> np.ndarray:
    """n small random discs (false-positive noise)."""
    m = np.zeros((h, w), dtype=bool)
    for _ in range(n):
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        r = int(rng.integers(1, rmax + 1))
        m |= ellipse(h, w, cy, cx, r, r)
    return m


def compose(h: int, w: int, layers: Sequence[tuple]) -> np.ndarray:
    """uint8 label map from (id, bool mask) pairs; later layers overwrite earlier ones."""
    lab = np.zeros((h, w), dtype=np.uint8)
    for oid, m in layers:
        if m is not None:
            lab[m] = oid
    return lab


# ----------------------------------------------------------------------------------------------
# writers
# ----------------------------------------------------------------------------------------------


def _stem(i: int) -> str:
    return f"{i:05d}"


def _write_pred(path: Path, labels: np.ndarray, mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "P":
        write_mask(path, labels)
    elif mode == "L":
        Image.fromarray(np.ascontiguousarray(labels.astype(np.uint8)), mode="L").save(path)
    elif mode == "RGB":
        rgb = np.stack([labels * 40, labels * 80, labels * 120], axis=-1).astype(np.uint8)
        Image.fromarray(rgb, mode="RGB").save(path)
    else:  # pragma: no cover
        raise ValueError(mode)


class _Layout:
    def __init__(self, root: PathLike, task: str = "semi-supervised"):
        self.root = Path(root)
        self.task = task
        self.gt_root = self.root / "gt"
        self.results = self.root / "results"
        self.sequences: list[str] = []
        ann = "Annotations" if task == "semi-supervised" else "Annotations_unsupervised"
        self.ann = self.gt_root / ann / "480p"
        self.jpg = self.gt_root / "JPEGImages" / "480p"
        self.results.mkdir(parents=True, exist_ok=True)

    def add(
        self,
        seq: str,
        gt: Sequence[np.ndarray],
        pred: Sequence[np.ndarray | None],
        pred_mode: str = "P",
        write_jpeg: bool = True,
    ) -> None:
        """Write one sequence. ``pred[i] is None`` means: no prediction file for frame i."""
        self.sequences.append(seq)
        (self.ann / seq).mkdir(parents=True, exist_ok=True)
        (self.jpg / seq).mkdir(parents=True, exist_ok=True)
        for i, lab in enumerate(gt):
            write_mask(self.ann / seq / f"{_stem(i)}.png", lab)
            if write_jpeg:
                h, w = lab.shape
                Image.new("RGB", (w, h), (128, 128, 128)).save(
                    self.jpg / seq / f"{_stem(i)}.jpg", quality=90
                )
        (self.results / seq).mkdir(parents=True, exist_ok=True)
        for i, lab in enumerate(pred):
            if lab is not None:
                mode = pred_mode(i) if callable(pred_mode) else pred_mode
                _write_pred(self.results / seq / f"{_stem(i)}.png", lab, mode)

    def finish(self, expect: str = "ok", notes: str = "") -> dict:
        sets = self.gt_root / "ImageSets" / "2017"
        sets.mkdir(parents=True, exist_ok=True)
        (sets / f"{SPLIT}.txt").write_text("".join(s + "\n" for s in self.sequences))
        return {
            "gt_root": str(self.gt_root),
            "results": str(self.results),
            "task": self.task,
            "split": SPLIT,
            "sequences": list(self.sequences),
            "annotations": str(self.ann),
            "expect": expect,
            "notes": notes,
        }


# ----------------------------------------------------------------------------------------------
# scored scenarios
# ----------------------------------------------------------------------------------------------


def drift_ellipse(root: PathLike) -> dict:
    """854x480, 12 frames, 2 ellipses; the prediction drifts more and more (Decay > 0),
    bound_pix 8."""
    h, w, T = 480, 854, 12
    rng = np.random.default_rng(1001)
    L = _Layout(root)
    gt, pred = [], []
    for t in range(T):
        a = ellipse(h, w, 240 + 20 * np.sin(t / 3), 250 + 12 * t, 70, 45, 0.3 + 0.05 * t)
        b = ellipse(h, w, 150 + 5 * t, 600 - 8 * t, 40, 90, -0.2)
        gt.append(compose(h, w, [(1, a), (2, b)]))
        if t == 0:
            pred.append(gt[0].copy())
            continue
        pa = ellipse(
            h,
            w,
            240 + 20 * np.sin(t / 3) + 1.5 * t,
            250 + 12 * t + 3.0 * t,
            70 + 0.8 * t,
            45,
            0.3 + 0.07 * t,
        )
        pb = ellipse(h, w, 150 + 5 * t - 2.0 * t, 600 - 8 * t - 1.0 * t, 40 - 1.5 * t, 90 + t, -0.2)
        noise = speckles(h, w, rng, 4)
        pred.append(compose(h, w, [(1, pa), (2, pb), (int(rng.integers(1, 3)), noise)]))
    L.add("drift-ellipse", gt, pred)
    return L.finish(notes="Decay > 0; bound_pix 8")


def exit_right(root: PathLike) -> dict:
    """854x480, 13 frames; object 1 leaves through the right border (2 columns left in frame 9,
    GT empty from frame 10); the prediction lags, keeps a false positive hugging the border on
    empty-GT frame 10 and is empty on frame 11 (both empty: J = F = 1). Object 2 stays."""
    h, w, T = 480, 854, 13
    L = _Layout(root)
    gt, pred = [], []
    for t in range(T):
        x0 = 420 + 48 * t
        a = rect(h, w, 180, 300, x0, x0 + 140) & ~rect(h, w, 230, 250, x0 + 40, x0 + 60)
        b = ellipse(h, w, 380, 200 + 4 * t, 50, 60)
        gt.append(compose(h, w, [(1, a), (2, b)]))
        if t == 0:
            pred.append(gt[0].copy())
            continue
        px0 = x0 - 12
        pa = rect(h, w, 182, 302, px0, px0 + 140)
        if t == 10:
            pa = rect(h, w, 200, 280, w - 25, w)  # stale blob hugging the right border
        fp = ellipse(h, w, 60, 80, 12, 12) if t in (3, 4) else None  # false positive far away
        pb = ellipse(h, w, 382, 203 + 4 * t, 52, 58)
        pred.append(compose(h, w, [(2, pb), (1, pa), (1, fp)]))
    L.add("exit-right", gt, pred)
    return L.finish(notes="J = F = 0 on frame 10 (GT empty, prediction non-empty); 1 on frame 11")


def thin_pole(root: PathLike) -> dict:
    """854x480, 8 frames; a 1-2 px wide vertical pole and a 1 px horizontal wire, both predicted
    2 px off: J = 0 and F = 1 on every frame (bound_pix 8)."""
    h, w, T = 480, 854, 8
    L = _Layout(root)
    gt, pred = [], []
    for t in range(T):
        pw = 1 + (t % 2)
        c = 300 + 3 * t
        pole = rect(h, w, 60, 420, c, c + pw)
        wire = rect(h, w, 100 + t, 101 + t, 450, 800)
        gt.append(compose(h, w, [(1, pole), (2, wire)]))
        pred.append(
            gt[0].copy()
            if t == 0
            else compose(h, w, [(1, shift(pole, 0, 2)), (2, shift(wire, 2, 0))])
        )
    L.add("thin-pole", gt, pred)
    return L.finish(notes="per-object J 0, F 1")


def odd_size_l(root: PathLike) -> dict:
    """457x301 (bound_pix 5), 10 frames, 2 objects; predictions are greyscale 'L' PNGs, and
    frames 3 and 6 are entirely empty predictions."""
    h, w, T = 301, 457, 10
    rng = np.random.default_rng(1004)
    L = _Layout(root)
    gt, pred = [], []
    for t in range(T):
        a = ellipse(h, w, 150 + 3 * t, 120 + 10 * t, 60, 35, 0.1 * t)
        b = rect(h, w, 40 + 2 * t, 110 + 2 * t, 300, 420 - 3 * t)
        gt.append(compose(h, w, [(1, a), (2, b)]))
        if t == 0:
            pred.append(gt[0].copy())
        elif t in (3, 6):
            pred.append(np.zeros((h, w), dtype=np.uint8))
        else:
            dy, dx = (int(v) for v in rng.integers(-4, 5, size=2))
            pa = shift(a, dy, dx)
            pb = (
                dilate_square(b, 2)
                if t % 2
                else rect(h, w, 44 + 2 * t, 106 + 2 * t, 303, 415 - 3 * t)
            )
            pred.append(compose(h, w, [(1, pa), (2, pb), (1, speckles(h, w, rng, 2, 2))]))
    L.add("odd-size-l", gt, pred, pred_mode="L")
    return L.finish(notes="bound_pix 5; 'L' prediction PNGs; whole empty prediction frames")


def ring_parts(root: PathLike) -> dict:
    """854x480, 10 frames, 4 objects: 1 = ring (inner boundary), 2 = two-part object,
    3 = object vanishing from GT at frame 5 (predicted until frame 6), 4 = highest id, never
    predicted (zero-padded by the official evaluator: J = F = 0)."""
    h, w, T = 480, 854, 10
    L = _Layout(root)
    gt, pred = [], []
    for t in range(T):
        outer = ellipse(h, w, 200, 200 + 4 * t, 90, 90)
        ring = outer & ~ellipse(h, w, 200, 200 + 4 * t, 45, 45)
        part1 = rect(h, w, 60, 140, 420 + 2 * t, 500 + 2 * t)
        part2 = ellipse(h, w, 330, 470 + 2 * t, 40, 30)
        van = ellipse(h, w, 400, 700, 35, 35) if t < 5 else None
        big = rect(h, w, 80, 260, 620, 820 - 3 * t)
        gt.append(compose(h, w, [(4, big), (1, ring), (2, part1), (2, part2), (3, van)]))
        if t == 0:
            pred.append(gt[0].copy())
            continue
        # ring predicted as a filled disc on odd frames, with a too small hole on even frames
        pring = outer if t % 2 else outer & ~ellipse(h, w, 200, 200 + 4 * t, 30, 30)
        pp1 = shift(part1, 3, -2)
        pp2 = (
            ellipse(h, w, 332, 470 + 2 * t, 40, 30) if t < 6 else None
        )  # second part lost from frame 6
        pvan = ellipse(h, w, 402, 703, 34, 36) if t < 7 else None
        pred.append(compose(h, w, [(1, pring), (2, pp1), (2, pp2), (3, pvan)]))
    L.add("ring-parts", gt, pred)
    return L.finish(notes="object 4 never predicted: padded, J = F = 0")


def jitter_1024(root: PathLike) -> dict:
    """1024x576 (bound_pix 10), 10 frames, 2 objects, prediction = GT moved by +-1 px: F = 1."""
    h, w, T = 576, 1024, 10
    rng = np.random.default_rng(1006)
    L = _Layout(root)
    gt, pred = [], []
    for t in range(T):
        a = ellipse(h, w, 300, 300 + 15 * t, 110, 70, 0.2)
        b = rect(h, w, 100, 200, 650 - 10 * t, 900 - 10 * t) | ellipse(
            h, w, 250, 700 - 10 * t, 60, 60
        )
        gt.append(compose(h, w, [(1, a), (2, b)]))
        if t == 0:
            pred.append(gt[0].copy())
            continue
        d = rng.integers(-1, 2, size=4)
        pred.append(
            compose(
                h, w, [(1, shift(a, int(d[0]), int(d[1]))), (2, shift(b, int(d[2]), int(d[3])))]
            )
        )
    L.add("jitter-1024", gt, pred)
    return L.finish(notes="F = 1 on every frame")


def late_id(root: PathLike) -> dict:
    """854x480, 16 frames; GT frame 0 holds ids {1, 3}; id 2 appears at frame 10. The prediction
    leaves object 2 empty until frame 10 and finds it from frame 11 on (metrics.md §5.1 rule 3)."""
    h, w, T = 480, 854, 16
    L = _Layout(root)
    gt, pred = [], []
    for t in range(T):
        a = ellipse(h, w, 200, 150 + 6 * t, 60, 40)
        c = rect(h, w, 300, 420, 500, 620 + 2 * t)
        b = ellipse(h, w, 100, 600, 30 + 2 * (t - 10), 45) if t >= 10 else None
        gt.append(compose(h, w, [(1, a), (3, c), (2, b)]))
        if t == 0:
            pred.append(gt[0].copy())
            continue
        pa = ellipse(h, w, 203, 152 + 6 * t, 58, 42)
        pc = rect(h, w, 302, 418, 505, 622 + 2 * t)
        pb = ellipse(h, w, 104, 606, 30 + 2 * (t - 10), 40) if t >= 11 else None
        pred.append(compose(h, w, [(1, pa), (3, pc), (2, pb)]))
    L.add("late-id", gt, pred)
    return L.finish(
        notes="object 2 scores 1 on frames 1-9 (GT and prediction empty), 0 on frame 10"
    )


def void_ring(root: PathLike) -> dict:
    """854x480, 8 frames, 1 object surrounded by a 3 px void ring (255) in GT; the prediction
    covers part of the ring. Semi-supervised: void is background."""
    h, w, T = 480, 854, 8
    L = _Layout(root)
    gt, pred = [], []
    for t in range(T):
        obj = ellipse(h, w, 240, 300 + 10 * t, 80, 110, 0.25)
        ring = dilate_square(obj, 3) & ~obj
        gt.append(compose(h, w, [(1, obj), (255, ring)]))
        if t == 0:
            pred.append(compose(h, w, [(1, obj)]))
            continue
        p = ellipse(h, w, 241, 302 + 10 * t, 82, 111, 0.25)
        pred.append(compose(h, w, [(1, p)]))
    L.add("void-ring", gt, pred)
    return L.finish(notes="one object; vos-benchmark would add an object 255")


def long_300(root: PathLike) -> dict:
    """160x90 (bound_pix 2), 300 frames -> 298 evaluated frames: the official uint8 Decay bug
    (Decay NaN under numpy 2, global Decay empty in the CSV). The prediction degrades over time."""
    h, w, T = 90, 160, 300
    L = _Layout(root)
    gt, pred = [], []
    for t in range(T):
        cx = 40 + 80 * (0.5 - 0.5 * np.cos(2 * np.pi * t / 150))
        a = ellipse(h, w, 45, cx, 20, 14)
        b = rect(h, w, 5, 25, 100 + (t % 40), 130 + (t % 40))
        gt.append(compose(h, w, [(1, a), (2, b)]))
        if t == 0:
            pred.append(gt[0].copy())
            continue
        drift = int(round(t / 30))  # 0 .. 10 px
        pa = shift(a, 0, min(drift, 15))
        pb = shift(b, drift // 2, 0)
        pred.append(compose(h, w, [(1, pa), (2, pb)]))
    L.add("long-300", gt, pred)
    return L.finish(notes="N = 298: official ids uint8 [0, 74, 149, 223, 41] -> Decay NaN")


def all_zeros(root: PathLike) -> dict:
    """854x480, 6 frames, 2 GT objects, prediction all zeros (frame 0 included): J = F = 0."""
    h, w, T = 480, 854, 6
    L = _Layout(root)
    gt, pred = [], []
    for t in range(T):
        gt.append(
            compose(
                h,
                w,
                [(1, ellipse(h, w, 200, 300 + 5 * t, 50, 70)), (2, rect(h, w, 300, 400, 500, 700))],
            )
        )
        pred.append(np.zeros((h, w), dtype=np.uint8))
    L.add("all-zeros", gt, pred)
    return L.finish(notes="zero padding path: J = F = 0")


def three_frames(root: PathLike) -> dict:
    """854x480, 3 frames -> one evaluated frame. Only the middle prediction file is written
    (the official evaluator never reads frame 0 or the last frame)."""
    h, w = 480, 854
    L = _Layout(root)
    gt, pred = [], []
    for t in range(3):
        gt.append(
            compose(
                h,
                w,
                [
                    (1, ellipse(h, w, 240, 400 + 10 * t, 100, 60)),
                    (2, rect(h, w, 50, 120, 600, 800)),
                ],
            )
        )
    pred = [
        None,
        compose(h, w, [(1, ellipse(h, w, 243, 405, 97, 63)), (2, rect(h, w, 55, 125, 590, 790))]),
        None,
    ]
    L.add("three-frames", gt, pred)
    return L.finish(notes="one evaluated frame; first and last prediction files absent")


def _unsup_objects(h: int, w: int, t: int) -> list[np.ndarray]:
    return [
        ellipse(h, w, 150, 200 + 8 * t, 60, 40),
        rect(h, w, 250, 400, 400 + 5 * t, 520 + 5 * t),
        ellipse(h, w, 120, 650, 50, 80, 0.4),
    ]


def unsup_permuted(root: PathLike) -> dict:
    """Unsupervised, 854x480, 8 frames (all evaluated), 3 GT objects. Proposals = GT objects with
    ids permuted (1->3, 2->1, 3->2) plus a spurious proposal 4: J = F = 1 for every GT object."""
    h, w, T = 480, 854, 8
    rng = np.random.default_rng(1012)
    L = _Layout(root, task="unsupervised")
    gt, pred = [], []
    perm = {1: 3, 2: 1, 3: 2}
    for t in range(T):
        objs = _unsup_objects(h, w, t)
        gt.append(compose(h, w, [(i + 1, m) for i, m in enumerate(objs)]))
        spur = ellipse(h, w, 420, 100 + int(rng.integers(0, 50)), 25, 25)
        pred.append(compose(h, w, [(4, spur)] + [(perm[i + 1], m) for i, m in enumerate(objs)]))
    L.add("unsup-permuted", gt, pred)
    return L.finish(notes="Hungarian matching recovers the permutation; proposal 4 ignored")


def unsup_void(root: PathLike) -> dict:
    """Unsupervised with void: 854x480, 8 frames, 3 GT objects and a void band (255) next to
    object 1. Only 2 proposals (zero padding to 3): proposal 1 = object 2 spilling into the void
    band (void pixels excluded from J and masked before boundary extraction), proposal 2 = object 1
    shifted 3 px; GT object 3 gets the padded empty proposal."""
    h, w, T = 480, 854, 8
    L = _Layout(root, task="unsupervised")
    gt, pred = [], []
    for t in range(T):
        o1, o2, o3 = _unsup_objects(h, w, t)
        void = rect(h, w, 250, 400, 300 + 5 * t, 400 + 5 * t)  # band left of object 2
        void |= dilate_square(o3, 2) & ~o3
        gt.append(compose(h, w, [(255, void), (1, o1), (2, o2), (3, o3)]))
        p1 = o2 | rect(h, w, 260, 390, 330 + 5 * t, 400 + 5 * t)
        p2 = shift(o1, 3, 3)
        pred.append(compose(h, w, [(1, p1), (2, p2)]))
    L.add("unsup-void", gt, pred)
    return L.finish(
        notes="void excluded (unsupervised); P < K padding; proposals matched in proposal order"
    )


# ----------------------------------------------------------------------------------------------
# error scenarios (official behaviour recorded in the golden file under "error_scenarios")
# ----------------------------------------------------------------------------------------------


def _small_seq(h: int = 60, w: int = 80, T: int = 5, n_obj: int = 2):
    gt = [
        compose(
            h, w, [(1, rect(h, w, 10, 30, 10 + t, 30 + t)), (2, rect(h, w, 35, 55, 40, 70))][:n_obj]
        )
        for t in range(T)
    ]
    return gt, [g.copy() for g in gt]


def err_extra_id(root: PathLike) -> dict:
    """A prediction uses id 3 while GT frame 0 has 2 objects (official: message, sys.exit,
    status 0)."""
    L = _Layout(root)
    gt, pred = _small_seq()
    pred[2] = pred[2].copy()
    pred[2][0:5, 0:5] = 3
    L.add("extra-id", gt, pred)
    return L.finish(expect="extra_id")


def err_missing_frame(root: PathLike) -> dict:
    """Prediction file 00002.png is missing (official: message, sys.exit, status 0)."""
    L = _Layout(root)
    gt, pred = _small_seq()
    pred[2] = None
    L.add("missing-frame", gt, pred)
    return L.finish(expect="missing_frame")


def err_size_mismatch(root: PathLike) -> dict:
    """Prediction 00002.png is one column narrower than GT while 00001.png is fine (official: numpy
    broadcasting ValueError while stacking the prediction frames, status 1)."""
    L = _Layout(root)
    gt, pred = _small_seq()
    pred[2] = pred[2][:, :-1].copy()
    L.add("size-mismatch", gt, pred)
    return L.finish(expect="size_mismatch")


def err_size_mismatch_all(root: PathLike) -> dict:
    """Every prediction is one column narrower than GT (official: AssertionError in db_eval_iou
    naming both shapes, status 1; with a single odd frame it is a broadcasting ValueError)."""
    L = _Layout(root)
    gt, pred = _small_seq()
    pred = [p[:, :-1].copy() for p in pred]
    L.add("size-mismatch-all", gt, pred)
    return L.finish(expect="size_mismatch")


def err_rgb(root: PathLike) -> dict:
    """All predictions are RGB PNGs (official: numpy broadcasting ValueError, status 1)."""
    L = _Layout(root)
    gt, pred = _small_seq()
    L.add("rgb-pred", gt, pred, pred_mode="RGB")
    return L.finish(expect="rgb_prediction")


def err_two_frames(root: PathLike) -> dict:
    """A 2-frame sequence leaves no evaluated frame (official: IndexError)."""
    L = _Layout(root)
    gt, pred = _small_seq(T=2)
    L.add("two-frames", gt, pred)
    return L.finish(expect="too_short")


def err_void_in_pred(root: PathLike) -> dict:
    """A prediction contains 255 (tiny frames so that the official one-hot split fits in memory;
    official: treated as id 255 > K -> message, sys.exit, status 0)."""
    L = _Layout(root)
    gt, pred = _small_seq(h=20, w=30, T=3)
    pred[1] = pred[1].copy()
    pred[1][0:2, 0:2] = 255
    L.add("void-in-pred", gt, pred)
    return L.finish(expect="void_in_prediction")


SCENARIOS: dict[str, Callable[[PathLike], dict]] = {
    "drift_ellipse": drift_ellipse,
    "exit_right": exit_right,
    "thin_pole": thin_pole,
    "odd_size_l": odd_size_l,
    "ring_parts": ring_parts,
    "jitter_1024": jitter_1024,
    "late_id": late_id,
    "void_ring": void_ring,
    "long_300": long_300,
    "all_zeros": all_zeros,
    "three_frames": three_frames,
    "unsup_permuted": unsup_permuted,
    "unsup_void": unsup_void,
}

ERROR_SCENARIOS: dict[str, Callable[[PathLike], dict]] = {
    "err_extra_id": err_extra_id,
    "err_missing_frame": err_missing_frame,
    "err_size_mismatch": err_size_mismatch,
    "err_size_mismatch_all": err_size_mismatch_all,
    "err_rgb": err_rgb,
    "err_two_frames": err_two_frames,
    "err_void_in_pred": err_void_in_pred,
}

ALL_SCENARIOS: dict[str, Callable[[PathLike], dict]] = {**SCENARIOS, **ERROR_SCENARIOS}


def scenario_digest(info: dict) -> str:
    """SHA-256 of the decoded label data of a built scenario (GT masks and predictions).

    The golden file records it per scenario: when it differs, the builders (or the PNG
    codec) changed the data and the golden values no longer apply.
    """
    import hashlib

    h = hashlib.sha256()
    for base in (Path(info["annotations"]), Path(info["results"])):
        for path in sorted(base.rglob("*.png")):
            with Image.open(path) as image:
                array = np.asarray(image)
                mode = image.mode
            rel = path.relative_to(base).as_posix()
            h.update(f"{base.name}/{rel}|{mode}|{array.shape}|".encode())
            h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def build_scenario(name: str, root: PathLike) -> dict:
    """Write scenario ``name`` under ``root`` (created if needed) and describe it.

    Returns a dict with ``gt_root`` (DAVIS-2017 layout root), ``results`` (prediction folder),
    ``task``, ``split``, ``sequences``, ``annotations`` (the GT mask folder), ``expect``
    (``"ok"`` or the failure kind) and ``notes``.
    """
    try:
        builder = ALL_SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(ALL_SCENARIOS)}") from None
    Path(root).mkdir(parents=True, exist_ok=True)
    info = builder(root)
    info["name"] = name
    return info


__all__ = ["ALL_SCENARIOS", "ERROR_SCENARIOS", "SCENARIOS", "build_scenario", "scenario_digest"]
