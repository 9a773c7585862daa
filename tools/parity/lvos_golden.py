"""Record the LVOS golden set: the official evaluator run on tests/lvos_cases.py's data.

The official evaluator (github LingyiHongfd/lvos-evaluation) is NOT part of vosbench: pass the
path of a checkout. It runs unchanged, in a subprocess, as its own ``evaluation_method.py``
(``--mp_nums 1``), from a scratch folder holding the case's ``unseen_videos.txt`` and
``unsupervised_videos.txt`` (the script reads both lists from its working folder). Its
full-precision numbers are read from the script's globals after it ran; its two CSVs are
copied as written.

Semi-supervised cases: ``noisy`` (tests/lvos_cases.py's predictions), ``first-frame`` and
``flow`` (what ``vosbench run --method first-frame|flow --dataset lvos`` writes, so the
official evaluator is shown to read the runner's output of both baselines). Unsupervised cases
(``lvos_cases.build_unsupervised``): ``unsup-multiple`` and ``unsup-multiple-extra`` (task
``unsupervised_multiple``), ``unsup-single`` (``unsupervised_single``). Usage::

    python tools/parity/lvos_golden.py --official /path/to/lvos-evaluation --python VENV/bin/python
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: tools/parity/<this file>
sys.path.insert(0, str(ROOT / "tests"))

DRIVER = r"""
import json, runpy, sys
repo, out = sys.argv[1], sys.argv[2]
sys.argv = ["evaluation_method.py"] + sys.argv[3:]
sys.path.insert(0, repo)
g = runpy.run_path(repo + "/evaluation_method.py", run_name="__main__")
def floats(xs): return [float(x) for x in xs]
record = {
    "global": dict(zip(g["g_measures"], floats(g["g_res"].ravel()))),
    "objects": list(g["J"]["M_per_object"]),
    "J": floats(g["J"]["M"]), "J_recall": floats(g["J"]["R"]), "J_decay": floats(g["J"]["D"]),
    "F": floats(g["F"]["M"]), "F_recall": floats(g["F"]["R"]), "F_decay": floats(g["F"]["D"]),
    "V": [float(g["V"]["M_per_object"][k]) for k in g["J"]["M_per_object"]],
}
json.dump(record, open(out, "w"), indent=1)
"""


def run_official(
    python: str,
    official: Path,
    gt: Path,
    results: Path,
    split: str,
    scratch: Path,
    task: str = "semi-supervised",
) -> dict:
    for name in (f"global_results-{split}.csv", f"per-sequence_results-{split}.csv"):
        (results / name).unlink(missing_ok=True)  # it would reuse them instead of evaluating
    scratch.mkdir(parents=True, exist_ok=True)
    shutil.copy(gt / split / "unseen_videos.txt", scratch / "unseen_videos.txt")
    listed = gt / split / "unsupervised_videos.txt"
    if listed.is_file():
        shutil.copy(listed, scratch / "unsupervised_videos.txt")
    else:
        (scratch / "unsupervised_videos.txt").write_text("")
    out = scratch / "record.json"
    args = [
        "--lvos_path", str(gt / split), "--set", split, "--mp_nums", "1",
        "--task", task, "--results_path", str(results),
    ]  # fmt: skip
    done = subprocess.run(
        [python, "-c", DRIVER, str(official.resolve()), str(out), *args],
        cwd=scratch,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the official evaluator failed:\n{done.stdout}\n{done.stderr}")
    record = json.loads(out.read_text())
    record["task"] = task
    record["csv"] = {
        name: (results / name).read_text()
        for name in (f"global_results-{split}.csv", f"per-sequence_results-{split}.csv")
    }
    return record


def baseline_run(method: str, gt: Path, work: Path) -> Path:
    """The masks ``vosbench run --method METHOD`` writes on the cases (not scored by it)."""
    from vosbench.cli import main

    run = work / f"run-{method}"
    code = main(
        ["run", "--method", method, "--dataset", "lvos", "--root", str(gt), "--device",
         "cpu", "--output", str(run), "--no-eval"]
    )  # fmt: skip
    if code != 0:
        raise SystemExit(f"vosbench run --method {method} failed")
    return run / "masks"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path, required=True)
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="The interpreter for the official code (it needs numpy < 2: it stores 1-element "
        "arrays into array cells, an error under numpy 2)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "golden" / "lvos")
    args = parser.parse_args()
    import lvos_cases

    commit = subprocess.run(
        ["git", "-C", str(args.official), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gt, pred = lvos_cases.build(work / "data")
        cases = {"noisy": (gt, pred, "semi-supervised")}
        for method in ("first-frame", "flow"):
            cases[method] = (gt, baseline_run(method, gt, work), "semi-supervised")
        unsup_gt, unsup = lvos_cases.build_unsupervised(work / "unsupervised")
        for name, task in (
            ("multiple", "unsupervised_multiple"),
            ("multiple-extra", "unsupervised_multiple"),
            ("single", "unsupervised_single"),
        ):
            cases[f"unsup-{name}"] = (unsup_gt, unsup[name], task)
        args.out.mkdir(parents=True, exist_ok=True)
        for name, (truth, results, task) in cases.items():
            record = run_official(
                args.python, args.official, truth, results, lvos_cases.SPLIT, work / name, task
            )
            record["official_commit"] = commit
            (args.out / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
            print(f"{name}: {record['global']}")


if __name__ == "__main__":
    main()
