"""The runner: outputs, resume (also after kill -9), crash isolation, config safety, sharding."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.datasets.base import Dataset, Sequence
from vosbench.errors import ConfigError
from vosbench.io import read_mask
from vosbench.metrics import Protocol, evaluate
from vosbench.results.evaluation import evaluation_status, mask_fingerprints
from vosbench.runner import (
    MethodCard,
    RunMismatchError,
    RunSettings,
    RunStore,
    Shard,
    VOSMethod,
    make_config,
    parse_overrides,
    run,
    summarize,
)
from vosbench.runner.methods import config_hash

FAST = RunSettings(warmup_frames=0, io_workers=0, evaluate=False)


def small(**overrides):
    return load_dataset("synthetic", None, "val", preset="small", **overrides)


# -- test methods, registered for each test by registered_test_methods -----------------------
@dataclass(frozen=True)
class CrashConfig:
    crash_on: str = ""
    delay_ms: float = 0.0


class Crashy(VOSMethod):
    """first-frame that raises on one sequence (and can be slowed down)."""

    card = MethodCard(name="test-crashy", task="semi-supervised", summary="test method")
    Config = CrashConfig

    def reset(self, meta) -> None:
        if meta.name == self.config.crash_on:
            raise RuntimeError(f"boom in {meta.name}")
        self.labels = torch.zeros(meta.size, dtype=torch.uint8)

    def step(self, frame, mask=None, obj_ids=None):
        time.sleep(self.config.delay_ms / 1e3)
        if mask is not None:
            self.labels = torch.where(mask > 0, mask, self.labels)
        return self.labels


class Probabilities(VOSMethod):
    """Answers probabilities: the object handed in k-th gets channel k, everywhere it was given."""

    card = MethodCard(name="test-probs", task="semi-supervised", summary="test method")

    def reset(self, meta) -> None:
        self.channels = [torch.ones(meta.size)]

    def step(self, frame, mask=None, obj_ids=None):
        for obj in obj_ids or ():
            self.channels.append((mask == obj).float() * 2)
        return torch.stack(self.channels)


class WrongShape(VOSMethod):
    card = MethodCard(name="test-wrong-shape", task="semi-supervised", summary="test method")

    def reset(self, meta) -> None:
        self.size = meta.size

    def step(self, frame, mask=None, obj_ids=None):
        return torch.zeros(self.size[0] + 1, self.size[1], dtype=torch.uint8)


class NeedsWeights(Crashy):
    card = MethodCard(
        name="test-weights",
        task="semi-supervised",
        summary="test method",
        needs_weights=True,
        weights_help="Download w.pth and convert it with `vosbench convert`.",
    )


class Unsupervised(VOSMethod):
    """Two proposals: the left and the right half of the frame."""

    card = MethodCard(name="test-unsup", task="unsupervised", summary="test method")

    def reset(self, meta) -> None:
        self.size = meta.size

    def step(self, frame, mask=None, obj_ids=None):
        assert mask is None and obj_ids is None
        h, w = self.size
        probs = torch.zeros(3, h, w)
        probs[1, :, : w // 2] = 1
        probs[2, :, w // 2 :] = 1
        return probs


class TooManyChannels(Probabilities):
    card = MethodCard(name="test-channels", task="semi-supervised", summary="test method")

    def step(self, frame, mask=None, obj_ids=None):
        probs = super().step(frame, mask, obj_ids)
        return torch.cat([probs, probs[:1]])


class LooksAhead(VOSMethod):
    """Offline: segments each frame by differencing it with the last frame, read through the
    reader."""

    card = MethodCard(name="test-offline", task="unsupervised", summary="test method", offline=True)

    def reset(self, meta) -> None:
        self.meta, self.index = meta, 0

    def step(self, frame, mask=None, obj_ids=None):
        read = self.meta.frame_reader(self.index)
        assert (
            torch.equal(read, frame) and read.device == frame.device
        )  # the reader gives step's frames
        last = self.meta.frame_reader(self.meta.num_frames - 1)
        self.index += 1
        return ((frame.int() - last.int()).abs().sum(-1) > 60).to(torch.uint8)


TEST_METHODS = (
    Crashy,
    Probabilities,
    WrongShape,
    NeedsWeights,
    Unsupervised,
    TooManyChannels,
    LooksAhead,
)


@pytest.fixture(autouse=True)
def registered_test_methods(scoped_methods):
    """The test methods above, in the catalogue for each test of this module only."""
    for cls in TEST_METHODS:
        scoped_methods.register(cls.card.name, cls)


def masks_of(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


# -- outputs --------------------------------------------------------------------------------
def test_first_frame_writes_official_layout_and_evaluates(tmp_path, idle_machine):
    data = small()
    result = run(
        "first-frame", data, output=tmp_path / "run", settings=RunSettings(warmup_frames=2)
    )
    store = result.store
    assert result.ok and sorted(result.ran) == sorted(data.names)
    for sequence in data:
        first = sequence.read_annotation(sequence.frames[0])
        for stem in sequence.frames:
            assert np.array_equal(read_mask(store.masks_dir / sequence.name / f"{stem}.png"), first)
    manifest = store.manifest()
    assert manifest["method"] == "first-frame" and manifest["dataset"]["label"] == "synthetic/val"
    assert (
        manifest["precision"] == "fp32"
        and manifest["device"] == "cpu"
        and manifest["weights"] is None
    )
    assert manifest["environment"]["torch"] == torch.__version__
    timing = (store.root / "timing.csv").read_text().splitlines()
    assert timing[0] == "sequence,frame,index,init,num_objects,model_ms,e2e_ms"
    assert len(timing) == 1 + sum(len(s) for s in data)
    # The stored evaluation equals an independent evaluation of the masks folder.
    from vosbench.metrics import evaluate

    again = evaluate(data, store.masks_dir)
    assert result.evaluation.global_metrics() == pytest.approx(again.global_metrics(), nan_ok=True)
    assert evaluation_status(store).current
    assert (store.root / "global_results-val.csv").is_file()
    summary = json.loads((store.root / "summary.json").read_text())
    assert summary["frames"] == sum(len(s) for s in data) and summary["exclusive"] is True


def test_default_output_folder_and_config_variants(tmp_path):
    data = small(num_sequences=1)
    plain = run("test-crashy", data, results_root=tmp_path, settings=FAST)
    assert plain.store.root == tmp_path / "synthetic-val" / "test-crashy"
    varied = run(
        "test-crashy", data, results_root=tmp_path, settings=FAST, config={"delay_ms": "1"}
    )
    digest = config_hash("test-crashy", CrashConfig(delay_ms=1.0), extra={"random_init": False})
    assert varied.store.root == tmp_path / "synthetic-val" / f"test-crashy-{digest}"


def test_a_different_config_never_mixes_into_an_older_run(tmp_path):
    data = small(num_sequences=1)
    run("test-crashy", data, output=tmp_path, settings=FAST)
    with pytest.raises(RunMismatchError, match="config_hash") as error:
        run("test-crashy", data, output=tmp_path, settings=FAST, config={"delay_ms": "2"})
    assert "delay_ms" in str(error.value) and "--force" in str(error.value)
    with pytest.raises(RunMismatchError, match="method"):
        run("first-frame", data, output=tmp_path, settings=FAST)
    (tmp_path / "notes.txt").write_text("mine")
    forced = run(
        "first-frame",
        data,
        output=tmp_path,
        settings=RunSettings(warmup_frames=0, force=True, evaluate=False),
    )
    assert forced.ran == data.names and forced.store.manifest()["method"] == "first-frame"
    assert (tmp_path / "notes.txt").read_text() == "mine", "--force deletes run outputs only"


def test_refuses_a_non_empty_folder_without_manifest(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunMismatchError, match="not empty"):
        run("first-frame", small(num_sequences=1), output=tmp_path, settings=FAST)
    assert (tmp_path / "notes.txt").read_text() == "mine"


# -- resume ---------------------------------------------------------------------------------
def test_resume_redoes_only_unfinished_sequences_with_identical_results(tmp_path):
    data = small()
    first = run("flow", data, output=tmp_path / "a", settings=FAST)
    reference = masks_of(first.store.masks_dir)
    store = first.store
    store.marker_path(data.names[1]).unlink()  # as if killed before the marker was written
    (store.staging_root / "junk.1234").mkdir(parents=True)  # a staging folder left behind
    again = run("flow", data, output=tmp_path / "a", settings=FAST)
    assert again.ran == [data.names[1]] and again.resumed == [data.names[0], data.names[2]]
    assert masks_of(store.masks_dir) == reference
    assert not (store.root / ".tmp").exists()


def test_a_subset_then_more_sequences_share_one_run(tmp_path):
    data = small()
    run("first-frame", data.select(data.names[:1]), output=tmp_path, settings=FAST)
    more = run("first-frame", data.select(data.names[1:]), output=tmp_path, settings=FAST)
    assert more.ran == data.names[1:] and len(more.store.records()) == 3
    assert more.store.manifest()["dataset"]["sequences"] == data.names


KILL_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import test_runner
    from vosbench.runner import METHODS, RunSettings, run
    METHODS.register("test-crashy", test_runner.Crashy)
    data = test_runner.small(num_sequences=4, num_frames=10)
    run("test-crashy", data, output={out!r}, config={{"delay_ms": "{delay}"}},
        settings=RunSettings(warmup_frames=0, evaluate=False))
""")


