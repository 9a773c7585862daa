#!/usr/bin/env python
"""A tiny RGMP-style network learns on a CPU: train within a wall-clock budget, then J on held-out
videos.

Workload (all through the command line, as a user would do it):

1. data: synthetic videos written in the DAVIS-2017 layout (what ``vosbench synth`` writes) at
   ``--size`` (default 256x448), 40 frames each: ``--train-sequences`` training videos with
   1-3 objects (split ``train``) and two held-out sets of ``--val-sequences`` videos (split
   ``val``, another seed stream: none is seen in training), one with a single object per video
   (as DAVIS-2016) and one with 1-3 objects (as DAVIS-2017);
2. ``vosbench train --config <bundled config>`` reading the training folder, stopped by
   ``--time-budget`` seconds of wall clock (the schedule is that of the config's full length),
   with ``--threads`` CPU threads;
3. ``vosbench run --method rgmp -c size=tiny -c scales=… --weights …`` on each held-out set (the
   config's ``model`` options and its ``validation.config`` test options, e.g. ``scales: [0.5]``),
   then ``vosbench eval`` of that run folder;
4. the same held-out videos through the ``first-frame`` baseline, for scale.

It prints the J-Mean and writes a Markdown record (``--out``, default results/train_tiny.md)
with the conditions: CPU, threads, load average, steps done, clips per second, times.

Usage::

    python benchmarks/train_tiny.py --time-budget 600 --threads 2 --out results/train_tiny.md
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml

from vosbench.datasets.synthetic import resolve_config, write_synthetic
from vosbench.runner.environment import cpu_model
from vosbench.train.config import load_config
from vosbench.train.engine import find_config, run_options

LABELS = {"val-1-object": "1 object per video", "val-1-3-objects": "1-3 objects per video"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="rgmp_tiny", help="bundled config name or YAML file")
    parser.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="seconds of training (wall clock); default: the config's own train.time_budget",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="torch CPU threads for training and running"
    )
    parser.add_argument("--size", default="256x448", help="HxW of the synthetic videos")
    parser.add_argument("--train-sequences", type=int, default=200)
    parser.add_argument("--val-sequences", type=int, default=10)
    parser.add_argument(
        "--work", type=Path, default=Path("results/train_tiny_work"), help="scratch folder"
    )
    parser.add_argument("--out", type=Path, default=Path("results/train_tiny.md"))
    args = parser.parse_args(argv)

    height, width = (int(v) for v in args.size.lower().split("x"))
    work = args.work
    shape = {"num_frames": 40, "height": height, "width": width}
    sets = {  # folder name → (split, sequences, objects per video)
        "train": ("train", args.train_sequences, (1, 3)),
        "val-1-object": ("val", args.val_sequences, (1, 1)),
        "val-1-3-objects": ("val", args.val_sequences, (1, 3)),
    }
    started = time.perf_counter()
    for name, (split, count, (low, high)) in sets.items():
        config = resolve_config(
            "val", num_sequences=count, min_objects=low, max_objects=high, **shape
        )
        write_synthetic(work / "data" / name, config, split=split)
    data_s = time.perf_counter() - started

    config_path = _derived_config(
        find_config(args.config), work / "data" / "train", work, args.threads
    )
    method = yaml.safe_load(config_path.read_text())["method"]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    train_dir = work / "train"
    commands = {
        "train": [
            "vosbench",
            "train",
            "--method",
            method,
            "--config",
            str(config_path),
            "--output",
            str(train_dir),
            "--device",
            "cpu",
            "--force",
        ]
        + (["--time-budget", str(args.time_budget)] if args.time_budget else [])
    }
    train_s = _run(commands["train"], env)
    options = run_options(load_config(config_path)[0])
    options.setdefault("scales", "1.0")  # single scale unless the config's validation names one
    overrides = [item for key, value in options.items() for item in ("-c", f"{key}={value}")]
    scores: dict[str, dict[str, float]] = {}
    for name in ("val-1-object", "val-1-3-objects"):
        dataset = ["--dataset", "synthetic", "--root", str(work / "data" / name), "--split", "val"]
        run_dir, floor_dir = work / "runs" / name / method, work / "runs" / name / "first-frame"
        commands[f"run {name}"] = [
            "vosbench",
            "run",
            "--method",
            method,
            *overrides,
            "--weights",
            str(train_dir / "weights.pth"),
            *dataset,
            "--output",
            str(run_dir),
            "--device",
            "cpu",
            "--force",
            "--no-eval",
            "--warmup",
            "0",
        ]
        commands[f"eval {name}"] = ["vosbench", "eval", str(run_dir), "-q"]
        commands[f"first-frame {name}"] = [
            "vosbench",
            "run",
            "--method",
            "first-frame",
            *dataset,
            "--output",
            str(floor_dir),
            "--force",
            "--warmup",
            "0",
        ]
        for key in ("run", "eval", "first-frame"):
            _run(commands[f"{key} {name}"], env)
        scores[name] = {**_scores(run_dir), "first-frame J-Mean": _scores(floor_dir)["J-Mean"]}

    log = [json.loads(line) for line in (train_dir / "log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "loss" in r]
    record = {
        "steps": steps[-1]["step"] if steps else 0,
        "training_s": steps[-1]["elapsed_s"] if steps else 0.0,
        "train_command_s": train_s,
        "data_s": round(data_s, 1),
        "clips_per_s": round(sum(r["clips_per_s"] for r in steps) / max(len(steps), 1), 2),
        "final_loss": steps[-1]["loss"] if steps else None,
    }
    for name, values in scores.items():
        print(
            f"{name}: J-Mean {values['J-Mean']:.3f} (J&F {values['J&F-Mean']:.3f}; first-frame J "
            f"{values['first-frame J-Mean']:.3f}) on {args.val_sequences} held-out videos"
        )
    print(
        f"after {record['steps']} steps in {record['training_s']:.0f} s of training "
        f"({args.threads} threads)"
    )
    _write_report(args, record, scores, commands, config_path)
    return 0


def _budget(args: argparse.Namespace) -> str:
    return f"{args.time_budget:g} s" if args.time_budget else "the config's train.time_budget"


def _derived_config(bundled: Path, train_root: Path, work: Path, threads: int) -> Path:
    """The bundled config reading the written training videos, with the thread count."""
    config = yaml.safe_load(bundled.read_text())
    for source in config["data"]["sources"]:
        source.update(dataset="synthetic", root=str(train_root), split="train")
        source.pop("options", None)  # the folder's own record says what it holds
    config["train"]["threads"] = threads
    config["validation"] = {
        "every": 0,
        "config": (config.get("validation") or {}).get("config", {}),
    }
    path = work / f"{bundled.stem}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"# {bundled.name} reading {train_root}\n" + yaml.safe_dump(config, sort_keys=False)
    )
    return path


def _run(command: list[str], env: dict[str, str]) -> float:
    print("$", shlex.join(command), flush=True)
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    return round(time.perf_counter() - started, 1)


def _scores(run_dir: Path) -> dict[str, float]:
    with open(run_dir / "global_results-val.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    return {k: float(v) for k, v in row.items() if v}


def _write_report(
    args: argparse.Namespace,
    record: dict,
    scores: dict[str, dict[str, float]],
    commands: dict[str, list[str]],
    config: Path,
) -> None:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    lines = [
        "# Tiny RGMP trained on a CPU: J on held-out synthetic videos",
        "",
        f"`python benchmarks/train_tiny.py --config {args.config}"
        f"{f' --time-budget {args.time_budget:g}' if args.time_budget else ''} "
        f"--threads {args.threads} --size {args.size} --train-sequences {args.train_sequences} "
        f"--val-sequences {args.val_sequences}`",
        "",
        "| held-out videos | J-Mean | J&F-Mean | F-Mean | J-Decay | first-frame J-Mean |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {LABELS[name]} ({args.val_sequences} videos) | **{v['J-Mean']:.3f}** | "
            f"{v['J&F-Mean']:.3f} | {v['F-Mean']:.3f} | {v['J-Decay']:.3f} | "
            f"{v['first-frame J-Mean']:.3f} |"
            for name, v in scores.items()
        ),
        "",
        "| training | value |",
        "|---|---:|",
        f"| steps done | {record['steps']} |",
        f"| training time (engine's clock) | {record['training_s']:.0f} s |",
        f"| `vosbench train` command, wall clock | {record['train_command_s']:.0f} s |",
        f"| clips per second (mean over log lines) | {record['clips_per_s']} |",
        f"| final training loss | {record['final_loss']} |",
        f"| writing the videos (not counted) | {record['data_s']:.0f} s |",
        "",
        f"Conditions: {args.threads} torch thread(s), time budget {_budget(args)}, synthetic "
        f"videos {args.size}, 40 frames ({args.train_sequences} training videos with 1-3 objects; "
        f"held-out videos from the generator's `val` seed stream), CPU {cpu_model()} "
        f"({os.cpu_count()} cores), load average at the end "
        f"{', '.join(f'{v:.2f}' if isinstance(v, float) else str(v) for v in load)}, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}. Test protocol: RGMP's at the "
        "scale the config's validation section names (single scale), soft aggregation of several "
        "objects; J and F by `vosbench eval` (DAVIS semi-supervised protocol).",
        "",
        "Commands run:",
        "",
        "```bash",
        *(shlex.join(c) for c in commands.values()),
        "```",
        "",
        f"Config ({config.name}):",
        "",
        "```yaml",
        config.read_text().rstrip(),
        "```",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
