"""LVOS evaluation speed: ``vosbench eval`` vs the official lvos-evaluation, one worker each.

Workloads (each generated once under --workdir and reused): ``vosbench synth --layout lvos``
with VIDEOS videos of FRAMES frames at 854x480 (1-3 objects, annotations every 5th frame) and
the synthetic ``noisy`` predictions of every frame, one per ``--workload VIDEOSxFRAMES``. The
default runs two: ``4x300``, a small one whose time is mostly each tool's start-up, and
``50x574``, the size of LVOS v1's validation split (50 videos; LVOS v1 has 126,280 frames in
220 videos, 574 per video, at 6 fps, and is scored at 480p). LVOS v2's validation split is
larger still (140 videos; 296,401 frames in 720 videos, 412 per video).

Each tool runs end to end in its own subprocess (interpreter start, imports, reading, scoring,
writing its CSVs), --repeats times per workload, in turn; the tables show median wall times
and the two tools' ``global_results-valid.csv`` must be identical. ``vosbench eval`` loads
numpy with one OpenBLAS thread (scoring does no linear algebra), so the official code is timed
twice in each turn: as it runs out of the box, and with ``OPENBLAS_NUM_THREADS=1`` too.

The official evaluator is NOT part of vosbench: pass --official PATH (a checkout of github
LingyiHongfd/lvos-evaluation) and --python (an interpreter with numpy < 2, which its code
needs). It runs as its own ``evaluation_method.py --mp_nums 1``, from a scratch folder holding
the workload's ``unseen_videos.txt`` (it reads the list from its working folder).

Both tools run as installed code runs: each child may cache its bytecode (in a scratch folder
under --workdir, ``PYTHONPYCACHEPREFIX``, so nothing is written into either checkout, whatever
``PYTHONDONTWRITEBYTECODE`` says here), and one untimed warm-up run of each fills that cache
and the file cache before the timed runs. The tables report the machine's load average.

Usage::

    python benchmarks/lvos_speed.py --official ../refs/lvos-evaluation \\
        --python ../refs/lvos-venv/bin/python --repeats 5 --out results/lvos_speed.md
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
    """This environment, with bytecode cached under ``workdir`` (as an installed package has it)
    and OpenBLAS left to its default thread count (each tool as it runs out of the box)."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(workdir / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("OPENBLAS_NUM_THREADS", None)
    return env


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


SHAPES = {
    (4, 300): "a small workload: mostly each tool's start-up",
    (50, 574): "the size of LVOS v1's validation split: 50 videos of its average length",
}


def parse_workload(text: str) -> tuple[int, int]:
    """``VIDEOSxFRAMES`` as two positive integers."""
    videos, sep, frames = text.lower().partition("x")
    if not (sep and videos.isdigit() and frames.isdigit() and int(videos) and int(frames)):
        raise argparse.ArgumentTypeError(f"expected VIDEOSxFRAMES (e.g. 4x300), got {text!r}")
    return int(videos), int(frames)


def scored_counts(gt: Path) -> tuple[int, int]:
    """(objects, object-frames scored): each object's range loses its first and last frame."""
    meta = json.loads((gt / SPLIT / f"{SPLIT}_meta.json").read_text())
    ranges = [
        int(o["frame_range"]["frame_nums"])
        for video in meta["videos"].values()
        for o in video["objects"].values()
    ]
    return len(ranges), sum(n - 2 for n in ranges)


