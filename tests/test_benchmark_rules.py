"""The benchmark-rules seam: per-object frame lists, groups, the global table, official files,
per-object prediction folders, mask-folder fingerprints and `vosbench synth --layout`."""

from __future__ import annotations

import re

import numpy as np
import pytest

from vosbench.benchmarks import (
    DAVIS_RULES,
    BenchmarkRules,
    ScoredObject,
    object_means,
    rules_for,
    synthetic_layouts,
)
from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.datasets.synthetic import write_predictions, write_synthetic
from vosbench.io import read_mask, write_mask
from vosbench.metrics import evaluate, region_similarity, write_outputs
from vosbench.metrics.boundary import boundary_measure
from vosbench.results.evaluation import sequence_fingerprint


@pytest.fixture(scope="module")
def small_root(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("synthetic"), "small")


@pytest.fixture(scope="module")
def dataset(small_root):
    return load_dataset("davis2017", small_root)


@pytest.fixture(scope="module")
def predictions(small_root, dataset, tmp_path_factory):
    return write_predictions(dataset, tmp_path_factory.mktemp("pred"))


class StaggeredRules(BenchmarkRules):
    """Object k is scored on its own window of annotated frames, in group 'a' or 'b'."""

    name = "staggered"
    description = "test rules: staggered windows"

    def scored_objects(self, sequence, protocol):
        stems = sequence.annotated
        return [
            ScoredObject(int(i), tuple(stems[k : k + 5]), "ab"[k % 2])
            for k, i in enumerate(sequence.object_ids)
        ]

    def global_metrics(self, result):
        groups = {o.group for o in result.objects}
        means = {g: object_means([o for o in result.objects if o.group == g]) for g in groups}
        return {f"J-{g}": means[g]["J-Mean"] for g in sorted(groups)}

    def official_outputs(self, result):
        rows = "".join(f"{o.name},{o.group},{len(o.frames)}\n" for o in result.objects)
        return {"objects": (f"objects-{result.split}.csv", rows)}


def test_default_rules_are_davis(dataset):
    assert rules_for(dataset) is DAVIS_RULES
    assert rules_for("davis2016") is DAVIS_RULES
    assert rules_for("no-such-dataset") is DAVIS_RULES  # datasets built in memory
    assert "davis2017" in synthetic_layouts()


def test_per_object_frames_groups_and_outputs(dataset, predictions, tmp_path):
    rules = StaggeredRules()
    result = evaluate(dataset, predictions, workers=1, rules=rules)
    for obj in result.objects:
        sequence = dataset[obj.sequence]
        k = sequence.object_ids.index(obj.object_id)
        assert obj.frames == sequence.annotated[k : k + 5]
        assert obj.group == "ab"[k % 2]
        for t, stem in enumerate(obj.frames):  # each object's values on its own frames
            gt = sequence.read_annotation(stem) == obj.object_id
            pred = read_mask(predictions / obj.sequence / f"{stem}.png") == obj.object_id
            assert obj.j[t] == region_similarity(pred, gt)
            assert obj.f[t] == boundary_measure(pred, gt)
    assert set(result.global_metrics()) <= {"J-a", "J-b"}
    files = write_outputs(result, tmp_path)
    assert files["objects"].name == "objects-val.csv"
    assert not (tmp_path / "global_results-val.csv").exists()
    assert "Group" in (tmp_path / "per-object_results-val.csv").read_text().splitlines()[0]
    assert result.protocol_record()["rules"] == "staggered"


def test_missing_frames_follow_the_rules(dataset, predictions, tmp_path):
    """Only the frames the rules score must exist: DAVIS's last frame is never read."""
    copy = tmp_path / "pred"
    for sequence in dataset:
        for stem in sequence.annotated[1:-1]:
            write_mask(
                copy / sequence.name / f"{stem}.png",
                read_mask(predictions / sequence.name / f"{stem}.png"),
            )
    assert evaluate(dataset, copy, workers=1).global_metrics() == pytest.approx(
        evaluate(dataset, predictions, workers=1).global_metrics()
    )


class PerObjectFolders(BenchmarkRules):
    """Predictions as <sequence>/<object:03d>/<stem>.png, one binary mask per object."""

    name = "per-object"

    def prediction_files(self, results_dir, sequence, stem, objects):
        return [results_dir / sequence / f"{o.object_id:03d}" / f"{stem}.png" for o in objects]

    def read_prediction(self, results_dir, sequence, stem, objects, digest, binary):
        layers = []
        for path in self.prediction_files(results_dir, sequence, stem, objects):
            digest.update(path.read_bytes())
            layers.append(read_mask(path) > 0)
        return np.stack(layers)


def test_per_object_prediction_folders(dataset, predictions, tmp_path):
    """The same masks stored per object score exactly as the id maps they came from."""
    split = tmp_path / "split"
    for sequence in dataset:
        for stem in sequence.annotated:
            labels = read_mask(predictions / sequence.name / f"{stem}.png")
            for i in sequence.object_ids:
                mask = (labels == i).astype(np.uint8) * 255
                write_mask(split / sequence.name / f"{i:03d}" / f"{stem}.png", mask)
    expected = evaluate(dataset, predictions, workers=1)
    result = evaluate(dataset, split, workers=1, rules=PerObjectFolders())
    for a, b in zip(expected.objects, result.objects):
        assert (a.name, a.frames) == (b.name, b.frames)
        np.testing.assert_array_equal(a.j, b.j)
        np.testing.assert_array_equal(a.f, b.f)
    first = dataset.sequences[0]
    absent = split / first.name / "001" / f"{first.annotated[1]}.png"
    absent.unlink()
    with pytest.raises(Exception, match="prediction file not found"):
        evaluate(dataset, split, workers=1, rules=PerObjectFolders())


def test_fingerprint_sees_nested_masks(tmp_path):
    folder = tmp_path / "seq"
    write_mask(folder / "001" / "00000.png", np.zeros((4, 4), np.uint8))
    before = sequence_fingerprint(folder)
    write_mask(folder / "001" / "00000.png", np.ones((4, 4), np.uint8))
    assert sequence_fingerprint(folder) != before


def test_synth_layout(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "d"), "--preset", "small", "--layout", "davis2017"]) == 0
    assert (tmp_path / "d" / "ImageSets" / "2017" / "val.txt").is_file()
    assert main(["synth", str(tmp_path / "e"), "--preset", "small", "--layout", "segtrackv2"]) != 0
    assert "has no synthetic layout" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "f"), "--layout", "davis2071"]) != 0
    assert "did you mean" in capsys.readouterr().err


def test_datasets_lists_the_rules_and_tasks(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "scored by: DAVIS" in out
    blocks = {block.split()[0]: block for block in re.split(r"\n(?=\S)", out)}
    assert "tasks: semi-supervised, unsupervised, unsupervised-single" in blocks["lvos"]
    assert "unsupervised-single" not in blocks["davis2017"]
    name_column = {len(line) - len(line.lstrip()) for line in out.splitlines() if line[:1] == " "}
    assert len(name_column) == 1 and min(name_column) > len("youtube-vos-2018")
