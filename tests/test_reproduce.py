"""`vosbench reproduce` end to end on a stand-in checkpoint: a tiny random RGMP saved with its
configuration, a two-sequence DAVIS-2016-layout root, and an official result archive in the
DAVIS site's layout (<sequence>/<frame>.png, 0/255): one sequence the ground truth itself, one
a shifted copy. No network: the "weights cannot be had" path uses an empty mirror folder."""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from vosbench_methods.rgmp import RGMPConfig, RGMPNet

from vosbench.cli import main
from vosbench.datasets.synthetic import SyntheticConfig, synthetic_dataset
from vosbench.errors import ConfigError
from vosbench.report.reproduce import Benchmark, parse_roots, select_benchmarks
from vosbench.results import RunStore, evaluate_run, evaluation_status
from vosbench.runner.checkpoint import save_checkpoint
from vosbench.runner.methods import architecture_record, make_config
from vosbench.weights import weight_card

SHIFT = 3  # pixels the second sequence's official masks are moved to the right


def _fg(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path)) != 0


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.pth"
    config = make_config(RGMPConfig, {"size": "tiny"})
    state = RGMPNet(size="tiny").state_dict()
    save_checkpoint(path, state, method="rgmp", architecture=architecture_record(config))
    return path


@pytest.fixture(scope="module")
def davis2016(tmp_path_factory) -> Path:
    """A DAVIS-2016-layout root (JPEGImages/480p, 0/255 Annotations/480p, ImageSets/2016)."""
    root = tmp_path_factory.mktemp("DAVIS-2016")
    config = SyntheticConfig(num_sequences=2, num_frames=6, height=64, width=96, max_objects=1)
    data = synthetic_dataset(config, "val")
    for sequence in data.sequences:
        for stem in sequence.frames:
            frames = root / "JPEGImages" / "480p" / sequence.name
            masks = root / "Annotations" / "480p" / sequence.name
            frames.mkdir(parents=True, exist_ok=True)
            masks.mkdir(parents=True, exist_ok=True)
            Image.fromarray(sequence.read_frame(stem)).save(frames / f"{stem}.jpg", quality=95)
            mask = np.where(sequence.read_annotation(stem) == 1, 255, 0).astype(np.uint8)
            Image.fromarray(mask, mode="L").save(masks / f"{stem}.png")
    (root / "ImageSets" / "2016").mkdir(parents=True)
    (root / "ImageSets" / "2016" / "val.txt").write_text("\n".join(data.names) + "\n")
    return root


@pytest.fixture(scope="module")
def archive(davis2016, tmp_path_factory) -> Path:
    """The official archive: the first sequence is the ground truth, the second shifted."""
    folder = tmp_path_factory.mktemp("RGMP-results")
    names = sorted(p.name for p in (davis2016 / "Annotations" / "480p").iterdir())
    for index, name in enumerate(names):
        (folder / name).mkdir()
        for gt in sorted((davis2016 / "Annotations" / "480p" / name).glob("*.png")):
            mask = _fg(gt)
            if index == 1:
                mask = np.roll(mask, SHIFT, axis=1)
                mask[:, :SHIFT] = False
            Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(folder / name / gt.name)
    return folder


