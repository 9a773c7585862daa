"""vosbench against numbers the official DAVIS evaluator produced on the same inputs.

``golden/official_scenarios.json`` holds the per-frame J and F, per-object statistics and
CSV text that github davisvideochallenge/davis2017-evaluation (commit ac7c43f, numpy 2)
computed on the scenarios that ``scenarios.py`` builds. vosbench must agree to 1e-12 per
frame and write the same official CSVs (its Decay in ``davis2017`` mode, as the official
one; in ``exact`` mode only objects with ≥ 256 frames may differ).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scenarios import ERROR_SCENARIOS, SCENARIOS, build_scenario

from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.errors import InputError
from vosbench.metrics import Protocol, evaluate
from vosbench.metrics.outputs import global_csv, per_sequence_csv

GOLDEN = json.loads((Path(__file__).parent / "golden" / "official_scenarios.json").read_text())


def score(name, tmp_path, decay_mode="davis2017"):
    info = build_scenario(name, tmp_path)
    dataset = load_dataset("davis2017", info["gt_root"], info["split"], task=info["task"])
    return evaluate(
        dataset, info["results"], Protocol(task=info["task"], decay_mode=decay_mode), workers=1
    )


def same(a, b, tolerance=1e-12):
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and (
            b is None or (isinstance(b, float) and math.isnan(b))
        )
    return abs(a - b) <= tolerance


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_per_frame_and_per_object_equal_official(name, tmp_path):
    expected = GOLDEN["scenarios"][name]
    result = score(name, tmp_path)
    for sequence, seq_expected in expected["sequences"].items():
        objects = [o for o in result.objects if o.sequence == sequence]
        assert len(objects) == len(seq_expected["objects"])
        for obj in objects:
            golden = seq_expected["objects"][str(obj.index)]
            assert list(obj.frames) == seq_expected["frames"]
            assert np.max(np.abs(obj.j - np.array(golden["J"]))) <= 1e-12
            assert np.max(np.abs(obj.f - np.array(golden["F"]))) <= 1e-12
            if "proposal_id" in golden:
                assert (obj.object_id, obj.proposal_id) == (golden["gt_id"], golden["proposal_id"])
            for key, value in zip(("J_M", "J_R", "J_D"), obj.j_stats):
                assert same(value, golden[key]), key
            for key, value in zip(("F_M", "F_R", "F_D"), obj.f_stats):
                assert same(value, golden[key]), key
    for key, value in result.global_metrics().items():
        assert same(value, expected["global"][key]), key


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_official_csv_text_is_identical(name, tmp_path):
    expected = GOLDEN["scenarios"][name]["official_csv"]
    result = score(name, tmp_path)
    assert global_csv(result) == expected["global"]
    assert per_sequence_csv(result) == expected["per_sequence"]


def test_exact_decay_differs_only_for_long_objects(tmp_path):
    golden = GOLDEN["decay_long_300"]
    result = score("long_300", tmp_path, decay_mode="exact")
    assert len(result.objects) == 2
    for obj in result.objects:
        assert len(obj.frames) == golden["evaluated_frames"] == 298
        assert golden["official_J_D"][str(obj.index)] is None  # official: NaN
        assert same(obj.j_stats.decay, golden["correct_J_D"][str(obj.index)], 1e-9)
        assert same(obj.f_stats.decay, golden["correct_F_D"][str(obj.index)], 1e-9)


@pytest.mark.parametrize("name", sorted(ERROR_SCENARIOS))
def test_official_failures_become_clear_errors(name, tmp_path, capsys):
    info = build_scenario(name, tmp_path)
    args = [
        "eval",
        info["results"],
        "--dataset",
        "davis2017",
        "--root",
        info["gt_root"],
        "--split",
        info["split"],
        "--task",
        info["task"],
        "-j",
        "1",
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    expected_words = {
        "extra_id": "ground truth defines only",
        "missing_frame": "prediction file not found",
        "size_mismatch": "(W×H) but ground truth",
        "rgb_prediction": "expected an indexed (palette) or greyscale PNG",
        "too_short": "too short",
        "void_in_prediction": "label 255",
    }[info["expect"]]
    assert expected_words in err
    assert info["results"] in err or info["expect"] == "too_short"
    dataset = load_dataset(
        "davis2017", info["gt_root"], info["split"], task=info["task"]
    )  # the ground truth is fine
    with pytest.raises(InputError, match=re.escape(expected_words)):
        evaluate(dataset, info["results"], workers=1)
