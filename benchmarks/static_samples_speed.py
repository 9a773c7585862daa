#!/usr/bin/env python
"""Speed of the static-image clip simulator (``vosbench.train.static.simulate_clip``).

Times building clips from images already in memory (decoding is the image set's business):
a 500 x 375 textured image with three objects, optionally pasted onto another image and
crossed by an occluder, at each requested output size, with the default augmentation. OpenCV
runs on one thread, as in a data-loader worker. Prints the median and p90 wall milliseconds per
clip, and the median CPU time of the process (which a busy machine inflates less).

Usage::

    python benchmarks/static_samples_speed.py                       # 384x384, T = 3, 200 clips
    python benchmarks/static_samples_speed.py --size 480x864 --length 4 --clips 100
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from vosbench.train.augment import StaticAugmentation
from vosbench.train.static import StaticImage, simulate_clip


def textured_item(seed: int, key: str) -> StaticImage:
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 256, (375, 500, 3), dtype=np.uint8), (0, 0), 3)
    labels = np.zeros((375, 500), np.uint8)
    cv2.ellipse(labels, (180, 190), (90, 70), 30, 0, 360, 1, -1)
    cv2.circle(labels, (380, 120), 45, 2, -1)
    cv2.rectangle(labels, (320, 250), (460, 340), 3, -1)
    return StaticImage(image, labels, key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="384x384", help="output HxW")
    parser.add_argument("--length", type=int, default=3)
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    height, width = (int(v) for v in args.size.lower().split("x"))
    item, other = textured_item(1, "source"), textured_item(2, "other")
    params = StaticAugmentation()
    for label, extra in (
        ("plain", {}),
        ("pasted + occluder", {"background": other, "occluder": other}),
    ):
        rng = np.random.default_rng(args.seed)
        wall, cpu = [], []
        for _ in range(args.clips):
            start, start_cpu = time.perf_counter(), time.process_time()
            simulate_clip(item, args.length, (height, width), params, rng, **extra)
            wall.append((time.perf_counter() - start) * 1e3)
            cpu.append((time.process_time() - start_cpu) * 1e3)
        skip = min(5, args.clips - 1)  # the first clips fill caches
        wall, cpu = np.array(wall[skip:]), np.array(cpu[skip:])
        print(
            f"{height}x{width} T={args.length} {label:>18}: median {np.median(wall):6.1f} ms "
            f"(CPU {np.median(cpu):6.1f} ms), p90 {np.percentile(wall, 90):6.1f} ms over "
            f"{len(wall)} clips"
        )


if __name__ == "__main__":
    main()
