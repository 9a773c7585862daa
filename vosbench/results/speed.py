"""Run-level speed figures from completion markers, and whether they were measured alone.

Torch-free, so that the report can recompute a summary (merged shards) without the runner.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Sequence as Seq
from typing import Any

import numpy as np


def summarize(records: Seq[Mapping[str, Any]]) -> dict[str, Any]:
    """Run-level speed figures from per-sequence records (``model_ms`` / ``e2e_ms`` lists).

    ``fps`` (the headline) = Σ frames / Σ model time, the init frame included;
    ``fps_propagation`` leaves the init frames out; ``fps_seq_mean`` averages per-sequence
    FPS; ``e2e_fps`` is the same as ``fps`` for the end-to-end region; latencies are
    percentiles of the propagated frames' model times.
    """
    if not records:
        return {"sequences": 0, "frames": 0}
    frames = sum(len(r["model_ms"]) for r in records)
    model_total = sum(sum(r["model_ms"]) for r in records) / 1e3
    e2e_total = sum(sum(r["e2e_ms"]) for r in records) / 1e3
    propagated = np.array([t for r in records for t in r["model_ms"][1:]], dtype=np.float64)
    e2e_propagated = np.array([t for r in records for t in r["e2e_ms"][1:]], dtype=np.float64)
    per_sequence = [
        len(r["model_ms"]) / (sum(r["model_ms"]) / 1e3) for r in records if sum(r["model_ms"]) > 0
    ]
    gpu = [r["peak_gpu_mb"] for r in records if r.get("peak_gpu_mb") is not None]
    return {
        "sequences": len(records),
        "frames": frames,
        "objects": sum(r["num_objects"] for r in records),
        "fps": _ratio(frames, model_total),
        "fps_propagation": _ratio(len(propagated), propagated.sum() / 1e3),
        "fps_seq_mean": float(np.mean(per_sequence)) if per_sequence else math.nan,
        "e2e_fps": _ratio(frames, e2e_total),
        "e2e_fps_propagation": _ratio(len(e2e_propagated), e2e_propagated.sum() / 1e3),
        "latency_ms_p50": _percentile(propagated, 50),
        "latency_ms_p90": _percentile(propagated, 90),
        "latency_ms_p99": _percentile(propagated, 99),
        "e2e_ms_p50": _percentile(e2e_propagated, 50),
        "e2e_ms_p90": _percentile(e2e_propagated, 90),
        "init_ms": float(np.median([r["model_ms"][0] for r in records])),
        "peak_host_mb": max(r["peak_host_mb"] for r in records),
        "peak_gpu_mb": max(gpu) if gpu else None,
        "model_s": float(model_total),
        "e2e_s": float(e2e_total),
    }


def _ratio(count: float, seconds: float) -> float:
    return float(count / seconds) if seconds > 0 else math.nan


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else math.nan


# -- exclusivity --------------------------------------------------------------------------------
BUSY_CORES = 0.5  # other processes' mean CPU use (cores) above which a sequence was not timed alone


def sequence_exclusive(load: Mapping[str, Any] | None) -> bool | None:
    """Whether one sequence was timed alone: no other GPU process, others below BUSY_CORES.

    None when the machine's load could not be read (the marker predates the probe, or the
    platform has no ``/proc``).
    """
    if not isinstance(load, Mapping):
        return None
    if load.get("other_gpu_processes"):
        return False
    other = load.get("other_cpu_cores")
    return None if not isinstance(other, (int, float)) else other < BUSY_CORES


def exclusivity(records: Seq[Mapping[str, Any]], shards: int = 1) -> dict[str, Any]:
    """Whether a run's speed was measured on a machine it had to itself, and where it was not.

    ``exclusive`` is True only when every sequence was timed alone and the run was not
    sharded over processes sharing machines; False when any was not; None when unknown.
    """
    busy: list[str] = []
    unknown: list[str] = []
    peak = 0.0
    for record in records:
        load = record.get("load")
        verdict = sequence_exclusive(load)
        if verdict is False:
            busy.append(str(record.get("sequence")))
        elif verdict is None:
            unknown.append(str(record.get("sequence")))
        if isinstance(load, Mapping) and isinstance(load.get("other_cpu_cores"), (int, float)):
            peak = max(peak, float(load["other_cpu_cores"]))
    sharded = shards > 1 or any(
        str(r.get("shard", "0/1")).split("/")[-1] not in ("1", "") for r in records
    )
    exclusive: bool | None = False if (busy or sharded) else (None if unknown else True)
    return {
        "exclusive": exclusive,
        "busy_sequences": busy,
        "sharded": sharded,
        "other_cpu_cores_max": round(peak, 2),
    }


def exclusivity_note(info: Mapping[str, Any], total: int | None = None) -> str:
    """One sentence for a summary or a leaderboard cell; empty when the speed was measured alone."""
    if info.get("exclusive") is True:
        return ""
    busy = info.get("busy_sequences") or []
    if busy:
        of = f" of {total}" if total else ""
        return (
            f"speed not exclusive: the machine was busy during {len(busy)}{of} sequence(s) (other "
            f"processes used up to {info.get('other_cpu_cores_max', 0):.1f} cores, or the GPU was "
            "shared)"
        )
    if info.get("sharded"):
        return "speed not exclusive: sharded run (processes may have shared a machine)"
    return "speed exclusivity unknown: the machine's load was not recorded"
