"""SA-V: the loader, the synthetic layout, the per-object export the runner writes, the rules,
and vosbench's numbers against the golden numbers of the official evaluator
(``golden/sav/official.json``, see its README)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from vost_sav_scenarios import build_sav

from vosbench.benchmarks import rules_for, sav
from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.datasets.sav import binary_object_mask, object_folder
from vosbench.datasets.synthetic import resolve_config
from vosbench.errors import DatasetError, EvaluationError, MaskFormatError, SequenceTooShortError
from vosbench.io import read_mask, write_mask
from vosbench.metrics import Protocol, evaluate

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
    # the official evaluator's numbers, from the run's id maps and from its per-object export
    for folder in (result.store.masks_dir, official):
        assert_golden(evaluate(dataset, folder, workers=1), golden)


def assert_golden(result, golden) -> None:
    """Per-object J and F and the global numbers to 1e-9, results.csv byte for byte."""
    table = sav.object_percentages(result)
    assert list(table) == list(golden["objects"])
    for video, rows in golden["objects"].items():
        assert list(table[video]) == list(rows)
        for folder, expected in rows.items():
            j, f = table[video][folder]
            assert abs(j - expected["J"]) <= 1e-9 and abs(f - expected["F"]) <= 1e-9, (
                video,
                folder,
            )
    totals = result.global_metrics()
    assert list(totals) == ["J&F-Mean", "J-Mean", "F-Mean"]
    for key, name in (("J&F-Mean", "J&F"), ("J-Mean", "J"), ("F-Mean", "F")):
        assert abs(totals[key] * 100 - golden["global"][name]) <= 1e-9, key
    assert result.rules.official_outputs(result) == {
        "results": ("results.csv", golden["results_csv"])
    }


@pytest.fixture
def scenarios(tmp_path):
    folders = build_sav(tmp_path)
    assert digest(tmp_path) == GOLDEN["scenarios_blake2b"], "scenario data changed"
    return folders


def test_numbers_equal_the_official_evaluator(scenarios):
    dataset = load_dataset("sav", scenarios["gt"], "sav_val")
    result = evaluate(dataset, scenarios["results"], workers=1)
    assert result.rules is sav.SAV_RULES and rules_for("sav") is sav.SAV_RULES
    assert_golden(result, GOLDEN["scenarios"])
    by_name = {(o.sequence, o.object_id): o for o in result.objects}
    # the late object (folder 000 of sav_000002, empty GT and prediction on frames 1-3 of
    # its evaluated frames) is counted from its 4th evaluated frame; the prediction firing
    # before its object (folder 001) keeps every frame
    late = by_name["sav_000002", 1]
    assert late.frames[0] == "00016" and len(late.frames) == 4
    assert len(by_name["sav_000002", 2].frames) == 7
    assert by_name["sav_000003", 5].frames == ("00012", "00016", "00020")


def test_overlapping_ground_truth_is_scored_per_object(scenarios):
    """Folder 001 of sav_000001 lies inside folder 000: read as one id map it would lose
    either; per object both keep their pixels, and a perfect prediction scores 100."""
    dataset = load_dataset("sav", scenarios["gt"], "sav_val")
    video = dataset["sav_000001"]
    masks = video.read_objects("00004", (1, 2))
    assert masks.shape[0] == 2 and (masks[0] & masks[1]).any()
    perfect = scenarios["results"].parent / "perfect"
    shutil.copytree(scenarios["gt"] / "Annotations_6fps", perfect)
    result = evaluate(dataset, perfect, workers=1)
    assert result.global_metrics() == {"J&F-Mean": 1.0, "J-Mean": 1.0, "F-Mean": 1.0}
    assert any("identical to the ground truth" in w for w in result.warnings)


def test_cli_writes_results_csv(scenarios, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["eval", str(scenarios["results"]), "--dataset", "sav", "--root",
                 str(scenarios["gt"]), "-j", "1", "-q", "-o", str(out)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert (out / "results.csv").read_text() == GOLDEN["scenarios"]["results_csv"]
    assert not (out / "global_results-sav_val.csv").exists()  # DAVIS's files are not SA-V's
    assert "each object's annotated frames without its first and its last" in captured.err
    assert "NON-OFFICIAL" not in captured.err
    main(["datasets"])
    listing = capsys.readouterr().out
    entry = listing.split("\nsav ")[1].splitlines()[:4]
    assert entry[3].strip().startswith("scored by: SA-V (sav_evaluator.py)"), entry


def test_object_empty_on_every_evaluated_frame_is_named(scenarios):
    """The official evaluator stops on an assertion; vosbench names the object."""
    folder = scenarios["annotations"] / "sav_000003" / "004"
    for path in sorted(folder.iterdir())[1:-1]:
        write_mask(path, np.zeros_like(read_mask(path)))
    dataset = load_dataset("sav", scenarios["gt"], "sav_val")
    with pytest.raises(EvaluationError, match=r"object 004 of video 'sav_000003' .*empty mask"):
        evaluate(dataset, scenarios["results"], workers=1)
    error = None
    try:
        evaluate(dataset, scenarios["results"], workers=1, collect_problems=True)
    except EvaluationError as caught:
        error = caught
    assert error is not None and [p.path for p in error.problems] == [folder]


def test_object_without_evaluated_frames_is_named(scenarios):
    folder = scenarios["annotations"] / "sav_000003" / "004"
    for path in sorted(folder.iterdir())[2:]:
        path.unlink()
    dataset = load_dataset("sav", scenarios["gt"], "sav_val")
    with pytest.raises(SequenceTooShortError, match=r"object 004 of video 'sav_000003' has 2"):
        evaluate(dataset, scenarios["results"], workers=1)
    # every annotated frame (the official --do_not_skip_first_and_last_frame) scores it
    result = evaluate(dataset, scenarios["results"], Protocol.for_dataset(dataset, all_frames=True))
    assert len({(o.sequence, o.object_id): o for o in result.objects}["sav_000003", 5].frames) == 2


def test_prediction_errors_name_the_file(scenarios):
    dataset = load_dataset("sav", scenarios["gt"], "sav_val")
    missing = scenarios["results"] / "sav_000002" / "003" / "00008.png"
    missing.unlink()
    with pytest.raises(EvaluationError, match="00008.png") as caught:
        evaluate(dataset, scenarios["results"], workers=1)
    assert caught.value.problems[0].path == missing
    write_mask(missing, np.array([[0, 1], [2, 0]], np.uint8))
    with pytest.raises(MaskFormatError, match="one object per PNG"):
        evaluate(dataset, scenarios["results"], workers=1)


def test_presence_metrics_are_required(scenarios):
    from vosbench.errors import ConfigError

    dataset = load_dataset("sav", scenarios["gt"], "sav_val")
    protocol = Protocol.for_dataset(dataset, metrics=("J", "F"))
    with pytest.raises(ConfigError, match="'absent' and 'pred-absent'"):
        evaluate(dataset, scenarios["results"], protocol, workers=1)
