"""The metric interface and catalogue: J and F as its first entries, plug-ins through the
entry point, tables and report columns that follow from the metrics that ran."""

from __future__ import annotations

import csv
import sys
import textwrap

import numpy as np
import pytest
from distinfo import write_dist_info

from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.datasets.synthetic import write_predictions, write_synthetic
from vosbench.errors import ConfigError, UnknownNameError
from vosbench.metrics import Protocol, evaluate, write_outputs
from vosbench.metrics.api import METRICS, FrameContext, Metric, get_metric, resolve_metrics
from vosbench.metrics.boundary import region_and_boundary

OPTIONS = {"num_sequences": 2, "num_frames": 6, "height": 48, "width": 64}


@pytest.fixture(scope="module")
def dataset():
    return load_dataset("synthetic", None, "val", **OPTIONS)


def test_j_and_f_entries_equal_the_fused_official_computation():
    rng = np.random.default_rng(0)
    j_metric, f_metric = get_metric("J"), get_metric("f")  # names are case-insensitive
    for _ in range(50):
        pred = rng.random((40, 60)) > rng.uniform(0.3, 0.99)
        gt = rng.random((40, 60)) > rng.uniform(0.3, 0.99)
        context = FrameContext(pred, gt, radius=3)
        assert (j_metric.frame(context), f_metric.frame(context)) == region_and_boundary(
            pred, gt, 3
        )
    empty = np.zeros((8, 8), bool)
    assert (
        j_metric.frame(FrameContext(empty, empty, 1))
        == 1.0
        == f_metric.frame(FrameContext(empty, empty, 1))
    )


def test_resolve_metrics_keeps_j_and_f_first_and_knows_the_official_sets():
    assert [m.name for m in resolve_metrics(None, "davis2017")] == ["J", "F"]
    assert [m.name for m in resolve_metrics(None, "davis2016")] == ["J", "F", "T"]
    assert [m.name for m in resolve_metrics(["T"], "davis2017")] == ["J", "F", "T"]
    with pytest.raises(UnknownNameError, match="did you mean"):
        resolve_metrics(["JJ"])


class AreaRatio(Metric):
    """A plug-in: predicted area over ground-truth area (NaN where the object is absent)."""

    name = "AR"
    statistics = ("Mean",)

    def frame(self, context: FrameContext) -> float:
        gt = int(context.gt.sum())
        return float(context.pred.sum()) / gt if gt else float("nan")


def test_a_registered_metric_runs_on_the_same_pass_and_reaches_every_table(
    dataset, tmp_path, scoped_metrics
):
    scoped_metrics.register("AR", AreaRatio)
    predictions = write_predictions(dataset, tmp_path / "pred", quality="noisy")
    result = evaluate(
        dataset, predictions, Protocol.for_dataset(dataset, metrics=("J", "F", "AR")), workers=1
    )
    sequence = dataset.sequences[0]
    obj = next(o for o in result.objects if o.sequence == sequence.name and o.object_id == 1)
    from vosbench.io import read_mask

    expected = []
    for stem in obj.frames:  # computed by hand from the files
        pred = read_mask(predictions / sequence.name / f"{stem}.png") == 1
        gt = sequence.read_annotation(stem) == 1
        expected.append(pred.sum() / gt.sum() if gt.sum() else np.nan)
    np.testing.assert_allclose(obj.values("AR"), expected, equal_nan=True)
    plain = evaluate(dataset, predictions, Protocol.for_dataset(dataset), workers=1)
    assert [o.j.tolist() for o in plain.objects] == [o.j.tolist() for o in result.objects]
    files = write_outputs(result, tmp_path / "out")
    header = files["per-frame"].read_text().splitlines()[0]
    assert header == "Sequence,Object,Frame,J,F,AR"
    assert "AR-Mean" in files["per-object"].read_text().splitlines()[0]
    assert (
        files["global"].read_text().splitlines()[0]
        == "J&F-Mean,J-Mean,J-Recall,J-Decay,F-Mean,F-Recall,F-Decay"
    )
    with open(files["global-metrics"], newline="") as handle:
        row = next(csv.DictReader(handle))
    assert float(row["AR-Mean"]) == pytest.approx(result.global_metrics()["AR-Mean"])
    assert "AR-Recall" not in row, "only the statistics the metric declares"


def test_a_plugin_metric_through_the_entry_point(tmp_path, monkeypatch, scoped_metrics, dataset):
    package = tmp_path / "site"
    write_dist_info(
        package, "areaplug", {"vosbench.metrics": {"area-ratio": "areaplug_metrics:AreaRatio"}}
    )
    (package / "areaplug_metrics.py").write_text(
        textwrap.dedent("""
        from vosbench.metrics import FrameContext, Metric

        class AreaRatio(Metric):
            name = "AR"
            statistics = ("Mean",)

            def frame(self, context: FrameContext) -> float:
                gt = int(context.gt.sum())
                return float(context.pred.sum()) / gt if gt else float("nan")
    """)
    )
    monkeypatch.syspath_prepend(str(package))
    scoped_metrics._plugins_loaded = False
    assert "area-ratio" in METRICS and METRICS.entry("area-ratio").origin == "plugin:areaplug"
    root = write_synthetic(tmp_path / "data", "small")
    predictions = write_predictions(
        load_dataset("synthetic", root), tmp_path / "pred", quality="good"
    )
    code = main(
        [
            "eval",
            str(predictions),
            "--dataset",
            "synthetic",
            "--root",
            str(root),
            "--metrics",
            "J,F,area-ratio",
            "-j",
            "2",
            "-q",
        ]
    )
    assert code == 0
    with open(predictions / "global_metrics-val.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert 0.5 < float(row["AR-Mean"]) < 1.5
    sys.modules.pop("areaplug_metrics", None)


def test_a_broken_metric_is_a_clear_error(scoped_metrics):
    scoped_metrics.register("nameless", Metric)
    with pytest.raises(ConfigError, match="is not a vosbench.metrics.Metric with a name"):
        get_metric("nameless")
    code = main(["eval", "x", "--dataset", "synthetic", "--metrics", "jj"])
    assert code == 1


def test_metrics_command_lists_the_catalogue(capsys):
    assert main(["metrics"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("F ") or "J " in out
    assert "T " in out and "lower is better" in out and "official for davis2016" in out
