"""`vosbench compare`: per-sequence differences, paired bootstrap, refusals, CLI and report section.

The runs are built so that every per-object J and F is exactly 1 (the object predicted as
annotated) or 0 (the object left out of the prediction), which makes each per-sequence J&F the
fraction of its objects kept: the expected differences are computed by hand below.
"""

from __future__ import annotations

import csv
import itertools
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scenarios import _Layout

from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.datasets.synthetic import write_predictions
from vosbench.io import write_mask
from vosbench.report import compare
from vosbench.results import RunStore, evaluate_run, evaluation_status, write_json

H, W, T = 48, 64, 5
# sequence → object count; the boxes of objects 1, 2, 3 never overlap
OBJECTS = {"a": 1, "b": 2, "c": 3, "d": 2, "e": 1}
BOXES = {1: (4, 20, 4, 20), 2: (26, 44, 8, 30), 3: (6, 40, 40, 60)}
# objects left out of each run's prediction, per sequence (e is not run by "other")
DROPPED = {
    "base": {"a": (), "b": (), "c": (1,), "d": (1, 2), "e": ()},
    "other": {"a": (), "b": (2,), "c": (), "d": (1,)},
}
# per-sequence J&F = fraction of objects kept
BASE = {"a": 1.0, "b": 1.0, "c": 2 / 3, "d": 0.0, "e": 1.0}
OTHER = {"a": 1.0, "b": 0.5, "c": 1.0, "d": 0.5}
DIFFS = {name: OTHER[name] - BASE[name] for name in OTHER}  # a 0, b -1/2, c +1/3, d +1/2


def labels(objects: int, dropped=()) -> np.ndarray:
    frame = np.zeros((H, W), np.uint8)
    for k in range(1, objects + 1):
        if k not in dropped:
            y0, y1, x0, x1 = BOXES[k]
            frame[y0:y1, x0:x1] = k
    return frame


@pytest.fixture(scope="module")
def davis(tmp_path_factory):
    root = tmp_path_factory.mktemp("gt")
    layout = _Layout(root)
    for name, count in OBJECTS.items():
        layout.add(name, [labels(count)] * T, [None] * T)
    info = layout.finish()
    return load_dataset("davis2017", info["gt_root"], "val")


def make_run(folder: Path, dataset, dropped: dict, *, evaluate: bool = True) -> RunStore:
    """A run folder as the runner writes it (manifest, masks, markers), evaluated."""
    store = RunStore(folder)
    for name, drop in dropped.items():
        for i in range(T):
            write_mask(store.sequence_dir(name) / f"{i:05d}.png", labels(OBJECTS[name], drop))
        write_json(
            store.marker_path(name),
            {
                "sequence": name,
                "frames": [f"{i:05d}" for i in range(T)],
                "model_ms": [1.0] * T,
                "e2e_ms": [1.0] * T,
                "num_objects": OBJECTS[name],
                "config_hash": "test",
                "num_frames": T,
                "init_ms": 1.0,
                "peak_host_mb": 10.0,
                "peak_gpu_mb": None,
            },
        )
    spec = {
        "name": dataset.name,
        "root": str(dataset.root),
        "split": dataset.split,
        "task": dataset.task,
        "options": {},
        "listed": len(dataset.names),
        "label": dataset.label,
        "sequences": list(dropped),
    }
    write_json(
        store.manifest_path,
        {
            "format": "vosbench-run/1",
            "method": folder.name,
            "config_hash": "test",
            "dataset": spec,
            "dataset_id": "test",
        },
    )
    if evaluate:
        evaluate_run(store, dataset=dataset, workers=1)
    return store


@pytest.fixture(scope="module")
def runs(tmp_path_factory, davis):
    results = tmp_path_factory.mktemp("results")
    base = make_run(results / "base", davis, DROPPED["base"])
    other = make_run(results / "other", davis, DROPPED["other"])
    return base.root, other.root


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# -- statistics, against independent computations ------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """numpy's default ("linear") percentile, written out."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q / 100
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


