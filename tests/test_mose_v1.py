"""MOSE v1: both folder layouts, the reader's errors, the runner and the submission zip."""

from __future__ import annotations

import io
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from vosbench.benchmarks.mose_v1 import write_synthetic
from vosbench.benchmarks.submission import write_submission
from vosbench.datasets import load_dataset
from vosbench.errors import DatasetError
from vosbench.io import read_mask
from vosbench.runner import RunSettings, run

FAST = RunSettings(warmup_frames=0, io_workers=0)


@pytest.fixture(scope="module")
def mose_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("mose")
    write_synthetic(root, "small", split="valid")
    write_synthetic(root, "small", split="train")
    return root


def test_reader(mose_root):
    valid = load_dataset("mose", mose_root, "valid")
    train = load_dataset("mose", mose_root, "train")
    assert valid.info["scoring"] == "server" and train.info["scoring"] == "none"
    for video in valid:
        assert video.annotated == (video.frames[0],)
        assert video.object_ids == tuple(range(1, max(video.object_ids) + 1))
    assert all(v.annotated == v.frames for v in train)
    assert load_dataset("mose-v1", mose_root, "valid").name == "mose"


def test_the_authors_loader_layout(mose_root, tmp_path):
    """<root>/JPEGImages/<split>/ and <root>/Annotations/<split>/, as MOSE-api's loaders read."""
    for folder in ("JPEGImages", "Annotations"):
        shutil.copytree(mose_root / "valid" / folder, tmp_path / folder / "valid")
    data = load_dataset("mose", tmp_path, "valid")
    assert data.names == load_dataset("mose", mose_root, "valid").names
    assert data.info["image_folder"] == "JPEGImages/valid"


def test_reader_errors(mose_root, tmp_path):
    with pytest.raises(DatasetError, match="mose/valid: expected valid/JPEGImages or JPEGImages"):
        load_dataset("mose", tmp_path, "valid")
    shutil.copytree(mose_root / "valid" / "JPEGImages", tmp_path / "valid" / "JPEGImages")
    with pytest.raises(DatasetError, match=r"valid/Annotations: folder not found"):
        load_dataset("mose", tmp_path, "valid")
    (tmp_path / "valid" / "Annotations" / "synth-000").mkdir(parents=True)
    with pytest.raises(DatasetError, match="video 'synth-000' has no annotation"):
        load_dataset("mose", tmp_path, "valid")
    with pytest.raises(DatasetError, match="mose has no split 'test'"):
        load_dataset("mose", mose_root, "test")


@pytest.mark.parametrize("method", ["first-frame", "flow"])
def test_run_and_submission(mose_root, tmp_path, method):
    data = load_dataset("mose", mose_root, "valid")
    result = run(method, data, settings=FAST, output=tmp_path / "run")
    assert result.ok and result.evaluation is None and result.submission is not None
    write_submission(tmp_path / "run", tmp_path / "mose.zip")
    with zipfile.ZipFile(tmp_path / "mose.zip") as archive:
        names = set(archive.namelist())
        assert names == {f"Annotations/{v.name}/{s}.png" for v in data for s in v.frames}
        name = f"Annotations/{data.names[0]}/00003.png"
        image = Image.open(io.BytesIO(archive.read(name)))
        assert image.mode == "P"
        expected = read_mask(tmp_path / "run" / "masks" / data.names[0] / "00003.png")
        assert (np.asarray(image) == expected).all()
