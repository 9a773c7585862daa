"""Run methods fairly: the method interface, the catalogue, the timed and resumable runner.

Names are imported on first use (PEP 562). Run folders themselves (store, locks, evaluation
state) live in the torch-free :mod:`vosbench.results`; their names are re-exported here.
"""

from __future__ import annotations

from vosbench.registry import lazy_attributes

_EXPORTS = {
    "WeightsError": "checkpoint",
    "convert_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "METHODS": "methods",
    "config_hash": "methods",
    "get_method": "methods",
    "make_config": "methods",
    "method_card": "methods",
    "parse_overrides": "methods",
    "describe_options": "methods",
    "precision_context": "contexts",
    "seeded": "contexts",
    "OptionRangeError": "options",
    "check_options": "options",
    "option": "options",
    "PRECISIONS": "card",
    "MethodCard": "card",
    "NoConfig": "card",
    "SequenceMeta": "protocol",
    "VOSMethod": "protocol",
    "MethodError": "runner",
    "RunProgress": "runner",
    "RunResult": "runner",
    "RunSettings": "runner",
    "Shard": "runner",
    "run": "runner",
    "run_sequence": "runner",
    "evaluate_run": "vosbench.results",
    "RunMismatchError": "vosbench.results",
    "RunStore": "vosbench.results",
    "find_runs": "vosbench.results",
    "Timer": "timing",
    "summarize": "timing",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_attributes(__name__, _EXPORTS)


def __dir__() -> list:
    return __all__
