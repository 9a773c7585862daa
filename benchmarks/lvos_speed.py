"""LVOS evaluation speed: ``vosbench eval`` vs the official lvos-evaluation, one worker each.

Workload (generated once under --workdir and reused): ``vosbench synth --layout lvos`` with
--videos videos of --frames frames at 854x480 (1-3 objects, annotations every 5th frame) and
the synthetic ``noisy`` predictions. Each tool runs end to end in its own subprocess
(interpreter start, imports, reading, scoring, writing its CSVs), --repeats times; the table
shows the median wall time and the two tools' ``global_results-valid.csv`` must be identical.

The official evaluator is NOT part of vosbench: pass --official PATH (a checkout of github
LingyiHongfd/lvos-evaluation) and --python (an interpreter with numpy < 2, which its code
needs). It runs as its own ``evaluation_method.py --mp_nums 1``, from a scratch folder holding
the workload's ``unseen_videos.txt`` (it reads the list from its working folder).

Both tools run as installed code runs: each child may cache its bytecode (in a scratch folder
under --workdir, ``PYTHONPYCACHEPREFIX``, so nothing is written into either checkout, whatever
``PYTHONDONTWRITEBYTECODE`` says here), and one untimed warm-up run of each fills that cache
and the file cache before the timed runs. The table reports the machine's load average.

Usage::

    python benchmarks/lvos_speed.py --official ../refs/lvos-evaluation \\
        --python ../refs/lvos-venv/bin/python --out results/lvos_speed.md
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

import numpy as np

VOSBENCH = [sys.executable, "-c", "import sys; from vosbench.cli import main; sys.exit(main())"]
SPLIT = "valid"


def workload(workdir: Path, videos: int, frames: int) -> tuple[Path, Path]:
    from vosbench.benchmarks.lvos import write_synthetic
    from vosbench.datasets import load_dataset
    from vosbench.datasets.synthetic import SyntheticConfig, write_predictions

    gt, pred = workdir / "gt", workdir / "pred"
    if not (pred / "done").is_file():
        print(f"generating the workload under {workdir} (once) ...", file=sys.stderr)
        config = SyntheticConfig(num_sequences=videos, num_frames=frames, seed=11)
        write_synthetic(gt, config, split=SPLIT)
        write_predictions(load_dataset("lvos", gt, SPLIT), pred, overwrite=True)
        (pred / "done").write_text("")
    return gt, pred


def child_environment(workdir: Path) -> dict[str, str]:
    """This environment, with bytecode cached under ``workdir`` (as an installed package has it)."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(workdir / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path, required=True)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vosbench-lvos-speed"))
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    a = parser.parse_args()
    gt, pred = workload(a.workdir, a.videos, a.frames)
    scratch = a.workdir / "official-cwd"
    scratch.mkdir(exist_ok=True)
    shutil.copy(gt / SPLIT / "unseen_videos.txt", scratch / "unseen_videos.txt")
    (scratch / "unsupervised_videos.txt").write_text("")
    official_out = a.workdir / "official-results"
    vosbench_out = a.workdir / "vosbench-results"
    env = child_environment(a.workdir)
    official_command = [
        a.python, str(a.official.resolve() / "evaluation_method.py"), "--lvos_path",
        str(gt / SPLIT), "--set", SPLIT, "--mp_nums", "1", "--task", "semi-supervised",
        "--results_path", str(official_out),
    ]  # fmt: skip
    vosbench_command = [
        *VOSBENCH, "eval", str(pred), "--dataset", "lvos", "--root", str(gt), "-j", "1", "-q",
        "-o", str(vosbench_out),
    ]  # fmt: skip

    def run_official() -> float:
        shutil.rmtree(official_out, ignore_errors=True)
        shutil.copytree(pred, official_out)  # it writes its CSVs into the results folder
        return timed(official_command, env, cwd=scratch)

    run_official(), timed(vosbench_command, env)  # warm-up: bytecode and file caches
    times: dict[str, list[float]] = {"official": [], "vosbench": []}
    loads = [os.getloadavg()[0]]
    for _ in range(a.repeats):  # alternate, so that load on the machine hits both alike
        times["official"].append(run_official())
        times["vosbench"].append(timed(vosbench_command, env))
        loads.append(os.getloadavg()[0])
    name = f"global_results-{SPLIT}.csv"
    same = (official_out / name).read_text() == (vosbench_out / name).read_text()
    commit = subprocess.run(
        ["git", "-C", str(a.official), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    official, ours = statistics.median(times["official"]), statistics.median(times["vosbench"])
    lines = [
        "# LVOS evaluation speed: vosbench vs the official lvos-evaluation",
        "",
        f"Workload: `vosbench synth --layout lvos`, {a.videos} videos x {a.frames} frames "
        "(854x480, 1-3 objects, annotations every 5th frame), `noisy` predictions; "
        f"official evaluator lvos-evaluation {commit} (`evaluation_method.py --mp_nums 1`).",
        f"Machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, numpy {np.__version__} (vosbench). Median wall time of "
        f"{a.repeats} alternating end-to-end runs, one worker each, after one untimed warm-up "
        "run of each (bytecode cached, as installed code runs). Load average (1 min) during "
        f"the runs: {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores.",
        "",
        "| tool | median (s) | runs (s) | speed-up |",
        "|---|---:|---|---:|",
        f"| official | {official:.2f} | {', '.join(f'{t:.1f}' for t in times['official'])} | 1.0 |",
        f"| vosbench | {ours:.2f} | {', '.join(f'{t:.2f}' for t in times['vosbench'])} | "
        f"{official / ours:.1f}x |",
        "",
        f"`{name}` identical: {'yes' if same else 'NO'}",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        a.out.write_text(text)
    if not same:
        raise SystemExit("the global tables differ")


if __name__ == "__main__":
    main()
