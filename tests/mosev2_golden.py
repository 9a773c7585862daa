"""The MOSEv2 golden cases: synthetic data in the MOSEv2 layout regenerated from a seed, and
the predictions the official scorer was given (tests/golden/mose2/cases.json names them).

``first-frame`` predictions are the runner's (``vosbench run --method first-frame``);
``edited`` ones are perturbed ground truth with crafted edge cases on top: an object never
predicted, frames predicted empty, and an id that is no object of the meta.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).parent / "golden" / "mose2"


def cases() -> dict[str, dict]:
    return json.loads((GOLDEN / "cases.json").read_text(encoding="utf-8"))


def write_data(case: dict, root: Path) -> Path:
    from vosbench.benchmarks.mose_v2 import write_synthetic
    from vosbench.datasets.synthetic import SyntheticConfig

    return write_synthetic(root, SyntheticConfig(**case["config"]))


def run_first_frame(data: Path, run: Path) -> Path:
    """The runner's masks for ``data`` (``vosbench run --method first-frame --no-eval``)."""
    from vosbench.cli import main

    args = ["run", "--method", "first-frame", "--dataset", "mosev2", "--root", str(data)]
    code = main([*args, "-o", str(run), "--no-eval", "--warmup", "0"])
    if code != 0:
        raise RuntimeError(f"vosbench run exited with {code}")
    return run / "masks"


def write_edited(data: Path, out: Path) -> Path:
    from vosbench.datasets import load_dataset
    from vosbench.datasets.synthetic import write_predictions
    from vosbench.io import read_mask, write_mask

    dataset = load_dataset("mosev2", data)
    write_predictions(dataset, out, quality="noisy", seed=3)
    for index, sequence in enumerate(dataset):
        for t, stem in enumerate(sequence.frames):
            path = out / sequence.name / f"{stem}.png"
            labels = read_mask(path).copy()
            if index == 0:  # its first object is never predicted
                labels[labels == sequence.object_ids[0]] = 0
            if index == 1 and 5 <= t < 10:  # nothing predicted on these frames
                labels[:] = 0
            if index == 2:  # an id the meta does not list: the scorer ignores it
                labels[2:8, 2:8] = 200
            write_mask(path, np.ascontiguousarray(labels))
    return out


def predictions(case: dict, data: Path, work: Path) -> Path:
    if case["predictions"] == "first-frame":
        return run_first_frame(data, work / "run")
    return write_edited(data, work / "predictions")