def measure(a: argparse.Namespace, videos: int, frames: int) -> dict:
    """Time both tools on one workload; the tables' facts."""
    workdir = a.workdir / f"{videos}x{frames}"
    workdir.mkdir(parents=True, exist_ok=True)
    gt, pred = workload(workdir, videos, frames)
    scratch = workdir / "official-cwd"
    scratch.mkdir(exist_ok=True)
    shutil.copy(gt / SPLIT / "unseen_videos.txt", scratch / "unseen_videos.txt")
    (scratch / "unsupervised_videos.txt").write_text("")
    official_out = workdir / "official-results"
    vosbench_out = workdir / "vosbench-results"
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

    one_thread = dict(env, OPENBLAS_NUM_THREADS="1")  # what vosbench eval asks for itself

    def run_official(environment: dict[str, str]) -> float:
        shutil.rmtree(official_out, ignore_errors=True)
        shutil.copytree(pred, official_out)  # it writes its CSVs into the results folder
        return timed(official_command, environment, cwd=scratch)

    print(f"{videos}x{frames}: warm-up ...", file=sys.stderr)
    run_official(env), timed(vosbench_command, env)  # warm-up: bytecode and file caches
    times: dict[str, list[float]] = {"official": [], "official-blas1": [], "vosbench": []}
    loads = [os.getloadavg()[0]]
    for k in range(a.repeats):  # alternate, so that load on the machine hits all alike
        times["official"].append(run_official(env))
        times["official-blas1"].append(run_official(one_thread))
        times["vosbench"].append(timed(vosbench_command, env))
        loads.append(os.getloadavg()[0])
        print(f"{videos}x{frames}: run {k + 1} of {a.repeats}", file=sys.stderr)
    name = f"global_results-{SPLIT}.csv"
    objects, object_frames = scored_counts(gt)
    return {
        "videos": videos,
        "frames": frames,
        "objects": objects,
        "object_frames": object_frames,
        "times": times,
        "loads": loads,
        "same": (official_out / name).read_text() == (vosbench_out / name).read_text(),
    }


def section(m: dict) -> list[str]:
    official = statistics.median(m["times"]["official"])
    official_blas1 = statistics.median(m["times"]["official-blas1"])
    ours = statistics.median(m["times"]["vosbench"])
    shape = SHAPES.get((m["videos"], m["frames"]))
    what = f" ({shape})" if shape else ""
    return [
        f"## {m['videos']} videos x {m['frames']} frames",
        "",
        f"{m['videos'] * m['frames']} frames at 854x480, {m['objects']} objects, "
        f"{m['object_frames']} object-frames scored{what}. Load average (1 min) during the "
        f"runs: {min(m['loads']):.1f} to {max(m['loads']):.1f} on {os.cpu_count()} cores.",
        "",
        "| tool | median (s) | runs (s) | speed-up |",
        "|---|---:|---|---:|",
        f"| official | {official:.2f} | {runs(m, 'official')} | 1.0 |",
        f"| official, `OPENBLAS_NUM_THREADS=1` | {official_blas1:.2f} | "
        f"{runs(m, 'official-blas1')} | {official / official_blas1:.2f}x |",
        f"| vosbench | {ours:.2f} | {runs(m, 'vosbench')} | {official / ours:.1f}x |",
        "",
        f"vosbench against the official code with one OpenBLAS thread, as `vosbench eval` "
        f"loads numpy: {official_blas1 / ours:.1f}x.",
        "",
        f"`global_results-{SPLIT}.csv` identical: {'yes' if m['same'] else 'NO'}",
        "",
    ]


def runs(m: dict, tool: str) -> str:
    return ", ".join(f"{t:.2f}" for t in m["times"][tool])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path, required=True)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vosbench-lvos-speed"))
    parser.add_argument(
        "--workload",
        type=parse_workload,
        action="append",
        metavar="VIDEOSxFRAMES",
        help="a workload to time (repeatable; default: 4x300 and 50x574)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    a = parser.parse_args()
    measured = [measure(a, videos, frames) for videos, frames in a.workload or list(SHAPES)]
    commit = subprocess.run(
        ["git", "-C", str(a.official), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    lines = [
        "# LVOS evaluation speed: vosbench vs the official lvos-evaluation",
        "",
        "Workloads: `vosbench synth --layout lvos` (854x480, 1-3 objects, annotations every 5th "
        "frame), `noisy` predictions of every frame; official evaluator lvos-evaluation "
        f"{commit} (`evaluation_method.py --mp_nums 1`).",
        f"Machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, numpy {np.__version__} (vosbench). Median wall time of "
        f"{a.repeats} alternating end-to-end runs, one worker each, after one untimed warm-up "
        "run of each (bytecode cached, as installed code runs).",
        "",
    ]
    for m in measured:
        lines += section(m)
    text = "\n".join(lines)
    print(text)
    if a.out:
        a.out.write_text(text)
    if not all(m["same"] for m in measured):
        raise SystemExit("the global tables differ")


if __name__ == "__main__":
    main()
