"""VOST: the loader, the synthetic layout, and vosbench against the official evaluator's numbers
(``golden/vost/official.json``, see its README) on seeded edge cases and on the runner's output."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from vost_sav_scenarios import build_vost

from vosbench.benchmarks import vost
from vosbench.datasets import load_dataset
from vosbench.datasets.synthetic import resolve_config
from vosbench.errors import DatasetError
from vosbench.metrics import Protocol, evaluate

GOLDEN = json.loads((Path(__file__).parent / "golden" / "vost" / "official.json").read_text())
KEYS = dict(zip(vost.GLOBAL_COLUMNS, ("J_M", "J_R", "J_D", "J_last_M", "J_last_R", "J_last_D")))


def digest(folder: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(folder.rglob("*.png")):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def same(value: float, expected: float | None, tolerance: float = 1e-12) -> bool:
    return math.isnan(value) if expected is None else abs(value - expected) <= tolerance


def score(gt: Path, results: Path, decay_mode: str = "davis2017-numpy1"):
    dataset = load_dataset("vost", gt, "val")
    return evaluate(
        dataset, results, Protocol(extra_ids="ignore", decay_mode=decay_mode), workers=1
    )


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    folders = build_vost(tmp_path_factory.mktemp("vost"))
    assert digest(folders["gt"].parent) == GOLDEN["scenarios_blake2b"], "scenario data changed"
    return folders


def test_per_object_and_global_numbers_equal_official(scenarios):
    expected = GOLDEN["scenarios"]
    result = score(scenarios["gt"], scenarios["results"])
    assert [o.name for o in result.objects] == [o["name"] for o in expected["objects"]]
    for obj, golden in zip(result.objects, expected["objects"]):
        stats = vost.object_statistics(obj.j, obj.decay_mode)
        for column, key in KEYS.items():
            assert same(stats[column], golden[key]), (obj.name, column)
    totals = vost.global_metrics(result.objects)
    for column in vost.GLOBAL_COLUMNS:
        assert same(totals[column], expected["global"][column]), column
    assert result.rules is vost.VOST_RULES  # the catalogue entry's rules
    for column, value in result.global_metrics().items():
        assert same(value, expected["global"][column]), column
    assert result.rules.official_outputs(result) == vost.official_files(result.objects, "val")
    files = vost.official_files(result.objects, "val")
    assert files["global"] == (
        "global_results-val.csv",
        expected["official_csv"]["global_results-val.csv"],
    )
    per_sequence = expected["official_csv"]["per-sequence_results-val.csv"]
    assert files["per-sequence"] == ("per-sequence_results-val.csv", per_sequence)


def test_exact_decay_differs_only_past_256_frames(scenarios):
    expected = {o["name"]: o for o in GOLDEN["scenarios"]["objects"]}
    result = score(scenarios["gt"], scenarios["results"], decay_mode="exact")
    for obj in result.objects:
        stats = vost.object_statistics(obj.j, obj.decay_mode)
        golden = expected[obj.name]
        n = len(obj.frames)
        assert same(stats["J-Decay"], golden["J_D"]) == (n < 256), obj.name
        assert same(stats["J_last-Decay"], golden["J_last_D"]) == (n - vost.j_last_start(n) < 256)
        assert np.isfinite(stats["J-Decay"]) and np.isfinite(stats["J_last-Decay"])


def test_j_last_is_the_last_quarter():
    assert [vost.j_last_start(n) for n in (1, 2, 3, 4, 9, 10, 1030)] == [0, 1, 2, 3, 6, 7, 772]
    j = np.arange(10) / 10
    assert vost.object_statistics(j)["J_last-Mean"] == pytest.approx(np.mean(j[7:]))


def test_rules_seen_in_the_scenarios(scenarios):
    """The quirks the golden numbers pin down, stated directly."""
    result = score(scenarios["gt"], scenarios["results"])
    by_name = {o.name: o for o in result.objects}
    # ids 1 … max(frame 0): id 2 is scored though absent from frame 0, id 4 (later) is not
    assert {"late_objects_1", "late_objects_2", "late_objects_3"} <= set(by_name)
    assert "late_objects_4" not in by_name
    # non-contiguous ids 1 and 3: id 2 is never in the GT; J = 1 except where it is predicted
    assert list(by_name["non_contiguous_2"].j) == [1, 1, 0, 1, 1, 1, 1, 1]
    # an empty prediction scores 0 wherever the object is present
    assert not by_name["empty_prediction_2"].j.any()


def synthetic_layout(tmp_path: Path) -> Path:
    spec = GOLDEN["runner_dataset"]
    config = resolve_config(
        spec["preset"], num_frames=spec["num_frames"], num_sequences=spec["num_sequences"]
    )
    return vost.write_synthetic(tmp_path / "vost", config)


def test_synthetic_layout(tmp_path):
    root = synthetic_layout(tmp_path)
    dataset = load_dataset("vost", root)
    assert dataset.split == "val" and dataset.names == ["synth-000", "synth-001"]
    sequence = dataset.sequences[0]
    assert len(sequence.frames) == 25 and sequence.frames[0] == "frame00000"
    assert sequence.annotated == tuple(f"frame{t:05d}" for t in range(0, 25, 6))
    assert (root / "ImageSets" / "val.txt").read_text() == "synth-000\nsynth-001\n"
    assert (
        vost.write_synthetic(root, resolve_config("small", num_frames=25, num_sequences=2)) == root
    )
    with pytest.raises(DatasetError, match="another synthetic dataset"):
        vost.write_synthetic(root, "small")
    with pytest.raises(DatasetError, match="12 frames annotated every 6th leave no annotated"):
        vost.write_synthetic(tmp_path / "short", "small")  # 2 annotations: nothing to score
    assert not (tmp_path / "short").exists()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["first-frame", "flow"])
def test_runner_output_scores_as_official(method, tmp_path):
    from vosbench.runner import RunSettings, run

    root = synthetic_layout(tmp_path)
    dataset = load_dataset("vost", root)
    result = run(
        method, dataset, output=tmp_path / "run", settings=RunSettings(device="cpu", evaluate=False)
    )
    masks = result.store.masks_dir
    assert sorted(p.name for p in masks.iterdir()) == dataset.names
    assert len(list((masks / "synth-000").glob("frame*.png"))) == 25  # every frame
    golden = GOLDEN["runner"][method]
    if digest(masks) != golden["masks_blake2b"]:
        pytest.skip(
            f"{method} wrote other masks on this machine; the golden numbers are for its own"
        )
    scored = score(root, masks)
    for obj, expected in zip(scored.objects, golden["objects"], strict=True):
        assert obj.name == expected["name"]
        stats = vost.object_statistics(obj.j, obj.decay_mode)
        for column, key in KEYS.items():
            assert same(stats[column], expected[key]), (obj.name, column)
    assert (
        vost.official_files(scored.objects, "val")["global"][1]
        == golden["official_csv"]["global_results-val.csv"]
    )


def test_loader_errors(tmp_path):
    root = synthetic_layout(tmp_path)
    with pytest.raises(DatasetError, match="no split 'valid'"):
        load_dataset("vost", root, "valid")
    with pytest.raises(DatasetError, match="no split list for vost/train; lists found there: val"):
        load_dataset("vost", root, "train")
    with pytest.raises(DatasetError, match="only the semi-supervised task"):
        load_dataset("vost", root, task="unsupervised")
    with pytest.raises(DatasetError, match="unknown VOST image folder"):
        load_dataset("vost", root, images="../x")
    (root / "ImageSets" / "val.txt").write_text("synth-000\n..\n")
    with pytest.raises(DatasetError, match="parent folder"):
        load_dataset("vost", root)
    (root / "ImageSets" / "val.txt").write_text("synth-000\nsynth-009\n")
    with pytest.raises(DatasetError, match="1 of 2 sequences of vost/val"):
        load_dataset("vost", root)
    assert load_dataset("vost", root, allow_missing=True).names == ["synth-000"]


def test_extra_ids_are_dropped_by_default_as_officially(scenarios):
    """VOST's evaluator drops prediction ids above the ground truth's (with a warning): that is
    the default its rules give, DAVIS's stays an error."""
    dataset = load_dataset("vost", scenarios["gt"], "val")
    protocol = Protocol.for_dataset(dataset, decay_mode="davis2017-numpy1")
    assert protocol.extra_ids == "ignore" and protocol.official_under(vost.VOST_RULES)
    assert Protocol.for_dataset(load_dataset("synthetic")).extra_ids == "error"
    result = evaluate(dataset, scenarios["results"], protocol, workers=1)
    for column, value in result.global_metrics().items():
        assert same(value, GOLDEN["scenarios"]["global"][column]), column
    assert any("were dropped" in warning for warning in result.warnings)
    assert result.protocol_record()["official"] is True
