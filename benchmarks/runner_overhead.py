#!/usr/bin/env python
"""Runner overhead and memory: what ``vosbench run`` costs beyond decoding frames and encoding
masks.

Overhead. Workload: a synthetic dataset written to disk in the DAVIS-2017 layout (JPEG
frames at 854x480, palette PNG annotations; ``--preset``, default ``bench`` with
``--sequences`` of its sequences). Two loops over the same frames, files warm in the page
cache, each timed end to end with the one vosbench timer clock (``Timer.now``):

* ``decode+encode``: for every frame, read and decode the JPEG (``Sequence.read_frame``, the
  runner's own reader) and encode + write the first annotation as a palette PNG
  (``encode_mask``), one thread, nothing else;
* ``vosbench run``: ``vosbench.runner.run("first-frame", …)`` into a fresh folder, including
  warm-up, manifest, environment record, staging and atomic commits, timing CSV and summary
  (evaluation off), with the default background prefetch (``io_workers=1``) and without it.

The ratio is runner frames/s ÷ decode+encode frames/s (≥ 0.9 is the bar); median of
``--repeats``.

Memory. Peak resident memory (VmHWM) of a fresh process running ``first-frame`` over one
synthetic sequence of ``--short`` and of ``--long`` frames (same resolution): the runner
streams frames, so the peak must not grow with the sequence length (bar: within 10 %).

Usage::

    python benchmarks/runner_overhead.py --out results/runner_overhead.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from vosbench.datasets import load_dataset
from vosbench.datasets.synthetic import resolve_config, write_synthetic
from vosbench.io.masks import encode_mask
from vosbench.runner import RunSettings, Timer, run
from vosbench.runner.environment import cpu_model

MEMORY_SCRIPT = """
import json, sys
from vosbench.datasets import load_dataset
from vosbench.runner import RunSettings, run
from vosbench.runner.timing import peak_host_mb
data = load_dataset("synthetic", None, "val", preset="val", num_sequences=1, num_frames={frames})
result = run("first-frame", data, output=sys.argv[1], settings=RunSettings(evaluate=False))
print(json.dumps({{"frames": result.summary["frames"], "process_peak_mb": peak_host_mb(),
                  "sequence_peak_mb": result.summary["peak_host_mb"]}}))
"""


def decode_encode(dataset, out: Path) -> float:
    """Seconds to decode every frame and encode + write its mask, serially."""
    started = Timer.now()
    for sequence in dataset:
        first = sequence.read_annotation(sequence.frames[0])
        folder = out / sequence.name
        folder.mkdir(parents=True)
        for stem in sequence.frames:
            sequence.read_frame(stem)
            (folder / f"{stem}.png").write_bytes(encode_mask(first))
    return Timer.now() - started


def runner_seconds(dataset, out: Path, io_workers: int) -> float:
    started = Timer.now()
    result = run(
        "first-frame",
        dataset,
        output=out,
        settings=RunSettings(evaluate=False, io_workers=io_workers),
    )
    elapsed = Timer.now() - started
    assert result.ok and len(result.ran) == len(dataset)
    return elapsed


def measure_overhead(root: Path, sequences: int, repeats: int, work: Path) -> dict[str, object]:
    dataset = load_dataset("synthetic", root, "val")
    dataset = dataset.select(dataset.names[:sequences])
    frames = sum(len(s) for s in dataset)
    decode_encode(dataset, work / "warm")  # page cache
    times: dict[str, list[float]] = {
        "decode+encode": [],
        "run io_workers=1": [],
        "run io_workers=0": [],
    }
    for index in range(repeats):
        times["decode+encode"].append(decode_encode(dataset, work / f"plain-{index}"))
        times["run io_workers=1"].append(runner_seconds(dataset, work / f"run1-{index}", 1))
        times["run io_workers=0"].append(runner_seconds(dataset, work / f"run0-{index}", 0))
    median = {name: statistics.median(values) for name, values in times.items()}
    return {
        "frames": frames,
        "sequences": len(dataset),
        "seconds": times,
        "median_s": median,
        "fps": {name: frames / seconds for name, seconds in median.items()},
    }


def measure_memory(frames: int, work: Path) -> dict[str, float]:
    out = work / f"memory-{frames}"
    script = MEMORY_SCRIPT.format(frames=frames)
    text = subprocess.run(
        [sys.executable, "-c", script, str(out)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(text.strip().splitlines()[-1])


def report(overhead: dict[str, object], memory: dict[int, dict[str, float]], args) -> str:
    fps = overhead["fps"]
    base = fps["decode+encode"]
    lines = [
        "# Runner overhead and memory",
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} logical cores, "
        f"Python {platform.python_version()}; `python benchmarks/runner_overhead.py` "
        f"(preset `{args.preset}`, {overhead['sequences']} sequences, {overhead['frames']} frames "
        f"at {args.width}x{args.height}, median of {args.repeats}).",
        "",
        "| loop | median s | frames/s | ratio to decode+encode |",
        "|---|---|---|---|",
    ]
    for name, seconds in overhead["median_s"].items():
        lines.append(f"| {name} | {seconds:.2f} | {fps[name]:.0f} | {fps[name] / base:.2f} |")
    lines += [
        "",
        "Peak resident memory of a fresh process running `first-frame` over one synthetic "
        "sequence:",
        "",
        "| frames | process peak MiB | peak during the sequence MiB |",
        "|---|---|---|",
    ]
    for frames, record in memory.items():
        lines.append(
            f"| {frames} | {record['process_peak_mb']:.0f} | {record['sequence_peak_mb']:.0f} |"
        )
    short, long = memory[args.short]["process_peak_mb"], memory[args.long]["process_peak_mb"]
    lines += [
        "",
        f"Growth from {args.short} to {args.long} frames: {100 * (long / short - 1):+.1f} %.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="bench")
    parser.add_argument("--sequences", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--short", type=int, default=100)
    parser.add_argument("--long", type=int, default=1000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = resolve_config(args.preset)
    args.height, args.width = config.height, config.width
    work = Path(tempfile.mkdtemp(prefix="vosbench-overhead-", dir=args.workdir))
    try:
        root = write_synthetic(work / "data", args.preset)
        overhead = measure_overhead(root, args.sequences, args.repeats, work)
        memory = {frames: measure_memory(frames, work) for frames in (args.short, args.long)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(overhead, memory, args)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
