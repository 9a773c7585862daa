"""The baselines on real DAVIS-2016 data (needs $VOSBENCH_DATA): flow must beat first-frame."""

from __future__ import annotations

import pytest

from vosbench.datasets import load_dataset
from vosbench.io import read_mask
from vosbench.runner import RunSettings, run

pytestmark = pytest.mark.real_data
SEQUENCES = ["car-shadow", "blackswan"]


def test_flow_beats_first_frame_on_davis2016(davis2016_root, tmp_path):
    data = load_dataset("davis2016", davis2016_root, "val", sequences=SEQUENCES)
    scores = {}
    for method in ("first-frame", "flow"):
        result = run(method, data, output=tmp_path / method, settings=RunSettings(warmup_frames=2))
        assert result.ok, result.failures
        scores[method] = result.evaluation.global_metrics()
        manifest = result.store.manifest()
        assert manifest["dataset"]["root"] == str(davis2016_root.resolve())
        assert manifest["dataset"]["sequences"] == SEQUENCES
    # Masks are binary 0/1 palette PNGs the size of the annotations.
    mask = read_mask(tmp_path / "flow" / "masks" / "blackswan" / "00010.png")
    assert mask.shape == (480, 854) and set(mask.flat) <= {0, 1}
    assert scores["flow"]["J-Mean"] > scores["first-frame"]["J-Mean"] + 0.15, scores
    assert scores["flow"]["F-Mean"] > scores["first-frame"]["F-Mean"] + 0.15, scores
