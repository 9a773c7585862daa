"""Hostile and clumsy inputs to the results store: every case names its file, exits non-zero with
no traceback, never shows a stale or partial number as current, and changes nothing it does not own.

Each test reproduces one case of the trust issue on a small synthetic dataset written to disk.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from vosbench.cli import main
from vosbench.datasets.synthetic import write_synthetic
from vosbench.io import write_mask
from vosbench.results import RunStore, evaluation_status
from vosbench.results.lock import FolderLock, RunLocks

NAMES = ["synth-000", "synth-001", "synth-002"]


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    return write_synthetic(tmp_path_factory.mktemp("data") / "synth", "small")


@pytest.fixture
def root(synthetic_root, tmp_path) -> Path:
    """A private copy of the dataset (tests damage it)."""
    return Path(shutil.copytree(synthetic_root, tmp_path / "synth"))


def cli(capsys, *args) -> tuple:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out, out.err
    return code, out.out, out.err


def run_args(root: Path, out: Path, *extra) -> tuple:
    return (
        "run",
        "-m",
        "first-frame",
        "--dataset",
        "synthetic",
        "--root",
        root,
        "--output",
        out,
        "--warmup",
        "0",
        "-j",
        "1",
        *extra,
    )


def snapshot(folder: Path) -> dict:
    """Every file below ``folder`` → its bytes' digest (what must not change)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".locks" not in p.parts
    }


def global_jf(folder: Path) -> float:
    lines = (folder / "global_results-val.csv").read_text().splitlines()
    return float(lines[1].split(",")[0])


# -- stale and partial evaluations ----------------------------------------------------------------
def test_report_never_shows_masks_replaced_after_the_evaluation(root, tmp_path, capsys):
    results = tmp_path / "results"
    out = results / "synthetic-val" / "first-frame"
    assert cli(capsys, *run_args(root, out))[0] == 0
    before = global_jf(out)
    assert before < 0.9
    for name in NAMES:  # the masks become the ground truth: a perfect score
        shutil.rmtree(out / "masks" / name)
        shutil.copytree(
            root / "Annotations" / "480p" / name, out / "masks" / name, copy_function=shutil.copy2
        )
    store = RunStore(out)
    status = evaluation_status(store)
    assert not status.current and "masks changed" in status.reason
    code, stdout, _ = cli(capsys, "report", results, "--no-eval")
    assert code == 0 and "stale: masks changed" in stdout and f"{before:.3f}" not in stdout
    code, stdout, _ = cli(capsys, "report", results)
    assert code == 0 and "| 1.000 |" in stdout, "the report evaluates the masks as they are now"
    assert global_jf(out) == 1.0 and evaluation_status(store).current


def test_a_deleted_mask_makes_the_evaluation_stale_and_unshowable(root, tmp_path, capsys):
    results = tmp_path / "results"
    out = results / "synthetic-val" / "first-frame"
    assert cli(capsys, *run_args(root, out))[0] == 0
    (out / "masks" / "synth-001" / "00005.png").unlink()
    code, stdout, _ = cli(capsys, "report", results)
    assert code == 0
    row = next(line for line in stdout.splitlines() if "first-frame" in line)
    assert "not evaluated: stale" in row and "00005.png" in row
    assert not evaluation_status(RunStore(out)).current