@pytest.fixture(scope="module")
def reproduced(tiny_weights, davis2016, archive, tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    args = [
        "reproduce",
        "--method",
        "rgmp",
        "--root",
        f"davis2016={davis2016}",
        "--weights",
        str(tiny_weights),
        "--official-results",
        str(archive),
        "--results",
        str(results),
        "--warmup",
        "0",
        "-j",
        "1",
        "-c",
        "scales=1.0",
    ]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = main(args)
    return code, results, out.getvalue()


def _table(markdown: str, first_column: str) -> dict[str, dict[str, str]]:
    """The Markdown table whose header starts with ``first_column``, by its first cell."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_column} |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells))
    return rows


def _per_sequence(run_dir: Path) -> dict[str, float]:
    with open(run_dir / "per-object_results-val.csv", newline="") as handle:
        return {
            r["Sequence"]: (float(r["J-Mean"]) + float(r["F-Mean"])) / 2
            for r in csv.DictReader(handle)
        }


def test_reproduce_writes_published_and_measured_side_by_side(reproduced):
    code, results, out = reproduced
    assert code == 0
    assert "rgmp on davis2017/val: not run: no root given" in out
    assert "rgmp on davis2017/test-dev: not run: no root given" in out
    assert "rgmp on davis2016/val: done" in out
    report = results / "reproduce" / "rgmp-davis2016.md"
    assert sorted(p.name for p in (results / "reproduce").glob("*.md")) == [report.name]
    text = report.read_text()
    run_dir = Path(re.search(r"run folder: `([^`]+)`", text).group(1))
    assert run_dir.parent == results / "davis2016-val"
    measured = evaluate_run(RunStore(run_dir)).global_metrics()  # the evaluation's global table
    table = _table(text, "metric")
    assert set(table) == {
        "J&F-Mean",
        "J-Mean",
        "J-Recall",
        "J-Decay",
        "F-Mean",
        "F-Recall",
        "F-Decay",
        "T-Mean",
        "ms/frame",
    }
    references = [r for r in weight_card("rgmp:davis").references if r.benchmark == "davis2016/val"]
    assert references
    for reference in references:  # differences are measured − published, each source its column
        row = table[reference.metric]
        if reference.metric == "ms/frame":
            continue
        value = measured[reference.metric]
        assert row[reference.source] == f"{reference.value:.3f}"
        if math.isnan(value):  # T of masks that vanish is undefined: no number, no difference
            assert row["measured"] == row[f"Δ {reference.source}"] == "–"
            continue
        assert row["measured"] == f"{value:.3f}"
        assert row[f"Δ {reference.source}"] == f"{value - reference.value:+.3f}"
    assert table["J-Mean"]["paper"] == "0.815" and table["J-Mean"]["DAVIS-2016 leaderboard"]
    assert table["ms/frame"]["RANet paper, Table 1 (GPU, timed without CUDA synchronisation)"]
    assert "tiny.pth" in text and "sha256" in text
    assert 'changed from the defaults: scales=[1.0], size="tiny"' in text
    assert "speed:" in text and "exclusiv" in text


def test_the_official_archive_is_compared_per_sequence_and_mask_by_mask(
    reproduced, davis2016, archive
):
    code, results, _ = reproduced
    assert code == 0
    text = (results / "reproduce" / "rgmp-davis2016.md").read_text()
    run_dir = Path(re.search(r"run folder: `([^`]+)`", text).group(1))
    official_dir = results / "reproduce" / "official" / "rgmp-davis2016"
    assert RunStore(official_dir).exists()
    rows = _table(text, "sequence")
    names = sorted(p.name for p in archive.iterdir())
    assert sorted(rows) == names
    ours, theirs = _per_sequence(run_dir), _per_sequence(official_dir)
    exact, shifted = names
    assert rows[exact]["official J&F"] == "1.000"  # the ground truth scores J = F = 1
    # the shifted copy's J by hand: IoU with the ground truth on frames 1 … T-2
    frames = sorted((davis2016 / "Annotations" / "480p" / shifted).glob("*.png"))
    ious = []
    for gt_path in frames[1:-1]:
        gt, pred = _fg(gt_path), _fg(archive / shifted / gt_path.name)
        ious.append((gt & pred).sum() / (gt | pred).sum())
    with open(official_dir / "per-object_results-val.csv", newline="") as handle:
        j_shifted = next(
            float(r["J-Mean"]) for r in csv.DictReader(handle) if r["Sequence"] == shifted
        )
    assert j_shifted == pytest.approx(float(np.mean(ious)), abs=1e-9) and j_shifted < 1
    for name in names:
        assert rows[name]["official J&F"] == f"{theirs[name]:.3f}"
        assert rows[name]["vosbench J&F"] == f"{ours[name]:.3f}"
        assert rows[name]["diff"] == f"{ours[name] - theirs[name]:+.3f}"
        # mask agreement by hand: mean over every frame of IoU(ours, theirs), empty pairs = 1
        values = []
        for path in sorted((archive / name).glob("*.png")):
            a, b = _fg(run_dir / "masks" / name / path.name), _fg(path)
            union = (a | b).sum()
            values.append(1.0 if union == 0 else (a & b).sum() / union)
        assert rows[name]["mask IoU"] == f"{np.mean(values):.3f}"
        assert rows[name]["frames"] == str(len(values))
    assert not math.isnan(float(rows[exact]["mask IoU"]))


def test_weights_that_cannot_be_had_stop_cleanly(davis2016, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VOSBENCH_HOME", str(tmp_path / "home"))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    results = tmp_path / "results"
    code = main(
        [
            "reproduce",
            "-m",
            "rgmp",
            "-d",
            "davis2016",
            "--root",
            str(davis2016),
            "--mirror",
            str(mirror),
            "--results",
            str(results),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot download rgmp:davis (weights.pth)" in err
    assert "vosbench convert --method rgmp weights.pth rgmp-davis.pth" in err
    assert "Traceback" not in err
    assert not results.exists()  # nothing half-written


def test_a_damaged_archive_file_is_named(reproduced, tiny_weights, davis2016, tmp_path, capsys):
    code, results, _ = reproduced
    assert code == 0
    archive = tmp_path / "archive"
    names = sorted(p.name for p in (davis2016 / "Annotations" / "480p").iterdir())
    (archive / names[0]).mkdir(parents=True)
    bad = archive / names[0] / "00001.png"
    Image.new("RGB", (96, 64)).save(bad, format="JPEG")
    args = ["reproduce", "-m", "rgmp", "-d", "davis2016", "--root", str(davis2016)]
    args += ["-w", str(tiny_weights), "--official-results", str(archive), "--results"]
    args += [str(results), "--warmup", "0", "-j", "1", "-c", "scales=1.0"]  # resumes: runs nothing
    assert main(args) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "JPEG" in err and "Traceback" not in err
    # checked before anything was written: the earlier import is still whole and current
    official = RunStore(results / "reproduce" / "official" / "rgmp-davis2016")
    assert evaluation_status(official).current and len(official.records()) == 2


def test_roots_by_dataset_flag_or_environment(tmp_path):
    two = [Benchmark("davis2016", "val"), Benchmark("davis2017", "val")]
    roots = parse_roots(
        ["davis2016=/d/16"], two, environ={"VOSBENCH_ROOT_DAVIS2017": str(tmp_path)}
    )
    assert roots == {"davis2016": Path("/d/16"), "davis2017": tmp_path}
    assert parse_roots(["/d/x=y"], two[:1], environ={}) == {"davis2016": Path("/d/x=y")}
    with pytest.raises(ConfigError, match="DATASET=PATH"):
        parse_roots(["/d/16"], two, environ={})


def test_benchmarks_come_from_the_card():
    keys = [b.key for b in select_benchmarks("rgmp", None, None)]
    assert keys == ["davis2016/val", "davis2017/val", "davis2017/test-dev"]
    assert [b.key for b in select_benchmarks("rgmp", "davis2017", "val")] == ["davis2017/val"]
    assert [b.key for b in select_benchmarks("rgmp", "synthetic", None)] == ["synthetic/val"]
