#!/usr/bin/env python
"""MOSEv2 scoring speed: vosbench vs the official ``score.py``, same data, one worker each.

Workload (generated once into ``--workdir``): synthetic videos in the MOSEv2 layout
(``vosbench.benchmarks.mose_v2.write_synthetic``: objects that disappear and reappear, id
gaps) and perturbed-ground-truth predictions (``write_predictions``, quality ``noisy``).

Each tool runs end to end in its own subprocess (interpreter start, imports, reading,
scoring, writing ``metrics.json`` and ``scores.txt``; vosbench is ``vosbench eval --dataset
mosev2 -j 1``, which also writes its own tables), ``--repeats`` times; the table shows the
median wall time and the ratio. The official scorer (github henghuiding/MOSE-api,
``MOSEv2/sam2_rcms/tools/score.py``, NOT part of vosbench) runs unmodified from the checkout
given as ``--official`` through ``tools/parity/mosev2_score.py``, which sets its worker count
(``MAX_WORKERS``, otherwise every core) to 1. Correctness: both tools' ``scores.txt`` must be
identical and their ``metrics.json`` equal apart from ``total_time``.

Usage::

    python benchmarks/mose2_speed.py --official ../refs/MOSE-api --out results/mose2_speed.md
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def prepare(workdir: Path, args: argparse.Namespace) -> tuple[Path, Path]:
    from vosbench.benchmarks.mose_v2 import write_synthetic
    from vosbench.datasets import load_dataset
    from vosbench.datasets.synthetic import SyntheticConfig, write_predictions

    data, predictions = workdir / "data", workdir / "predictions"
    if not (data / "meta_valid.json").is_file():
        config = SyntheticConfig(
            num_sequences=args.sequences,
            num_frames=args.frames,
            height=args.height,
            width=args.width,
            late_objects=True,
            seed=3,
        )
        write_synthetic(data, config)
    if not predictions.is_dir():
        write_predictions(load_dataset("mosev2", data), predictions, quality="noisy")
    return data, predictions


def timed(command: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``command``, its child processes included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=REPO)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def same_outputs(a: Path, b: Path) -> bool:
    metrics = [json.loads((d / "metrics.json").read_text()) for d in (a, b)]
    for m in metrics:
        m.pop("total_time")
    return (
        metrics[0] == metrics[1]
        and (a / "scores.txt").read_text() == (b / "scores.txt").read_text()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", required=True, help="checkout of henghuiding/MOSE-api")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mose2-speed"))
    parser.add_argument("--sequences", type=int, default=8)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data, predictions = prepare(args.workdir, args)
    official_out, vosbench_out = args.workdir / "official", args.workdir / "vosbench"
    tools = str(Path(args.official) / "MOSEv2" / "sam2_rcms" / "tools")
    official = [sys.executable, str(REPO / "tools" / "parity" / "mosev2_score.py")]
    official += ["--tools", tools, "--workers", "1", "--", "--meta", str(data / "meta_valid.json")]
    official += ["--ann", str(data / "valid" / "Annotations"), "--pred", str(predictions)]
    official += ["--output", str(official_out)]
    ours = [sys.executable, "-m", "vosbench.cli", "eval", "--dataset", "mosev2"]
    ours += ["--root", str(data), str(predictions), "-o", str(vosbench_out), "-j", "1", "-q"]
    times: dict[str, list[tuple[float, float]]] = {"official score.py": [], "vosbench": []}
    for _ in range(args.repeats):  # interleaved, so load changes hit both alike
        times["official score.py"].append(timed(official))
        times["vosbench"].append(timed(ours))
    wall = {name: statistics.median(v[0] for v in values) for name, values in times.items()}
    cpu = {name: statistics.median(v[1] for v in values) for name, values in times.items()}
    ratio = wall["official score.py"] / wall["vosbench"]
    cpu_ratio = cpu["official score.py"] / cpu["vosbench"]
    identical = same_outputs(official_out, vosbench_out)
    frames = args.sequences * args.frames
    lines = [
        "# MOSEv2 scoring speed (benchmarks/mose2_speed.py)",
        "",
        f"Workload: {args.sequences} synthetic MOSEv2 videos x {args.frames} frames at "
        f"{args.width}x{args.height} ({frames} frames, 1-3 objects, noisy predictions); "
        f"one worker each; whole process; median of {args.repeats} interleaved runs.",
        f"Machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}.",
        "",
        "| tool | median wall s | median CPU s | runs, wall (s) |",
        "|---|---:|---:|---|",
    ]
    for name, values in times.items():
        runs = ", ".join(f"{v[0]:.2f}" for v in values)
        lines.append(f"| {name} | {wall[name]:.2f} | {cpu[name]:.2f} | {runs} |")
    lines += [
        "",
        f"vosbench is **{ratio:.1f}x** faster in wall time ({cpu_ratio:.1f}x in CPU time); "
        "outputs identical (scores.txt byte for byte, metrics.json apart from total_time): "
        f"**{identical}**.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    if not identical:
        raise SystemExit("the two tools disagree")


if __name__ == "__main__":
    main()