def test_resume_after_kill_9_gives_the_uninterrupted_result(tmp_path):
    out = tmp_path / "killed"
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), out=str(out), delay=40)
    process = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while not list((out / "sequences").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.15)  # well inside the next sequence (10 frames × 40 ms)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = sorted(p.stem for p in (out / "sequences").glob("*.json"))
    assert 1 <= len(done_before) < 4, "the kill should land mid-run"
    assert (out / ".tmp").exists(), "the kill should interrupt a sequence being written"

    data = small(num_sequences=4, num_frames=10)
    resumed = run("test-crashy", data, output=out, config={"delay_ms": "40"}, settings=FAST)
    assert sorted(resumed.resumed) == done_before
    assert sorted(resumed.ran + resumed.resumed) == sorted(data.names)
    clean = run(
        "test-crashy", data, output=tmp_path / "clean", config={"delay_ms": "40"}, settings=FAST
    )
    assert masks_of(out / "masks") == masks_of(clean.store.masks_dir)
    assert mask_fingerprints(RunStore(out), data.names) == mask_fingerprints(
        clean.store, data.names
    )


# -- failures -------------------------------------------------------------------------------
def test_a_crashing_sequence_is_recorded_and_the_run_goes_on(tmp_path):
    data = small()
    bad = data.names[1]
    result = run("test-crashy", data, output=tmp_path, config={"crash_on": bad}, settings=FAST)
    assert not result.ok and list(result.failures) == [bad]
    assert "RuntimeError: boom in" in result.failures[bad]
    assert sorted(result.ran) == sorted(set(data.names) - {bad})
    failure = json.loads((tmp_path / "failures" / f"{bad}.json").read_text())
    assert "boom" in failure["traceback"] and not (tmp_path / "masks" / bad).exists()