@pytest.mark.parametrize("n, resamples, seed", [(4, 2000, 0), (30, 3000, 7), (7, 1, 3)])
def test_bootstrap_interval_equals_a_plain_loop(monkeypatch, n, resamples, seed):
    monkeypatch.setattr(compare, "_BLOCK", 50)  # several blocks of draws
    d = np.random.default_rng(100 + n).normal(0.01, 0.05, n)
    rng = np.random.default_rng(seed)
    means = []
    for _ in range(resamples):
        picked = rng.integers(0, n, size=n)
        means.append(sum(float(d[i]) for i in picked) / n)
    low, high = compare.paired_bootstrap(d, resamples=resamples, seed=seed, confidence=0.95)
    assert low == pytest.approx(percentile(means, 2.5), abs=1e-12)
    assert high == pytest.approx(percentile(means, 97.5), abs=1e-12)
    if n == 30:  # another seed, other draws
        assert compare.paired_bootstrap(d, resamples=resamples, seed=seed + 1) != (low, high)


def test_bootstrap_edge_cases():
    assert compare.paired_bootstrap([0.25] * 6, resamples=500) == (0.25, 0.25)
    low, high = compare.paired_bootstrap(list(DIFFS.values()), resamples=10_000, seed=0)
    assert -0.5 <= low < sum(DIFFS.values()) / 4 < high <= 0.5
    with pytest.raises(ValueError):
        compare.paired_bootstrap([])
    with pytest.raises(ValueError):
        compare.paired_bootstrap([0.1, math.nan])
    with pytest.raises(compare.ConfigError, match="resamples"):
        compare.paired_bootstrap([0.1], resamples=0)


def test_sign_flip_and_wilcoxon_p_values():
    # [1, 2, 3]: of the 8 sign patterns only +++ and --- reach |sum| 6
    assert compare.sign_flip_p([1.0, 2.0, 3.0]) == pytest.approx(0.25)
    # every one of the 16 patterns of the constructed differences is as extreme: p = 1
    assert compare.sign_flip_p(list(DIFFS.values())) == pytest.approx(1.0)
    # beyond 16 sequences: Monte Carlo, (1 + as extreme) / (1 + resamples)
    d = np.full(20, 0.1)
    assert compare.sign_flip_p(d, resamples=999, seed=1) == pytest.approx(
        (1 + 999 * 2 / 2**20) / 1000, abs=2 / 1000
    )
    exact = (
        sum(
            abs(sum(s * v for s, v in zip(signs, d[:10]))) >= 1.0 - 1e-9
            for signs in itertools.product((1, -1), repeat=10)
        )
        / 2**10
    )
    assert compare.sign_flip_p(d[:10]) == pytest.approx(exact)
    # Wilcoxon, six positive differences: exact P(W=0 or W=21) = 2/64
    assert compare.wilcoxon_p([1, 2, 3, 4, 5, 6]) == pytest.approx(2 / 64)
    assert compare.wilcoxon_p([0.0, 0.0]) == 1.0


# -- comparisons of run folders ------------------------------------------------------------------
def test_differences_equal_the_hand_computed_ones(runs):
    base, other = compare.load_runs(runs)
    assert (base.label, other.label) == ("base", "other")
    (c,) = compare.compare_runs([base, other], resamples=2000, seed=3)
    assert c.sequences == ["a", "b", "c", "d"] and c.only_baseline == ["e"] and c.only_run == []
    for name in c.sequences:
        assert c.table.loc[name, "J&F baseline"] == pytest.approx(BASE[name], abs=1e-12)
        assert c.table.loc[name, "J&F run"] == pytest.approx(OTHER[name], abs=1e-12)
        assert c.table.loc[name, "J&F diff"] == pytest.approx(DIFFS[name], abs=1e-12)
    jf = c.metric("J&F")
    assert jf.sequences == 4
    assert jf.baseline == pytest.approx(2 / 3) and jf.run == pytest.approx(3 / 4)
    assert jf.difference == pytest.approx(1 / 12)  # (0 - 1/2 + 1/3 + 1/2) / 4
    d = [DIFFS[name] for name in c.sequences]
    assert (jf.low, jf.high) == pytest.approx(compare.paired_bootstrap(d, 2000, 3))
    assert jf.p_sign_flip == pytest.approx(1.0)
    # J and F are 1 or 0 per object here, so J-Mean, F-Mean, J-Recall differ like J&F
    for metric in ("J-Mean", "F-Mean", "J-Recall"):
        assert c.metric(metric).difference == pytest.approx(1 / 12)
    assert c.metric("J-Decay").difference == pytest.approx(0.0)
    # the unit is the sequence: base's official J&F (a mean over objects) is 5/8 on a-d
    assert [s for s, *_ in c.largest("J&F").itertuples()] == ["b", "d", "c", "a"]
    assert "scored by base only" in c.coverage_note and "(e)" in c.coverage_note


