#!/usr/bin/env python
"""Temporal stability T on DAVIS-2016 val: vosbench vs the DAVIS-2016 toolkit, and its cost vs J&F.

Workload: the ground truth of the DAVIS-2016 val sequences flagged ``eval_t`` in
``Annotations/db_info.yml`` (10 of 20), scored as the prediction, as the leaderboard's "ground
truth" row (T-Mean 0.088). Per sequence: the frames f_1 … f_{T−2} are evaluated and T is the
nanmean over the pairs (f_t, f_{t+1}), as ``vosbench.metrics.temporal.sequence_stability``.

Timings (median of ``--repeats`` runs, all in this one process):

* ``evaluate`` of all 20 val sequences, the GT folder scored as the results folder (reading
  included), with the metrics J, F (``--metrics J,F``) and J, F, T (DAVIS-2016's default), at
  ``workers=1`` and ``workers=2``; T's added time is the difference, side by side with the J&F
  time it must not exceed;
* ``T`` alone: reading the GT PNGs of the 10 ``eval_t`` sequences and computing T (also
  without reading), with the compiled kernels and, once (``--numpy-runs``), with the numpy
  code they replace;
* the descriptors alone: ``contour_descriptor`` (longest contour, up-sampling, shape
  contexts) of each of those inner masks, the part of T computed once per frame;
  ``--check-descriptors`` also compares each with the numpy code's (every contour point and
  histogram count);
* the JIT warm-up: importing numba and the kernels module in a fresh interpreter, then the
  first pair's value (numba's one-time set-up and loading the cached machine code).

The toolkit (github fperazzi/davis) is NOT part of vosbench. ``--toolkit-python PY
--toolkit-lib DIR`` runs it side by side in its own interpreter: DIR must hold the built
``tstab`` extension and a ``t_stability.py`` that PY can import (the toolkit's file imports
unchanged under numpy < 1.18; newer numpy needs int() around its float bin counts, see
results/t_stability.md). It is run once (≈ 20 min). ``--toolkit-json FILE`` reuses the JSON
such a run wrote (``--save-toolkit-json``).

Usage::

    python benchmarks/t_speed.py --root $VOSBENCH_DATA/DAVIS-2016 --out results/t_stability.md \\
        --toolkit-json ../refs/toolkit_T.json --toolkit-commit aaee12c
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vosbench.datasets import load_dataset  # noqa: E402
from vosbench.metrics import evaluate, temporal  # noqa: E402
from vosbench.metrics.evaluator import Protocol  # noqa: E402
from vosbench.metrics.temporal import sequence_stability  # noqa: E402

LEADERBOARD_TGT = 0.088  # DAVIS-2016 leaderboard, "ground truth" row, T-Mean

TOOLKIT_DRIVER = r"""
import json, sys, time
import numpy as np
from PIL import Image
lib, root, seqs = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, lib)
from t_stability import db_eval_t_stab
out = {}
for seq in seqs:
    import glob
    files = sorted(glob.glob(f"{root}/Annotations/480p/{seq}/*.png"))
    inner = [np.array(Image.open(f)) for f in files][1:-1]
    start = time.perf_counter()
    # loader.py _eval: pairs of consecutive inner frames, x5 (magic_number)
    pairs = [db_eval_t_stab(a, b) * 5.0 for a, b in zip(inner[:-1], inner[1:])]
    out[seq] = {"pairs": [None if v != v else v for v in pairs],
                "seconds": time.perf_counter() - start}
print(json.dumps(out))
"""


NOTES = """
## How the toolkit ran

* github fperazzi/davis @ aaee12c9dd83b1709d05c38754c72570283c1c84, cloned outside vosbench.
  `tstab` was compiled from `cpp/polycont/python.cpp` and `cpp/clipper/clipper.cpp` with the
  toolkit's bundled Eigen and psimpl, `g++ -O3 -std=c++11 -DNDEBUG` (its CMake Release flags),
  against Debian's Boost 1.74 (`libboost-python-dev`, `libboost-numpy-dev`,
  `libboost-graph-dev`) and Python 3.11. The one source change: Boost ≥ 1.63 ships Boost.NumPy
  as `boost/python/numpy.hpp` / `boost::python::numpy`, so those two lines were renamed.
