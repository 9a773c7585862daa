"""One rule claims the output folder of every synthetic writer (`vosbench synth --layout NAME`):
the record ``synthetic.json``, compared on generator version, layout, config and the layout's
options; foreign folders, files in place of the folder and earlier records refused, untouched."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from vosbench.benchmarks import synthetic_layouts, synthetic_writer
from vosbench.cli import main
from vosbench.datasets import DATASETS, load_dataset
from vosbench.datasets.synthetic import (
    GENERATOR_VERSION,
    PRESETS,
    SyntheticConfig,
    claim_folder,
    load_synthetic,
)
from vosbench.errors import DatasetError

# 13 frames: VOST's layout needs 2 x 6 + 1 to leave an annotated frame to score.
TINY = SyntheticConfig(num_sequences=1, num_frames=13, height=24, width=32, seed=3)
LAYOUTS = ("davis2017", "youtube-vos", "mose", "mosev2", "lvos", "vost", "sav")
# The writer's split names (the default first) and the sequence names the record lists.
SPLITS = {
    "davis2017": ("val", "train"),
    "youtube-vos": ("valid", "train"),
    "mose": ("valid", "train"),
    "mosev2": ("valid",),
    "lvos": ("valid", "train"),
    "vost": ("val", "train"),
    "sav": ("sav_val", "sav_test"),
}
NAMES = {"sav_val": ["sav_synth-000"], "sav_test": ["sav_synth-train-000"]}


def write(layout: str, out: Path, config: SyntheticConfig = TINY, split: str | None = None):
    return synthetic_writer(layout)(out, config, split=split or SPLITS[layout][0])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def record_of(folder: Path) -> dict:
    return json.loads((folder / "synthetic.json").read_text())


def test_every_layout_with_a_writer_is_covered():
    writers = {DATASETS.entry(name).info["synthetic"] for name in synthetic_layouts()}
    assert writers == {DATASETS.entry(name).info["synthetic"] for name in LAYOUTS}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_writing_again_with_the_same_config_changes_nothing(layout, tmp_path):
    out = write(layout, tmp_path / "out")
    first = snapshot(out)
    record = record_of(out)
    assert record["generator"] == "vosbench.datasets.synthetic"
    assert record["generator_version"] == GENERATOR_VERSION and record["layout"] == layout
    assert record["config"] == dataclasses.asdict(TINY) and record["preset"] is None
    split = SPLITS[layout][0]
    assert record["splits"] == {split: NAMES.get(split, ["synth-000"])}
    assert write(layout, out) == out
    assert snapshot(out) == first  # the same files, byte for byte, the record included
    if len(SPLITS[layout]) > 1:  # a second split joins the same folder and its record
        other = SPLITS[layout][1]
        write(layout, out, split=other)
        assert record_of(out)["splits"] == {
            split: NAMES.get(split, ["synth-000"]),
            other: NAMES.get(other, ["synth-train-000"]),
        }


@pytest.mark.parametrize("layout", LAYOUTS)
def test_another_config_is_refused_naming_the_folder_and_the_field(layout, tmp_path):
    out = write(layout, tmp_path / "out")
    before = snapshot(out)
    with pytest.raises(DatasetError) as caught:
        write(layout, out, dataclasses.replace(TINY, seed=4))
    message = str(caught.value)
    assert message.startswith(f"{out}: holds another synthetic dataset")
    assert "seed: 3 there vs 4 asked" in message and "num_frames" not in message
    assert "layout" not in message  # only what differs is named
    assert snapshot(out) == before


@pytest.mark.parametrize("layout", LAYOUTS)
def test_another_layout_in_the_same_folder_is_refused(layout, tmp_path):
    other = LAYOUTS[(LAYOUTS.index(layout) + 1) % len(LAYOUTS)]
    out = write(layout, tmp_path / "out")
    before = snapshot(out)
    with pytest.raises(DatasetError) as caught:
        write(other, out)
    message = str(caught.value)
    assert message.startswith(f"{out}: holds another synthetic dataset")
    assert f"layout: {layout!r} there vs {other!r} asked" in message and "config" not in message
    assert "annotation_step" not in message and "parts" not in message  # another layout's options
    assert snapshot(out) == before


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_foreign_folder_is_refused_and_left_untouched(layout, tmp_path):
    out = tmp_path / "data"
    (out / "valid").mkdir(parents=True)
    (out / "README").write_text("real data")
    (out / "valid" / "meta.json").write_text("{}")  # what the former checks looked for
    with pytest.raises(DatasetError) as caught:
        write(layout, out)
    assert str(caught.value) == (
        f"{out}: is not empty and holds no synthetic.json; refusing to write a synthetic "
        "dataset over other files: choose a new or empty folder"
    )
    assert snapshot(out) == {"README": b"real data", "valid/meta.json": b"{}"}
    assert sorted(p.name for p in out.rglob("*")) == ["README", "meta.json", "valid"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_file_in_place_of_the_folder_is_refused(layout, tmp_path):
    out = tmp_path / "out"
    out.write_text("a file")
    with pytest.raises(DatasetError, match="exists and is not a folder") as caught:
        write(layout, out)
    assert str(caught.value).startswith(f"{out}: ")
    assert out.read_text() == "a file"
    with pytest.raises(DatasetError) as caught:  # a file in place of a parent folder
        write(layout, out / "below")
    assert str(caught.value) == f"{out}: is in the way of {out / 'below'} and is not a folder"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_command_refuses_without_a_traceback(layout, tmp_path, capsys):
    args = ["--layout", layout, "--preset", "small"]
    written = write(layout, tmp_path / "tiny")
    assert main(["synth", str(written), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {written}: holds another synthetic dataset (config ")
    assert "num_frames: 13 there vs 12 asked" in err and "Traceback" not in err
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    assert main(["synth", str(foreign), *args]) == 1
    err = capsys.readouterr().err
    assert f"error: {foreign}: is not empty and holds no synthetic.json" in err
    assert "Traceback" not in err and (foreign / "keep.txt").read_text() == "x"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["synth", str(blocker / "sub"), *args]) == 1
    err = capsys.readouterr().err
    assert f"error: {blocker}: is in the way of" in err and "Traceback" not in err


def test_a_davis_record_without_a_layout_is_davis2017(tmp_path):
    """DAVIS-2017 folders written before the layout was recorded stay writable and readable."""
    out = write("davis2017", tmp_path / "old")
    record = record_of(out)
    del record["layout"]
    (out / "synthetic.json").write_text(json.dumps(record))
    assert load_synthetic(out, "val").info["config"] == dataclasses.asdict(TINY)
    with pytest.raises(DatasetError, match="layout: 'davis2017' there vs 'vost' asked"):
        write("vost", out)
    write("davis2017", out, split="train")
    assert record_of(out)["layout"] == "davis2017"
    assert set(record_of(out)["splits"]) == {"val", "train"}
    assert load_synthetic(out, "train").names == ["synth-train-000"]


def test_a_former_lvos_record_is_refused_saying_what_to_do(tmp_path):
    out = tmp_path / "lvos"
    (out / "valid" / "JPEGImages").mkdir(parents=True)
    old = {"generator": "vosbench.benchmarks.lvos", "config": dataclasses.asdict(TINY)}
    (out / "lvos-synthetic.json").write_text(json.dumps(old))
    before = snapshot(out)
    with pytest.raises(DatasetError) as caught:
        write("lvos", out)  # even with the config it records: earlier writes may have mixed
    message = str(caught.value)
    assert message.startswith(f"{out}: holds a synthetic lvos dataset written by an earlier")
    assert "lvos-synthetic.json" in message and "delete this folder and write it again" in message
    assert snapshot(out) == before and not (out / "synthetic.json").exists()


def test_another_generator_version_is_refused(tmp_path):
    out = write("lvos", tmp_path / "out")
    record = record_of(out)
    record["generator_version"] = GENERATOR_VERSION - 1
    (out / "synthetic.json").write_text(json.dumps(record))
    with pytest.raises(DatasetError) as caught:
        write("lvos", out)
    assert f"generator_version: {GENERATOR_VERSION - 1} there vs {GENERATOR_VERSION} asked" in str(
        caught.value
    )


def test_layout_options_that_shape_the_files_are_compared(tmp_path):
    vost = synthetic_writer("vost")
    out = vost(tmp_path / "vost", TINY, step=6)
    assert record_of(out)["annotation_step"] == 6
    with pytest.raises(DatasetError, match="annotation_step: 6 there vs 3 asked"):
        vost(out, TINY, step=3)  # would leave masks of both steps in one folder
    sav = synthetic_writer("sav")
    out = sav(tmp_path / "sav", TINY, parts=True)
    with pytest.raises(DatasetError, match="parts: True there vs False asked"):
        sav(out, TINY, parts=False)  # the part masklets would stay on disk
    assert record_of(out)["parts"] is True and record_of(out)["annotation_step"] == 4


def test_presets_are_named_when_both_sides_have_one(tmp_path):
    out = write("davis2017", tmp_path / "out", PRESETS["small"])
    assert record_of(out)["preset"] == "small"
    with pytest.raises(DatasetError) as caught:
        claim_folder(out, PRESETS["val"], "davis2017")
    assert "(preset: 'small' there vs 'val' asked; config height: 96 there vs 480 asked, " in str(
        caught.value
    )


def test_an_option_the_record_lacks_is_said_so(tmp_path):
    out = write("vost", tmp_path / "out")
    record = record_of(out)
    del record["annotation_step"]
    (out / "synthetic.json").write_text(json.dumps(record))
    with pytest.raises(DatasetError, match=r"\(annotation_step: not recorded there vs 6 asked\)"):
        write("vost", out)


def test_an_unreadable_record_is_refused_naming_it(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "synthetic.json").write_text("{not json")
    with pytest.raises(DatasetError, match="cannot be read as a synthetic dataset record") as e:
        claim_folder(out, TINY, "vost")
    assert str(e.value).startswith(f"{out / 'synthetic.json'}: ")
    (out / "synthetic.json").write_text("[]")
    with pytest.raises(DatasetError, match="is not a synthetic dataset record"):
        claim_folder(out, TINY, "vost")


def test_claiming_creates_nothing(tmp_path):
    record = claim_folder(tmp_path / "a" / "b", TINY, "mose")
    assert not (tmp_path / "a").exists()
    assert record == {
        "generator": "vosbench.datasets.synthetic",
        "generator_version": GENERATOR_VERSION,
        "layout": "mose",
        "config": dataclasses.asdict(TINY),
        "preset": None,
        "splits": {},
    }


def test_the_synthetic_loader_names_the_layout_of_another_layouts_folder(tmp_path):
    out = write("vost", tmp_path / "vost")
    with pytest.raises(DatasetError, match="in the vost layout; read it with --dataset vost"):
        load_synthetic(out, "val")
    assert load_dataset("vost", out).names == ["synth-000"]