def test_a_narrower_second_run_keeps_the_whole_runs_evaluation(root, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(capsys, *run_args(root, out, "-s", "synth-000,synth-001"))[0] == 0
    two = global_jf(out)
    code, stdout, err = cli(capsys, *run_args(root, out, "-s", "synth-000"))
    assert code == 0 and "1 already done" in err
    assert "2/3" in stdout, "the table says how many of the split's sequences it covers"
    assert global_jf(out) == two, "the evaluation still covers both completed sequences"
    state = json.loads((out / "evaluation-state.json").read_text())
    assert sorted(state["sequences"]) == ["synth-000", "synth-001"]
    assert "partial: 2 of the 3 sequences" in err


def test_eval_of_a_subset_of_a_run_leaves_the_runs_evaluation_alone(root, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(capsys, *run_args(root, out))[0] == 0
    official = snapshot(out)
    code, stdout, err = cli(capsys, "eval", out, "-s", "synth-002", "-j", "1")
    assert code == 0 and "1/3" in stdout and "evaluations" in err
    written = list((out / "evaluations").glob("*/global_results-val.csv"))
    assert len(written) == 1
    assert {k: v for k, v in snapshot(out).items() if not k.startswith("evaluations/")} == official
    assert evaluation_status(RunStore(out)).current
    code, _, err = cli(capsys, "eval", out, "-s", "synth-009", "-j", "1")
    assert code == 1 and "not complete in this run: synth-009" in err


def test_eval_of_a_run_folder_reads_its_dataset_from_the_manifest(root, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(capsys, *run_args(root, out))[0] == 0
    (out / "evaluation-state.json").unlink()
    code, stdout, err = cli(capsys, "eval", out / "masks", "-j", "1")  # its masks/ folder works too
    assert code == 0 and "synthetic/val" in stdout and str(root) not in stdout
    assert evaluation_status(RunStore(out)).current


# -- split lists and roots -------------------------------------------------------------------------
def test_a_split_list_naming_absent_sequences_is_an_error_unless_allowed(root, tmp_path, capsys):
    (root / "ImageSets" / "2017" / "val.txt").write_text(
        "synth-000\nsynth-001\nsynth-002\nghost-a\nghost-b\n"
    )
    out = tmp_path / "run"
    code, _, err = cli(capsys, *run_args(root, out))
    assert (
        code == 1
        and "2 of 5 sequences" in err
        and "ghost-a, ghost-b" in err
        and "--allow-missing" in err
    )
    assert not out.exists(), "nothing is written for a refused run"
    code, stdout, err = cli(capsys, *run_args(root, out, "--allow-missing"))
    assert code == 0 and "3/5" in stdout and "partial: 3 of the 5" in err
    code, stdout, _ = cli(capsys, "report", out.parent)
    assert "| 3/5 |" in stdout
    code, stdout, _ = cli(capsys, *run_args(root, tmp_path / "narrow", "-s", "synth-001"))
    assert code == 0 and "1/5" in stdout


@pytest.mark.parametrize("line", ["..", ".", "../../etc", "/abs"])
def test_a_malicious_split_list_line_deletes_nothing(root, tmp_path, capsys, line):
    out = tmp_path / "run"
    assert cli(capsys, *run_args(root, out))[0] == 0
    (out / "my-notes.txt").write_text("keep me")
    before = snapshot(tmp_path)
    (root / "ImageSets" / "2017" / "val.txt").write_text(f"synth-000\n{line}\n")
    for command in (
        run_args(root, out, "--force"),
        ("validate", "--dataset", "synthetic", "--root", root),
        ("eval", out, "-j", "1"),
    ):
        code, _, err = cli(capsys, *command)
        if command[0] != "eval":  # eval scores the run's own (safe) sequences
            assert code == 1 and "val.txt" in err and "line 2" in err
    after = snapshot(tmp_path)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert all(
        k.startswith("run/evaluation")
        or k.startswith("run/global")
        or k.startswith("run/per-")
        or k.startswith("synth/ImageSets")
        for k in changed
    ), changed
    assert (out / "my-notes.txt").read_text() == "keep me"


def test_the_same_folder_for_another_root_is_refused(root, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(capsys, *run_args(root, out))[0] == 0
    other = Path(shutil.copytree(root, tmp_path / "other-copy"))
    code, _, err = cli(capsys, *run_args(other, out))
    assert code == 1 and "dataset root" in err and str(other) in err and "--force" in err


def test_force_never_empties_a_folder_that_holds_no_run(root, tmp_path, capsys):
    folder = tmp_path / "my-thesis"
    (folder / "masks").mkdir(parents=True)
    (folder / "masks" / "figure.png").write_bytes(b"precious")
    code, _, err = cli(capsys, *run_args(root, folder, "--force"))
    assert code == 1 and "holds no vosbench run" in err
    assert (folder / "masks" / "figure.png").read_bytes() == b"precious"
    assert sorted(p.name for p in folder.iterdir()) == ["masks"], (
        "not even a lock file is left there"
    )


# -- damaged and foreign files ---------------------------------------------------------------------
DAMAGES = {
    "not UTF-8": b"\xff\xfe\x00garbage",
    "null": b"null",
    "a list": b"[1, 2]",
    "missing keys": b'{"sequence": "synth-001"}',
    "not JSON": b"{oops",
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_marker_is_named_and_its_sequence_rerun(root, tmp_path, capsys, damage):
    results = tmp_path / "results"
    out = results / "synthetic-val" / "first-frame"
    assert cli(capsys, *run_args(root, out))[0] == 0
    marker = out / "sequences" / "synth-001.json"
    marker.write_bytes(DAMAGES[damage])
    code, stdout, _ = cli(capsys, "report", results, "--no-eval")
    assert code == 0 and "synth-001.json" in stdout and "damaged" in stdout and "2/3" in stdout
    code, _, err = cli(capsys, *run_args(root, out))
    assert code == 0 and "synth-001.json" in err and "1 sequence(s) run, 2 already done" in err
    assert json.loads(marker.read_text())["sequence"] == "synth-001"


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_manifest_is_named_with_its_recovery(root, tmp_path, capsys, damage):
    results = tmp_path / "results"
    out = results / "synthetic-val" / "first-frame"
    assert cli(capsys, *run_args(root, out))[0] == 0
    (out / "manifest.json").write_bytes(DAMAGES[damage])
    code, _, err = cli(capsys, *run_args(root, out))
    assert code == 1 and "manifest.json" in err
    assert "--force" in err or "not a vosbench run manifest" in err
    code, _, err = cli(capsys, "report", results)
    assert code == 0 and "manifest.json" in err and "warning: skipped" in err
    code, _, err = cli(capsys, *run_args(root, out, "--force"))
    assert code == 0 and "3 sequence(s) run" in err, "--force starts a damaged run over"


def test_force_never_clears_another_programs_folder(root, tmp_path, capsys):
    folder = tmp_path / "webapp"
    (folder / "masks").mkdir(parents=True)
    (folder / "masks" / "icon.png").write_bytes(b"icon")
    (folder / "manifest.json").write_text('{"name": "app", "icons": []}')
    before = snapshot(folder)
    code, _, err = cli(capsys, *run_args(root, folder, "--force"))
    assert code == 1 and "not a vosbench run manifest" in err and snapshot(folder) == before
    assert not (folder / ".locks").exists()


def test_a_foreign_manifest_anywhere_does_not_stop_the_report(root, tmp_path, capsys):
    results = tmp_path / "results"
    assert cli(capsys, *run_args(root, results / "synthetic-val" / "first-frame"))[0] == 0
    (results / "notes" / "npm").mkdir(parents=True)
    (results / "notes" / "npm" / "manifest.json").write_text(
        '{"name": "left-pad", "version": "1.0"}'
    )
    code, stdout, err = cli(capsys, "report", results)
    assert code == 0 and "first-frame" in stdout and "notes/npm/manifest.json" in err


def test_report_output_stays_inside_its_folder(root, tmp_path, capsys):
    results = tmp_path / "results"
    out = results / "synthetic-val" / "first-frame"
    assert cli(capsys, *run_args(root, out))[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["dataset"]["name"] = "../../escaped"
    (out / "manifest.json").write_text(json.dumps(manifest))
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "report", results, "-o", tmp_path / "report")
    assert code == 0 and "dataset name '../../escaped'" in err
    new = set(snapshot(tmp_path)) - set(before)
    assert new and all(name.startswith("report/") for name in new), new


def test_synth_predictions_never_overwrite_part_of_a_folder(tmp_path, capsys):
    predictions = tmp_path / "pred"
    (predictions / "synth-000").mkdir(parents=True)
    (predictions / "synth-000" / "00000.png").write_bytes(b"mine")
    code, _, err = cli(
        capsys, "synth", tmp_path / "data", "--preset", "small", "--predictions", predictions
    )
    assert code == 1 and "not empty" in err and str(predictions) in err
    assert (predictions / "synth-000" / "00000.png").read_bytes() == b"mine"
    assert (
        cli(
            capsys,
            "synth",
            tmp_path / "data",
            "--preset",
            "small",
            "--predictions",
            predictions,
            "--force",
        )[0]
        == 0
    )


# -- atomic outputs --------------------------------------------------------------------------------
def test_a_full_disk_while_writing_the_tables_leaves_the_old_ones_whole(
    root, tmp_path, capsys, monkeypatch
):
    predictions = tmp_path / "pred"
    assert (
        cli(capsys, "synth", tmp_path / "d", "--preset", "small", "--predictions", predictions)[0]
        == 0
    )
    args = ("eval", predictions, "--dataset", "synthetic", "--root", tmp_path / "d", "-j", "1")
    assert cli(capsys, *args)[0] == 0
    before = snapshot(predictions)
    write_mask(predictions / "synth-000" / "00003.png", np.zeros((96, 160), np.uint8))
    real_fdopen, calls = os.fdopen, []

    def full_disk(fd, *a, **k):
        calls.append(fd)
        if len(calls) == 3:
            os.close(fd)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fdopen(fd, *a, **k)

    monkeypatch.setattr("vosbench.io.atomic.os.fdopen", full_disk)
    code, _, err = cli(capsys, *args)
    assert code == 1 and "No space left on device" in err
    after = snapshot(predictions)
    assert {k: v for k, v in after.items() if k.endswith((".csv", ".json"))} == {
        k: v for k, v in before.items() if k.endswith((".csv", ".json"))
    }
    assert not list(predictions.glob(".*.tmp")), "no staged file is left behind"


# -- locks -----------------------------------------------------------------------------------------
def test_a_second_run_on_a_locked_folder_names_the_holder(root, tmp_path, capsys):
    out = tmp_path / "run"
    with RunLocks(out).worker("shard-0-of-1"):
        code, _, err = cli(capsys, *run_args(root, out))
    assert code == 1 and "is in use" in err and f"pid {os.getpid()}" in err
    assert not (out / "masks").exists(), "the refused run wrote nothing"
    with RunLocks(out).folder():  # another shard's run: shards write side by side
        assert cli(capsys, *run_args(root, out, "--shard", "1/2"))[0] == 0
        code, _, err = cli(capsys, *run_args(root, out, "--force"))
        assert code == 1 and "is in use" in err, "--force waits for every shard to stop"


def test_a_lock_left_by_a_killed_process_is_taken_over(root, tmp_path, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import sys, time
        from vosbench.results.lock import RunLocks
        lock = RunLocks({str(out)!r}).worker("shard-0-of-1").acquire()
        print("held", flush=True)
        time.sleep(60)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cli(capsys, *run_args(root, out))[0] == 1
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
    finally:
        holder.kill()
    code, _, err = cli(capsys, *run_args(root, out))
    assert code == 0 and "3 sequence(s) run" in err


def test_folder_lock_is_exclusive_within_one_process_too(tmp_path):
    with FolderLock(tmp_path / "x.lock", "test"):
        with pytest.raises(Exception, match="is in use"):
            FolderLock(tmp_path / "x.lock", "other").acquire()
    FolderLock(tmp_path / "x.lock", "again").acquire().release()


# -- speed on a busy machine -----------------------------------------------------------------------
def test_the_load_probe_sees_another_process_burning_a_core():
    from vosbench.runner.load import LoadProbe

    burner = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.time() + 3\nwhile time.time() < end: pass"]
    )
    try:
        time.sleep(0.3)
        probe = LoadProbe()
        probe.start()
        time.sleep(1.0)
        load = probe.stop()
    finally:
        burner.kill()
        burner.wait()
    assert load["other_cpu_cores"] > 0.6, load


def test_speed_on_a_busy_machine_is_marked_not_exclusive(root, tmp_path, capsys, monkeypatch):
    from vosbench.runner import load

    ticks = iter(range(0, 10**9, 5000))
    monkeypatch.setattr(load, "_system_busy_ticks", lambda: next(ticks))  # others burn many cores
    monkeypatch.setattr(load, "_own_ticks", lambda: 0)
    results = tmp_path / "results"
    out = results / "synthetic-val" / "first-frame"
    code, _, err = cli(capsys, *run_args(root, out))
    assert code == 0 and "speed not exclusive: the machine was busy during 3 of 3" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["exclusive"] is False and summary["busy_sequences"] == NAMES
    code, stdout, _ = cli(capsys, "report", results)
    row = next(line for line in stdout.splitlines() if "first-frame" in line)
    assert "| no |" in row and "speed not exclusive" in row


def test_speed_on_an_idle_machine_is_exclusive(root, tmp_path, capsys, idle_machine):
    out = tmp_path / "run"
    code, _, err = cli(capsys, *run_args(root, out))
    assert code == 0 and "not exclusive" not in err
    assert json.loads((out / "summary.json").read_text())["exclusive"] is True


# -- small things ----------------------------------------------------------------------------------
def test_ctrl_c_says_that_rerunning_resumes(root, tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("vosbench.runner.run", interrupted)
    code, _, err = cli(capsys, *run_args(root, tmp_path / "run"))
    assert code == 130 and "run the same command again to resume" in err


def test_markers_naming_unsafe_frames_are_damaged_not_followed(root, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(capsys, *run_args(root, out))[0] == 0
    marker = out / "sequences" / "synth-000.json"
    record = json.loads(marker.read_text())
    record["frames"][0] = "../../../etc/passwd"
    marker.write_text(json.dumps(record))
    scan = RunStore(out).scan()
    assert scan.names == ["synth-001", "synth-002"]
    assert "frame name '../../../etc/passwd'" in str(scan.damaged[0])
    code, _, err = cli(capsys, "viz", out, "-s", "..", "-o", tmp_path / "v.gif")
    assert code == 1 and "refusing sequence name '..'" in err


def test_masks_folder_is_left_alone_when_a_sequence_name_is_unsafe(tmp_path):
    store = RunStore(tmp_path / "run")
    with pytest.raises(Exception, match="refusing sequence name"):
        store.staging("..")
    with pytest.raises(Exception, match="refusing sequence name"):
        store.sequence_dir("a/b")
    assert not (tmp_path / "run").exists()


def test_a_relative_data_path_is_made_absolute_once(monkeypatch, tmp_path):
    from conftest import _data_root

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOSBENCH_DATA", "../shared/data")
    root = _data_root()
    assert root.is_absolute() and root == (tmp_path / ".." / "shared" / "data").resolve()


def test_eval_report_and_the_store_never_import_torch(root, tmp_path, capsys):
    out = tmp_path / "results" / "synthetic-val" / "first-frame"
    assert cli(capsys, *run_args(root, out))[0] == 0
    (out / "evaluation-state.json").unlink()  # so that both commands really evaluate
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # any import of torch now fails
        from vosbench.cli import main
        assert main(["eval", {str(out)!r}, "-q", "-j", "1"]) == 0
        (sys.modules["pathlib"].Path({str(out)!r}) / "evaluation-state.json").unlink()
        assert main(["report", {str(tmp_path / "results")!r}, "--no-html", "--no-plots"]) == 0
        assert main(["validate", "--dataset", "synthetic", "--root", {str(root)!r}]) == 0
        print("torch-free")
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "torch-free" in done.stdout, done.stderr


def test_non_official_settings_on_a_run_folder_never_replace_its_evaluation(root, tmp_path, capsys):
    from vosbench.results.evaluation import is_run_protocol

    assert is_run_protocol({"bound_th": 0.008, "decay_mode": "exact", "metrics": None})
    assert not is_run_protocol({"all_frames": True}) and not is_run_protocol(
        {"metrics": ["J", "F", "T"]}
    )
    out = tmp_path / "run"
    assert cli(capsys, *run_args(root, out))[0] == 0
    official = snapshot(out)
    code, _, err = cli(capsys, "eval", out, "--all-frames", "-j", "1")
    assert code == 0 and "evaluations" in err
    assert {k: v for k, v in snapshot(out).items() if not k.startswith("evaluations/")} == official
    assert evaluation_status(RunStore(out)).current