* `t_stability.py` ran under numpy 1.26.4 and scipy 1.11.4 with five `int()` casts (numpy
  ≥ 1.18 refuses float bin counts in `logspace`/`zeros`; `np.int` is gone): `np.int` → `int`,
  `int(nbins_r)`, `int(nbins_theta)`, `int(nbins)`. Masks were read with Pillow (0/255 `uint8`,
  what `skimage.io.imread(as_grey=True)` returns for these PNGs) and paired as `loader.py`
  `_eval` does: T = 5 · `db_eval_t_stab(f_t, f_{t+1})` for consecutive inner frames.

## Agreement

* Contours: `vosbench.metrics.temporal.extract_contours` equals `tstab.mask2poly(mask, 3)`
  (every contour, point for point, in order) and `mask_longest_contour` equals
  `get_longest_cont` on every second mask of the 23 sequences of the local DAVIS-2016 copy
  (779 masks, 0 differences).
* 631 of the 651 pairs are equal to the bit. The other 20 differ because the toolkit's
  Dijkstra breaks exact ties between equal-cost paths by its heap order (ties occur because
  each contour repeats its first point at its end, so two rows and two columns of the cost
  matrix are equal); vosbench prefers the diagonal step. Per sequence this moves T by < 1e-5.
* Leaderboard: the toolkit itself gives 0.08697 for the ground truth on these 10 sequences,
  so it rounds to 0.087, not the leaderboard's 0.088. Variants do not reach 0.088 either
  (including the first and last frames: 0.0872; pooling all pairs instead of averaging
  sequences: 0.0896; the five val sequences without `eval_t` that were tried score
  0.22–0.78 each, so adding them cannot give 0.088). The leaderboard value may come from
  the MATLAB code or another resolution; unconfirmed.

## Why T costs more than J&F

Per pair, the toolkit's definition compares every point of one contour with every point of
the other: an `N × M` χ² matrix over 60 bins and two shortest-path passes over it. Up-sampled
contours of these masks have 115–1,430 points (602 on average) and the toolkit does not
subsample, so the 651 pairs span Σ N·M = 2.8e8 cells, 1.7e10 χ² terms. With numba, vosbench
runs the shape contexts (angular sectors by comparisons, `atan2` only within 1e-9 rad of a
sector edge), the polygon simplification and both passes as compiled kernels that repeat the
numpy code's operations in its order (χ² bins summed as numpy's pairwise sum), so all 651
values are equal to the bit. Each pass searches row by row within a cost bound that doubles
until the last cell is reached; a cell whose cheapest predecessor exceeds the bound is never
computed, which leaves about half of the χ² cells (the two passes' regions barely overlap;
the valley of cheap cells around the optimal path is wide because neighbouring contour points
have similar shape contexts). A mask's descriptor (contour tracing, simplification,
up-sampling, shape contexts) is one compiled call, equal to the numpy code to the bit, ≈ 1 ms
a mask. What remains: those χ² cells (≈ 15–20 ns each, 24 divisions where one histogram is
non-zero), and the JIT warm-up per process.
"""


def eval_t_sequences(dataset) -> list[str]:
    return [s.name for s in dataset if (s.attributes or {}).get("eval_t")]


def read_inner_masks(sequence) -> list[np.ndarray]:
    """GT masks of the evaluated frames f_1 … f_{T−2} (non-zero = object)."""
    return [sequence.read_annotation(stem) != 0 for stem in sequence.annotated[1:-1]]


def descriptor_seconds(masks: list[np.ndarray]) -> float:
    """Seconds of ``contour_descriptor`` over the masks."""
    start = time.perf_counter()
    for mask in masks:
        temporal.contour_descriptor(mask)
    return time.perf_counter() - start


def check_descriptors(masks: list[np.ndarray]) -> int:
    """Number of masks whose longest contour or shape contexts differ from the numpy code's."""
    compiled = [(temporal.mask_longest_contour(m), temporal.contour_descriptor(m)) for m in masks]
    differ = 0
    with numpy_only():
        for mask, (contour, hist) in zip(masks, compiled):
            same_contour = np.array_equal(temporal.mask_longest_contour(mask), contour)
            differ += not (same_contour and np.array_equal(temporal.contour_descriptor(mask), hist))
    return differ


def vosbench_t(dataset, names: list[str]) -> tuple[dict[str, np.ndarray], float, float]:
    """Per-sequence per-frame T, seconds with reading, seconds computing only."""
    start = time.perf_counter()
    compute = 0.0
    values = {}
    for name in names:
        masks = read_inner_masks(dataset[name])
        t0 = time.perf_counter()
        values[name] = sequence_stability(masks)
        compute += time.perf_counter() - t0
    return values, time.perf_counter() - start, compute


