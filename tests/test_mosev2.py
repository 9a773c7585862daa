"""MOSEv2: its measures against hand-computed cases, the loader's errors, the synthetic layout,
and the golden set recorded from the official score.py (tests/golden/mose2/)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from mosev2_golden import GOLDEN, cases, predictions, write_data

from vosbench.benchmarks import mose_v2 as rules
from vosbench.datasets import load_dataset
from vosbench.errors import DatasetError, EvaluationError
from vosbench.io import write_mask
from vosbench.metrics.api import FrameContext, get_metric
from vosbench.metrics.boundary import seg2bmap
from vosbench.metrics.evaluator import evaluate
from vosbench.metrics.mose_v2 import (
    disk_offsets_kernel,
    f_with_radius,
    smoothed_jaccard,
    tolerances,
)
from vosbench.metrics.outputs import write_outputs

# --------------------------------------------------------------------------------------------
# The measures


def test_smoothed_jaccard_never_zero_for_an_absent_object():
    assert smoothed_jaccard(0, 0) == 1.0
    assert smoothed_jaccard(0, 9) == 0.1  # 9 false-positive pixels of an absent object
    assert smoothed_jaccard(3, 3) == 1.0
    pred = np.zeros((6, 6), bool)
    gt = np.zeros((6, 6), bool)
    gt[2, 2] = True  # one-pixel object, predicted empty: (0 + 1) / (1 + 1)
    assert get_metric("J-smoothed").frame(FrameContext(pred, gt, 1)) == 0.5


def test_tolerances_follow_area_with_the_cap():
    cap = 0.008 * math.sqrt(480**2 + 854**2)
    assert tolerances((480, 854), 100) == (8, 1)  # ceil(0.1 * 10) = 1 < cap: DAVIS's 8 for F
    assert tolerances((480, 854), 3600) == (8, 6)
    assert tolerances((480, 854), 4900) == (8, 7)
    # ceil(0.1 * 71) = 8 reaches the cap 7.837…: both measures then use that raw radius
    assert tolerances((480, 854), 71 * 71) == (cap, cap) == (7.837207665999416,) * 2
    assert tolerances((480, 854), 0) == (cap, cap)  # empty object: ceil(0.1 * diagonal)
    assert tolerances((375, 500), 10**6) == (5, 5)  # a whole cap is the ordinary disk


@pytest.mark.parametrize("radius", [1.0, 1.49, 1.866, 2.5, 3.2, 5.0, 7.836618022592868])
def test_disk_kernel_is_skimage_disk(radius):
    from skimage.morphology import disk

    np.testing.assert_array_equal(disk_offsets_kernel(radius), disk(np.float64(radius)))


def _official_style_f(pred: np.ndarray, gt: np.ndarray, radius: float) -> float:
    """F on the full frame with the disk dilation the official code uses (independent of the
    crop and of vosbench's rectangle decomposition)."""
    from skimage.morphology import disk

    pb, gb = seg2bmap(pred).astype(np.uint8), seg2bmap(gt).astype(np.uint8)
    element = disk(np.float64(radius)) if not float(radius).is_integer() else disk(int(radius))
    n_p, n_g = pb.sum(), gb.sum()
    if n_p == 0 or n_g == 0:
        return 1.0 if n_p == n_g else 0.0
    precision = (pb * cv2.dilate(gb, element)).sum() / n_p
    recall = (gb * cv2.dilate(pb, element)).sum() / n_g
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("radius", [1, 2, 1.866, 3.2, 5.16])
def test_f_with_radius_matches_full_frame_dilation(radius):
    rng = np.random.default_rng(int(radius * 1000))
    for _ in range(20):
        gt = np.zeros((40, 50), np.uint8)
        pred = np.zeros((40, 50), np.uint8)
        y, x = rng.integers(5, 30, size=2)
        cv2.ellipse(gt, (int(x), int(y)), (int(rng.integers(2, 12)), 5), 0, 0, 360, 1, -1)
        dy, dx = rng.integers(-4, 5, size=2)
        cv2.ellipse(
            pred, (int(x + dx), int(y + dy)), (6, int(rng.integers(1, 9))), 0, 0, 360, 1, -1
        )
        context = FrameContext(pred > 0, gt > 0, 1)
        pb, gb = context.boundaries
        expected = _official_style_f(pred, gt, radius)
        assert f_with_radius(pb, gb, radius) == pytest.approx(expected, abs=1e-15)


def test_adaptive_f_is_stricter_on_small_objects():
    """A 1-pixel shift of a 10x10 square: F (tolerance 8 at 480x854) forgives it, F-adaptive
    (tolerance ceil(0.1 * 10) = 1) forgives it too, a 3-pixel shift only F does."""
    gt = np.zeros((480, 854), bool)
    gt[100:110, 100:110] = True
    shifted = np.roll(gt, 3, axis=1)
    context = FrameContext(shifted, gt, 8)
    assert get_metric("F-mosev2").frame(context) == 1.0
    assert get_metric("F-adaptive").frame(context) < 1.0
    assert get_metric("absent").frame(context) == 0.0
    assert get_metric("absent").frame(FrameContext(shifted, np.zeros_like(gt), 8)) == 1.0


# --------------------------------------------------------------------------------------------
# Segments and the summaries


def test_segments_by_hand():
    absent = np.array([1, 1, 0, 0, 1, 1, 1, 0, 1], bool)
    # the first absent run starts at the first scored frame: not a disappearance
    assert rules.segments(absent) == ([(4, 7), (8, 9)], [(2, 4), (7, 8)])
    assert rules.segments(np.zeros(4, bool)) == ([], [])
    assert rules.segments(np.ones(4, bool)) == ([], [])


def test_object_summary_averages_segment_means():
    j = np.array([0.9, 0.5, 1.0, 0.2, 0.8, 0.6])
    f = np.array([0.8, 0.4, 1.0, 0.0, 0.6, 0.2])
    absent = np.array([0, 1, 1, 0, 1, 0], bool)
    summary = rules.object_summary(j, f, f * 0.5, absent)
    assert summary.j == pytest.approx(np.mean(j))
    assert summary.f == pytest.approx(np.mean(f) * 0.5)
    # disappearances [1, 3) and [4, 5): means 0.75 and 0.8 → 0.775; F: 0.7 and 0.6
    assert summary.disappear_j == pytest.approx(0.775)
    assert summary.disappear_f == pytest.approx(0.65)
    # reappearances [3, 4) and [5, 6)
    assert summary.reappear_j == pytest.approx(0.4)
    assert summary.reappear_f == pytest.approx(0.1)


def test_global_summary_skips_objects_without_segments():
    a = rules.ObjectSummary(0.5, 0.4, 0.3, 1.0, 0.8, 0.2, 0.0)
    b = rules.ObjectSummary(0.7, 0.6, 0.5)
    summary = rules.global_summary([a, b])
    assert summary["J"] == pytest.approx(0.6)
    assert summary["J&F_new"] == pytest.approx(0.55)
    assert summary["disappear_J&F_new"] == pytest.approx(0.9)
    assert summary["reappear_J&F_new"] == pytest.approx(0.1)
    nothing = rules.global_summary([b])
    assert math.isnan(nothing["disappear_J&F_new"])
    text = rules.scores_text(nothing)
    assert "disappear_J&F_new: nan\n" in text and ",nan," in text


def test_percent_rounds_as_numpy():
    rng = np.random.default_rng(5)
    for value in rng.random(2000):
        assert rules.percent(value) == round(np.float64(value) * 100, 2)


# --------------------------------------------------------------------------------------------
# The loader


def _layout(root: Path, videos: dict, meta: object | None = None) -> Path:
    """A tiny MOSEv2 folder: ``videos`` maps a name to its label maps (one per frame)."""
    for name, frames in videos.items():
        for t, labels in enumerate(frames):
            write_mask(root / "valid" / "Annotations" / name / f"{t:05d}.png", labels)
    if meta is None:
        meta = {
            "videos": {
                name: {"length": len(frames), "height": 8, "width": 8, "objects": ["1"]}
                for name, frames in videos.items()
            }
        }
    text = meta if isinstance(meta, str) else json.dumps(meta)
    (root / "meta_valid.json").write_text(text, encoding="utf-8")
    return root


def _frames(count: int) -> list[np.ndarray]:
    labels = np.zeros((8, 8), np.uint8)
    labels[2:5, 2:5] = 1
    return [labels] * count


def test_loader_reads_meta_order_ids_and_names(tmp_path):
    meta = {
        "videos": {
            "b": {"length": 3, "height": 8, "width": 8, "objects": {"3": {}, "7": {}}},
            "a": {"length": 3, "height": None, "width": None, "objects": [1]},
        }
    }
    dataset = load_dataset("mosev2", _layout(tmp_path, {"a": _frames(3), "b": _frames(3)}, meta))
    assert dataset.names == ["b", "a"]
    assert dataset["b"].object_ids == (3, 7)
    assert dataset["b"].attributes["object_names"] == ("3", "7")
    assert "object_names" not in dataset.info  # only ids spelt other than as numbers
    assert dataset["a"].frames == ("00000", "00001", "00002")
    assert load_dataset("mose2", tmp_path).name == "mosev2"  # alias


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ("{not json", "is not valid JSON"),
        ({"vids": {}}, 'no "videos" object'),
        ({"videos": {}}, "lists no video"),
        ({"videos": {"..": {"length": 3, "objects": [1]}}}, "is the parent folder"),
        ({"videos": {"a": {"length": "3", "objects": [1]}}}, "'length' must be a positive"),
        ({"videos": {"a": {"length": 3, "objects": 1}}}, "'objects' must be a list"),
        ({"videos": {"a": {"length": 3, "objects": ["x"]}}}, "is not a whole number"),
        ({"videos": {"a": {"length": 3, "objects": [256]}}}, "is not a whole number"),
        ({"videos": {"a": {"length": 3, "objects": ["1", 1]}}}, "listed twice"),
        ({"videos": {"a": {"length": 3, "objects": []}}}, "lists no object"),
        ({"videos": {"a": {"length": 4, "objects": [1]}}}, "length 4"),
        ({"videos": {"a": {"length": 3, "height": 0, "objects": [1]}}}, "'height' must be"),
        ([1, 2], 'no "videos" object'),
    ],
)
def test_hostile_meta_is_named(tmp_path, meta, message):
    root = _layout(tmp_path, {"a": _frames(3)}, meta)
    with pytest.raises(DatasetError) as caught:
        load_dataset("mosev2", root)
    assert message in str(caught.value)
    assert "meta_valid.json" in str(caught.value) or "Annotations" in str(caught.value)


