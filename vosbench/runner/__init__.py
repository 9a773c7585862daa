"""Run methods fairly: the method interface, the catalogue, the timed and resumable runner.

Names are imported on first use (PEP 562), so that reading a run folder
(:mod:`vosbench.runner.store`, used by the report) does not import torch.
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
    "Shard": "runner", "evaluate_run": "runner", "run": "runner", "run_sequence": "runner",
    "RunMismatchError": "store", "RunStore": "store", "find_runs": "store",
    "Timer": "timing", "summarize": "timing",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vosbench.runner' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"vosbench.runner.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return __all__