def test_cli_run_exits_non_zero_with_a_summary_of_failures(tmp_path, capsys):
    data = small()
    code = main(
        [
            "run",
            "-m",
            "test-crashy",
            "--dataset",
            "synthetic",
            "-o",
            str(tmp_path),
            "--warmup",
            "0",
            "-c",
            f"crash_on={data.names[0]}",
            "--no-eval",
            "-s",
            ",".join(data.names[:2]),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "1 sequence(s) failed" in err and f"{data.names[0]}: RuntimeError: boom" in err


def test_a_wrong_answer_shape_names_the_sequence_and_frame(tmp_path):
    data = small(num_sequences=1)
    result = run("test-wrong-shape", data, output=tmp_path, settings=FAST)
    ((name, message),) = result.failures.items()
    assert (
        "MethodError" in message
        and f"{name}/{data[name].frames[0]}" in message
        and "(97, 160)" in message
    )


def test_a_wrong_channel_count_is_an_error_not_background(tmp_path):
    result = run("test-channels", small(num_sequences=1), output=tmp_path, settings=FAST)
    (message,) = result.failures.values()
    assert "probability channels, expected" in message


def test_a_method_needing_weights_refuses_to_run_without_them(tmp_path):
    data = small(num_sequences=1)
    with pytest.raises(ConfigError, match="needs weights.*Download w.pth.*--random-init"):
        run("test-weights", data, output=tmp_path, settings=FAST)
    result = run(
        "test-weights",
        data,
        output=tmp_path,
        settings=RunSettings(random_init=True, warmup_frames=0, evaluate=False),
    )
    assert result.ok and result.store.manifest()["random_init"] is True
    with pytest.raises(ConfigError, match="not found"):
        run(
            "test-weights",
            data,
            output=tmp_path / "w",
            settings=RunSettings(weights=tmp_path / "nope.pth"),
        )


def test_unknown_method_and_option_errors(tmp_path, capsys):
    assert main(["run", "-m", "flw", "-o", str(tmp_path)]) == 1
    assert "did you mean 'flow'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="unknown option.*speed.*options: algorithm"):
        run("flow", small(num_sequences=1), output=tmp_path, config={"speed": "1"})
    with pytest.raises(ConfigError, match="supports precision fp32"):
        run("flow", small(num_sequences=1), output=tmp_path, settings=RunSettings(precision="fp16"))
    with pytest.raises(ConfigError, match="CUDA is not available|runs on cpu"):
        run(
            "first-frame",
            small(num_sequences=1),
            output=tmp_path,
            settings=RunSettings(device="cuda"),
        )


# -- protocol details -----------------------------------------------------------------------
class LateObjectSequence(Sequence):
    """Object 1 from frame 0, object 3 handed in when it appears at frame 3 (ids need not be
    contiguous)."""

    def __init__(self):
        self.name, self.frames, self.annotated = (
            "late",
            tuple(f"{i:05d}" for i in range(6)),
            ("00000",),
        )

    def read_frame(self, stem):
        return np.zeros((8, 10, 3), np.uint8)

    def read_annotation(self, stem):
        labels = np.zeros((8, 10), np.uint8)
        labels[:4, :4] = 1
        if int(stem) >= 3:
            labels[5:, 6:] = 3
        return labels

    def prompts(self):
        return {"00000": (1,), "00003": (3,)}


def test_objects_appearing_later_are_handed_in_when_they_appear(tmp_path):
    data = Dataset("late", "val", "semi-supervised", [LateObjectSequence()])
    for method in ("first-frame", "test-probs"):
        result = run(method, data, output=tmp_path / method, settings=FAST)
        assert result.ok, result.failures
        for stem in data.sequences[0].frames:
            labels = read_mask(result.store.masks_dir / "late" / f"{stem}.png")
            assert labels[0, 0] == 1
            assert labels[7, 9] == (3 if int(stem) >= 3 else 0), (method, stem)


def test_unsupervised_probabilities_become_proposal_ids(tmp_path):
    data = small(num_sequences=1, task="unsupervised")
    result = run("test-unsup", data, output=tmp_path, settings=FAST)
    labels = read_mask(next((result.store.masks_dir / data.names[0]).glob("*.png")))
    assert labels[0, 0] == 1 and labels[0, -1] == 2
    with pytest.raises(ConfigError, match="unsupervised"):
        run("test-unsup", small(num_sequences=1), output=tmp_path / "x", settings=FAST)


def test_unsupervised_run_on_lvos_is_scored_as_the_official_unsupervised_multiple(tmp_path):
    """An unsupervised method on LVOS's own layout: every frame written, the proposals scored by
    the LVOS rules (20 proposal rows, each object's last frame counted as 0)."""
    from vosbench.benchmarks.lvos import write_synthetic

    root = write_synthetic(tmp_path / "lvos", "small")
    data = load_dataset("lvos", root, task="unsupervised")
    settings = RunSettings(warmup_frames=0, io_workers=0)
    result = run("test-unsup", data, output=tmp_path / "run", settings=settings)
    sequence = data.sequences[0]
    written = sorted(p.stem for p in (result.store.masks_dir / sequence.name).glob("*.png"))
    assert written == list(sequence.frames)
    evaluation = result.evaluation
    assert evaluation.protocol.task == "unsupervised" and evaluation.rules.name == "lvos"
    for obj in evaluation.objects:
        assert obj.proposal_id in range(1, 21) and obj.j[-1] == obj.f[-1] == 0.0
    with pytest.raises(ConfigError, match="pass --task semi-supervised"):
        run("first-frame", data, output=tmp_path / "x", settings=FAST)


def test_unsupervised_run_on_lvos_single_writes_the_proposals_union(tmp_path):
    """LVOS's unsupervised-single task scores one foreground mask per frame: the runner writes
    the union of an unsupervised method's proposals as 0/1, the videos of
    unsupervised_videos.txt only, and the run is scored as a folder of those masks is."""
    from vosbench.benchmarks.lvos import write_synthetic

    root = write_synthetic(tmp_path / "lvos", "small")
    (root / "valid" / "unsupervised_videos.txt").write_text("synth-001\n")
    data = load_dataset("lvos", root, task="unsupervised-single")
    assert data.names == ["synth-001"]
    settings = RunSettings(warmup_frames=0, io_workers=0)
    result = run("test-unsup", data, output=tmp_path / "run", settings=settings)
    sequence = data.sequences[0]
    written = sorted((result.store.masks_dir / sequence.name).glob("*.png"))
    assert [p.stem for p in written] == list(sequence.frames)
    for path in written[:3]:
        assert np.array_equal(read_mask(path), np.ones(sequence.size, np.uint8)), path
    evaluation = result.evaluation
    assert evaluation.protocol.task == "unsupervised-single"
    alone = evaluate(data, result.store.masks_dir, Protocol(task="unsupervised-single"))
    assert len(evaluation.objects) == len(alone.objects) > 0
    for ours, theirs in zip(evaluation.objects, alone.objects, strict=True):
        assert np.array_equal(ours.j, theirs.j) and np.array_equal(ours.f, theirs.f)
    with pytest.raises(ConfigError, match="pass --task semi-supervised"):
        run("first-frame", data, output=tmp_path / "x", settings=FAST)


# -- sharding -------------------------------------------------------------------------------
def test_shards_split_longest_first_and_merge_in_one_folder(tmp_path):
    data = small(num_sequences=5)
    names = set()
    for k in range(2):
        result = run(
            "first-frame",
            data,
            output=tmp_path,
            settings=RunSettings(shard=Shard(k, 2), warmup_frames=0),
        )
        assert result.evaluation is None and "report" in result.evaluation_note
        names |= set(result.ran)
        assert all(r["exclusive"] is False for r in result.store.records())
    assert names == set(data.names) and len(RunStore(tmp_path).records()) == 5


def test_shard_parsing_and_torchrun_environment():
    assert Shard.parse("1/4") == Shard(1, 4)
    assert Shard.parse(None, {"RANK": "2", "WORLD_SIZE": "3"}) == Shard(2, 3)
    assert Shard.parse(None, {}) == Shard()
    for bad in ("4/4", "a/b", "3"):
        with pytest.raises(ConfigError):
            Shard.parse(bad)

    class Fake(Sequence):
        def __init__(self, name, n):
            self.name, self.frames = name, tuple(range(n))

    sequences = [Fake(n, length) for n, length in [("a", 5), ("b", 50), ("c", 20), ("d", 40)]]
    assert [s.name for s in Shard(0, 2).select(sequences)] == ["b", "c"]
    assert [s.name for s in Shard(1, 2).select(sequences)] == ["d", "a"]


# -- configs and timing ---------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    scales: tuple[float, ...] = (1.0,)
    sizes: tuple = ()
    name: str = "x"
    flag: bool = False
    count: int = 1
    limit: float | None = None


def test_config_overrides_are_typed():
    config = make_config(
        Options, parse_overrides(["scales=0.5,1.0", "flag=yes", "count=3", "limit=none"])
    )
    assert config == Options(scales=(0.5, 1.0), flag=True, count=3, limit=None)
    assert make_config(Options, {"sizes": "480,864"}).sizes == (480, 864)
    with pytest.raises(ConfigError, match="cannot read 'many' as int"):
        make_config(Options, {"count": "many"})
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["count"])
    assert config_hash("m", Options()) != config_hash("m", Options(count=2))
    assert config_hash("m", Options()) == config_hash("m", Options())


def test_summary_is_frames_over_time_never_mean_of_rates():
    records = [
        {
            "model_ms": [100.0, 10.0, 10.0, 30.0],
            "e2e_ms": [110.0, 20.0, 20.0, 50.0],
            "num_objects": 2,
            "peak_host_mb": 5.0,
        },
        {"model_ms": [50.0, 50.0], "e2e_ms": [60.0, 60.0], "num_objects": 1, "peak_host_mb": 7.0},
    ]
    summary = summarize(records)
    assert summary["fps"] == pytest.approx(6 / 0.25)
    assert summary["fps_propagation"] == pytest.approx(4 / 0.1)
    assert summary["e2e_fps"] == pytest.approx(6 / 0.32)
    assert summary["fps_seq_mean"] == pytest.approx((4 / 0.15 + 2 / 0.1) / 2)
    assert summary["latency_ms_p50"] == pytest.approx(20.0)
    assert summary["init_ms"] == pytest.approx(75.0)
    assert summary["objects"] == 3 and summary["peak_host_mb"] == 7.0


def test_methods_command_lists_the_catalogue(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "first-frame" in out and "flow" in out and "semi-supervised" in out


def test_cli_run_report_and_viz_end_to_end(tmp_path, capsys):
    results = tmp_path / "results"
    for method in ("first-frame", "flow"):
        assert (
            main(
                ["run", "-m", method, "-s", "synth-000", "--results", str(results), "--warmup", "2"]
            )
            == 0
        )
    out = capsys.readouterr().out
    assert "J&F-Mean" in out and "FPS" in out
    assert main(["report", str(results)]) == 0
    board = (results / "leaderboard.csv").read_text().splitlines()
    assert board[0].startswith("method,dataset,split,J&F") and len(board) == 3
    assert board[1].split(",")[0] == "flow", "flow must rank above first-frame"
    assert (results / "report.html").is_file() and (results / "plots").is_dir()
    run_dir = results / "synthetic-val" / "flow"
    assert main(["viz", str(run_dir), "-o", str(tmp_path / "v.gif")]) == 0
    from PIL import Image

    with Image.open(tmp_path / "v.gif") as gif:
        assert gif.n_frames > 1
    assert main(["eval", str(run_dir), "-q"]) == 0
    assert evaluation_status(RunStore(run_dir)).current


# -- offline methods: frame_reader ------------------------------------------------------------
def test_offline_methods_read_any_frame_through_the_runner(tmp_path):
    data = small(num_sequences=1, num_frames=4, task="unsupervised")
    sequence = data.sequences[0]
    result = run("test-offline", data, output=tmp_path / "run", settings=FAST)
    assert result.ok, result.failures
    last = sequence.read_frame(sequence.frames[-1]).astype(int)
    for stem in sequence.frames:
        expected = (np.abs(sequence.read_frame(stem).astype(int) - last).sum(-1) > 60).astype(
            np.uint8
        )
        assert np.array_equal(
            read_mask(result.store.masks_dir / sequence.name / f"{stem}.png"), expected
        )
    seen = []

    class Online(Unsupervised):
        def reset(self, meta) -> None:
            seen.append(meta.frame_reader)
            super().reset(meta)

    from vosbench.runner.runner import run_sequence
    from vosbench.runner.timing import Timer

    run_sequence(Online(), sequence, data, Timer(torch.device("cpu")), io_workers=0)
    assert seen == [None]  # online methods get no reader
    offline = LooksAhead()
    run_sequence(offline, sequence, data, Timer(torch.device("cpu")), io_workers=0)
    with pytest.raises(IndexError, match="frame index 4 outside 0 … 3"):
        offline.meta.frame_reader(4)
