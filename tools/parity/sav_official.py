"""Run the official SA-V evaluator (github facebookresearch/sam2 ``sav_dataset/``, checked out
outside this repository, unmodified) on a predictions folder and record what it computes, for
tests/golden/sav.

    python tools/parity/sav_official.py --official /path/to/sam2/sav_dataset \\
        GT_ROOT PRED_ROOT OUT.json

Recorded: per video and object folder the J and F its ``benchmark`` function returns, the
global J&F, J and F, and the ``results.csv`` that ``sav_evaluator.py`` writes at one worker.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", required=True, type=Path, help="sam2's sav_dataset/ folder")
    parser.add_argument("gt", type=Path)
    parser.add_argument("pred", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    # The official script runs in its own folder: every path must be absolute.
    args.official, args.out = args.official.resolve(), args.out.resolve()
    args.gt, args.pred = args.gt.resolve(), args.pred.resolve()
    sys.path.insert(0, str(args.official))
    import numpy as np
    from utils.sav_benchmark import benchmark

    jf, j, f, per_video = benchmark(
        [str(args.gt)], [str(args.pred)], False, 1, verbose=False, skip_first_and_last=True
    )
    objects = {
        video: {str(o): {"J": float(iou[o]), "F": float(boundary[o])} for o in iou}
        for video, (iou, boundary) in per_video[0].items()
    }
    results_csv = args.pred / "results.csv"
    results_csv.unlink(missing_ok=True)
    command = [sys.executable, "sav_evaluator.py", "--gt_root", str(args.gt)]
    command += ["--pred_root", str(args.pred), "-n", "1"]
    done = subprocess.run(command, cwd=args.official, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    csv = results_csv.read_text()
    results_csv.unlink()
    printed = [line for line in done.stdout.splitlines() if not line.startswith("Time taken")]
    record = {
        "numpy": np.__version__,
        "global": {"J&F": float(jf[0]), "J": float(j[0]), "F": float(f[0])},
        "objects": objects,
        "results_csv": csv,
        "stdout": "\n".join(printed),
    }
    args.out.write_text(json.dumps(record, indent=1))
    print("recorded", sum(len(v) for v in objects.values()), "objects")


if __name__ == "__main__":
    main()
