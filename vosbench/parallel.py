"""The one process pool every parallel part of vosbench uses: its workers die with their parent.

A ``ProcessPoolExecutor`` worker waits on a pipe whose write end every forked worker also
holds, so when the parent is killed (SIGTERM, SIGKILL, OOM) no worker ever sees end-of-file
and they all run on for good. Each worker therefore binds its life to the parent's at start:
on Linux with ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, elsewhere with a watchdog thread that
exits once the worker is re-parented.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCHDOG_INTERVAL = 0.5  # seconds between two checks of the parent in the fallback


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes that end when this process ends, however it ends.

    Create and use it from one thread that outlives the pool (on Linux a worker is killed
    when the thread that started it exits).
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=pool_context(),
        initializer=bind_to_parent,
        initargs=(os.getpid(),),
    )


def pool_context() -> BaseContext:
    """Fork where available (workers inherit loaded modules, starting in milliseconds)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def bind_to_parent(parent: int) -> None:
    """Worker initializer: make this process exit as soon as ``parent`` is gone."""
    if not _set_parent_death_signal():
        _start_watchdog(parent)
    if os.getppid() != parent:  # the parent died before the binding took effect
        os._exit(1)


def _set_parent_death_signal() -> bool:
    """Ask the Linux kernel to SIGKILL this process when its parent dies; False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _start_watchdog(parent: int) -> None:
    """Fallback: a daemon thread that ends the process once it is re-parented (POSIX)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCHDOG_INTERVAL)
        os._exit(1)

    threading.Thread(target=watch, name="vosbench-parent-watchdog", daemon=True).start()