def test_more_runs_are_each_compared_with_the_first(runs, tmp_path, davis):
    third = make_run(tmp_path / "third", davis, {"a": (1,), "c": (1, 2)}).root
    comparisons = compare.compare_runs(compare.load_runs([*runs, third]), resamples=200)
    assert [(c.baseline.label, c.run.label) for c in comparisons] == [
        ("base", "other"),
        ("base", "third"),
    ]
    c = comparisons[1]
    assert c.sequences == ["a", "c"]
    assert c.metric("J&F").difference == pytest.approx(((0 - 1) + (1 / 3 - 2 / 3)) / 2)


def test_stale_evaluation_is_refused_then_evaluated_on_request(runs, tmp_path, davis, capsys):
    stale = make_run(tmp_path / "stale", davis, DROPPED["other"])
    write_mask(stale.sequence_dir("a") / "00002.png", labels(1, (1,)))
    assert not evaluation_status(stale).current
    with pytest.raises(compare.NotCurrentError, match="not current .*stale.*vosbench eval"):
        compare.load_run(stale.root)
    code, out, err = cli(capsys, "compare", runs[0], stale.root)
    assert code == 1 and "not current" in err and "Traceback" not in err and out == ""
    never = make_run(tmp_path / "never", davis, DROPPED["other"], evaluate=False)
    code, _, err = cli(capsys, "compare", runs[0], never.root)
    assert code == 1 and "not evaluated yet" in err
    code, out, err = cli(capsys, "compare", runs[0], stale.root, "--evaluate", "-B", "100")
    assert code == 0, err
    assert evaluation_status(stale).current
    # a's frame 2 lost its only object: J and F 0 on 1 of its 3 scored frames (the first and
    # last are not scored): a's J&F 2/3, and the mean difference (-1/3 - 1/2 + 1/3 + 1/2) / 4 = 0
    assert "a  1.000  0.667  -0.333" in out
    summary = next(line for line in out.splitlines() if line.strip().startswith("J&F "))
    assert "+0.000" in summary


