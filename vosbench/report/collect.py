"""Gather every run folder under a results directory into :class:`RunReport` records.

The report never trusts a stale evaluation: a run whose stored evaluation does not describe
its masks as they are now (:func:`vosbench.results.evaluation_status`) is re-evaluated through
the injected ``evaluate`` callable, and when that is impossible (no ground truth) the run is
reported as *not evaluated* instead of showing old numbers. Foreign ``manifest.json`` files are
skipped and damaged run folders named, each with a warning; neither stops the report.

Numbers stay fractions in [0, 1], as in the official DAVIS CSV files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vosbench.errors import VosbenchError
from vosbench.metrics.outputs import GLOBAL_COLUMNS
from vosbench.results import (
    DamagedFileError,
    RunStore,
    evaluate_run,
    evaluation_status,
    exclusivity,
    exclusivity_note,
    find_runs,
    load_dataset_spec,
    read_json,
    summarize,
)

EvaluateFn = Callable[[RunStore], object]


class ReportError(VosbenchError):
    """A run folder cannot be read into a report (corrupt manifest, malformed result file)."""


def default_evaluate(store: RunStore) -> object:
    """Evaluate every completed sequence of the run and store it as its current evaluation."""
    return evaluate_run(store)


@dataclass
class RunReport:
    """Everything the report shows about one run folder (all shards together)."""

    run_dir: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]
    records: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    global_metrics: dict[str, float] | None = None
    per_sequence: pd.DataFrame | None = None  # Sequence, Objects, J&F, J-Mean, F-Mean
    per_frame: pd.DataFrame | None = None  # Sequence, Object, Frame, J, F
    status: str = "not evaluated"
    notes: list[str] = field(default_factory=list)
    total_sequences: int | None = None
    label: str = ""
    dataset: Any = field(default=None, repr=False)  # the loaded Dataset, or None without GT

    def __post_init__(self) -> None:
        self.label = self.label or self.method

    # -- manifest views ---------------------------------------------------------------------
    @property
    def method(self) -> str:
        return str(self.manifest.get("method", "?"))

    @property
    def dataset_spec(self) -> dict[str, Any]:
        return dict(self.manifest.get("dataset") or {})

    @property
    def dataset_name(self) -> str:
        return str(self.dataset_spec.get("name", "?"))

    @property
    def split(self) -> str:
        return str(self.dataset_spec.get("split", "?"))

    @property
    def task(self) -> str:
        return str(self.dataset_spec.get("task", "semi-supervised"))

    @property
    def dataset_key(self) -> str:
        """File-name friendly group key: runs with equal keys are compared with each other."""
        key = f"{self.dataset_name}-{self.split}"
        return key if self.task == "semi-supervised" else f"{key}-{self.task}"

    @property
    def evaluated(self) -> bool:
        return self.global_metrics is not None

    @property
    def jf(self) -> float:
        return self.metric("J&F-Mean")

    def metric(self, name: str) -> float:
        value = (self.global_metrics or {}).get(name)
        return math.nan if value is None else float(value)

    @property
    def fps(self) -> float:
        return _number(self.summary.get("fps"))

    @property
    def e2e_fps(self) -> float:
        return _number(self.summary.get("e2e_fps"))

    @property
    def completed(self) -> list[str]:
        return [str(r.get("sequence")) for r in self.records]

    @property
    def device(self) -> str:
        return str(self.manifest.get("device_name") or self.manifest.get("device") or "")

    @property
    def precision(self) -> str:
        return str(self.manifest.get("precision") or "")

    @property
    def config_hash(self) -> str:
        return str(self.manifest.get("config_hash") or "")

    @property
    def exclusive(self) -> bool | None:
        """Whether every sequence's speed was measured on a machine the run had to itself."""
        return exclusivity(
            self.records, int((self.manifest.get("settings") or {}).get("shards") or 1)
        )["exclusive"]

    @property
    def card(self) -> dict[str, Any]:
        return dict(self.manifest.get("card") or {})


def _number(value: Any) -> float:
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan


# -- datasets ---------------------------------------------------------------------------------
class DatasetCache:
    """Loads each run's dataset once (several runs usually share one), remembering failures."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}

    def get(self, spec: Mapping[str, Any]) -> Any:
        """The dataset described by a manifest's ``dataset`` record; raises VosbenchError."""
        key = json.dumps(spec_identity(spec), sort_keys=True, default=str)
        if key not in self._loaded:
            try:
                self._loaded[key] = load_dataset_spec(
                    spec, allow_missing=True
                )  # frames, attributes
            except VosbenchError as error:
                self._loaded[key] = error
        value = self._loaded[key]
        if isinstance(value, VosbenchError):
            raise value
        return value


