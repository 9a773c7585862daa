"""Locks on run folders, so that two processes never write the same sequences or staging.

A lock is an ``flock`` on a file under ``<run>/.locks/``: the kernel drops it when its process
ends, however it ends (``kill -9``, a lost node's reboot), so a lock left by a dead process is
simply taken over by the next one. The holder writes who it is (pid, host, command, time)
into the file, so that a refused process can say which one is in the way.

Runs hold the folder lock shared and their shard's lock exclusively (shards of one run write
the same folder side by side); ``--force``, which deletes the folder's outputs, holds the
folder lock exclusively; an evaluation writing into the folder holds the evaluation lock.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from vosbench.errors import VosbenchError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, runs are not protected
    fcntl = None  # type: ignore[assignment]


class RunLockedError(VosbenchError):
    """Another live process holds the lock of a run folder."""


class FolderLock:
    """An advisory lock file; use as a context manager.

    Args:
        path: the lock file (created with its folder).
        purpose: what the holder does, for the message of a refused process.
        shared: a shared (read) lock instead of an exclusive one.
    """

    def __init__(self, path: Path | str, purpose: str, *, shared: bool = False):
        self.path = Path(path)
        self.purpose = purpose
        self.shared = shared
        self._handle: Any | None = None

    def acquire(self) -> FolderLock:
        """Take the lock now or raise :class:`RunLockedError` naming its holder."""
        if fcntl is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(
                handle.fileno(), (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
            )
        except BlockingIOError:
            holder = _describe(self._holder(handle))
            handle.close()
            raise RunLockedError(
                f"{self.path.parent.parent} is in use: {holder}. Wait for it to finish or stop "
                f"it, then run again (lock file {self.path})."
            ) from None
        except OSError:  # a file system without flock (some network mounts): go on unprotected
            pass
        if not self.shared:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(_me(self.purpose)) + "\n")
            handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the flock; the file stays (removing it would race)
            self._handle = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()

    @staticmethod
    def _holder(handle: Any) -> dict[str, Any]:
        try:
            handle.seek(0)
            value = json.loads(handle.read(4096) or "{}")
            return value if isinstance(value, dict) else {}
        except (OSError, ValueError):
            return {}


def _me(purpose: str) -> dict[str, Any]:
    import socket  # for the host name, only once a lock is taken

    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "purpose": purpose,
        "command": " ".join(sys.argv)[:500],
        "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return (
            "another process holds its lock (a run with a shared lock, or one that wrote "
            "nothing yet)"
        )
    return (
        f"{holder.get('purpose', 'another process')} by pid {holder.get('pid', '?')} on "
        f"{holder.get('host', '?')} since {holder.get('since', '?')} "
        f"({holder.get('command', '')!s})"
    )


class RunLocks:
    """The locks of one run folder, by purpose."""

    def __init__(self, root: Path | str):
        self.root = Path(root) / ".locks"

    def folder(self, *, exclusive: bool = False) -> FolderLock:
        return FolderLock(
            self.root / "folder.lock",
            "replacing the run (--force)" if exclusive else "a run",
            shared=not exclusive,
        )

    def worker(self, worker: str) -> FolderLock:
        return FolderLock(self.root / f"{worker}.lock", f"`vosbench run` ({worker})")

    def evaluation(self) -> FolderLock:
        return FolderLock(self.root / "evaluation.lock", "an evaluation writing into the run")
