"""SA-V: the loader, the synthetic layout, the per-object export the runner writes, and the
golden numbers of the official evaluator (``golden/sav/official.json``, see its README)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from vost_sav_scenarios import build_sav

from vosbench.benchmarks import sav
from vosbench.datasets import load_dataset
from vosbench.datasets.sav import binary_object_mask, object_folder
from vosbench.datasets.synthetic import resolve_config
from vosbench.errors import DatasetError, MaskFormatError
from vosbench.io import read_mask, write_mask

GOLDEN = json.loads((Path(__file__).parent / "golden" / "sav" / "official.json").read_text())


def digest(folder: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(folder.rglob("*.png")):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def synthetic_layout(tmp_path: Path) -> Path:
    spec = GOLDEN["runner_dataset"]
    config = resolve_config(
        spec["preset"], num_frames=spec["num_frames"], num_sequences=spec["num_sequences"]
    )
    return sav.write_synthetic(tmp_path / "sav", config)


def test_scenarios_are_the_golden_ones(tmp_path):
    folders = build_sav(tmp_path)
    assert digest(tmp_path) == GOLDEN["scenarios_blake2b"], "scenario data changed"
    dataset = load_dataset("sav", folders["gt"], "sav_val")
    assert dataset.names == list(GOLDEN["scenarios"]["objects"])
    video = dataset["sav_000003"]  # non-contiguous folders 000 and 004: ids 1 and 5
    assert video.object_ids == (1, 5)
    assert video.object_frames(5) == ("00008", "00012", "00016", "00020", "00024")
    assert len(video.object_frames(1)) == 9


def test_synthetic_layout_overlaps_and_ids(tmp_path):
    root = synthetic_layout(tmp_path)
    dataset = load_dataset("sav", root)
    assert dataset.split == "sav_val" and dataset.names == ["sav_synth-000", "sav_synth-001"]
    video = dataset.sequences[0]
    assert len(video.frames) == 25 and video.annotated == tuple(f"{t:05d}" for t in range(0, 25, 4))
    part = video.object_ids[-1]  # the part masklet of object 1 (folder 000)
    whole = video.read_object("00000", 1)
    inner = video.read_object("00000", part)
    assert inner.any() and not (inner & ~whole).any()  # the part lies inside its whole
    labels = video.read_annotation("00000")  # composed id map: the lowest id on top
    assert not (labels == part).any() and np.array_equal(labels == 1, whole)
    assert video.prompts() == {"00000": video.object_ids}
    assert (root / "Annotations_6fps" / video.name / "000" / "00000.png").is_file()


def test_export_writes_the_official_layout(tmp_path):
    root = synthetic_layout(tmp_path)
    video = load_dataset("sav", root).sequences[0]
    ids = tmp_path / "ids"
    for stem in video.annotated:
        write_mask(ids / f"{stem}.png", video.read_annotation(stem))
    sav.export_predictions(video, ids, tmp_path / "official")
    for object_id in video.object_ids:
        folder = tmp_path / "official" / video.name / object_folder(object_id)
        assert sorted(p.stem for p in folder.iterdir()) == list(video.object_frames(object_id))
        mask = read_mask(folder / "00004.png")
        assert set(np.unique(mask)) <= {0, 1}
        assert np.array_equal(mask == 1, video.read_annotation("00004") == object_id)


def test_one_object_per_png(tmp_path):
    path = tmp_path / "m.png"
    write_mask(path, np.array([[0, 1], [2, 0]], np.uint8))
    with pytest.raises(MaskFormatError, match="one object per PNG"):
        binary_object_mask(path)
    write_mask(path, np.array([[0, 255], [255, 0]], np.uint8))
    assert binary_object_mask(path).sum() == 2


def test_loader_errors(tmp_path):
    root = synthetic_layout(tmp_path)
    with pytest.raises(DatasetError, match="no split 'val'"):
        load_dataset("sav", root, "val")
    with pytest.raises(
        DatasetError, match=r"no split list for sav/sav_test .*found there: sav_val"
    ):
        load_dataset("sav", root, "sav_test")
    video = root / "Annotations_6fps" / "sav_synth-000"
    (video / "000").rename(video / "obj0")
    with pytest.raises(DatasetError, match="object folders are three digits"):
        load_dataset("sav", root)
    (video / "obj0").rename(video / "000")
    (video / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="one folder per object"):
        load_dataset("sav", root)
    (video / "notes.txt").unlink()
    (root / "sav_val.txt").write_text("sav_synth-000\nsav_synth-404\n")
    with pytest.raises(DatasetError, match="1 of 2 sequences of sav/sav_val"):
        load_dataset("sav", root)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["first-frame", "flow"])
def test_runner_writes_what_the_official_evaluator_read(method, tmp_path):
    """The run's id maps and its ``official/`` per-object export, which the official SA-V
    evaluator scored when the golden file was made."""
    from vosbench.runner import RunSettings, run

    root = synthetic_layout(tmp_path)
    dataset = load_dataset("sav", root)
    result = run(
        method, dataset, output=tmp_path / "run", settings=RunSettings(device="cpu", evaluate=False)
    )
    official = result.store.root / "official"
    golden = GOLDEN["runner"][method]
    assert sorted(p.name for p in official.iterdir()) == sorted(golden["objects"])
    for video in dataset:
        folders = sorted(p.name for p in (official / video.name).iterdir())
        assert folders == sorted(golden["objects"][video.name])
        masks = result.store.masks_dir / video.name
        for object_id in video.object_ids:
            for stem in video.object_frames(object_id):
                exported = read_mask(
                    official / video.name / object_folder(object_id) / f"{stem}.png"
                )
                assert np.array_equal(exported == 1, read_mask(masks / f"{stem}.png") == object_id)
    if digest(result.store.masks_dir) != golden["masks_blake2b"]:
        pytest.skip(f"{method} wrote other masks on this machine than when the golden was made")
