"""Shared fixtures. Real data is found through $VOSBENCH_DATA (../shared/data in CI).

The session sees this checkout's entry points (vosbench's own methods and trainers) even when
the installed metadata is another checkout's: see :mod:`distinfo`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from distinfo import declared_entry_points, installed_entry_points, write_dist_info

_METADATA_KEY = pytest.StashKey[tuple]()


def pytest_configure(config: pytest.Config) -> None:
    """Put a ``vosbench`` dist-info with setup.cfg's entry points first on the path (also for
    subprocesses, through PYTHONPATH) when the installed metadata declares others."""
    import vosbench

    declared = declared_entry_points()
    if installed_entry_points("vosbench") == declared:
        return
    site = Path(tempfile.mkdtemp(prefix="vosbench-metadata-"))
    write_dist_info(site, "vosbench", declared, vosbench.__version__)
    before = os.environ.get("PYTHONPATH")
    sys.path.insert(0, str(site))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), before]))
    config.stash[_METADATA_KEY] = (site, before)


def pytest_unconfigure(config: pytest.Config) -> None:
    site, before = config.stash.get(_METADATA_KEY, (None, None))
    if site is None:
        return
    if str(site) in sys.path:
        sys.path.remove(str(site))
    if before is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = before
    shutil.rmtree(site, ignore_errors=True)


@contextlib.contextmanager
def restored(registry) -> Iterator:
    """Whatever a test registers in ``registry`` (or loads from entry points) vanishes
    afterwards."""
    saved = dict(registry._entries), dict(registry._aliases), registry._plugins_loaded
    try:
        yield registry
    finally:
        registry._entries, registry._aliases, registry._plugins_loaded = saved


@pytest.fixture
def scoped_methods():
    """The global METHODS catalogue, for registrations that last one test only."""
    from vosbench.runner.methods import METHODS

    with restored(METHODS) as registry:
        yield registry


@pytest.fixture
def scoped_method_cards():
    """The global METHOD_CARDS catalogue, for registrations that last one test only."""
    from vosbench.runner.methods import METHOD_CARDS

    with restored(METHOD_CARDS) as registry:
        yield registry


@pytest.fixture
def scoped_trainers():
    """The global TRAINERS catalogue, for registrations that last one test only."""
    from vosbench.train.trainers import TRAINERS

    with restored(TRAINERS) as registry:
        yield registry


@pytest.fixture
def scoped_metrics():
    """The global METRICS catalogue, for registrations that last one test only."""
    from vosbench.metrics.api import METRICS

    with restored(METRICS) as registry:
        yield registry


def _data_root() -> Path | None:
    value = os.environ.get("VOSBENCH_DATA")
    # Absolute at once: a relative value (as the README writes it) must not depend on a test's cwd.
    return Path(value).expanduser().resolve() if value else None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Root of the real sample data; skips the test, with the reason, when it is absent."""
    root = _data_root()
    if root is None:
        pytest.skip(
            "real data not available: set VOSBENCH_DATA to the folder holding DAVIS-2016/ etc."
        )
    if not root.is_dir():
        pytest.skip(f"real data not available: VOSBENCH_DATA={root} is not a folder")
    return root


@pytest.fixture(scope="session")
def davis2016_root(real_data: Path) -> Path:
    root = real_data / "DAVIS-2016"
    if not root.is_dir():
        pytest.skip(f"real data not available: {root} is missing")
    return root


@pytest.fixture
def idle_machine(monkeypatch):
    """The load probe sees no other process (the test machine itself may be busy)."""
    from vosbench.runner import load

    monkeypatch.setattr(load, "_system_busy_ticks", lambda: 1000)
    monkeypatch.setattr(load, "_own_ticks", lambda: 0)
