"""Run the official VOST evaluator (github TRI-ML/VOST ``evaluation/``, checked out outside this
repository, unmodified) on a results folder and record what it computes, for tests/golden/vost.

    VENV/bin/python tools/parity/vost_official.py --official /path/to/VOST/evaluation \\
        GT_ROOT RESULTS_DIR OUT.json

The official code needs numpy < 1.24 (it uses ``np.bool``): run this script with a virtual
environment that has it. Recorded: per object J and J_last Mean / Recall / Decay at full
precision (``Evaluation.evaluate``), their global means, and the two CSV files
``evaluation_method.py`` writes (it reuses CSVs it finds, so stale ones are removed first).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

CSV_NAMES = ("global_results-val.csv", "per-sequence_results-val.csv")


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", required=True, type=Path, help="VOST's evaluation/ folder")
    parser.add_argument("gt", type=Path)
    parser.add_argument("results", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    # The official script runs in its own folder: every path must be absolute.
    args.official, args.out = args.official.resolve(), args.out.resolve()
    args.gt, args.results = args.gt.resolve(), args.results.resolve()
    sys.path.insert(0, str(args.official))
    import numpy as np
    from source.evaluation import Evaluation

    measures = Evaluation(dataset_root=str(args.gt), gt_set="val").evaluate(str(args.results))
    j, j_last = measures["J"], measures["J_last"]
    objects = [
        {
            "name": name,
            **{f"J_{s}": _number(j[s][i]) for s in ("M", "R", "D")},
            **{f"J_last_{s}": _number(j_last[s][i]) for s in ("M", "R", "D")},
        }
        for i, name in enumerate(j["M_per_object"])
    ]
    for name in CSV_NAMES:
        (args.results / name).unlink(missing_ok=True)
    command = [sys.executable, "evaluation_method.py", "--results_path", str(args.results)]
    command += ["--dataset_path", str(args.gt), "--set", "val"]
    done = subprocess.run(command, cwd=args.official, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    csv = {name: (args.results / name).read_text() for name in CSV_NAMES}
    for name in CSV_NAMES:
        (args.results / name).unlink()
    means = {
        f"{label}-{stat}": _number(np.mean(values[key]))
        for label, values in (("J", j), ("J_last", j_last))
        for stat, key in (("Mean", "M"), ("Recall", "R"), ("Decay", "D"))
    }
    record = {"numpy": np.__version__, "objects": objects, "global": means, "official_csv": csv}
    args.out.write_text(json.dumps(record, indent=1))
    print("recorded", len(objects), "objects")


if __name__ == "__main__":
    main()
