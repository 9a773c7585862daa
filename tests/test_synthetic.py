"""The synthetic dataset: deterministic, lazy, DAVIS-2017 compatible, with realistic defects."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from vosbench.datasets import Dataset, Sequence, load_dataset
from vosbench.datasets.synthetic import (
    PRESETS,
    QUALITIES,
    SyntheticConfig,
    SyntheticSequence,
    load_synthetic,
    predict_sequence,
    resolve_config,
    synthetic_dataset,
    write_predictions,
    write_synthetic,
)
from vosbench.errors import DatasetError
from vosbench.io import read_mask

SMALL = PRESETS["small"]
MULTI = dataclasses.replace(SMALL, num_sequences=4, min_objects=2)  # occlusion needs two objects
LATE = dataclasses.replace(SMALL, num_sequences=4, min_objects=2, max_objects=4, late_objects=True)


def _all(sequence: Sequence, reader: str) -> list:
    return [getattr(sequence, reader)(stem) for stem in sequence.frames]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def test_presets() -> None:
    assert {"val", "small", "bench", "hard"} <= set(PRESETS)
    bench = PRESETS["bench"]
    assert (bench.num_sequences, bench.num_frames, bench.height, bench.width) == (30, 70, 480, 854)
    assert (bench.min_objects, bench.max_objects) == (1, 3)
    assert not PRESETS["val"].late_objects and PRESETS["hard"].late_objects
    assert resolve_config() == PRESETS["val"]
    assert resolve_config("small", seed="3", late_objects="true") == dataclasses.replace(
        SMALL, seed=3, late_objects=True
    )


@pytest.mark.parametrize(
    "bad",
    [{"min_objects": 3, "max_objects": 2}, {"height": 4}, {"seed": -1}, {"border_entry": 2.0}],
)
def test_bad_config_is_a_dataset_error(bad: dict) -> None:
    with pytest.raises(DatasetError):
        dataclasses.replace(SMALL, **bad)


@pytest.mark.parametrize(
    "call",
    [
        lambda: resolve_config("nope"),
        lambda: resolve_config("small", colour="red"),
        lambda: resolve_config("small", seed="x"),
        lambda: load_synthetic(None, "test-dev"),
        lambda: load_synthetic(None, "val", task="interactive"),
    ],
)
def test_bad_options_are_dataset_errors(call) -> None:
    with pytest.raises(DatasetError):
        call()


def test_sequence_record() -> None:
    dataset = load_synthetic(None, "val", preset="small")
    assert isinstance(dataset, Dataset) and dataset.name == "synthetic" and dataset.root is None
    assert dataset.names == ["synth-000", "synth-001", "synth-002"]
    assert dataset.info["config"] == dataclasses.asdict(SMALL) and dataset.info["preset"] == "small"
    sequence = dataset.sequences[0]
    assert isinstance(sequence, SyntheticSequence) and isinstance(sequence, Sequence)
    assert (
        sequence.frames == tuple(f"{t:05d}" for t in range(12))
        and sequence.annotated == sequence.frames
    )
    assert (sequence.void_label, sequence.mask_rule, sequence.size) == (255, "index", (96, 160))
    frame, labels = sequence.read_frame("00003"), sequence.read_annotation("00003")
    assert frame.shape == (96, 160, 3) and frame.dtype == np.uint8
    assert labels.shape == (96, 160) and labels.dtype == np.uint8
    with pytest.raises(DatasetError):
        sequence.read_frame("00012")


def test_deterministic_and_seeded() -> None:
    one, two = synthetic_dataset(SMALL), synthetic_dataset(SMALL)
    for a, b in zip(one, two):
        for reader in ("read_frame", "read_annotation"):
            assert all(x.tobytes() == y.tobytes() for x, y in zip(_all(a, reader), _all(b, reader)))
    # reading out of order or twice gives the same bytes: nothing depends on call history
    sequence = one.sequences[1]
    assert sequence.read_frame("00007").tobytes() == two.sequences[1].read_frame("00007").tobytes()
    other = synthetic_dataset(dataclasses.replace(SMALL, seed=1)).sequences[0]
    assert other.read_frame("00000").tobytes() != one.sequences[0].read_frame("00000").tobytes()
    train = synthetic_dataset(SMALL, "train")
    assert train.names[0] == "synth-train-000"
    assert (
        train.sequences[0].read_frame("00000").tobytes()
        != one.sequences[0].read_frame("00000").tobytes()
    )


def test_all_objects_in_first_frame_by_default() -> None:
    config = dataclasses.replace(SMALL, num_sequences=10)
    for sequence in synthetic_dataset(config):
        count = sequence.attributes["num_objects"]
        assert 1 <= count <= 3
        assert sequence.object_ids == tuple(range(1, count + 1))
        present = set(np.unique(sequence.read_annotation("00000")).tolist()) - {0}
        assert present == set(sequence.object_ids)
        assert sequence.attributes["first_frame"] == [0] * count


def test_objects_move_and_deform() -> None:
    for sequence in synthetic_dataset(MULTI):
        first, last = (
            sequence.read_annotation("00000"),
            sequence.read_annotation(sequence.frames[-1]),
        )
        assert not np.array_equal(first, last)
        for oid in sequence.object_ids:
            a, b = sequence.full_mask("00000", oid), sequence.full_mask(sequence.frames[-1], oid)
            if a.any() and b.any():
                assert _iou(a, b) < 0.9


def test_objects_occlude_each_other() -> None:
    hidden = 0
    for sequence in synthetic_dataset(MULTI):
        for stem in sequence.frames:
            labels = sequence.read_annotation(stem)
            for oid in sequence.object_ids:
                full, visible = sequence.full_mask(stem, oid), labels == oid
                assert not (visible & ~full).any()  # an object is drawn only inside its own shape
                hidden += int(full.sum() - visible.sum())
    assert hidden > 0


def test_objects_have_distinct_colours() -> None:
    sequence = next(s for s in synthetic_dataset(MULTI) if len(s.object_ids) >= 2)
    frame, labels = sequence.read_frame("00000"), sequence.read_annotation("00000")
    means = [frame[labels == oid].mean(axis=0) for oid in sequence.object_ids]
    background = frame[labels == 0].mean(axis=0)
    for i, mean in enumerate(means):
        assert np.abs(mean - background).max() > 15
        for other in means[i + 1 :]:
            assert np.abs(mean - other).max() > 15


def test_camera_pans_the_background() -> None:
    def background_change(config: SyntheticConfig) -> float:
        sequence = synthetic_dataset(config).sequences[0]
        stems = (sequence.frames[0], sequence.frames[-1])
        frames = [sequence.read_frame(s).astype(int) for s in stems]
        free = (sequence.read_annotation(stems[0]) == 0) & (sequence.read_annotation(stems[1]) == 0)
        return float(np.abs(frames[0] - frames[1])[free].mean())

    assert background_change(dataclasses.replace(SMALL, camera_motion=0.0)) == 0.0
    assert background_change(SMALL) > 1.0


def test_late_objects_enter_after_frame_zero() -> None:
    for sequence in synthetic_dataset(LATE):
        count = sequence.attributes["num_objects"]
        firsts = sequence.attributes["first_frame"]
        late = [oid for oid, first in zip(range(1, count + 1), firsts) if first > 0]
        assert (
            len(late) == 1 and late[0] < count
        )  # the highest id is in frame 0: DAVIS counts right
        assert sequence.object_ids == tuple(range(1, count + 1))
        oid, first = late[0], firsts[late[0] - 1]
        masks = _all(sequence, "read_annotation")
        assert not any((m == oid).any() for m in masks[:first])
        assert any((m == oid).any() for m in masks[first:])


def test_void_band() -> None:
    sequence = synthetic_dataset(dataclasses.replace(SMALL, void_band=2)).sequences[0]
    labels = sequence.read_annotation("00000")
    assert (labels == 255).any()
    assert sequence.object_ids == synthetic_dataset(SMALL).sequences[0].object_ids


def test_write_and_read_back(tmp_path: Path) -> None:
    root = write_synthetic(tmp_path / "synth", "small")
    assert (root / "JPEGImages" / "480p" / "synth-000" / "00000.jpg").is_file()
    assert (root / "ImageSets" / "2017" / "val.txt").read_text().split() == [
        "synth-000",
        "synth-001",
        "synth-002",
    ]
    record = json.loads((root / "synthetic.json").read_text())
    assert record["config"] == dataclasses.asdict(SMALL) and record["splits"]["val"] == [
        "synth-000",
        "synth-001",
        "synth-002",
    ]
    on_disk = load_dataset("synthetic", root=root)
    in_memory = load_synthetic(None, "val", preset="small")
    assert on_disk.names == in_memory.names and on_disk.root == root
    assert on_disk.info["config"] == in_memory.info["config"]
    for disk, memory in zip(on_disk, in_memory):
        assert disk.frames == memory.frames and disk.object_ids == memory.object_ids
        assert disk.void_label == 255 and disk.mask_rule == "index"
        for stem in memory.frames:
            assert np.array_equal(disk.read_annotation(stem), memory.read_annotation(stem))
            error = np.abs(disk.read_frame(stem).astype(int) - memory.read_frame(stem).astype(int))
            assert error.mean() < 4  # JPEG quality 95
    # the same config again resumes; a train split joins the same folder
    assert write_synthetic(root, SMALL, split="train") == root
    assert load_synthetic(root, "train").names[0] == "synth-train-000"
    with pytest.raises(DatasetError):
        load_synthetic(root, "val", preset="val")  # the folder holds "small"


def test_write_refuses_other_folders(tmp_path: Path) -> None:
    other = tmp_path / "davis"
    other.mkdir()
    (other / "README").write_text("not synthetic")
    with pytest.raises(DatasetError, match="refusing"):
        write_synthetic(other, "small")
    tiny = dataclasses.replace(SMALL, num_sequences=1, num_frames=2)
    root = write_synthetic(tmp_path / "synth", tiny)
    with pytest.raises(DatasetError, match="num_frames"):
        write_synthetic(root, dataclasses.replace(tiny, num_frames=3))
    with pytest.raises(DatasetError, match="split list"):
        load_synthetic(root, "train")


def test_predictions_are_realistic_and_deterministic(tmp_path: Path) -> None:
    dataset = synthetic_dataset(SMALL)
    out = write_predictions(dataset, tmp_path / "pred", quality="noisy", seed=3)
    scores = []
    for sequence in dataset:
        files = sorted((out / sequence.name).glob("*.png"))
        assert [f.stem for f in files] == list(sequence.frames)
        for path in files:
            prediction, gt = read_mask(path), sequence.read_annotation(path.stem)
            assert prediction.shape == gt.shape and int(prediction.max()) <= max(
                sequence.object_ids
            )
            if path.stem == "00000":
                assert np.array_equal(prediction, gt)
                continue
            scores += [_iou(prediction == oid, gt == oid) for oid in sequence.object_ids]
    assert 0.3 < float(np.mean(scores)) < 0.99
    again = dict(predict_sequence(dataset.sequences[0], quality="noisy", seed=3))
    assert all(
        np.array_equal(read_mask(out / "synth-000" / f"{stem}.png"), labels)
        for stem, labels in again.items()
    )
    perfect = dict(predict_sequence(dataset.sequences[0], quality="perfect"))
    assert all(
        np.array_equal(perfect[stem], dataset.sequences[0].read_annotation(stem))
        for stem in perfect
    )
    assert "noisy" in QUALITIES


def test_write_with_predictions(tmp_path: Path) -> None:
    tiny = dataclasses.replace(SMALL, num_sequences=1, num_frames=3)
    root = write_synthetic(tmp_path / "synth", tiny, predictions=True)
    assert sorted(p.name for p in (root / "predictions" / "noisy" / "synth-000").iterdir()) == [
        "00000.png",
        "00001.png",
        "00002.png",
    ]