WARM_UP = r"""
import time
start = time.perf_counter()
import numpy as np
from vosbench.metrics import temporal
a = np.zeros((60, 80), bool); a[10:40, 20:60] = True
b = np.zeros((60, 80), bool); b[12:42, 20:61] = True
temporal._kernels()
loaded = time.perf_counter()
temporal.stability_pair(a, b)
print(loaded - start, time.perf_counter() - loaded)
"""


def time_evaluate(root: Path, metrics: tuple[str, ...], workers: int) -> float:
    """Seconds of ``evaluate`` on DAVIS-2016 val with these metrics (reading included)."""
    dataset = load_dataset("davis2016", root, "val")
    protocol = Protocol.for_dataset(dataset, metrics=metrics)
    start = time.perf_counter()
    evaluate(dataset, root / "Annotations" / "480p", protocol, workers=workers)
    return time.perf_counter() - start


def time_warm_up() -> tuple[float, float]:
    """(numba import + kernels module, first pair) seconds in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *sys.path]))
    done = subprocess.run(
        [sys.executable, "-c", WARM_UP], check=True, capture_output=True, text=True, env=env
    )
    loaded, first = done.stdout.split()
    return float(loaded), float(first)


def run_toolkit(python: str, lib: str, root: Path, names: list[str]) -> dict[str, dict]:
    done = subprocess.run(
        [python, "-c", TOOLKIT_DRIVER, lib, str(root), *names],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def nanmean(values) -> float:
    arr = np.array([math.nan if v is None else v for v in values], dtype=float)
    return float(np.nanmean(arr)) if np.isfinite(arr).any() else math.nan


@contextlib.contextmanager
def numpy_only():
    """Run T with the numpy code (as without numba)."""
    saved = temporal._kernels
    temporal._kernels = lambda: None
    temporal._CACHE.clear()
    try:
        yield
    finally:
        temporal._kernels = saved
        temporal._CACHE.clear()


def markdown(names, ours, toolkit, timings, warm, args, numpy_diff=None) -> str:
    lines = ["# Temporal stability T: vosbench vs the DAVIS-2016 toolkit", ""]
    lines += [
        f"Data: DAVIS-2016 val ground truth scored as the prediction, the {len(names)} sequences "
        "flagged `eval_t` in `Annotations/db_info.yml`. Per sequence: nanmean of T over the pairs "
        "(f_t, f_{t+1}) of the evaluated frames f_1 … f_{T−2} (`sequence_stability`).",
        f"Toolkit: github fperazzi/davis @ {args.toolkit_commit or 'n/a'}, its C++ `tstab` built "
        "(Boost.Python) and its `t_stability.py` run side by side outside vosbench."
        if toolkit
        else "Toolkit: not run.",
        "Produced by `python benchmarks/t_speed.py` on this machine: "
        f"{os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"numpy {np.__version__}.",
        "",
        "| sequence | pairs | vosbench T | toolkit T | abs diff (seq) | max abs diff (pairs) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    seq_ours, seq_tk = [], []
    for name in names:
        mine = ours[name][1:]
        m = float(np.nanmean(mine))
        seq_ours.append(m)
        if toolkit:
            tk = np.array([math.nan if v is None else v for v in toolkit[name]["pairs"]])
            t = nanmean(tk)
            seq_tk.append(t)
            pair_diff = np.nanmax(np.abs(tk - mine)) if np.isfinite(tk).any() else math.nan
            lines.append(
                f"| {name} | {len(mine)} | {m:.6f} | {t:.6f} | {abs(m - t):.1e} | {pair_diff:.1e} |"
            )
        else:
            lines.append(f"| {name} | {len(mine)} | {m:.6f} | – | – | – |")
    mean_ours = float(np.mean(seq_ours))
    if toolkit:
        mean_tk = float(np.mean(seq_tk))
        lines.append(
            f"| **mean** | {sum(len(ours[n]) - 1 for n in names)} | **{mean_ours:.6f}** | "
            f"**{mean_tk:.6f}** | {abs(mean_ours - mean_tk):.1e} | |"
        )
    else:
        lines.append(f"| **mean** | | **{mean_ours:.6f}** | | | |")
    lines += [
        "",
        f"Leaderboard (DAVIS website, ground truth row): T-Mean {LEADERBOARD_TGT}; "
        f"vosbench rounds to {mean_ours:.3f}.",
        "",
        "## Speed",
        "",
        f"Median of {args.repeats} runs (all runs listed), all in one process; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs when they ended (a shared "
        "machine: single runs vary by up to a quarter).",
        "",
        "| what | median (s) | runs (s) |",
        "|---|---:|---|",
    ]
    for label, runs in timings.items():
        lines.append(
            f"| {label} | {statistics.median(runs):.2f} | {', '.join(f'{r:.2f}' for r in runs)} |"
        )
    lines.append("")
    for workers in (1, 2):
        jf = statistics.median(timings[f"evaluate J,F (workers={workers})"])
        jft = statistics.median(timings[f"evaluate J,F,T (workers={workers})"])
        lines.append(
            f"workers={workers}: J&F {jf:.2f} s, T adds {jft - jf:.2f} s "
            f"({(jft - jf) / jf:.2f}× the J&F time)."
        )
    loaded, first = warm
    lines += [
        "",
        f"JIT warm-up in a fresh interpreter (cached kernels): {loaded:.2f} s to import numba "
        f"and the kernels module, {first:.2f} s more for the first pair (numba's one-time "
        "set-up, then loading the cached machine code); each evaluator worker pays it once.",
    ]
    if args.descriptor_check is not None:
        masks, differ = args.descriptor_check
        lines.append(
            f"Descriptors (longest contour and shape contexts) of the {masks} inner masks, "
            f"compiled vs the numpy code: {differ} differ."
        )
    compiled = statistics.median(timings["T alone, compiled kernels, compute only"])
    if "T alone, numpy code, compute only" in timings:
        slow = statistics.median(timings["T alone, numpy code, compute only"])
        lines.append(
            f"Compiled kernels vs the numpy code on the same pairs: {slow / compiled:.1f}×; "
            f"largest per-pair difference {numpy_diff:.1e}."
        )
    if toolkit:
        tk_s = sum(v["seconds"] for v in toolkit.values())
        lines.append(
            f"Toolkit T on the same pairs (one run, from --toolkit-json): {tk_s:.0f} s, "
            f"{tk_s / compiled:.0f}× vosbench's."
        )
    return "\n".join(lines) + "\n" + (NOTES if toolkit else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--root", type=Path, default=Path(os.environ.get("VOSBENCH_DATA", ".")) / "DAVIS-2016"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--numpy-runs", type=int, default=1, help="runs of T with the numpy code (≈ 1 min each)"
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--toolkit-python")
    parser.add_argument("--toolkit-lib")
    parser.add_argument("--toolkit-json", type=Path)
    parser.add_argument("--save-toolkit-json", type=Path)
    parser.add_argument("--toolkit-commit", default="")
    parser.add_argument(
        "--check-descriptors",
        action="store_true",
        help="compare every inner mask's descriptor with the numpy code's (≈ 1 min)",
    )
    args = parser.parse_args(argv)
    args.descriptor_check = None

    dataset = load_dataset("davis2016", args.root, "val")
    names = eval_t_sequences(dataset)
    toolkit = None
    if args.toolkit_json:
        toolkit = json.loads(args.toolkit_json.read_text())
    elif args.toolkit_python and args.toolkit_lib:
        toolkit = run_toolkit(args.toolkit_python, args.toolkit_lib, args.root, names)
        if args.save_toolkit_json:
            args.save_toolkit_json.write_text(json.dumps(toolkit))
    timings: dict[str, list[float]] = {}

    def record(label: str, seconds: float) -> None:
        timings.setdefault(label, []).append(seconds)

    warm = time_warm_up()
    inner = [mask for name in names for mask in read_inner_masks(dataset[name])]
    ours = {}
    for _ in range(args.repeats):
        for workers in (1, 2):
            for metrics in (("J", "F"), ("J", "F", "T")):
                seconds = time_evaluate(args.root, metrics, workers)
                record(f"evaluate {','.join(metrics)} (workers={workers})", seconds)
        ours, total, compute = vosbench_t(dataset, names)
        record("T alone, compiled kernels, reading + T", total)
        record("T alone, compiled kernels, compute only", compute)
        record(f"descriptors alone ({len(inner)} inner masks)", descriptor_seconds(inner))
    if args.check_descriptors:
        args.descriptor_check = (len(inner), check_descriptors(inner))
        print(f"descriptors: {args.descriptor_check[1]} of {len(inner)} differ from numpy's")
    worst = None
    for _ in range(args.numpy_runs):
        with numpy_only():
            reference, _, compute = vosbench_t(dataset, names)
        record("T alone, numpy code, compute only", compute)
        worst = max(float(np.nanmax(np.abs(reference[n] - ours[n]))) for n in names)
        print(f"compiled vs numpy: largest per-pair difference {worst:.1e}")
    text = markdown(names, ours, toolkit, timings, warm, args, worst)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
