"""Run methods fairly: the method interface, the catalogue, the timed and resumable runner."""

from vosbench.runner.methods import METHODS, config_hash, get_method, make_config, parse_overrides
from vosbench.runner.protocol import PRECISIONS, MethodCard, NoConfig, SequenceMeta, VOSMethod
from vosbench.runner.runner import (
    MethodError,
    RunProgress,
    RunResult,
    RunSettings,
    Shard,
    evaluate_run,
    run,
    run_sequence,
)
from vosbench.runner.store import RunMismatchError, RunStore, find_runs
from vosbench.runner.timing import Timer, summarize

__all__ = [
    "METHODS", "PRECISIONS", "MethodCard", "MethodError", "NoConfig", "RunMismatchError", "RunProgress",
    "RunResult", "RunSettings", "RunStore", "SequenceMeta", "Shard", "Timer", "VOSMethod", "config_hash",
    "evaluate_run", "find_runs", "get_method", "make_config", "parse_overrides", "run", "run_sequence",
    "summarize",
]
