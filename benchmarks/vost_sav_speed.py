#!/usr/bin/env python
"""Evaluation speed on VOST and SA-V: vosbench vs each official evaluator, same data, one worker.

Workload (generated once under ``--workdir`` and reused): the synthetic generator's 854x480
scenes, ``--videos`` videos of ``--frames`` frames, written in the benchmark's layout
(``vosbench.benchmarks.vost.write_synthetic``: every 6th frame annotated;
``vosbench.benchmarks.sav.write_synthetic``: every 4th, one PNG per object plus an overlapping
part masklet) with the generator's ``noisy`` predictions in the layout each evaluator reads.

Each tool runs end to end in its own subprocess (interpreter start, imports, reading, scoring,
writing its files), ``--repeats`` times; the table shows the median wall time and the ratio.
The official evaluators are NOT part of vosbench; pass checkouts of them:

* ``--vost PATH`` (github TRI-ML/VOST) with ``--vost-python`` an interpreter that runs it (it
  needs numpy < 1.24 for ``np.bool``): ``evaluation/evaluation_method.py``;
* ``--sam2 PATH`` (github facebookresearch/sam2): ``sav_dataset/sav_evaluator.py -n 1``.

vosbench runs ``vosbench eval --dataset vost|sav -j 1``. The numbers are checked equal: VOST's
two CSV files byte for byte, SA-V's ``results.csv`` byte for byte.

Usage::

    python benchmarks/vost_sav_speed.py --vost ../refs/vost \\
        --vost-python ../refs/venv-vost/bin/python \\
        --sam2 ../refs/sam2 --out results/vost_sav_speed.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

VOST_FILES = ("global_results-val.csv", "per-sequence_results-val.csv")


def prepare(workdir: Path, videos: int, frames: int) -> dict[str, Path]:
    """Write (once) both layouts and their predictions."""
    from vosbench.benchmarks import sav, vost
    from vosbench.datasets import load_dataset
    from vosbench.datasets.synthetic import predict_sequence, resolve_config
    from vosbench.io import write_mask

    config = resolve_config("val", num_sequences=videos, num_frames=frames, seed=7)
    paths = {"vost": workdir / "vost", "sav": workdir / "sav"}
    vost.write_synthetic(paths["vost"], config)
    sav.write_synthetic(paths["sav"], config)
    vost_pred, sav_pred = workdir / "vost_pred", workdir / "sav_pred"
    if not vost_pred.is_dir():
        for sequence in load_dataset("vost", paths["vost"]):
            annotated = set(sequence.annotated)
            for stem, labels in predict_sequence(sequence, quality="noisy"):
                if stem in annotated:
                    write_mask(vost_pred / sequence.name / f"{stem}.png", labels)
    if not sav_pred.is_dir():
        for sequence in load_dataset("sav", paths["sav"], "sav_val"):
            annotated = set(sequence.annotated)
            ids_dir = workdir / "sav_ids" / sequence.name
            for stem, labels in predict_sequence(sequence, quality="noisy"):
                if stem in annotated:
                    write_mask(ids_dir / f"{stem}.png", labels)
            sav.export_predictions(sequence, ids_dir, sav_pred)
    return {**paths, "vost_pred": vost_pred, "sav_pred": sav_pred}


def timed(command: list[str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    return elapsed


def vosbench_eval(dataset: str, root: Path, results: Path, out: Path, split: str) -> list[str]:
    return [sys.executable, "-m", "vosbench.cli", "eval", str(results), "--dataset", dataset,
            "--root", str(root), "--split", split, "-j", "1", "-q", "-o", str(out)]  # fmt: skip


def bench_vost(args, paths, rows) -> None:
    evaluation = Path(args.vost) / "evaluation"
    results = paths["vost_pred"]
    official, ours = [], []
    for _ in range(args.repeats):
        for name in VOST_FILES:  # it reuses CSVs it finds: start clean each time
            (results / name).unlink(missing_ok=True)
        official.append(timed([args.vost_python, "evaluation_method.py", "--results_path",
                               str(results), "--dataset_path", str(paths["vost"]), "--set", "val"],
                              cwd=evaluation))  # fmt: skip
        out = Path(args.workdir) / "vost_out"
        ours.append(timed(vosbench_eval("vost", paths["vost"], results, out, "val")))
    same = all((results / n).read_bytes() == (out / n).read_bytes() for n in VOST_FILES)
    rows.append(("VOST", official, ours, same))


def bench_sav(args, paths, rows) -> None:
    folder = Path(args.sam2) / "sav_dataset"
    results = paths["sav_pred"]
    gt = paths["sav"] / "Annotations_6fps"
    official, ours = [], []
    for _ in range(args.repeats):
        official.append(timed([sys.executable, "sav_evaluator.py", "--gt_root", str(gt),
                               "--pred_root", str(results), "-n", "1"], cwd=folder))  # fmt: skip
        out = Path(args.workdir) / "sav_out"
        ours.append(timed(vosbench_eval("sav", paths["sav"], results, out, "sav_val")))
    same = (results / "results.csv").read_bytes() == (out / "results.csv").read_bytes()
    rows.append(("SA-V", official, ours, same))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vost", help="checkout of github TRI-ML/VOST")
    parser.add_argument("--vost-python", default=sys.executable)
    parser.add_argument("--sam2", help="checkout of github facebookresearch/sam2")
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/vosbench-vost-sav-speed")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    paths = prepare(workdir, args.videos, args.frames)
    rows: list = []
    if args.vost:
        bench_vost(args, paths, rows)
    if args.sam2:
        bench_sav(args, paths, rows)
    lines = [
        f"Workload: {args.videos} synthetic videos x {args.frames} frames at 854x480 "
        "(VOST: every 6th frame annotated; SA-V: every 4th, objects + one overlapping part "
        f"masklet), noisy predictions; {args.repeats} runs each, whole process, one worker; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        "",
        "| benchmark | official (median s) | vosbench (median s) | speed-up "
        "| official files identical |",
        "|---|---|---|---|---|",
    ]
    for name, official, ours, same in rows:
        a, b = statistics.median(official), statistics.median(ours)
        lines.append(f"| {name} | {a:.2f} | {b:.2f} | {a / b:.1f}x | {'yes' if same else 'NO'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    shutil.rmtree(workdir / "vost_out", ignore_errors=True)


if __name__ == "__main__":
    main()