def test_cli_prints_and_writes_the_comparison(runs, tmp_path, capsys):
    code, out, err = cli(
        capsys,
        "compare",
        *runs,
        "--csv",
        tmp_path / "cmp.csv",
        "--md",
        tmp_path / "cmp.md",
        "-B",
        "1000",
        "--seed",
        "5",
    )
    assert code == 0, err
    assert "4 sequence(s) scored by both (base 5/5, other 4/5)" in out
    assert "1 scored by base only, left out (e)" in out
    summary = next(line for line in out.splitlines() if line.strip().startswith("J&F "))
    assert "0.667" in summary and "0.750" in summary and "+0.083" in summary
    listed = [line.split()[0] for line in out.split("largest |diff| first")[1].splitlines()[2:6]]
    assert listed == ["b", "d", "c", "a"]
    with open(tmp_path / "cmp.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["metric"] == "J&F"]
    assert {r["sequence"]: float(r["diff"]) for r in rows} == pytest.approx(DIFFS, abs=1e-12)
    with open(tmp_path / "cmp-summary.csv", newline="") as handle:
        (jf,) = [r for r in csv.DictReader(handle) if r["metric"] == "J&F"]
    low, high = compare.paired_bootstrap([DIFFS[s] for s in "abcd"], 1000, 5)
    assert float(jf["diff"]) == pytest.approx(1 / 12, abs=1e-12)
    assert (float(jf["ci_low"]), float(jf["ci_high"])) == pytest.approx((low, high), abs=1e-12)
    assert jf["resamples"] == "1000" and jf["seed"] == "5" and jf["sequences"] == "4"
    markdown = (tmp_path / "cmp.md").read_text()
    assert "## other against base (baseline) on davis2017/val" in markdown
    assert "| b | 1.000 | 0.500 | -0.500 |" in markdown


def test_cli_errors_are_clean(runs, tmp_path, capsys):
    code, _, err = cli(capsys, "compare", runs[0], tmp_path / "nope")
    assert code == 1 and "nope: no such run folder" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    code, _, err = cli(capsys, "compare", runs[0], tmp_path / "empty")
    assert code == 1 and "not a vosbench run folder" in err
    code, _, err = cli(capsys, "compare", runs[0])
    assert code == 1 and "at least two runs" in err
    code, _, err = cli(capsys, "compare", *runs, "-m", "T-Mean")
    assert code == 1 and "T-Mean not in both evaluations" in err
    synthetic = load_dataset(
        "synthetic", None, "val", num_sequences=1, num_frames=3, height=32, width=32
    )
    store = RunStore(tmp_path / "synthetic-run")
    write_predictions(synthetic, store.masks_dir, quality="good")
    for sequence in synthetic:
        n = len(sequence.frames)
        write_json(
            store.marker_path(sequence.name),
            {
                "sequence": sequence.name,
                "frames": list(sequence.frames),
                "model_ms": [1.0] * n,
                "e2e_ms": [1.0] * n,
                "num_objects": len(sequence.object_ids),
                "config_hash": "x",
            },
        )
    write_json(
        store.manifest_path,
        {
            "format": "vosbench-run/1",
            "method": "synthetic-run",
            "config_hash": "x",
            "dataset": {
                "name": "synthetic",
                "split": "val",
                "task": "semi-supervised",
                "options": {"num_sequences": 1, "num_frames": 3, "height": 32, "width": 32},
            },
        },
    )
    evaluate_run(store, dataset=synthetic, workers=1)
    code, _, err = cli(capsys, "compare", runs[0], store.root)
    assert code == 1 and "synthetic/val" in err and "davis2017/val" in err
    assert "compare runs of one dataset and split" in err


def test_compare_never_imports_torch(runs):
    # a finder that refuses torch (scipy looks torch up in sys.modules, so no None entry there)
    script = textwrap.dedent(f"""
        import sys

        class NoTorch:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "torch":
                    raise ImportError("torch is blocked")

        sys.meta_path.insert(0, NoTorch())
        from vosbench.cli import main
        assert main(["compare", {str(runs[0])!r}, {str(runs[1])!r}, "-B", "100"]) == 0
        assert "torch" not in sys.modules
        print("torch-free")
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "torch-free" in done.stdout, done.stderr


def test_report_page_shows_the_leaders_lead_with_its_interval(runs, tmp_path):
    from vosbench.report import collect_runs, write_html
    from vosbench.report.page import comparison_html

    reports = collect_runs(runs[0].parent, evaluate=None)
    page = write_html(reports, tmp_path / "report.html", thumbnails=0).read_text()
    assert "Is the lead real?" in page
    # the leader by official J&F (a mean over objects) is other: 6/8 against base's 6/9
    low, high = compare.paired_bootstrap([DIFFS[s] for s in "abcd"], 10_000, 0)
    row = f"[{compare.signed(low)}, {compare.signed(high)}]"
    assert "+0.083" in page and row in page
    section = page.split("Is the lead real?")[1].split("<h3>")[0]
    assert section.index(">b<") < section.index(">d<") < section.index(">c<")
    assert "Fewer than two evaluated runs" in comparison_html(reports[:1])


def test_a_table_with_words_for_numbers_is_named(runs, tmp_path):
    broken = tmp_path / "per-object_results-val.csv"
    broken.write_text("Sequence,Object,J-Mean,F-Mean\na,1,high,0.5\n")
    with pytest.raises(compare.ReportError, match="per-object_results-val.csv: .*not numbers"):
        compare.read_scores(tmp_path, "val")