def spec_identity(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: spec.get(k) for k in ("name", "root", "split", "task", "options", "sequences")}


# -- reading one run --------------------------------------------------------------------------
def read_manifest(store: RunStore) -> dict[str, Any]:
    """The manifest, checked enough that later code can rely on its shape and names."""
    try:
        return store.manifest()
    except DamagedFileError as error:
        raise ReportError(str(error)) from None


def read_summary(store: RunStore, records: list[dict[str, Any]]) -> dict[str, Any]:
    """``summary.json``, recomputed from the markers when it misses sequences (shards)."""
    path = store.root / "summary.json"
    summary: dict[str, Any] = {}
    if path.is_file():
        try:
            summary = read_json(path)
        except DamagedFileError:
            summary = {}  # derived from the markers: recomputed below
    if not isinstance(summary, dict) or summary.get("sequences") != len(records):
        summary = summarize(records) if records else {}
    return summary


def read_table(path: Path, columns: tuple) -> pd.DataFrame:
    try:
        # Names stay text ("00000" is not 0, "NA" is not missing); only empty cells are NaN.
        frame = pd.read_csv(
            path, dtype={"Sequence": str, "Frame": str}, keep_default_na=False, na_values=[""]
        )
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: cannot read the table ({error})") from None
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ReportError(f"{path}: missing column(s) {', '.join(absent)}")
    return frame


def read_evaluation(run_dir: Path, split: str) -> tuple:
    """(global metrics, per-sequence table, per-frame table) from the evaluator's files.

    The global numbers come from vosbench's own ``global_metrics-<split>.csv`` (every metric that
    ran, under the benchmark's rules: LVOS's seen/unseen means, MOSEv2's measures …); the official
    ``global_results`` file has a benchmark's own columns, or none, so it is read only for run
    folders evaluated before vosbench wrote its own table.
    """
    metrics_path = run_dir / f"global_metrics-{split}.csv"
    objects_path = run_dir / f"per-object_results-{split}.csv"
    frames_path = run_dir / f"per-frame_results-{split}.csv"
    global_path = (
        metrics_path if metrics_path.is_file() else run_dir / f"global_results-{split}.csv"
    )
    missing = [p.name for p in (global_path, objects_path) if not p.is_file()]
    if missing:
        raise ReportError(f"{run_dir}: evaluation files missing: {', '.join(missing)}")
    metrics = _global_row(global_path, () if global_path == metrics_path else GLOBAL_COLUMNS)
    per_sequence = per_sequence_table(read_table(objects_path, ("Sequence", "J-Mean", "F-Mean")))
    per_frame = (
        read_table(frames_path, ("Sequence", "Object", "Frame", "J", "F"))
        if frames_path.is_file()
        else None
    )
    return metrics, per_sequence, per_frame


def _global_row(path: Path, required: tuple[str, ...]) -> dict[str, float]:
    """The one row of a global table as numbers (a cell that is not a number: a ReportError)."""
    table = read_table(path, required)
    if len(table) != 1:
        raise ReportError(f"{path}: expected one row of results, found {len(table)}")
    try:
        return {str(c): float(table[c].iloc[0]) for c in table.columns}
    except (TypeError, ValueError) as error:
        raise ReportError(f"{path}: a global result is not a number ({error})") from None


def per_sequence_table(objects: pd.DataFrame) -> pd.DataFrame:
    """Per-object means → one row per sequence (each metric's Mean averaged over its objects)."""
    grouped = objects.groupby("Sequence", sort=True)
    means = [c for c in objects.columns if c.endswith("-Mean")]
    table = pd.DataFrame({"Objects": grouped.size(), **{c: grouped[c].mean() for c in means}})
    table.insert(1, "J&F", (table["J-Mean"] + table["F-Mean"]) / 2)
    return table.reset_index()


