"""Shared fixtures. Real data is found through $VOSBENCH_DATA (../shared/data in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _data_root() -> Path | None:
    value = os.environ.get("VOSBENCH_DATA")
    # Absolute at once: a relative value (as the README writes it) must not depend on a test's cwd.
    return Path(value).expanduser().resolve() if value else None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Root of the real sample data; skips the test, with the reason, when it is absent."""
    root = _data_root()
    if root is None:
        pytest.skip("real data not available: set VOSBENCH_DATA to the folder holding DAVIS-2016/ etc.")
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
