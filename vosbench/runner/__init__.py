"""Run methods fairly: the method interface, the catalogue, the timed and resumable runner.

Names are imported on first use (PEP 562). Run folders themselves (store, locks, evaluation
state) live in the torch-free :mod:`vosbench.results`; their names are re-exported here.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "WeightsError": "checkpoint", "convert_checkpoint": "checkpoint", "save_checkpoint": "checkpoint",
    "METHODS": "methods", "config_hash": "methods", "get_method": "methods", "make_config": "methods",
    "parse_overrides": "methods", "describe_options": "methods",
    "OptionRangeError": "options", "check_options": "options", "option": "options",
    "PRECISIONS": "protocol", "MethodCard": "protocol", "NoConfig": "protocol", "SequenceMeta": "protocol",
    "VOSMethod": "protocol",
    "MethodError": "runner", "RunProgress": "runner", "RunResult": "runner", "RunSettings": "runner",
    "Shard": "runner", "run": "runner", "run_sequence": "runner",
    "evaluate_run": "vosbench.results", "RunMismatchError": "vosbench.results", "RunStore": "vosbench.results",
    "find_runs": "vosbench.results",
    "Timer": "timing", "summarize": "timing",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vosbench.runner' has no attribute {name!r}")
    module = _EXPORTS[name]
    value = getattr(importlib.import_module(module if "." in module else f"vosbench.runner.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return __all__
