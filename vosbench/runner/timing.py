"""The one timer: per-frame model and end-to-end times, peak memory, and their aggregation.

Follows the FPS protocol: on CUDA the model region is timed with CUDA events recorded on
the current stream and read after one synchronisation at the end of the sequence (no
synchronisation inside the loop); on CPU with ``time.perf_counter``. The end-to-end region
ends with the label map on the host, which synchronises by itself, so ``perf_counter`` is
exact there. Aggregates are Σ frames / Σ time (never a mean of 1/t).
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass
from typing import Any

import torch

from vosbench.results.speed import summarize  # noqa: F401  (re-exported: the runner's one summary)


@dataclass
class SequenceTiming:
    """Per-frame times of one sequence (frame 0 is the init frame) and peak memory."""

    model_ms: list[float]
    e2e_ms: list[float]
    peak_host_mb: float
    peak_gpu_mb: float | None


class Timer:
    """Times each frame of a sequence; one instance per device, reused across sequences."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        self._model: list[Any] = []
        self._e2e: list[float] = []
        self._model_start: Any = None

    now = staticmethod(time.perf_counter)

    def begin_sequence(self) -> None:
        self._model, self._e2e = [], []
        reset_peak_memory(self.device)

    def model_begin(self) -> None:
        if self.cuda:
            self._model_start = torch.cuda.Event(enable_timing=True)
            self._model_start.record()
        else:
            self._model_start = time.perf_counter()

    def model_end(self) -> None:
        if self.cuda:
            end = torch.cuda.Event(enable_timing=True)
            end.record()
            self._model.append((self._model_start, end))
        else:
            self._model.append((time.perf_counter() - self._model_start) * 1e3)

    def frame_end(self, started: float) -> None:
        """Close the end-to-end region of a frame opened at ``started`` (a :meth:`now` value)."""
        self._e2e.append((time.perf_counter() - started) * 1e3)

    def end_sequence(self) -> SequenceTiming:
        if self.cuda:
            torch.cuda.synchronize(self.device)
            model = [start.elapsed_time(end) for start, end in self._model]
        else:
            model = list(self._model)
        return SequenceTiming(model, list(self._e2e), peak_host_mb(), peak_gpu_mb(self.device))


# -- memory ---------------------------------------------------------------------------------
_CLEAR_REFS = "/proc/self/clear_refs"


def reset_peak_memory(device: torch.device) -> None:
    """Restart the peak counters: host (Linux: VmHWM via clear_refs) and CUDA allocator."""
    try:
        with open(_CLEAR_REFS, "w") as handle:
            handle.write("5")
    except OSError:
        pass  # not Linux or not permitted: the host peak is then the process's lifetime peak
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_host_mb() -> float:
    """Peak resident memory of this process since the last reset, in MiB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def peak_gpu_mb(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20
