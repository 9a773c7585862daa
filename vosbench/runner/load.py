"""How busy the machine is while a sequence is timed: other processes' CPU use, other GPU users.

FPS measured while a training job or another run shares the machine is not comparable with
FPS measured alone. The probe reads, before and after each sequence, the system's busy CPU
time and this process's own (``/proc/stat``, ``/proc/self/stat``), so that what *others* used
is known in cores; the 1-minute load average; and, on CUDA, the other processes on the GPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any


def _system_busy_ticks() -> int | None:
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(values) - values[3] - values[4]


def _own_ticks() -> int | None:
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            text = stat.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the command name may hold spaces
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def other_gpu_processes(timeout: float = 5.0) -> list[int] | None:
    """Pids of compute processes on the GPUs other than this one (None: not known)."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    try:
        out = subprocess.run(
            [tool, "--query-compute-apps=pid", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    pids = {int(line) for line in out.split() if line.strip().isdigit()}
    return sorted(pids - {os.getpid()})


class LoadProbe:
    """Samples the machine's load around one timed region: ``start()``, then ``stop()`` → record."""

    def __init__(self, gpu: bool = False):
        self.gpu = gpu
        self._start: tuple[float, int | None, int | None, float | None, list[int] | None] = (
            0.0,
            None,
            None,
            None,
            None,
        )

    def start(self) -> None:
        gpu = other_gpu_processes() if self.gpu else None
        self._start = (time.monotonic(), _system_busy_ticks(), _own_ticks(), _load_average(), gpu)

    def stop(self) -> dict[str, Any]:
        began, busy0, own0, load0, gpu0 = self._start
        elapsed = time.monotonic() - began
        busy1, own1 = _system_busy_ticks(), _own_ticks()
        other = None
        if None not in (busy0, own0, busy1, own1) and elapsed > 0:
            # Each CPU's counter and our own may each be one tick off at both ends: what others
            # used is counted only beyond that rounding, so a short sequence is never called busy
            # on rounding alone.
            slack = (os.cpu_count() or 1) + 2
            others = (busy1 - busy0) - (own1 - own0) - slack  # type: ignore[operator]
            other = round(max(0.0, others / os.sysconf("SC_CLK_TCK") / elapsed), 3)
        gpu1 = other_gpu_processes() if self.gpu else None
        gpu = None if gpu0 is None and gpu1 is None else sorted(set(gpu0 or []) | set(gpu1 or []))
        return {
            "other_cpu_cores": other,
            "load_average_before": load0,
            "load_average_after": _load_average(),
            "other_gpu_processes": gpu,
            "seconds": round(elapsed, 3),
        }
