#!/usr/bin/env python
"""Dense CRF speed: vosbench's numpy mean field vs pydensecrf (Krähenbühl's C++), same model.

Workload: COSNet's CRF (``DenseCRFParams()``, or ``--grid`` for its nine settings) on a run of
frames of one size, the way a method applies it: one ``DenseCRF`` object per sequence, so the
first frame also builds the spatial kernel and later frames reuse it. Frames are real DAVIS
frames with a foreground guess made from the ground truth (blurred, shifted 3 px, uniform noise,
seeded) when ``--davis`` points at a DAVIS-2016 root, else synthetic frames of ``--size``
(smooth colour gradients, a textured ellipse, the same kind of guess).

Each backend runs every frame once per repeat, in one thread (the numpy path is single-threaded;
pydensecrf is single-threaded C++). Reported: the first frame's time, the median time of the
later frames, and how far the backends' marginals and labels are apart. pydensecrf comes from
the optional extra (``pip install 'vosbench[crf]'``); without it only vosbench is timed.

Usage::

    python benchmarks/densecrf_speed.py --davis ../shared/data/DAVIS-2016 --sequence blackswan \\
        --frames 10 --out results/densecrf_speed.md
    python benchmarks/densecrf_speed.py --size 120x214 --frames 3      # quick check
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage
from vosbench_methods.common.densecrf import DenseCRF, DenseCRFParams

from vosbench.io.atomic import atomic_write_text
from vosbench.runner.timing import Timer

Frame = tuple[np.ndarray, np.ndarray]  # (H, W, 3) uint8 image, (H, W) foreground probability


def guess_from_mask(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plausible network output: the mask blurred, shifted and noisy, in [0, 1]."""
    blurred = ndimage.gaussian_filter(np.roll(mask, 3, axis=1).astype(np.float64), 4)
    return np.clip(0.1 + 0.8 * blurred + rng.uniform(-0.2, 0.2, mask.shape), 0, 1)


def davis_frames(root: Path, sequence: str, count: int, rng: np.random.Generator) -> list[Frame]:
    images = sorted((root / "JPEGImages" / "480p" / sequence).glob("*.jpg"))[:count]
    if not images:
        raise SystemExit(f"no frames under {root / 'JPEGImages' / '480p' / sequence}")
    frames = []
    for path in images:
        image = np.asarray(Image.open(path).convert("RGB"))
        mask = (
            np.asarray(
                Image.open(root / "Annotations" / "480p" / sequence / f"{path.stem}.png").convert(
                    "L"
                )
            )
            > 127
        )
        frames.append((image, guess_from_mask(mask, rng)))
    return frames


def synthetic_frames(height: int, width: int, count: int, rng: np.random.Generator) -> list[Frame]:
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(count):
        cy, cx = height * (0.45 + 0.02 * t), width * (0.5 + 0.03 * t)
        inside = ((yy - cy) / (0.3 * height)) ** 2 + ((xx - cx) / (0.2 * width)) ** 2 < 1
        background = np.stack(
            [60 + 100 * yy / height, 90 + 80 * xx / width, 150 - 50 * yy / height], -1
        )
        image = np.where(inside[..., None], [200.0, 80.0, 50.0], background) + rng.normal(
            0, 12, (height, width, 3)
        )
        frames.append((np.clip(image, 0, 255).astype(np.uint8), guess_from_mask(inside, rng)))
    return frames


def time_backend(
    backend: str, params: DenseCRFParams, frames: list[Frame]
) -> tuple[list[float], list[np.ndarray]]:
    crf = DenseCRF(params, backend)
    seconds, marginals = [], []
    for image, p in frames:
        started = Timer.now()
        q = crf.marginals(image, np.stack([1 - p, p]))
        seconds.append(Timer.now() - started)
        marginals.append(q)
    return seconds, marginals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--davis", type=Path, help="DAVIS-2016 root (JPEGImages/480p, Annotations/480p)"
    )
    parser.add_argument("--sequence", default="blackswan")
    parser.add_argument(
        "--size", default="480x854", help="HxW of synthetic frames (without --davis)"
    )
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--grid", action="store_true", help="time all nine COSNet settings, not just the default"
    )
    parser.add_argument("--out", type=Path, help="write a markdown report here")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    if args.davis:
        frames = davis_frames(args.davis, args.sequence, args.frames, rng)
        source = f"DAVIS-2016 {args.sequence}, {len(frames)} frames"
    else:
        height, width = (int(v) for v in args.size.lower().split("x"))
        frames = synthetic_frames(height, width, args.frames, rng)
        source = f"synthetic, {len(frames)} frames"
    h, w = frames[0][0].shape[:2]
    backends = ["numpy"] + (["pydensecrf"] if importlib.util.find_spec("pydensecrf") else [])
    settings = DenseCRFParams.cosnet_grid() if args.grid else (DenseCRFParams(),)

    rows: list[dict[str, Any]] = []
    for params in settings:
        results = {
            b: [time_backend(b, params, frames) for _ in range(args.repeats)] for b in backends
        }
        row: dict[str, Any] = {"setting": params.tag, "size": f"{h}x{w}"}
        for backend, runs in results.items():
            row[f"{backend}_first_s"] = [run[0][0] for run in runs]
            row[f"{backend}_later_s"] = [
                statistics.median(run[0][1:]) if len(run[0]) > 1 else None for run in runs
            ]
        if "pydensecrf" in results:
            ours, theirs = results["numpy"][0][1], results["pydensecrf"][0][1]
            row["max_abs_dq"] = max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs))
            row["label_disagreement"] = sum(
                int((a.argmax(0) != b.argmax(0)).sum()) for a, b in zip(ours, theirs)
            )
            row["pixels"] = sum(a[0].size for a in ours)
        rows.append(row)
        print(json.dumps(row), flush=True)
    report = render(rows, source, backends, args)
    print(report)
    if args.out:
        atomic_write_text(args.out, report)
    return 0


def render(rows: list[dict[str, Any]], source: str, backends: list[str], args) -> str:
    def seconds(values):
        values = [v for v in values if v is not None]
        return f"{statistics.median(values):.2f}" if values else "-"

    lines = [
        "# Dense CRF speed (CPU, one thread)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, numpy {np.__version__}; {source}; median of {args.repeats} "
        "repeat(s). First frame includes building the spatial kernel; later frames reuse it. "
        "Backends: " + ", ".join(backends) + ".",
        "",
        "| setting | size | numpy first s | numpy later s | pydensecrf first s | "
        "pydensecrf later s | max abs dQ | labels differing |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        differing = f"{row['label_disagreement']} / {row['pixels']}" if "pixels" in row else "-"
        dq = f"{row['max_abs_dq']:.1e}" if "max_abs_dq" in row else "-"
        lines.append(
            f"| {row['setting']} | {row['size']} | {seconds(row['numpy_first_s'])} | "
            f"{seconds(row['numpy_later_s'])} | {seconds(row.get('pydensecrf_first_s', []))} | "
            f"{seconds(row.get('pydensecrf_later_s', []))} | {dq} | {differing} |"
        )
    lines += ["", "Raw figures:", "", "```json", json.dumps(rows, indent=1), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
