"""Reports: leaderboard numbers and order, staleness, missing ground truth, plots, overlays,
videos, the self-contained HTML page and (when Chromium is installed) how it renders.

Run folders are built by hand following the runner's layout, on a tiny in-memory synthetic
dataset, so nothing here needs real data, a GPU or the runner itself.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vosbench.datasets import load_dataset
from vosbench.datasets.synthetic import write_predictions
from vosbench.errors import DatasetError, Problem
from vosbench.io import DAVIS_PALETTE, read_mask, write_mask
from vosbench.metrics import evaluate
from vosbench.report import (
    ReportError,
    collect_runs,
    leaderboard_rows,
    overlay,
    render_plots,
    write_html,
    write_leaderboard,
    write_overlay_video,
    write_report,
)
from vosbench.report.plots import attribute_table, j_over_time
from vosbench.report.tables import format_fps
from vosbench.results import RunStore, evaluate_run, evaluation_status, write_json
from vosbench.runner.timing import summarize

OPTIONS = {"num_sequences": 3, "num_frames": 8, "height": 48, "width": 64}
METRICS = {
    "J&F": "J&F-Mean",
    "J-Mean": "J-Mean",
    "J-Recall": "J-Recall",
    "J-Decay": "J-Decay",
    "F-Mean": "F-Mean",
    "F-Recall": "F-Recall",
    "F-Decay": "F-Decay",
}
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def dataset():
    return load_dataset("synthetic", None, "val", **OPTIONS)


def dataset_record(root=None, name="synthetic") -> dict:
    return {
        "name": name,
        "split": "val",
        "task": "semi-supervised",
        "label": f"{name}/val",
        "root": None if root is None else str(root),
        "options": dict(OPTIONS) if name == "synthetic" else {},
        "sequences": None,
        "binary": False,
    }


def manifest(method: str, dataset: dict, **extra) -> dict:
    card = {
        "name": method,
        "task": "semi-supervised",
        "summary": f"{method} <b>baseline</b>",
        "paper": "A & B (2024)",
        "code_url": "https://example.org/code",
        "licence": "MIT",
    }
    record = {
        "format": "vosbench-run/1",
        "method": method,
        "card": card,
        "config": {"k": 1},
        "config_hash": f"{method[:4]}0123456789"[:12],
        "weights": None,
        "random_init": False,
        "dataset": dataset,
        "dataset_id": "synthetic-test",
        "device": "cpu",
        "device_name": "Test CPU",
        "precision": "fp32",
        "created": "2025-01-01T00:00:00+00:00",
        "settings": {"warmup_frames": 0, "io_workers": 1, "exclusive": True, "shard": [0, 1]},
    }
    record.update(extra)
    return record


def make_run(
    results: Path,
    dataset,
    method: str,
    quality: str,
    ms: float,
    *,
    evaluated: bool = True,
    spec: dict | None = None,
) -> tuple:
    """A run folder as the runner writes it; returns (store, evaluation or None)."""
    store = RunStore(results / "synthetic-val" / method)
    write_predictions(dataset, store.masks_dir, quality=quality)
    records = []
    for sequence in dataset:
        n = len(sequence.frames)
        record = {
            "sequence": sequence.name,
            "config_hash": "x",
            "frames": list(sequence.frames),
            "num_frames": n,
            "num_objects": len(sequence.object_ids),
            "object_ids": list(sequence.object_ids),
            "size": list(sequence.size),
            "model_ms": [3 * ms] + [ms] * (n - 1),
            "e2e_ms": [3 * ms + 2] + [ms + 2] * (n - 1),
            "init_ms": 3 * ms,
            "peak_host_mb": 100.0,
            "peak_gpu_mb": None,
            "digest": f"{quality}-{sequence.name}",
            "finished": "now",
            "load": {"other_cpu_cores": 0.0, "other_gpu_processes": None},
        }
        write_json(store.marker_path(sequence.name), record)
        records.append(record)
    write_json(store.manifest_path, manifest(method, spec or dataset_record()))
    write_json(store.root / "summary.json", summarize(records))
    result = None
    if evaluated:
        result = evaluate_run(store, dataset=dataset, workers=1)
    return store, result


def no_evaluation(store):
    raise AssertionError(f"{store.root} should not need evaluating")


def colour_count(rgb: np.ndarray) -> int:
    packed = rgb[..., 0].astype(np.uint32) << 16 | rgb[..., 1].astype(np.uint32) << 8 | rgb[..., 2]
    return len(np.unique(packed))


def read_rows(path: Path) -> list:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def two_runs(tmp_path, dataset):
    results = tmp_path / "results"
    good = make_run(results, dataset, "good-method", "good", ms=10.0)
    noisy = make_run(results, dataset, "noisy-method", "noisy", ms=2.0)
    return results, {"good-method": good, "noisy-method": noisy}


# -- leaderboard ---------------------------------------------------------------------------------
def test_leaderboard_numbers_equal_the_evaluation(two_runs, tmp_path):
    results, runs = two_runs
    files = write_leaderboard(
        collect_runs(results, evaluate=no_evaluation), tmp_path / "out", results
    )
    rows = read_rows(files["leaderboard.csv"])
    assert [r["method"] for r in rows] == ["good-method", "noisy-method"]  # J&F descending
    for row in rows:
        store, result = runs[row["method"]]
        metrics = result.global_metrics()
        for column, source in METRICS.items():
            assert row[column] == f"{metrics[source]:.3f}", (row["method"], column)
        summary = summarize(store.records())
        assert row["model FPS"] == format_fps(summary["fps"])
        assert row["end-to-end FPS"] == format_fps(summary["e2e_fps"])
        assert (row["dataset"], row["split"], row["sequences"]) == ("synthetic", "val", "3/3")
        assert (row["device"], row["precision"], row["exclusive"], row["objects"]) == (
            "Test CPU",
            "fp32",
            "yes",
            "7",
        )
        assert row["status"] == "evaluated"
    assert float(rows[0]["model FPS"]) < float(rows[1]["model FPS"])  # 10 ms vs 2 ms per frame
    assert "| method | dataset |" in files["leaderboard.md"].read_text()


def test_per_sequence_table_averages_objects(two_runs, tmp_path):
    results, runs = two_runs
    files = write_leaderboard(collect_runs(results, evaluate=no_evaluation), tmp_path / "out")
    rows = read_rows(files["per-sequence/synthetic-val.csv"])
    assert [r["sequence"] for r in rows] == ["synth-000", "synth-001", "synth-002"]
    for method, (_, result) in runs.items():
        for row, scores in zip(rows, result.sequences):
            expected = np.mean([(o.j_stats.mean + o.f_stats.mean) / 2 for o in scores.objects])
            assert row[method] == f"{expected:.3f}"
    assert files["per-sequence/synthetic-val.md"].is_file()


def test_fps_and_metric_formats():
    assert (format_fps(123.456), format_fps(4.5678), format_fps(float("nan"))) == (
        "123.5",
        "4.57",
        "",
    )


# -- evaluation state ----------------------------------------------------------------------------
def test_stale_evaluation_is_redone_through_the_injected_callable(two_runs, dataset):
    results, runs = two_runs
    store, _ = runs["noisy-method"]
    write_predictions(dataset, store.masks_dir, quality="poor", overwrite=True)  # new masks: stale
    assert not evaluation_status(store).current
    calls = []

    def reevaluate(target: RunStore):
        calls.append(target.root)
        evaluate_run(target, dataset=dataset, workers=1)

    reports = {r.method: r for r in collect_runs(results, evaluate=reevaluate)}
    assert calls == [store.root]
    fresh = evaluate(dataset, store.masks_dir, workers=1).global_metrics()
    assert reports["noisy-method"].status == "evaluated"
    assert reports["noisy-method"].jf == pytest.approx(fresh["J&F-Mean"], abs=5e-4)


def test_stale_evaluation_without_evaluator_is_not_shown(two_runs):
    results, runs = two_runs
    store, _ = runs["good-method"]
    record = store.records()[0]
    mask = store.sequence_dir(record["sequence"]) / f"{record['frames'][1]}.png"
    write_mask(mask, np.zeros_like(read_mask(mask)))  # one mask replaced, markers untouched
    reports = {r.method: r for r in collect_runs(results, evaluate=None)}
    stale = reports["good-method"]
    assert stale.status.startswith("not evaluated") and "stale" in stale.status
    assert stale.global_metrics is None and stale.per_sequence is None
    rows = leaderboard_rows(list(reports.values()))
    assert rows[-1]["method"] == "good-method" and rows[-1]["J&F"] == ""  # unevaluated rows go last


def test_missing_ground_truth_gives_a_not_evaluated_row(two_runs, dataset, tmp_path):
    results, _ = two_runs
    gone = dataset_record(tmp_path / "no-such-davis", name="davis2017")
    make_run(results, dataset, "orphan", "good", ms=5.0, evaluated=False, spec=gone)

    def no_ground_truth(store):
        raise DatasetError(Problem(Path(gone["root"]), "dataset folder not found", "missing"))

    reports = {r.method: r for r in collect_runs(results, evaluate=no_ground_truth)}
    orphan = reports["orphan"]
    assert orphan.status.startswith("not evaluated: not evaluated yet; re-evaluating failed")
    assert "no-such-davis" in orphan.status
    assert any(note.startswith("dataset unavailable") for note in orphan.notes)
    assert orphan.total_sequences is None
    files = write_leaderboard(list(reports.values()), tmp_path / "out")
    row = next(r for r in read_rows(files["leaderboard.csv"]) if r["method"] == "orphan")
    assert row["J&F"] == "" and row["sequences"] == "3/?" and row["model FPS"] != ""


def test_damaged_evaluation_files_are_reported_not_fatal(two_runs):
    results, runs = two_runs
    store, _ = runs["good-method"]
    (store.root / "per-object_results-val.csv").unlink()
    reports = {r.method: r for r in collect_runs(results, evaluate=None)}
    assert reports["good-method"].status.startswith("not evaluated: stale: ")
    assert "per-object_results-val.csv" in reports["good-method"].status
    assert reports["noisy-method"].evaluated


def test_failures_are_noted(two_runs):
    results, runs = two_runs
    store, _ = runs["good-method"]
    store.record_failure("synth-009", {"sequence": "synth-009", "error": "boom", "traceback": ""})
    report = next(
        r for r in collect_runs(results, evaluate=no_evaluation) if r.method == "good-method"
    )
    assert report.notes == ["1 sequence(s) failed: synth-009"]


def test_corrupt_manifest_names_the_file(two_runs):
    results, runs = two_runs
    path = runs["good-method"][0].manifest_path
    path.write_text("{not json")
    warnings: list = []
    reports = {r.method for r in collect_runs(results, evaluate=no_evaluation, warnings=warnings)}
    assert reports == {"noisy-method"}, "a damaged run is left out, the others reported"
    assert (
        len(warnings) == 1 and str(path) in warnings[0] and "damaged: not valid JSON" in warnings[0]
    )
    assert "--force" in warnings[0], "the warning says how to recover"
    path.write_text('{"format": "something-else/1"}')
    warnings = []
    assert {r.method for r in collect_runs(results, evaluate=no_evaluation, warnings=warnings)} == {
        "noisy-method"
    }
    assert warnings == [f"skipped {path}: not a vosbench run manifest (format 'something-else/1')"]


def test_summary_is_recomputed_when_shards_left_it_partial(two_runs):
    results, runs = two_runs
    store, _ = runs["good-method"]
    write_json(store.root / "summary.json", summarize(store.records()[:1]))
    report = next(
        r for r in collect_runs(results, evaluate=no_evaluation) if r.method == "good-method"
    )
    assert report.summary["sequences"] == 3


# -- plots ---------------------------------------------------------------------------------------
def test_plots_are_written_and_non_empty(two_runs):
    results, _ = two_runs
    images = render_plots(collect_runs(results, evaluate=no_evaluation))
    assert sorted(images) == [
        f"plots/synthetic-val-{kind}.png"
        for kind in ("j-over-time", "per-sequence", "speed-accuracy")
    ]
    for data in images.values():
        with Image.open(io.BytesIO(data)) as image:
            assert image.width > 300 and image.height > 200
            assert colour_count(np.asarray(image.convert("RGB"))) > 20  # something was drawn


def test_attribute_breakdown(two_runs):
    results, _ = two_runs
    runs = collect_runs(results, evaluate=no_evaluation)
    fake = SimpleNamespace(
        sequences=[
            SimpleNamespace(name="synth-000", attributes={"attributes": ["AC", "DB"]}),
            SimpleNamespace(name="synth-001", attributes={"attributes": ["AC"]}),
            SimpleNamespace(name="synth-002", attributes={}),
        ]
    )
    attributes = {"synth-000": ["AC", "DB"], "synth-001": ["AC"]}
    table = attribute_table(runs, attributes)
    jf = runs[0].per_sequence.set_index("Sequence")["J&F"]
    assert table.loc["AC", runs[0].label] == pytest.approx((jf["synth-000"] + jf["synth-001"]) / 2)
    assert table.loc["DB", runs[0].label] == pytest.approx(jf["synth-000"])
    for run in runs:
        run.dataset = fake
    assert "plots/synthetic-val-attributes.png" in render_plots(runs)


def test_j_over_time_weighs_objects_equally():
    frame = pd.DataFrame(
        {
            "Sequence": ["a"] * 4 + ["b"] * 3,
            "Object": [1] * 4 + [1] * 3,
            "Frame": list("0123") + list("012"),
            "J": [1, 1, 0, 0, 0.5, 0.5, 0.5],
            "F": 0.0,
        }
    )
    assert j_over_time(frame, bins=2) == pytest.approx([0.75, 0.25])


# -- overlays and videos -------------------------------------------------------------------------
def test_overlay_colours_and_contours():
    frame = np.full((5, 5, 3), 100, np.uint8)
    labels = np.zeros((5, 5), np.uint8)
    labels[1:4, 1:4] = 1
    labels[0, 4] = 2
    out = overlay(frame, labels, alpha=0.5)
    red, green = DAVIS_PALETTE[1], DAVIS_PALETTE[2]
    assert tuple(red) == (128, 0, 0) and tuple(green) == (0, 128, 0)
    assert tuple(out[2, 2]) == (114, 50, 50)  # interior: half frame, half palette colour
    assert tuple(out[1, 1]) == tuple(red) and tuple(out[3, 2]) == tuple(
        red
    )  # contour: solid colour
    assert tuple(out[0, 4]) == tuple(green)
    assert tuple(out[0, 0]) == (100, 100, 100)  # background untouched
    plain = overlay(frame, labels, alpha=0.5, contour=0)
    assert tuple(plain[1, 1]) == (114, 50, 50)
    small = overlay(
        np.full((10, 10, 3), 100, np.uint8), labels, alpha=1.0, contour=0
    )  # labels resized
    assert tuple(small[4, 4]) == tuple(red) and tuple(small[0, 0]) == (100, 100, 100)
    assert frame[2, 2, 0] == 100  # the input is not modified


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_overlay_video_has_every_frame(two_runs, dataset, tmp_path, suffix):
    _, runs = two_runs
    store, _ = runs["good-method"]
    sequence = dataset.sequences[0]
    out = write_overlay_video(
        store.root, sequence.name, tmp_path / f"video{suffix}", fps=5
    )  # frames via manifest
    assert out.stat().st_size > 0
    if suffix == ".gif":
        with Image.open(out) as gif:
            assert gif.n_frames == len(sequence.frames) and gif.size == (64, 48)
    else:
        capture = cv2.VideoCapture(str(out))
        count = 0
        while capture.read()[0]:
            count += 1
        capture.release()
        assert count == len(sequence.frames)


def test_overlay_video_errors_name_the_problem(two_runs, dataset, tmp_path):
    _, runs = two_runs
    store, _ = runs["good-method"]
    with pytest.raises(ReportError, match="unsupported video type"):
        write_overlay_video(store, "synth-000", tmp_path / "v.avi", dataset=dataset)
    with pytest.raises(ReportError, match="no masks for sequence 'nope'"):
        write_overlay_video(store, "nope", tmp_path / "v.gif", dataset=dataset)


# -- html ----------------------------------------------------------------------------------------
def test_report_html_is_self_contained(two_runs, tmp_path):
    results, runs = two_runs
    out = tmp_path / "report"
    files = write_report(results, out, evaluate=no_evaluation, thumbnails=2)
    for name in (
        "leaderboard.csv",
        "leaderboard.md",
        "per-sequence/synthetic-val.csv",
        "plots/synthetic-val-speed-accuracy.png",
        "report.html",
    ):
        assert files[name] == out / name and files[name].stat().st_size > 0
    page = files["report.html"].read_text(encoding="utf-8")
    sources = re.findall(r'\bsrc="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/") for s in sources)
    assert all(h.startswith("#") for h in re.findall(r'\bhref="([^"]*)"', page))
    assert not re.search(r"<script|<link|<iframe|@import|url\(", page, re.IGNORECASE)
    assert "https://example.org/code" in page  # the card's link is shown as text, never loaded
    assert "&lt;b&gt;baseline&lt;/b&gt;" in page and "<b>baseline" not in page  # escaped
    jf = runs["good-method"][1].global_metrics()["J&F-Mean"]
    assert f"{jf:.3f}" in page and "good-method" in page and "noisy-method" in page
    assert "J&amp;F per sequence" in page and "synth-002" in page
    assert page.count("data:image/jpeg") == 3 * 2 * 3  # sequences × frames × (GT + 2 runs)
    assert page.count("data:image/png") == 3


def test_report_on_an_empty_folder(tmp_path):
    out = write_html([], tmp_path / "report.html")
    assert "No runs found" in out.read_text()
    with pytest.raises(ReportError, match="results folder not found"):
        collect_runs(tmp_path / "missing")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium")
def test_report_renders_in_headless_chromium(two_runs, tmp_path):
    results, _ = two_runs
    page = write_report(results, tmp_path / "report", evaluate=no_evaluation)["report.html"]
    shot = tmp_path / "shot.png"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        page.resolve().as_uri(),
    ]
    completed = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), completed.stderr[-2000:]
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels.std() > 10 and colour_count(pixels) > 200  # not blank


def test_columns_follow_the_metrics_that_ran(two_runs, tmp_path):
    """A run whose evaluation holds T gets a T-Mean column; T is lower-is-better, so the page
    marks the smallest value as the best."""
    from vosbench.report.page import _best
    from vosbench.report.tables import leaderboard_columns

    results, _ = two_runs
    runs = collect_runs(results, evaluate=no_evaluation)
    assert "T-Mean" not in leaderboard_columns(runs)
    for run, value in zip(runs, (0.25, 0.125)):
        run.global_metrics = {**run.global_metrics, "T-Mean": value}
    columns = leaderboard_columns(runs)
    assert columns[columns.index("F-Decay") + 1] == "T-Mean"
    files = write_leaderboard(runs, tmp_path / "out", results)
    rows = read_rows(files["leaderboard.csv"])
    assert sorted(r["T-Mean"] for r in rows) == ["0.125", "0.250"]
    assert _best(rows, "T-Mean") == 0.125 and _best(rows, "J-Mean") == max(
        float(r["J-Mean"]) for r in rows
    )


def test_plots_a_reader_understands_without_the_code(two_runs):
    from vosbench.report.plots import attribute_label, per_sequence_figure, run_colours

    assert attribute_label("BC", 3) == "background clutter\nBC (3)"
    assert attribute_label("XYZ", 1) == "XYZ\n(1)"
    results, _ = two_runs
    runs = collect_runs(results, evaluate=no_evaluation)
    figure = per_sequence_figure(runs, "synthetic-val", run_colours(runs))
    lines = figure.axes[0].get_lines()
    assert len(lines) == 2 and all(line.get_linestyle() == "None" for line in lines), (
        "sequences are categories: markers, never lines between them"
    )


@pytest.mark.parametrize("layout", ["lvos", "mosev2"])
def test_benchmark_runs_reach_the_leaderboard_with_their_own_global_table(tmp_path, layout):
    """LVOS's official global CSV has other columns than DAVIS's, MOSEv2 writes none: the
    leaderboard reads vosbench's own global table, so both runs show their numbers."""
    from vosbench.cli import main

    data, results = tmp_path / "data", tmp_path / "results"
    assert main(["synth", "--preset", "small", "--layout", layout, str(data)]) == 0
    run = ["run", "--method", "first-frame", "--dataset", layout, "--root", str(data)]
    assert main([*run, "--results", str(results), "--device", "cpu"]) == 0
    run_dir = next(results.glob(f"{layout}-*/first-frame"))
    own = pd.read_csv(next(run_dir.glob("global_metrics-*.csv")))
    assert main(["report", str(results), "--no-html", "--no-plots"]) == 0
    row = read_rows(results / "leaderboard.csv")[0]
    assert row["status"].startswith("evaluated"), row["status"]
    assert float(row["J&F"]) == pytest.approx(float(own["J&F-Mean"].iloc[0]), abs=5e-4)
    extra = "J-seen-Mean" if layout == "lvos" else "F_new"
    assert float(row[extra]) == pytest.approx(float(own[extra].iloc[0]), abs=5e-4)
