"""Errors and processes across the worker boundary: pickled errors keep their problems, and
worker processes end with their parent however it ends."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import vosbench
from vosbench import parallel
from vosbench.datasets import load_dataset
from vosbench.datasets.synthetic import write_predictions, write_synthetic
from vosbench.errors import (
    ConfigError,
    DatasetError,
    EvaluationError,
    ExtraObjectError,
    InputError,
    MaskFormatError,
    PluginError,
    Problem,
    SequenceTooShortError,
    SizeMismatchError,
    UnknownNameError,
    VosbenchError,
)
from vosbench.report.collect import ReportError
from vosbench.report.compare import CompareError, NotCurrentError
from vosbench.results import (
    DamagedFileError,
    ForeignFileError,
    RunLockedError,
    RunMismatchError,
    StaleEvaluationError,
)
from vosbench.runner.checkpoint import WeightsError
from vosbench.runner.options import OptionRangeError
from vosbench.runner.runner import MethodError
from vosbench.train.engine import TrainingError
from vosbench.weights.download import DownloadError, WeightsUnavailableError

REPO = Path(vosbench.__file__).resolve().parents[1]
PROBLEMS = [
    Problem(Path("/data/pred/bear/00003.png"), "RGB PNG: expected an indexed PNG", "rgb"),
    Problem(Path("/data/pred/dog"), "3 of 9 prediction files missing", "missing"),
    Problem(None, "no path here", "config"),
]
INPUT_ERRORS = [
    InputError,
    MaskFormatError,
    DatasetError,
    EvaluationError,
    SizeMismatchError,
    ExtraObjectError,
    SequenceTooShortError,
    DamagedFileError,
    ForeignFileError,
    StaleEvaluationError,
    NotCurrentError,
]
MESSAGE_ERRORS = [
    VosbenchError,
    ConfigError,
    MethodError,
    RunMismatchError,
    ReportError,
    TrainingError,
    RunLockedError,
    OptionRangeError,
    PluginError,
    CompareError,
    DownloadError,
    WeightsUnavailableError,
]


def examples() -> list[VosbenchError]:
    """One instance of every error class, built the way the library builds it."""
    made: list[VosbenchError] = [cls(PROBLEMS) for cls in INPUT_ERRORS]
    made += [cls(PROBLEMS[0]) for cls in INPUT_ERRORS]
    made += [cls("/data/run: something is wrong") for cls in MESSAGE_ERRORS]
    made.append(UnknownNameError("unknown method 'stm'; did you mean 'stcn'?"))
    made.append(
        WeightsError(
            "/w/rgmp.pth",
            "does not fit the model",
            missing=["a.weight"],
            unexpected=["b.bias", "c"],
            mismatched=["d: (3,) vs (4,)"],
        )
    )
    return made


def all_subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct} | all_subclasses(direct)}


def test_examples_cover_every_error_class():
    missing = all_subclasses(VosbenchError) - {type(error) for error in examples()}
    assert not missing, (
        f"add an example of {sorted(cls.__qualname__ for cls in missing)} to examples()"
    )


def example_id(error: VosbenchError) -> str:
    return f"{type(error).__name__}-{len(getattr(error, 'problems', ()))}"


@pytest.mark.parametrize("error", examples(), ids=example_id)
def test_every_error_survives_pickling(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.args == error.args
    assert vars(copy) == vars(error)  # problems, paths, keys, ...
    if isinstance(error, InputError):
        assert copy.problems == error.problems and copy.kind == error.kind
        assert all(isinstance(p, Problem) for p in copy.problems)


def test_pickled_input_error_keeps_each_problem():
    copy = pickle.loads(pickle.dumps(SizeMismatchError(PROBLEMS)))
    assert [p.path for p in copy.problems] == [p.path for p in PROBLEMS]
    assert [p.kind for p in copy.problems] == ["rgb", "missing", "config"]
    assert str(copy).splitlines() == [
        "3 problems found:",
        "  - /data/pred/bear/00003.png: RGB PNG: expected an indexed PNG",
        "  - /data/pred/dog: 3 of 9 prediction files missing",
        "  - no path here",
    ]


def test_weights_error_keeps_its_keys():
    copy = pickle.loads(pickle.dumps(WeightsError("/w.pth", "bad", missing=["x", "y"])))
    assert copy.path == Path("/w.pth") and copy.missing == ["x", "y"] and copy.unexpected == []
    assert str(copy) == "/w.pth: bad\n  missing keys (2): x, y"


def test_unknown_name_error_stays_a_key_error():
    copy = pickle.loads(pickle.dumps(UnknownNameError("no 'x'")))
    assert isinstance(copy, KeyError) and str(copy) == "no 'x'"


def test_a_string_is_one_problem_not_one_per_character():
    error = EvaluationError("pred/bear: broken")
    assert error.problems == [Problem(None, "pred/bear: broken")]
    assert str(error) == "pred/bear: broken"


def _raise_problems() -> None:
    raise SizeMismatchError(PROBLEMS)


def test_error_raised_in_a_pool_worker_arrives_whole():
    with parallel.process_pool(1) as pool:
        error = pool.submit(_raise_problems).exception(timeout=30)
    assert type(error) is SizeMismatchError and error.problems == PROBLEMS
    assert str(error) == str(SizeMismatchError(PROBLEMS))


def test_every_process_pool_comes_from_the_helper():
    """Pools made elsewhere would miss the initializer that ties workers to their parent."""
    sources = [path for folder in ("vosbench", "methods") for path in (REPO / folder).rglob("*.py")]
    words = ("ProcessPoolExecutor", "multiprocessing")
    offenders = [
        str(path.relative_to(REPO))
        for path in sources
        if path.name != "parallel.py"
        and any(word in path.read_text(encoding="utf-8") for word in words)
    ]
    assert offenders == []


# ------------------------------------------------------------------------------------------
# Workers end with their parent


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.update(int(child) for child in path.read_text().split())
        except OSError:  # the thread ended meanwhile
            pass
    return found


def alive(pid: int) -> bool:
    """Running (a zombie is dead: PID 1 of a container may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture(scope="module")
def stalled(tmp_path_factory) -> tuple:
    """A dataset and predictions whose one frame is a FIFO: reading it blocks a worker for good,
    so the evaluation is reliably still running, whatever the machine's load, when it is killed."""
    folder = tmp_path_factory.mktemp("stalled")
    root = write_synthetic(folder / "data", "small")
    pred = write_predictions(load_dataset("synthetic", root), folder / "pred")
    fifo = pred / load_dataset("davis2017", root).names[0] / "00005.png"
    fifo.unlink()
    os.mkfifo(fifo)
    return root, pred


LAUNCH = "import sys; from vosbench.cli import main; sys.exit(main(sys.argv[1:]))"
NO_PRCTL = (
    "import sys, vosbench.parallel as p; p._set_parent_death_signal = lambda: False; "
    "from vosbench.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads child processes from Linux's /proc"
)
@pytest.mark.parametrize(
    "sig,script",
    [(signal.SIGKILL, LAUNCH), (signal.SIGTERM, LAUNCH), (signal.SIGKILL, NO_PRCTL)],
    ids=["sigkill", "sigterm", "sigkill-watchdog"],
)
def test_workers_end_with_their_parent(stalled, tmp_path, sig, script):
    root, pred = stalled
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    args = [
        "eval",
        str(pred),
        "--dataset",
        "davis2017",
        "--root",
        str(root),
        "--split",
        "val",
        "-j",
        "2",
    ]
    with open(tmp_path / "stderr", "wb") as stderr:
        parent = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    workers: set[int] = set()
    try:
        assert wait_for(lambda: len(children(parent.pid)) >= 2, 20), (
            tmp_path / "stderr"
        ).read_text()
        workers = children(parent.pid)
        assert parent.poll() is None  # still evaluating: one worker is stuck on the FIFO
        parent.send_signal(sig)
        parent.wait(timeout=5)  # SIGTERM ends it promptly too
        assert parent.returncode == -sig
        assert wait_for(lambda: not any(alive(pid) for pid in workers), 5), (
            f"workers {sorted(p for p in workers if alive(p))} outlived their parent"
        )
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in workers:  # leave nothing behind if the test failed
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_binding_to_a_parent_already_gone_exits(monkeypatch):
    """The parent may die between the fork and the binding: the worker must not start then."""
    exits: list[int] = []
    monkeypatch.setattr(parallel, "_set_parent_death_signal", lambda: True)
    monkeypatch.setattr(os, "_exit", exits.append)
    parallel.bind_to_parent(os.getppid() + 1)
    parallel.bind_to_parent(os.getppid())
    assert exits == [1]
