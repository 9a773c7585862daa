"""`vosbench eval` end to end: outputs, staleness, protocols, and every bad input's message and exit
code."""

from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_metrics import reference_f

from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.datasets.synthetic import write_predictions, write_synthetic
from vosbench.io import read_mask, write_mask
from vosbench.metrics import Evaluator, Protocol, evaluate, region_similarity
from vosbench.metrics.outputs import GLOBAL_COLUMNS


@pytest.fixture(scope="module")
def small_root(tmp_path_factory) -> Path:
    return write_synthetic(tmp_path_factory.mktemp("synthetic"), "small")


@pytest.fixture
def predictions(small_root, tmp_path) -> Path:
    return write_predictions(load_dataset("synthetic", small_root), tmp_path / "pred")


def run_eval(capsys, *args):
    code = main(["eval", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def eval_args(root, predictions, *extra):
    return (
        "--dataset",
        "davis2017",
        "--root",
        root,
        "--split",
        "val",
        predictions,
        "-j",
        "1",
        *extra,
    )


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def first_sequence(root) -> str:
    return load_dataset("davis2017", root).names[0]


# ------------------------------------------------------------------------------------------
# Outputs


def test_eval_writes_official_and_vosbench_files(small_root, predictions, capsys, tmp_path):
    out = tmp_path / "out"
    code, stdout, _ = run_eval(capsys, *eval_args(small_root, predictions, "--output", out))
    assert code == 0
    assert "Global results" in stdout
    global_rows = read_csv(out / "global_results-val.csv")
    assert global_rows[0] == list(GLOBAL_COLUMNS)
    assert all(len(cell.split(".")[1]) == 3 for cell in global_rows[1])
    per_sequence = read_csv(out / "per-sequence_results-val.csv")
    assert per_sequence[0] == ["Sequence", "J-Mean", "F-Mean"]
    per_frame = read_csv(out / "per-frame_results-val.csv")
    assert per_frame[0] == ["Sequence", "Object", "Frame", "J", "F"]

    dataset = load_dataset("davis2017", small_root)
    result = evaluate(dataset, predictions, workers=1)
    expected_rows = sum(len(o.frames) for o in result.objects)
    assert len(per_frame) - 1 == expected_rows
    assert len(per_sequence) - 1 == len(result.objects)
    assert global_rows[1][0] == "{:.3f}".format(result.global_metrics()["J&F-Mean"])
    # semi-supervised: frames 1 … T-2 of every sequence
    stems = {row[2] for row in per_frame[1:] if row[0] == dataset.names[0]}
    assert stems == set(dataset[dataset.names[0]].annotated[1:-1])
    # per-frame J recomputed independently from the files
    sequence, obj, stem, j_value, f_value = per_frame[1]
    gt = read_mask(small_root / "Annotations/480p" / sequence / f"{stem}.png")
    pred = read_mask(predictions / sequence / f"{stem}.png")
    assert float(j_value) == region_similarity(pred == int(obj), gt == int(obj))
    assert float(f_value) == reference_f(pred == int(obj), gt == int(obj))


def test_default_output_is_the_results_folder_and_reruns_recompute(small_root, predictions, capsys):
    assert run_eval(capsys, *eval_args(small_root, predictions))[0] == 0
    before = (predictions / "per-frame_results-val.csv").read_text()
    sequence = first_sequence(small_root)
    frame = sorted((predictions / sequence).glob("*.png"))[1]
    write_mask(frame, np.zeros_like(read_mask(frame)))  # the user fixes / changes a prediction
    assert run_eval(capsys, *eval_args(small_root, predictions))[0] == 0
    after = (predictions / "per-frame_results-val.csv").read_text()
    assert before != after


def test_parallel_equals_serial(small_root, predictions):
    dataset = load_dataset("davis2017", small_root)
    serial = evaluate(dataset, predictions, workers=1)
    parallel = Evaluator(dataset, workers=2)(predictions)
    for a, b in zip(serial.objects, parallel.objects):
        assert a.name == b.name and np.array_equal(a.j, b.j) and np.array_equal(a.f, b.f)


def test_ground_truth_as_prediction_scores_one_and_warns(small_root, capsys, tmp_path):
    results = tmp_path / "gt"
    shutil.copytree(small_root / "Annotations/480p", results)
    # void is not a valid prediction; the small preset has none, so the GT is a valid result
    code, stdout, err = run_eval(capsys, *eval_args(small_root, results))
    assert code == 0
    rows = read_csv(results / "global_results-val.csv")
    assert rows[1][:3] == ["1.000", "1.000", "1.000"]
    assert "identical to the ground truth" in err


def test_a_plain_folder_needs_its_dataset_named(tmp_path, capsys):
    results = write_predictions(load_dataset("synthetic"), tmp_path / "pred", quality="good")
    code, stdout, err = run_eval(capsys, results, "-j", "2")
    assert code == 1 and "pass --dataset" in err and str(results) in err and "Traceback" not in err
    assert not (results / "global_results-val.csv").exists(), (
        "nothing is scored against an assumed dataset"
    )
    code, stdout, err = run_eval(capsys, results, "-j", "2", "--dataset", "synthetic")
    assert code == 0 and "synthetic/val" in stdout
    j_and_f = float(read_csv(results / "global_results-val.csv")[1][0])
    assert 0.6 < j_and_f < 1.0


# ------------------------------------------------------------------------------------------
# Bad inputs: message names the file, exit code non-zero


def test_missing_frames_are_all_reported_at_once(small_root, predictions, capsys):
    names = load_dataset("davis2017", small_root).names
    removed = [predictions / names[0] / "00003.png", predictions / names[1] / "00005.png"]
    for path in removed:
        path.unlink()
    code, _, err = run_eval(capsys, *eval_args(small_root, predictions))
    assert code == 1
    for path in removed:
        assert f"{path}: prediction file not found" in err
    assert not (predictions / "global_results-val.csv").exists()


def test_missing_sequence_folder(small_root, predictions, capsys):
    sequence = first_sequence(small_root)
    shutil.rmtree(predictions / sequence)
    code, _, err = run_eval(capsys, *eval_args(small_root, predictions))
    assert code == 1 and f"no results folder for sequence {sequence!r}" in err


def test_size_mismatch_names_both_files(small_root, predictions, capsys):
    sequence = first_sequence(small_root)
    path = predictions / sequence / "00004.png"
    write_mask(path, read_mask(path)[:, :-1])
    code, _, err = run_eval(capsys, *eval_args(small_root, predictions))
    assert code == 1
    assert str(path) in err and "159×96" in err and "160×96" in err
    assert str(small_root / "Annotations/480p" / sequence / "00004.png") in err


def test_ids_beyond_ground_truth(small_root, predictions, capsys):
    sequence = first_sequence(small_root)
    n_objects = len(load_dataset("davis2017", small_root)[sequence].object_ids)
    path = predictions / sequence / "00002.png"
    labels = read_mask(path).copy()
    labels[0:3, 0:3] = n_objects + 2
    write_mask(path, labels)
    code, _, err = run_eval(capsys, *eval_args(small_root, predictions))
    assert code == 1 and str(path) in err and f"[{n_objects + 2}]" in err
    # the non-official policy drops them instead
    code, _, err = run_eval(capsys, *eval_args(small_root, predictions, "--extra-ids", "ignore"))
    assert code == 0 and "NON-OFFICIAL" in err


def test_stray_void_label(small_root, predictions, capsys):
    sequence = first_sequence(small_root)
    path = predictions / sequence / "00006.png"
    labels = read_mask(path).copy()
    labels[10, 10] = 255
    write_mask(path, labels)
    code, _, err = run_eval(capsys, *eval_args(small_root, predictions))
    assert code == 1 and str(path) in err and "label 255" in err


def test_rgb_prediction_is_rejected(small_root, predictions, capsys):
    sequence = first_sequence(small_root)
    path = predictions / sequence / "00003.png"
    Image.fromarray(np.stack([read_mask(path) * 100] * 3, axis=-1)).save(path)
    code, _, err = run_eval(capsys, *eval_args(small_root, predictions))
    assert (
        code == 1 and str(path) in err and "expected an indexed (palette) or greyscale PNG" in err
    )


def test_unreadable_prediction(small_root, predictions, capsys):
    sequence = first_sequence(small_root)
    path = predictions / sequence / "00007.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    code, _, err = run_eval(capsys, *eval_args(small_root, predictions))
    assert code == 1 and str(path) in err and "cannot be read" in err


def test_greyscale_and_binary_predictions_are_read_as_ids(small_root, predictions):
    dataset = load_dataset("davis2017", small_root)
    reference = evaluate(dataset, predictions, workers=1).global_metrics()
    for path in predictions.glob("*/*.png"):
        Image.fromarray(read_mask(path), mode=None).convert("L").save(path)  # 'L' keeps the values
    assert evaluate(dataset, predictions, workers=1).global_metrics() == reference


def test_all_problems_option_reports_everything(small_root, predictions, capsys):
    names = load_dataset("davis2017", small_root).names
    rgb = predictions / names[0] / "00003.png"
    Image.fromarray(np.zeros((96, 160, 3), np.uint8)).save(rgb)
    small = predictions / names[1] / "00004.png"
    write_mask(small, np.zeros((90, 160), np.uint8))
    code, _, err = run_eval(capsys, *eval_args(small_root, predictions))
    assert code == 1 and err.count("problems found") == 0  # stops at the first
    code, _, err = run_eval(capsys, *eval_args(small_root, predictions, "--all-problems"))
    assert code == 1 and "2 problems found" in err and str(rgb) in err and str(small) in err


def test_a_sequence_without_masks_is_one_line(small_root, predictions, capsys):
    names = load_dataset("davis2017", small_root).names
    for path in (predictions / names[0]).glob("*.png"):
        path.unlink()
    lone = predictions / names[1] / "00005.png"
    lone.unlink()
    code, _, err = run_eval(capsys, *eval_args(small_root, predictions))
    assert code == 1
    assert err.splitlines()[1:] == [
        "error: 2 problems found:",
        f"  - {predictions / names[0]}: 10 of 10 prediction files missing "
        "(00001.png, 00002.png, 00003.png, 00004.png, 00005.png, …)",
        f"  - {lone}: prediction file not found",
    ]


def _bad_rgb(path: Path) -> str:
    Image.fromarray(np.stack([read_mask(path) * 100] * 3, axis=-1)).save(path)
    return "RGB PNG: expected an indexed (palette) or greyscale PNG"


def _bad_size(path: Path) -> str:
    write_mask(path, read_mask(path)[:, :-1])
    return "prediction is 159×96 (W×H) but ground truth"


def _bad_ids(path: Path) -> str:
    labels = read_mask(path).copy()
    labels[0:3, 0:3] = 9
    write_mask(path, labels)
    return "prediction holds object id(s) [9] but the ground truth defines only"


def _bad_void(path: Path) -> str:
    labels = read_mask(path).copy()
    labels[10, 10] = 255
    write_mask(path, labels)
    return "prediction contains label 255"


def _bad_bytes(path: Path) -> str:
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return "cannot be read"


BAD_CASES = {  # name: [(sequence index, frame, corruption)], extra options
    "rgb": ([(0, "00003", _bad_rgb)], ()),
    "size": ([(1, "00004", _bad_size)], ()),
    "extra-ids": ([(2, "00002", _bad_ids)], ()),
    "void": ([(0, "00006", _bad_void)], ()),
    "unreadable": ([(1, "00007", _bad_bytes)], ()),
    "several": (
        [
            (0, "00003", _bad_rgb),
            (0, "00007", _bad_bytes),
            (1, "00004", _bad_size),
            (2, "00002", _bad_ids),
            (2, "00006", _bad_void),
        ],
        ("--all-problems",),
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_inputs_print_the_same_with_one_or_two_workers(small_root, predictions, capsys, case):
    """Problems found in worker processes come back whole: one line per problem, naming its file."""
    names = load_dataset("davis2017", small_root).names
    corruptions, options = BAD_CASES[case]
    expected = []
    for index, stem, corrupt in corruptions:
        path = predictions / names[index] / f"{stem}.png"
        expected.append((path, corrupt(path)))
    outputs = []
    for workers in ("1", "2"):
        code, stdout, err = run_eval(
            capsys,
            "--dataset",
            "davis2017",
            "--root",
            small_root,
            "--split",
            "val",
            predictions,
            "-j",
            workers,
            *options,
        )
        assert code == 1 and stdout == ""
        outputs.append(err)
    assert outputs[0] == outputs[1]
    lines = outputs[0].splitlines()[1:]  # after "Evaluating …"
    if len(expected) == 1:
        ((path, message),) = expected
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}: {message}")
    else:
        assert (
            lines[0] == f"error: {len(expected)} problems found:"
            and len(lines) == len(expected) + 1
        )
        for path, message in expected:
            assert sum(line.startswith(f"  - {path}: {message}") for line in lines) == 1


def one_clip(root: Path, pairs, annotations: str = "Annotations") -> Path:
    """A DAVIS-2017-layout dataset holding one sequence ``clip`` at ``root``, and its predictions
    in ``root.parent / "pred"``, from (ground truth, prediction) label maps per frame."""
    (root / "ImageSets/2017").mkdir(parents=True)
    (root / "ImageSets/2017/val.txt").write_text("clip\n")
    (root / annotations / "480p/clip").mkdir(parents=True)
    (root.parent / "pred/clip").mkdir(parents=True, exist_ok=True)
    for t, (gt, pred) in enumerate(pairs):
        write_mask(root / annotations / "480p/clip" / f"{t:05d}.png", gt)
        write_mask(root.parent / "pred/clip" / f"{t:05d}.png", pred)
    return root


def short_dataset(tmp_path: Path, frames: int) -> Path:
    labels = [np.zeros((20, 30), np.uint8) for _ in range(frames)]
    for t, frame in enumerate(labels):
        frame[5:10, 5 + t : 10 + t] = 1
    return one_clip(tmp_path / "short", [(frame, frame) for frame in labels])


@pytest.mark.parametrize("frames", [0, 1, 2])
def test_too_short_sequences(tmp_path, capsys, frames):
    root = short_dataset(tmp_path, frames)
    code, _, err = run_eval(capsys, *eval_args(root, tmp_path / "pred"))
    assert code == 1 and "too short for the semi-supervised protocol" in err


def test_three_frames_leave_one_and_skip_short_skips(tmp_path, capsys):
    root = short_dataset(tmp_path, 3)
    dataset = load_dataset("davis2017", root)
    result = evaluate(dataset, tmp_path / "pred", workers=1)
    assert result.objects[0].frames == ("00001",)
    short = short_dataset(tmp_path / "b", 2)
    code, _, err = run_eval(capsys, *eval_args(short, tmp_path / "b/pred", "--skip-short"))
    assert code == 1 and "no object was evaluated" in err


def test_unknown_dataset_suggests(capsys):
    code = main(["eval", "x", "--dataset", "davis2071"])
    assert code == 1 and "did you mean 'davis2017'" in capsys.readouterr().err


def test_missing_root(capsys, tmp_path):
    code = main(["eval", str(tmp_path), "--dataset", "davis2017", "--root", str(tmp_path / "nope")])
    assert code == 1 and "does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# Protocol details


def test_extra_ground_truth_ids_after_first_frame_are_ignored_and_gaps_score(tmp_path):
    """Official rule: objects are 1 … max(frame 0); id 2 missing from frame 0 is still scored."""
    pairs = []
    for t in range(6):
        gt = np.zeros((40, 60), np.uint8)
        gt[5:15, 5:15] = 1
        gt[20:30, 40:50] = 3
        if t >= 3:
            gt[25:35, 5:15] = 2
        gt[0:2, 0:2] = 7 if t == 4 else 0  # beyond max(frame 0): ignored
        pred = gt.copy()
        pred[pred == 7] = 0
        pred[pred == 2] = 0  # object 2 never predicted
        pairs.append((gt, pred))
    root = one_clip(tmp_path / "ids", pairs)
    result = evaluate(load_dataset("davis2017", root), tmp_path / "pred", workers=1)
    by_id = {o.object_id: o for o in result.objects}
    assert sorted(by_id) == [1, 2, 3]
    assert list(by_id[2].j) == [1.0, 1.0, 0.0, 0.0]  # empty GT and prediction score 1, then 0
    assert list(by_id[1].j) == [1.0] * 4


def test_void_is_background_in_semi_supervised(tmp_path):
    gt = np.zeros((200, 200), np.uint8)
    gt[100:150, 100:150] = 1
    gt[50:100, 100:150] = 255
    pred = np.zeros((200, 200), np.uint8)
    pred[50:150, 100:150] = 1
    root = one_clip(tmp_path / "void", [(gt, pred)] * 3)
    dataset = load_dataset("davis2017", root)
    result = evaluate(dataset, tmp_path / "pred", workers=1)
    assert result.objects[0].j[0] == 0.5
    assert result.objects[0].f[0] == pytest.approx(0.628, abs=5e-4)


def unsupervised_dataset(tmp_path: Path, permutation, extra_proposals=0, frames=5):
    pairs = []
    for t in range(frames):
        gt = np.zeros((60, 90), np.uint8)
        for k in range(1, 4):
            gt[5 + 15 * (k - 1) : 15 + 15 * (k - 1), 10 + 3 * t + 10 * k : 25 + 3 * t + 10 * k] = k
        gt[55:58, 0:10] = 255
        pred = np.zeros_like(gt)
        for k in range(1, 4):
            pred[gt == k] = permutation[k - 1]
        for p in range(extra_proposals):  # spurious one-pixel proposals in the background
            pred[48, 2 * p] = 4 + p
        pairs.append((gt, pred))
    return one_clip(tmp_path / "unsup", pairs, annotations="Annotations_unsupervised")


def test_unsupervised_permuted_proposals_match_perfectly(tmp_path):
    root = unsupervised_dataset(tmp_path, [3, 1, 2], extra_proposals=2)
    dataset = load_dataset("davis2017", root, task="unsupervised")
    result = evaluate(dataset, tmp_path / "pred", workers=1)
    metrics = result.global_metrics()
    assert metrics["J-Mean"] == metrics["F-Mean"] == metrics["J-Recall"] == 1.0
    assert metrics["J-Decay"] == 0.0
    assert {(o.object_id, o.proposal_id) for o in result.objects} == {(1, 3), (2, 1), (3, 2)}
    assert all(len(o.frames) == 5 for o in result.objects)  # every frame in the unsupervised task


def test_unsupervised_too_many_proposals(tmp_path, capsys):
    root = unsupervised_dataset(tmp_path, [1, 2, 3], extra_proposals=18)
    code, _, err = run_eval(
        capsys,
        "--dataset",
        "davis2017",
        "--root",
        root,
        "--task",
        "unsupervised",
        tmp_path / "pred",
        "-j",
        "1",
    )
    assert code == 1 and "21 proposals" in err and "at most 20" in err


def test_decay_compat_reproduces_the_official_overflow(tmp_path, capsys):
    gt = np.zeros((30, 40), np.uint8)
    gt[5:25, 5:35] = 1
    pairs = []
    for t in range(302):  # 300 evaluated frames
        pred = np.zeros_like(gt)
        pred[5:25, 5 : 5 + max(1, 30 - t // 10)] = 1
        pairs.append((gt, pred))
    root = one_clip(tmp_path / "long", pairs)
    dataset = load_dataset("davis2017", root)
    exact = evaluate(dataset, tmp_path / "pred", workers=1).global_metrics()
    compat = evaluate(
        dataset, tmp_path / "pred", Protocol(decay_mode="davis2017"), workers=1
    ).global_metrics()
    assert exact["J-Decay"] > 0.5 and np.isnan(compat["J-Decay"])
    assert exact["J-Mean"] == compat["J-Mean"]
    code, _, _ = run_eval(capsys, *eval_args(root, tmp_path / "pred", "--decay-compat"))
    assert code == 0
    assert read_csv(tmp_path / "pred/global_results-val.csv")[1][3] == ""  # NaN → empty cell


# ------------------------------------------------------------------------------------------
# Real data


@pytest.mark.real_data
def test_davis2016_val_against_reference_implementation(davis2016_root, tmp_path):
    dataset = load_dataset(
        "davis2016", davis2016_root, "val", sequences=["blackswan", "car-shadow", "kite-surf"]
    )
    for sequence in dataset:
        for stem in sequence.annotated:
            labels = sequence.read_annotation(stem)
            write_mask(
                tmp_path / sequence.name / f"{stem}.png", np.roll(labels, (2, 5), axis=(0, 1)) * 255
            )
    result = evaluate(dataset, tmp_path, workers=2)
    assert [o.sequence for o in result.objects] == ["blackswan", "car-shadow", "kite-surf"]
    for obj in result.objects:
        sequence = dataset[obj.sequence]
        assert obj.frames == sequence.annotated[1:-1]
        for stem, j, f in list(zip(obj.frames, obj.j, obj.f))[::7]:
            gt = sequence.read_annotation(stem) > 0
            pred = read_mask(tmp_path / obj.sequence / f"{stem}.png") > 0
            assert j == region_similarity(pred, gt)
            assert f == reference_f(pred, gt)


@pytest.mark.real_data
def test_davis2016_val_ground_truth_scores_one(davis2016_root, capsys, tmp_path):
    code = main(
        [
            "eval",
            str(davis2016_root / "Annotations/480p"),
            "--dataset",
            "davis2016",
            "--root",
            str(davis2016_root),
            "--split",
            "val",
            "-j",
            "2",
            "--output",
            str(tmp_path),
            "--metrics",
            "J,F",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0 and "identical to the ground truth" in err
    rows = read_csv(tmp_path / "per-sequence_results-val.csv")
    assert len(rows) == 21 and all(row[1:] == ["1.000", "1.000"] for row in rows[1:])


def test_davis2016_scores_t_on_its_eval_t_sequences_by_default(davis2016_root, capsys, tmp_path):
    code = main(
        [
            "eval",
            str(davis2016_root / "Annotations/480p"),
            "--dataset",
            "davis2016",
            "--root",
            str(davis2016_root),
            "-s",
            "blackswan,bmx-trees,scooter-black",
            "-j",
            "2",
            "--output",
            str(tmp_path),
        ]
    )
    assert code == 0 and "T-Mean" in capsys.readouterr().out
    assert read_csv(tmp_path / "global_results-val.csv")[0][-1] == "F-Decay", (
        "the official columns stay as they are"
    )
    header, values = read_csv(tmp_path / "global_metrics-val.csv")
    # Per-sequence T of the ground truth from the DAVIS-2016 toolkit (fperazzi/davis @ aaee12c,
    # built and run side by side; results/t_stability.md): blackswan 0.013085, scooter-black
    # 0.056525.
    assert float(values[header.index("T-Mean")]) == pytest.approx(
        (0.013085 + 0.056525) / 2, abs=2e-5
    )
    objects = read_csv(tmp_path / "per-object_results-val.csv")
    column = objects[0].index("T-Mean")
    by_sequence = {row[0]: row[column] for row in objects[1:]}
    assert by_sequence["bmx-trees"] == "", "T only for the sequences db_info.yml flags eval_t"
    assert float(by_sequence["blackswan"]) == pytest.approx(0.013085, abs=2e-6)
    assert read_csv(tmp_path / "per-frame_results-val.csv")[0] == [
        "Sequence",
        "Object",
        "Frame",
        "J",
        "F",
        "T",
    ]


def test_unwritable_output_is_a_clear_error(small_root, predictions, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = run_eval(
        capsys, *eval_args(small_root, predictions, "--output", blocker / "out")
    )
    assert code == 1 and str(blocker) in err


@pytest.mark.real_data
def test_davis2016_unsupervised_follows_the_davis2016_toolkit(davis2016_root, tmp_path):
    """DAVIS-2016 unsupervised numbers (COSNet's 80.5 J) come from the 2016 toolkit: frames 1 … T-2
    of the binary primary object; proposal ids beyond 1 count as foreground."""
    dataset = load_dataset(
        "davis2016", davis2016_root, "val", task="unsupervised", sequences=["blackswan"]
    )
    sequence = dataset["blackswan"]
    for index, stem in enumerate(sequence.annotated):
        labels = (sequence.read_annotation(stem) > 0).astype(np.uint8) * 2  # proposal id 2
        if index == 0:
            labels[:] = 0  # the first frame is not scored under the 2016 rule
        write_mask(tmp_path / sequence.name / f"{stem}.png", labels)
    result = evaluate(dataset, tmp_path, workers=1)
    assert result.objects[0].frames == sequence.annotated[1:-1]
    assert result.global_metrics()["J-Mean"] == 1.0
    every_frame = evaluate(
        dataset, tmp_path, Protocol(task="unsupervised"), workers=1
    )  # DAVIS-2017 rule
    assert every_frame.objects[0].frames == sequence.annotated
    assert every_frame.global_metrics()["J-Mean"] < 1.0


def test_eval_lets_numpy_load_with_one_blas_thread(monkeypatch):
    """Before numpy loads, eval asks OpenBLAS for one thread unless the user chose a number;
    once numpy is loaded (eval called from a program) the environment is left alone."""
    from vosbench import cli

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.delitem(sys.modules, "numpy")
    cli._one_blas_thread()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    cli._one_blas_thread()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "3"
    monkeypatch.setitem(sys.modules, "numpy", np)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    cli._one_blas_thread()
    assert "OPENBLAS_NUM_THREADS" not in os.environ
