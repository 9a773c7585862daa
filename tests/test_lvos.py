"""LVOS: the loader and its errors, the rules against the official evaluator's recorded numbers
(tests/golden/lvos, recorded by tools/parity/lvos_golden.py from lvos-evaluation), the runner on the
layout and `vosbench synth --layout lvos`."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lvos_cases import SPLIT, build, golden, same

from vosbench.benchmarks.lvos import variance_measure
from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.errors import DatasetError
from vosbench.metrics import Protocol, evaluate
from vosbench.metrics.statistics import db_statistics


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return build(tmp_path_factory.mktemp("lvos"))


def check_against(result, expected: dict, tmp_path: Path) -> None:
    objects = result.objects
    assert [o.name for o in objects] == expected["objects"]
    for i, o in enumerate(objects):
        js, fs = o.j_stats, o.f_stats
        assert same(js.mean, expected["J"][i]) and same(fs.mean, expected["F"][i]), o.name
        assert same(js.recall, expected["J_recall"][i]), o.name
        assert same(fs.recall, expected["F_recall"][i]), o.name
        assert same(js.decay, expected["J_decay"][i]) and same(fs.decay, expected["F_decay"][i])
        assert same(variance_measure(o.j, o.f), expected["V"][i]), o.name
    metrics = result.global_metrics()
    for key, value in expected["global"].items():
        assert same(metrics[key], value), key
    for name, (file_name, text) in result.rules.official_outputs(result).items():
        assert text == expected["csv"][file_name], file_name


@pytest.mark.slow
def test_matches_the_official_evaluator(cases, tmp_path):
    gt, pred = cases
    dataset = load_dataset("lvos", gt, SPLIT)
    protocol = Protocol.for_dataset(dataset, decay_mode="compat")  # the official Decay (0)
    assert protocol.decay_mode == "lvos"
    check_against(evaluate(dataset, pred, protocol, workers=1), golden("noisy"), tmp_path)


@pytest.mark.slow
def test_exact_decay_and_the_long_object(cases):
    gt, pred = cases
    result = evaluate(load_dataset("lvos", gt, SPLIT), pred, workers=2)
    long = next(o for o in result.objects if o.sequence.startswith("long"))
    assert len(long.frames) > 256  # past the uint8 bin indices of the DAVIS code
    assert long.frames[0] == "00000005" and long.frames[-1] == "00001325"
    assert long.j_stats.decay == db_statistics(long.j).decay != 0.0
    assert [o.group for o in result.objects if o.sequence == "case-001"] == ["unseen"] * 2
    ids = [o.object_id for o in result.objects if o.sequence == "case-001"]
    assert ids == [5, 1]  # meta order, not id order: the rows are case-001_1 (id 5), _2 (id 1)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["first-frame", "flow"])
def test_runner_output_is_what_the_official_evaluator_read(method, cases, tmp_path, capsys):
    """Both baselines run on the layout; the official evaluator scored the same masks."""
    gt, _ = cases
    run = tmp_path / "run"
    args = ["run", "--method", method, "--dataset", "lvos", "--root", str(gt)]
    assert main([*args, "--device", "cpu", "--output", str(run), "-j", "1"]) == 0
    capsys.readouterr()
    csv = (run / f"global_results-{SPLIT}.csv").read_text()
    assert csv == golden(method)["csv"][f"global_results-{SPLIT}.csv"]
    dataset = load_dataset("lvos", gt, SPLIT)
    protocol = Protocol.for_dataset(dataset, decay_mode="compat")
    check_against(evaluate(dataset, run / "masks", protocol, workers=1), golden(method), tmp_path)


def test_variance_measure_rounds_before_the_root():
    j, f = np.array([1.0, 0.5, 0.0]), np.array([1.0, 0.5, 0.0])
    assert variance_measure(j, f) == math.sqrt(round(1 / 6, 4))  # 0.1667, not 1/6
    assert variance_measure(np.array([0.7]), np.array([0.7])) == 0.0


@pytest.fixture
def small(tmp_path):
    root = tmp_path / "lvos"
    assert main(["synth", str(root), "--preset", "small", "--layout", "lvos"]) == 0
    return root


def meta_of(root: Path) -> tuple[Path, dict]:
    path = root / "valid" / "valid_meta.json"
    return path, json.loads(path.read_text())


def test_synth_layout_and_prompts(small):
    dataset = load_dataset("lvos", small)
    assert dataset.split == "valid" and len(dataset) == 3
    path, meta = meta_of(small)
    for sequence in dataset:
        objects = meta["videos"][sequence.name]["objects"]
        assert sequence.object_ids == tuple(int(k) for k in objects)
        starts = {k: o["frame_range"]["start"] for k, o in objects.items()}
        assert sequence.prompts() == {
            s: tuple(int(k) for k, v in starts.items() if v == s)
            for s in sorted(set(starts.values()))
        }
    # the split folder itself is a root too (the official --lvos_path)
    assert load_dataset("lvos", small / "valid").names == dataset.names


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["videos"]["synth-000"]["objects"]["1"]["frame_range"].update(end="00000015"),
         "frame_nums 3 disagrees"),
        (lambda m: m["videos"]["synth-000"]["objects"]["1"]["frame_range"].update(
            end="00000020", frame_nums=5), "leaves the video"),
        (lambda m: m["videos"]["synth-000"]["objects"].update({"300": {"frame_range": {}}}),
         "object ids are integers 1 … 254"),
        (lambda m: m["videos"].update({"../x": {"objects": {}}}), "path separator"),
        (lambda m: m["videos"]["synth-000"]["objects"]["1"]["frame_range"].update(start="x"),
         "non-negative integers"),
    ],
)  # fmt: skip
def test_meta_errors(small, change, message):
    path, meta = meta_of(small)
    change(meta)
    path.write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match=message):
        load_dataset("lvos", small)


def test_missing_files(small, capsys):
    path, meta = meta_of(small)
    (small / "valid" / "unseen_videos.txt").unlink()
    with pytest.raises(DatasetError, match="unseen-videos list not found"):
        load_dataset("lvos", small)
    (small / "valid" / "unseen_videos.txt").write_text("")
    shutil.rmtree(small / "valid" / "Annotations" / "synth-001")
    with pytest.raises(DatasetError, match="annotation"):
        load_dataset("lvos", small)
    path.unlink()
    assert main(["validate", "--dataset", "lvos", "--root", str(small)]) != 0
    assert "LVOS meta file not found" in capsys.readouterr().err


@pytest.mark.slow
def test_eval_loads_only_what_scoring_needs(cases, tmp_path):
    """`vosbench eval -j 1` of LVOS masks: no Pillow (PNG masks have their own decoder), no
    multiprocessing or concurrent.futures, no tqdm off a terminal, no numba kernels, no scan of
    the installed distributions (importlib.metadata: the dataset and J and F are built in), no
    socket (it names the host in run-folder locks only); numpy loads with one OpenBLAS thread
    (scoring does no linear algebra); its numbers are still the official ones."""
    gt, pred = cases
    out = tmp_path / "out"
    script = (
        "import sys\n"
        "from vosbench.cli import main\n"
        f"code = main(['eval', {str(pred)!r}, '--dataset', 'lvos', '--root', {str(gt)!r}, "
        f"'-j', '1', '-q', '-o', {str(out)!r}])\n"
        "heavy = ('PIL', 'multiprocessing', 'concurrent.futures', 'tqdm', 'numba',\n"
        "         'vosbench.metrics.temporal_kernels', 'vosbench.metrics.descriptor_kernels',\n"
        "         'importlib.metadata', 'socket')\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'))\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "sys.exit(code)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", "import os\n" + script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-2:] == ["1", "[]"]
    name = f"global_results-{SPLIT}.csv"
    assert (out / name).read_text() == golden("noisy")["csv"][name]
