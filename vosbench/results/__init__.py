"""Run folders and their evaluation state: the one place that decides whether a result is current.

Torch-free: ``run``, ``eval``, ``report`` and ``viz`` all read and write run folders through
this package (:mod:`~vosbench.results.store` for the layout, manifests and markers,
:mod:`~vosbench.results.lock` for the locks, :mod:`~vosbench.results.evaluation` for the
evaluation record and its currency, :mod:`~vosbench.results.speed` for speed summaries).
"""

from vosbench.results.evaluation import (
    EvaluationStatus,
    StaleEvaluationError,
    evaluate_run,
    evaluation_status,
    subset_folder,
)
from vosbench.results.lock import FolderLock, RunLockedError, RunLocks
from vosbench.results.speed import exclusivity, exclusivity_note, summarize
from vosbench.results.store import (
    MANIFEST,
    RUN_FORMAT,
    DamagedFileError,
    ForeignFileError,
    MarkerScan,
    RunMismatchError,
    RunStore,
    dataset_spec,
    find_runs,
    load_dataset_spec,
    read_json,
    write_json,
)

__all__ = [
    "DamagedFileError",
    "EvaluationStatus",
    "FolderLock",
    "ForeignFileError",
    "MANIFEST",
    "MarkerScan",
    "RUN_FORMAT",
    "RunLockedError",
    "RunLocks",
    "RunMismatchError",
    "RunStore",
    "StaleEvaluationError",
    "dataset_spec",
    "evaluate_run",
    "evaluation_status",
    "exclusivity",
    "exclusivity_note",
    "find_runs",
    "load_dataset_spec",
    "read_json",
    "subset_folder",
    "summarize",
    "write_json",
]
