"""Regenerate the MOSEv2 golden set from the official scorer (needs its checkout).

    PYTHONPATH=.shim:. python tests/golden/mose2/generate.py /work/refs/MOSE-api

For each case of cases.json: write the synthetic data and the predictions (tests/mosev2_golden.py),
run score.py through tools/parity/mosev2_score.py, keep its metrics.json (total_time removed),
scores.txt and the unrounded values (raw.json) under <case>/.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "tests"))

import mosev2_golden  # noqa: E402


def main(checkout: str) -> None:
    tools = Path(checkout) / "MOSEv2" / "sam2_rcms" / "tools"
    commit = subprocess.run(
        ["git", "-C", checkout, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    for name, case in mosev2_golden.cases().items():
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            data = mosev2_golden.write_data(case, work / "data")
            predictions = mosev2_golden.predictions(case, data, work)
            out, target = work / "official", HERE / name
            target.mkdir(exist_ok=True)
            subprocess.run(
                [
                    sys.executable,
                    str(REPO / "tools" / "parity" / "mosev2_score.py"),
                    "--tools",
                    str(tools),
                    "--raw",
                    str(target / "raw.json"),
                    "--",
                    "--meta",
                    str(data / "meta_valid.json"),
                    "--ann",
                    str(data / "valid" / "Annotations"),
                    "--pred",
                    str(predictions),
                    "--output",
                    str(out),
                ],
                check=True,
                capture_output=True,
                cwd=work,
            )
            metrics = json.loads((out / "metrics.json").read_text())
            metrics.pop("total_time")
            (target / "metrics.json").write_text(json.dumps(metrics, indent=4, sort_keys=True))
            (target / "scores.txt").write_text((out / "scores.txt").read_text())
    (HERE / "COMMIT").write_text(f"henghuiding/MOSE-api {commit}\n")


if __name__ == "__main__":
    main(sys.argv[1])
