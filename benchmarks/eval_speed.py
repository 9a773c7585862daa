#!/usr/bin/env python
"""Evaluation speed and memory: ``vosbench eval`` vs the official DAVIS-2017 evaluator and
vos-benchmark.

Workload (generated once and reused): the synthetic ``bench`` preset, 30 sequences x 70 frames at
854x480 with 1-3 objects (``vosbench.datasets.synthetic.write_synthetic``) and its ``noisy``
predictions (``write_predictions``), i.e. the size of DAVIS-2017 val. ``--gt``/``--results``
benchmark any other DAVIS-2017-layout folder instead.

Each tool runs end to end in its own subprocess (interpreter start, imports, reading, scoring,
writing), ``--repeats`` times per worker count; the table shows the median wall time. Memory is
the peak, over the run, of the sum over the whole process tree (the tool and its workers) of
PSS (``/proc/<pid>/smaps_rollup``; shared pages counted once) and of RSS, polled every
``--poll-ms`` milliseconds.

The reference tools are NOT part of vosbench. Pass paths to checkouts of them:

* ``--official PATH``: github davisvideochallenge/davis2017-evaluation. Its library
  (``davis2017.evaluation.DAVISEvaluation``) is imported from PATH at run time; the official
  evaluator is single-process, so it runs with 1 worker only. Its per-frame J and F (which it
  keeps internal) are captured by wrapping its per-sequence functions, unchanged.
* ``--vos-benchmark PATH``: github hkchengrex/vos-benchmark, run through its ``benchmark()``
  function with its process pool set to the worker count. Its per-frame values come from a
  separate, untimed pass through its ``Evaluator`` class.

A tool whose path is not given is skipped; ``--no-vosbench`` skips vosbench itself.

Correctness: vosbench's ``per-frame_results-<split>.csv`` (Sequence,Object,Frame,J,F) and
vos-benchmark's per-frame values are joined with the official per-frame values on (sequence,
object id, frame stem); the table reports the max absolute difference and any unmatched rows.

Usage::

    python benchmarks/eval_speed.py --official ../refs/davis2017-evaluation \\
        --vos-benchmark ../refs/vos-benchmark --out results/eval_speed.md
    python benchmarks/eval_speed.py --workers 1 2 4 --repeats 5 --workdir /tmp/bench ...
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SPLIT = "val"
PRESET = "bench"
QUALITY = "noisy"
PAGE = os.sysconf("SC_PAGE_SIZE")


# =============================================================================================
# memory: poll the process tree
# =============================================================================================


def _ppid_map() -> dict[int, int]:
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        # comm may contain spaces/parens: fields after the last ')'
        rest = data[data.rfind(b")") + 2 :].split()
        out[int(d)] = int(rest[1])
    return out


def _descendants(root: int) -> list[int]:
    parents = _ppid_map()
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, ()))
    return tree


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


def _pss(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


class TreeMemoryPoller(threading.Thread):
    """Peak of the summed RSS and PSS of a process and all its descendants.

    RSS (``/proc/<pid>/statm``, cheap) is read every ``interval``; the process tree is rescanned
    and PSS (``/proc/<pid>/smaps_rollup``) read every ``slow_every`` polls, which keeps the
    poller's own CPU use to a few percent of one core.
    """

    def __init__(self, pid: int, interval: float = 0.02, slow_every: int = 5):
        super().__init__(daemon=True)
        self.pid, self.interval, self.slow_every = pid, interval, max(1, slow_every)
        self.peak_rss = self.peak_pss = 0
        self.max_procs = 0
        self.samples = 0
        self._halt = threading.Event()
        self._pss_ok = True

    def run(self) -> None:
        tree = [self.pid]
        n = 0
        while not self._halt.is_set():
            slow = n % self.slow_every == 0
            n += 1
            if slow:
                tree = _descendants(self.pid)
            rss = pss = alive = 0
            for pid in tree:
                try:
                    r = _rss(pid)
                    p = _pss(pid) if (slow and self._pss_ok) else 0
                except PermissionError:
                    self._pss_ok = False  # no smaps_rollup access: report RSS only
                    continue
                except (OSError, ValueError, IndexError):
                    continue  # the process ended between scan and read
                rss, pss, alive = rss + r, pss + p, alive + 1
            if alive:
                self.samples += 1
                self.peak_rss = max(self.peak_rss, rss)
                if slow:
                    self.peak_pss = max(self.peak_pss, pss)
                self.max_procs = max(self.max_procs, alive)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def timed_run(
    cmd: list[str],
    log: Path,
    poll_s: float,
    env: dict | None = None,
    timeout: float | None = None,
    pss_every: int = 5,
) -> dict:
    """Run ``cmd``, return wall time, exit status and peak tree memory."""
    with open(log, "wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        poller = TreeMemoryPoller(proc.pid, poll_s, pss_every)
        poller.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        wall = time.perf_counter() - t0
        poller.stop()
    return {
        "wall_s": wall,
        "rc": rc,
        "peak_rss": poller.peak_rss,
        "peak_pss": poller.peak_pss,
        "processes": poller.max_procs,
        "samples": poller.samples,
        "log": str(log),
    }


# =============================================================================================
# in-subprocess drivers for the reference tools (their code is imported from the given checkout)
# =============================================================================================


def _official_main(argv: list[str]) -> int:
    """Run the official DAVISEvaluation; write per-frame CSV and global JSON."""
    ap = argparse.ArgumentParser(prog="eval_speed.py _official")
    ap.add_argument("--checkout", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--split", default=SPLIT)
    ap.add_argument("--task", default="semi-supervised")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    sys.path.insert(0, os.path.abspath(a.checkout))
    import functools

    import davis2017.evaluation as official_eval
    import numpy as np
    import tqdm as tqdm_module
    from davis2017.davis import DAVIS
    from davis2017.evaluation import DAVISEvaluation

    official_eval.tqdm = functools.partial(tqdm_module.tqdm, disable=True)
    seen: list[dict] = []
    get_all_masks = DAVIS.get_all_masks
    semi = DAVISEvaluation.__dict__["_evaluate_semisupervised"].__func__
    unsup = DAVISEvaluation.__dict__["_evaluate_unsupervised"].__func__

    def get_all_masks_rec(self, sequence, separate_objects_masks=False):
        out = get_all_masks(self, sequence, separate_objects_masks)
        seen.append({"sequence": sequence, "stems": list(out[2])})
        return out

    def semi_rec(*args, **kwargs):
        j, f = semi(*args, **kwargs)
        seen[-1]["J"], seen[-1]["F"] = np.array(j), np.array(f)
        return j, f

    def unsup_rec(*args, **kwargs):
        j, f = unsup(*args, **kwargs)
        seen[-1]["J"], seen[-1]["F"] = np.array(j), np.array(f)
        return j, f

    DAVIS.get_all_masks = get_all_masks_rec
    DAVISEvaluation._evaluate_semisupervised = staticmethod(semi_rec)
    DAVISEvaluation._evaluate_unsupervised = staticmethod(unsup_rec)
    t0 = time.perf_counter()
    evaluation = DAVISEvaluation(davis_root=a.root, task=a.task, gt_set=a.split)
    res = evaluation.evaluate(a.results)
    scoring_s = time.perf_counter() - t0
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "per-frame.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Sequence", "Object", "Frame", "J", "F"])
        for s in seen:
            stems = s["stems"][1:-1] if a.task == "semi-supervised" else s["stems"]
            for k in range(s["J"].shape[0]):
                for stem, jv, fv in zip(stems, s["J"][k], s["F"][k]):
                    w.writerow([s["sequence"], k + 1, stem, repr(float(jv)), repr(float(fv))])
    jm, fm = float(np.mean(res["J"]["M"])), float(np.mean(res["F"]["M"]))
    with open(out / "global.json", "w") as fh:
        json.dump(
            {
                "J&F": (jm + fm) / 2,
                "J": jm,
                "F": fm,
                "objects": len(res["J"]["M"]),
                "scoring_s": scoring_s,
            },
            fh,
        )
    return 0


def _link_farm(src: Path, names: list[str], dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for n in names:
        os.symlink(os.path.abspath(src / n), dst / n)
    return dst


def _split_names(root: Path, split: str) -> list[str]:
    text = (root / "ImageSets" / "2017" / f"{split}.txt").read_text()
    return [x.strip() for x in text.splitlines() if x.strip()]


def _vos_benchmark_main(argv: list[str]) -> int:
    """Run vos-benchmark's benchmark() on the split's sequences (via symlinks, since it writes
    results.csv into the prediction folder)."""
    ap = argparse.ArgumentParser(prog="eval_speed.py _vos_benchmark")
    ap.add_argument("--checkout", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--split", default=SPLIT)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-frame", action="store_true", help="untimed per-frame pass instead")
    a = ap.parse_args(argv)
    sys.path.insert(0, os.path.abspath(a.checkout))
    root, results, out = Path(a.root), Path(a.results), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    names = _split_names(root, a.split)
    gt_dir = root / "Annotations" / "480p"
    if a.per_frame:
        import numpy as np
        from PIL import Image
        from vos_benchmark.evaluator import Evaluator

        with open(out / "per-frame.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["Sequence", "Object", "Frame", "J", "F"])
            for seq in names:
                frames = sorted(os.listdir(gt_dir / seq))[1:-1]  # as its VideoEvaluator
                ev = Evaluator(name=seq)
                for fr in frames:
                    ev.feed_frame(
                        np.array(Image.open(results / seq / fr)),
                        np.array(Image.open(gt_dir / seq / fr)),
                    )
                stems = [os.path.splitext(x)[0] for x in frames]
                for obj in sorted(ev.objects_in_gt):
                    js, fs = ev.object_iou[obj], ev.boundary_f[obj]
                    # scored from the object's first appearance: align to the last frames
                    for stem, jv, fv in zip(stems[len(stems) - len(js) :], js, fs):
                        w.writerow([seq, int(obj), stem, repr(float(jv)), repr(float(fv))])
        return 0
    from vos_benchmark.benchmark import benchmark

    gt = _link_farm(gt_dir, names, out / "gt")
    pred = _link_farm(results, names, out / "pred")
    t0 = time.perf_counter()
    jf, j, f, objs = benchmark(
        [str(gt)], [str(pred)], True, a.processes, verbose=False, skip_first_and_last=True
    )
    scoring_s = time.perf_counter() - t0
    n_obj = sum(len(iou) for iou, _ in objs[0].values())
    with open(out / "global.json", "w") as fh:
        json.dump(
            {
                "J&F": jf[0] / 100,
                "J": j[0] / 100,
                "F": f[0] / 100,
                "objects": n_obj,
                "scoring_s": scoring_s,
            },
            fh,
        )
    return 0


# =============================================================================================
# workload
# =============================================================================================


def make_workload(workdir: Path) -> tuple[Path, Path]:
    """The bench preset (GT) and its noisy predictions, generated once under ``workdir``."""
    from vosbench.datasets.synthetic import (
        resolve_config,
        synthetic_dataset,
        write_predictions,
        write_synthetic,
    )

    gt, pred = workdir / "gt", workdir / "predictions" / QUALITY
    marker = workdir / ".complete"
    if marker.is_file():
        return gt, pred
    t0 = time.perf_counter()
    print(f"generating the workload under {workdir} (once) ...", flush=True)
    write_synthetic(gt, PRESET, split=SPLIT)
    write_predictions(
        synthetic_dataset(resolve_config(PRESET), SPLIT), pred, quality=QUALITY, overwrite=True
    )
    marker.write_text(f"{PRESET} {SPLIT} {QUALITY}\n")
    print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    return gt, pred


def describe_workload(gt: Path, pred: Path, split: str) -> dict:
    from PIL import Image

    names = _split_names(gt, split)
    frames = 0
    size_set = set()
    for n in names:
        files = sorted((gt / "Annotations" / "480p" / n).glob("*.png"))
        frames += len(files)
        if files:
            with Image.open(files[0]) as im:
                size_set.add(im.size)
    return {
        "sequences": len(names),
        "frames": frames,
        "sizes": sorted(f"{w}x{h}" for w, h in size_set),
    }


# =============================================================================================
# per-frame comparison
# =============================================================================================


def _norm_frame(x: str) -> str:
    x = x.strip()
    return str(int(x)) if x.isdigit() else x


def read_per_frame(path: Path) -> dict[tuple[str, int, str], tuple[float, float]]:
    out = {}
    with open(path, newline="") as fh:
        r = csv.DictReader(fh)
        cols = {c.lower(): c for c in (r.fieldnames or [])}
        need = ["sequence", "object", "frame", "j", "f"]
        missing = [c for c in need if c not in cols]
        if missing:
            raise ValueError(f"{path}: missing columns {missing} (has {r.fieldnames})")
        for row in r:
            key = (
                row[cols["sequence"]].strip(),
                int(float(row[cols["object"]])),
                _norm_frame(row[cols["frame"]]),
            )
            out[key] = (float(row[cols["j"]]), float(row[cols["f"]]))
    return out


def compare(ref: dict, other: dict) -> dict:
    common = ref.keys() & other.keys()
    dj = df = 0.0
    for k in common:
        (j0, f0), (j1, f1) = ref[k], other[k]
        dj = max(dj, _absdiff(j0, j1))
        df = max(df, _absdiff(f0, f1))
    return {
        "matched": len(common),
        "only_official": len(ref.keys() - other.keys()),
        "only_tool": len(other.keys() - ref.keys()),
        "max_dJ": dj,
        "max_dF": df,
    }


def _absdiff(a: float, b: float) -> float:
    if math.isnan(a) and math.isnan(b):
        return 0.0
    if math.isnan(a) or math.isnan(b):
        return math.inf
    return abs(a - b)


# =============================================================================================
# tools
# =============================================================================================


def vosbench_cmd(gt: Path, pred: Path, split: str, workers: int, out: Path) -> list[str]:
    exe = shutil.which("vosbench")
    head = (
        [exe]
        if exe
        else [sys.executable, "-c", "import sys; from vosbench.cli import main; sys.exit(main())"]
    )
    cmd = head + [
        "eval",
        "--dataset",
        "davis2017",
        "--root",
        str(gt),
        "--split",
        split,
        "--task",
        "semi-supervised",
        str(pred),
        "--workers",
        str(workers),
        "--output",
        str(out),
    ]
    if _vosbench_has_option("--force"):
        cmd.append("--force")
    return cmd


_HELP_CACHE: dict[str, str] = {}


def _vosbench_has_option(opt: str) -> bool:
    if "help" not in _HELP_CACHE:
        exe = shutil.which("vosbench")
        head = (
            [exe]
            if exe
            else [
                sys.executable,
                "-c",
                "import sys; from vosbench.cli import main; sys.exit(main())",
            ]
        )
        try:
            _HELP_CACHE["help"] = subprocess.run(
                head + ["eval", "--help"], capture_output=True, text=True, timeout=120
            ).stdout
        except (OSError, subprocess.SubprocessError):
            _HELP_CACHE["help"] = ""
    return opt in _HELP_CACHE["help"]


def _read_global_csv(path: Path) -> dict | None:
    try:
        with open(path, newline="") as fh:
            row = next(csv.DictReader(fh))
        return {"J&F": float(row["J&F-Mean"]), "J": float(row["J-Mean"]), "F": float(row["F-Mean"])}
    except (OSError, StopIteration, KeyError, ValueError):
        return None


def _git_head(path: str) -> str:
    try:
        return subprocess.check_output(
            ["git", "-C", path, "rev-parse", "--short", "HEAD"],
            text=True,
            stderr=subprocess.DEVNULL,
        ).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _mb(x: float) -> str:
    return f"{x / 2**20:,.0f}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_official":
        return _official_main(argv[1:])
    if argv and argv[0] == "_vos_benchmark":
        return _vos_benchmark_main(argv[1:])
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--official", help="checkout of davisvideochallenge/davis2017-evaluation")
    ap.add_argument(
        "--vos-benchmark", dest="vos_benchmark", help="checkout of hkchengrex/vos-benchmark"
    )
    ap.add_argument(
        "--no-vosbench", action="store_true", help="do not run vosbench (test the harness)"
    )
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "vosbench-eval-speed",
        help="where the workload and run outputs go (workload reused between invocations)",
    )
    ap.add_argument(
        "--gt", type=Path, help="use this DAVIS-2017-layout root instead of generating the workload"
    )
    ap.add_argument("--results", type=Path, help="predictions for --gt")
    ap.add_argument("--split", default=SPLIT)
    ap.add_argument("--poll-ms", type=float, default=20.0, help="RSS polling interval")
    ap.add_argument(
        "--pss-every",
        type=int,
        default=5,
        help="rescan the process tree and read PSS every N polls (1 = every poll)",
    )
    ap.add_argument("--timeout", type=float, default=3600.0, help="per run, seconds")
    ap.add_argument("--no-frame-check", action="store_true", help="skip the per-frame comparison")
    ap.add_argument(
        "--out", type=Path, help="write the Markdown report here (e.g. results/eval_speed.md)"
    )
    a = ap.parse_args(argv)
    if (a.gt is None) != (a.results is None):
        ap.error("--gt and --results go together")
    for opt in ("official", "vos_benchmark"):
        p = getattr(a, opt)
        if p and not Path(p).is_dir():
            ap.error(f"--{opt.replace('_', '-')} {p}: not a folder")

    a.workdir.mkdir(parents=True, exist_ok=True)
    if a.gt:
        gt, pred = a.gt.resolve(), a.results.resolve()
    else:
        gt, pred = make_workload(a.workdir)
    work = describe_workload(gt, pred, a.split)
    runs_dir = a.workdir / "runs"
    if runs_dir.exists():
        shutil.rmtree(runs_dir)
    runs_dir.mkdir(parents=True)
    me = [sys.executable, os.path.abspath(__file__)]
    poll = a.poll_ms / 1000.0

    # (label, workers, command builder(out_dir) -> cmd, global reader, per-frame csv path)
    plans = []
    if a.official:
        plans.append(
            (
                "official davis2017-evaluation",
                1,
                lambda out, n: (
                    me
                    + [
                        "_official",
                        "--checkout",
                        a.official,
                        "--root",
                        str(gt),
                        "--results",
                        str(pred),
                        "--split",
                        a.split,
                        "--out",
                        str(out),
                    ]
                ),
            )
        )
    if a.vos_benchmark:
        for n in a.workers:
            plans.append(
                (
                    "vos-benchmark",
                    n,
                    lambda out, n: (
                        me
                        + [
                            "_vos_benchmark",
                            "--checkout",
                            a.vos_benchmark,
                            "--root",
                            str(gt),
                            "--results",
                            str(pred),
                            "--split",
                            a.split,
                            "--processes",
                            str(n),
                            "--out",
                            str(out),
                        ]
                    ),
                )
            )
    if not a.no_vosbench:
        for n in a.workers:
            plans.append(("vosbench", n, lambda out, n: vosbench_cmd(gt, pred, a.split, n, out)))

    rows = []
    for label, n, build in plans:
        runs = []
        for r in range(a.repeats):
            out = runs_dir / f"{label.split()[0]}-w{n}-r{r}"
            out.mkdir(parents=True)
            res = timed_run(
                build(out, n), out / "log.txt", poll, timeout=a.timeout, pss_every=a.pss_every
            )
            res["out"] = out
            runs.append(res)
            status = "ok" if res["rc"] == 0 else f"EXIT {res['rc']} (see {res['log']})"
            print(
                f"{label:32s} workers={n} run {r + 1}/{a.repeats}: {res['wall_s']:7.2f} s  "
                f"peak PSS {_mb(res['peak_pss'])} MB, RSS {_mb(res['peak_rss'])} MB, "
                f"{res['processes']} procs  {status}",
                flush=True,
            )
            if res["rc"] != 0:
                break
        ok = [x for x in runs if x["rc"] == 0]
        row = {
            "tool": label,
            "workers": n,
            "runs": [x["wall_s"] for x in runs],
            "failed": len(ok) < len(runs),
            "median_s": statistics.median([x["wall_s"] for x in ok]) if ok else math.nan,
            "peak_pss": max((x["peak_pss"] for x in ok), default=0),
            "peak_rss": max((x["peak_rss"] for x in ok), default=0),
            "procs": max((x["processes"] for x in ok), default=0),
            "last_out": (ok or runs)[-1]["out"],
        }
        last = row["last_out"]
        if label.startswith("vosbench"):
            row["global"] = _read_global_csv(last / f"global_results-{a.split}.csv")
            row["per_frame_csv"] = last / f"per-frame_results-{a.split}.csv"
        else:
            try:
                row["global"] = json.loads((last / "global.json").read_text())
            except (OSError, ValueError):
                row["global"] = None
            row["per_frame_csv"] = last / "per-frame.csv" if label.startswith("official") else None
        rows.append(row)

    # per-frame comparison against the official values
    official_rows = [r for r in rows if r["tool"].startswith("official") and not r["failed"]]
    ref = (
        read_per_frame(official_rows[0]["per_frame_csv"])
        if official_rows and not a.no_frame_check
        else None
    )
    vb_frames = None
    if ref is not None and a.vos_benchmark:
        out = runs_dir / "vos-benchmark-per-frame"
        print("vos-benchmark per-frame pass (untimed) ...", flush=True)
        res = timed_run(
            me
            + [
                "_vos_benchmark",
                "--checkout",
                a.vos_benchmark,
                "--root",
                str(gt),
                "--results",
                str(pred),
                "--split",
                a.split,
                "--out",
                str(out),
                "--per-frame",
            ],
            runs_dir / "vos-benchmark-per-frame.log",
            poll,
            timeout=a.timeout,
        )
        if res["rc"] == 0:
            vb_frames = compare(ref, read_per_frame(out / "per-frame.csv"))
    for row in rows:
        row["check"] = None
        if ref is None:
            continue
        if row["tool"].startswith("official"):
            row["check"] = {
                "matched": len(ref),
                "only_official": 0,
                "only_tool": 0,
                "max_dJ": 0.0,
                "max_dF": 0.0,
                "reference": True,
            }
        elif row["tool"] == "vos-benchmark":
            row["check"] = vb_frames
        elif row["per_frame_csv"] is not None and Path(row["per_frame_csv"]).is_file():
            try:
                row["check"] = compare(ref, read_per_frame(row["per_frame_csv"]))
            except ValueError as e:
                row["check"] = {"error": str(e)}

    report = render(rows, work, a, gt, pred)
    print()
    print(report)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(report)
        print(f"written to {a.out}")
    return 0 if all(not r["failed"] for r in rows) else 1


def render(rows: list[dict], work: dict, a: argparse.Namespace, gt: Path, pred: Path) -> str:
    official = next((r for r in rows if r["tool"].startswith("official") and not r["failed"]), None)
    lines = ["# Evaluation speed: vosbench vs the official DAVIS evaluator and vos-benchmark", ""]
    src = "synthetic `bench` preset, `noisy` predictions" if not a.gt else f"`{gt}` / `{pred}`"
    objects = next(
        (r["global"]["objects"] for r in rows if r.get("global") and "objects" in r["global"]), None
    )
    lines.append(
        f"Workload: {src}; {work['sequences']} sequences, {work['frames']} frames "
        f"({', '.join(work['sizes'])})"
        + (f", {objects} objects" if objects else "")
        + f", split `{a.split}`, semi-supervised (first and last frame not scored)."
    )
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(x.split(":", 1)[1].strip() for x in fh if x.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    import numpy

    lines.append(
        f"Machine: {os.cpu_count()} logical CPUs ({cpu}), Python {platform.python_version()}, "
        f"numpy {numpy.__version__}."
    )
    refs = []
    if a.official:
        refs.append(f"davis2017-evaluation @ {_git_head(a.official)}")
    if a.vos_benchmark:
        refs.append(f"vos-benchmark @ {_git_head(a.vos_benchmark)}")
    if refs:
        lines.append(
            "Reference tools: "
            + ", ".join(refs)
            + " (run from their checkouts, not part of vosbench)."
        )
    lines.append(
        f"Each cell: median wall time of {a.repeats} end-to-end runs in a fresh subprocess; memory "
        "= peak over the run of the summed PSS (RSS) of the tool's whole process tree, RSS polled "
        f"every {a.poll_ms:g} ms, PSS every {a.poll_ms * a.pss_every:g} ms. Per-frame check: max "
        "|Δ| of J and F against the official per-frame values, joined on (sequence, object, frame)."
    )
    lines.append("")
    lines.append(
        "| tool | workers | median time (s) | runs (s) | speed-up vs official | peak PSS (MB) | "
        "peak RSS (MB) | J&F | per-frame max abs ΔJ / ΔF | rows matched |"
    )
    lines.append("|---|---:|---:|---|---:|---:|---:|---:|---|---:|")
    for r in rows:
        runs = ", ".join(f"{x:.1f}" for x in r["runs"])
        sp = (
            f"{official['median_s'] / r['median_s']:.1f}×"
            if official and r["median_s"] == r["median_s"]
            else "—"
        )
        g = r.get("global")
        jf = f"{g['J&F']:.3f}" if g else "—"
        c = r.get("check")
        if r["failed"]:
            chk, matched = "**run failed**", "—"
        elif c is None:
            chk, matched = "not checked", "—"
        elif "error" in c:
            chk, matched = c["error"], "—"
        elif c.get("reference"):
            chk, matched = "(reference)", f"{c['matched']}"
        else:
            chk = f"{c['max_dJ']:.3g} / {c['max_dF']:.3g}"
            matched = f"{c['matched']}"
            if c["only_official"] or c["only_tool"]:
                matched += f" (+{c['only_official']} official only, +{c['only_tool']} tool only)"
        median = f"{r['median_s']:.2f}" if r["median_s"] == r["median_s"] else "—"
        lines.append(
            f"| {r['tool']} | {r['workers']} | {median} | {runs} | {sp} | {_mb(r['peak_pss'])} | "
            f"{_mb(r['peak_rss'])} | {jf} | {chk} | {matched} |"
        )
    lines.append("")
    notes = []
    if official:
        notes.append("The official evaluator is single-process; it has no worker option.")
    if any(r["tool"] == "vos-benchmark" for r in rows):
        notes.append(
            "vos-benchmark's per-frame values come from an untimed pass through its `Evaluator`; "
            "it scores an object only from its first appearance and adds GT ids the official "
            "protocol ignores (e.g. 255), so rows can differ in number; its J&F is over its own "
            "object set."
        )
    for n in notes:
        lines.append(f"* {n}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