# -- collecting ---------------------------------------------------------------------------------
def collect_run(
    store: RunStore,
    *,
    evaluate: EvaluateFn | None = default_evaluate,
    datasets: DatasetCache | None = None,
) -> RunReport:
    """Read one run folder, re-evaluating it first when its evaluation is missing or stale."""
    manifest = read_manifest(store)
    scan = store.scan()
    records = scan.records
    report = RunReport(
        store.root, manifest, read_summary(store, records), records, store.failures()
    )
    _attach_dataset(report, datasets or DatasetCache())
    for problem in scan.damaged:
        report.notes.append(f"{problem}")
    if report.failures:
        names = ", ".join(str(f.get("sequence", "?")) for f in report.failures)
        report.notes.append(f"{len(report.failures)} sequence(s) failed: {names}")
    if not records:
        report.status = "no completed sequences"
        return report
    if report.total_sequences is not None and len(records) < report.total_sequences:
        report.notes.append(
            f"partial: {len(records)} of {report.total_sequences} sequences done; "
            "its scores are not comparable with complete runs"
        )
    note = exclusivity_note(
        exclusivity(records, int((manifest.get("settings") or {}).get("shards") or 1)), len(records)
    )
    if note:
        report.notes.append(note)
    reason = _ensure_evaluation(store, report.completed, evaluate)
    if reason is not None:
        report.status = f"not evaluated: {reason}"
        return report
    try:
        report.global_metrics, report.per_sequence, report.per_frame = read_evaluation(
            store.root, report.split
        )
    except ReportError as error:  # one damaged run must not hide the others
        report.status = f"not evaluated: {error}"
        return report
    report.status = "evaluated"
    return report


def _attach_dataset(report: RunReport, datasets: DatasetCache) -> None:
    """The run's dataset (for frames and attributes) and the N of "k/N": what its split lists."""
    listed = report.dataset_spec.get("listed")
    try:
        report.dataset = datasets.get({**report.dataset_spec, "sequences": None})
        listed = (
            listed
            if isinstance(listed, int)
            else len(getattr(report.dataset, "listed", None) or report.dataset.names)
        )
    except VosbenchError as error:
        if not isinstance(listed, int):
            named = report.dataset_spec.get("sequences")
            listed = len(named) if isinstance(named, list) else None
        report.notes.append(f"dataset unavailable ({_first_line(error)}): no frames or attributes")
    report.total_sequences = listed


def _ensure_evaluation(
    store: RunStore, completed: list[str], evaluate: EvaluateFn | None
) -> str | None:
    """None when a current evaluation exists (after re-evaluating if needed), else why not."""
    status = evaluation_status(store, completed)
    if status.current:
        return None
    if evaluate is None:
        return f"{status.reason}; re-evaluation disabled"
    try:
        evaluate(store)
    except VosbenchError as error:
        return f"{status.reason}; re-evaluating failed: {_first_line(error)}"
    after = evaluation_status(store, completed)
    return (
        None
        if after.current
        else f"{status.reason}; re-evaluation did not make it current ({after.reason})"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def collect_runs(
    results_dir: Path | str,
    *,
    evaluate: EvaluateFn | None = default_evaluate,
    datasets: DatasetCache | None = None,
    warnings: list[str] | None = None,
) -> list[RunReport]:
    """Every run under ``results_dir`` (sorted by folder), with unique display labels.

    ``evaluate(store)`` is called for runs whose evaluation is missing or stale; pass None
    to never evaluate (such runs are then reported as not evaluated). Foreign manifests and
    run folders whose manifest is damaged are left out, each with a line in ``warnings``.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ReportError(f"{results_dir}: results folder not found")
    datasets = datasets or DatasetCache()
    warnings = warnings if warnings is not None else []
    runs = []
    for store in find_runs(results_dir, warnings):
        try:
            runs.append(collect_run(store, evaluate=evaluate, datasets=datasets))
        except ReportError as error:
            warnings.append(f"skipped {error}")
    assign_labels(runs, results_dir)
    return runs


def assign_labels(runs: list[RunReport], results_dir: Path) -> None:
    """Label = method name, or method + folder when a dataset holds several runs of it."""
    counts: dict[tuple, int] = {}
    for run in runs:
        counts[(run.dataset_key, run.method)] = counts.get((run.dataset_key, run.method), 0) + 1
    for run in runs:
        if counts[(run.dataset_key, run.method)] > 1:
            try:
                where = run.run_dir.relative_to(results_dir).as_posix()
            except ValueError:
                where = run.run_dir.name
            run.label = f"{run.method} [{where}]"
        else:
            run.label = run.method


def group_runs(runs: list[RunReport]) -> dict[str, list[RunReport]]:
    """Runs by dataset key, keys sorted; within a group best J&F first (unevaluated last)."""
    groups: dict[str, list[RunReport]] = {}
    for run in runs:
        groups.setdefault(run.dataset_key, []).append(run)
    return {key: sorted(groups[key], key=rank_key) for key in sorted(groups)}


def rank_key(run: RunReport) -> tuple:
    jf = run.jf
    return (math.isnan(jf), -jf if not math.isnan(jf) else 0.0, run.label)