def test_loader_layout_errors(tmp_path):
    with pytest.raises(DatasetError, match="meta_valid.json"):
        load_dataset("mosev2", tmp_path)  # no meta
    root = _layout(tmp_path / "one", {"a": _frames(3), "stray": _frames(3)})
    meta = json.loads((root / "meta_valid.json").read_text())
    del meta["videos"]["stray"]
    (root / "meta_valid.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="not videos of meta_valid.json: stray"):
        load_dataset("mosev2", root)
    root = _layout(tmp_path / "two", {"a": _frames(3)})
    meta = json.loads((root / "meta_valid.json").read_text())
    meta["videos"]["gone"] = {"length": 3, "objects": [1]}
    (root / "meta_valid.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="1 of 2 sequences of mosev2/valid"):
        load_dataset("mosev2", root)
    assert load_dataset("mosev2", root, allow_missing=True).names == ["a"]
    root = _layout(tmp_path / "three", {"a": _frames(3)})
    write_mask(root / "valid" / "Annotations" / "a" / "x.png", _frames(1)[0])
    (root / "meta_valid.json").write_text(
        json.dumps({"videos": {"a": {"length": 4, "objects": [1]}}})
    )
    with pytest.raises(DatasetError, match="frame names must be numbers"):
        load_dataset("mosev2", root)
    with pytest.raises(DatasetError, match="no split 'train'"):
        load_dataset("mosev2", root, split="train")


def test_scoring_errors_name_the_file(tmp_path):
    root = _layout(tmp_path / "data", {"a": _frames(4), "b": _frames(4)})
    dataset = load_dataset("mosev2", root)
    results = tmp_path / "results"
    for name in ("a", "b"):
        for t in range(4):
            labels = _frames(1)[0].copy()
            labels[0, 0] = 9  # no object of the meta: the scorer ignores it
            write_mask(results / name / f"{t:05d}.png", labels)
    result = evaluate(dataset, results, workers=1)
    rows = rules.summaries(result)
    assert rows["a_1"].j == 1.0
    # On an 8x8 frame the capped radius 0.09 gives skimage an all-zero disk, which OpenCV
    # applies as a one-pixel shift: perfect masks score F = 1/6 (the official value too).
    assert rows["b_1"].f_new == rows["b_1"].f == pytest.approx(1 / 6, abs=1e-15)
    (results / "b" / "00002.png").unlink()
    with pytest.raises(EvaluationError, match="00002.png: prediction file not found"):
        evaluate(dataset, results, workers=1)
    write_mask(results / "b" / "00002.png", np.zeros((8, 9), np.uint8))
    with pytest.raises(EvaluationError, match="prediction is 9×8"):
        evaluate(dataset, results, workers=1)


def test_cli_eval_writes_the_official_files(tmp_path):
    from vosbench.cli import main

    root = _layout(tmp_path / "data", {"a": _frames(5)})
    meta = {"videos": {"a": {"length": 5, "height": 8, "width": 8, "objects": ["01"]}}}
    (root / "meta_valid.json").write_text(json.dumps(meta))
    for t in range(5):
        write_mask(tmp_path / "res" / "a" / f"{t:05d}.png", np.zeros((8, 8), np.uint8))
    out = tmp_path / "out"
    args = ["eval", "--dataset", "mosev2", "--root", str(root), str(tmp_path / "res")]
    assert main([*args, "-o", str(out), "-j", "1", "-q"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics) == ["a_01", "total_time"]  # the meta's spelling of the id
    # an empty prediction of a 9-pixel object: J = 1 / 10 on each of the 3 scored frames
    assert metrics["a_01"]["J"] == 10.0 and metrics["a_01"]["F_new"] == 0.0
    assert (out / "scores.txt").read_text().startswith("J&F_new: 5.0\nJ: 10.0\n")
    assert main([*args, "-o", str(out / "bad"), "--metrics", "J,F"]) == 1


# --------------------------------------------------------------------------------------------
# The synthetic layout


def test_synthetic_layout_has_disappearances_and_id_gaps(tmp_path):
    config = cases()["small-edited"]["config"]
    case = {"config": {**config, "num_sequences": 2, "num_frames": 24}}
    root = write_data(case, tmp_path / "a")
    dataset = load_dataset("mosev2", root)
    assert dataset["synth-001"].object_ids[:2] == (1, 3)  # gaps from the second video on
    seen_absent = False
    for sequence in dataset:
        for oid in sequence.object_ids:
            present = [bool((sequence.read_annotation(s) == oid).any()) for s in sequence.frames]
            if any(present) and not all(present[1:-1]):
                seen_absent = True
    assert seen_absent
    again = write_data(case, tmp_path / "b")
    for path in sorted(root.rglob("*.*")):
        assert path.read_bytes() == (again / path.relative_to(root)).read_bytes()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(DatasetError, match="refusing to write"):
        write_data(case, tmp_path / "other")


# --------------------------------------------------------------------------------------------
# The golden set: the official score.py's own numbers


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(cases()))
def test_golden_official_scorer(tmp_path, name):
    case = cases()[name]
    data = write_data(case, tmp_path / "data")
    results = predictions(case, data, tmp_path)
    dataset = load_dataset("mosev2", data)
    raw = json.loads((GOLDEN / name / "raw.json").read_text())
    result = evaluate(dataset, results, workers=1)
    # per frame: the official j_list (J), f_list (F_new), f_list_ (F) and empty_gt
    for o in result.objects:
        expected = raw["frames"][f"{o.sequence}_{o.object_id}"]
        assert o.frames == dataset[o.sequence].annotated[1:-1]
        for metric, key in (("J-smoothed", "j_list"), ("F-adaptive", "f_list")):
            np.testing.assert_allclose(o.values(metric), expected[key], rtol=0, atol=1e-12)
        np.testing.assert_allclose(o.values("F-mosev2"), expected["f_list_"], rtol=0, atol=1e-12)
        assert [bool(v) for v in o.values("absent")] == expected["empty_gt"]
    rows = rules.summaries(result)
    assert set(rows) == set(raw["objects"])
    for row, summary in rows.items():
        values = [
            summary.j,
            summary.f_new,
            summary.f,
            summary.disappear_j,
            summary.disappear_f,
            summary.reappear_j,
            summary.reappear_f,
        ]
        for got_value, official in zip(values, raw["objects"][row]):
            if official is None:
                assert got_value is None, row
            else:
                assert got_value == pytest.approx(official, abs=1e-9), row
    written = write_outputs(result, tmp_path / "out")
    assert written["scores"].read_text() == (GOLDEN / name / "scores.txt").read_text()
    metrics = json.loads(written["metrics"].read_text())
    assert metrics.pop("total_time") is None
    assert metrics == json.loads((GOLDEN / name / "metrics.json").read_text())
    official = {}
    for line in (GOLDEN / name / "scores.txt").read_text().splitlines()[:7]:
        key, value = line.split(": ")
        official[key] = float(value)
    for key, value in result.global_metrics().items():
        if key in official and not math.isnan(official[key]):
            assert round(value * 100, 2) == pytest.approx(official[key], abs=0.0051), key
