"""Paired comparison of runs of one dataset: per-sequence differences and how sure they are.

The unit is the **sequence**. A run's score on a sequence is the mean over that sequence's
objects of each per-object statistic of its stored evaluation (J-Mean, F-Mean, Recall, Decay,
T-Mean …; J&F = (J-Mean + F-Mean) / 2), the per-sequence table of ``vosbench report``. Two runs
are compared on the sequences both scored; the difference is ``run − baseline`` per sequence
and its mean over those sequences, each sequence weighing the same. The official global J&F
averages objects instead, so on multi-object datasets the mean over sequences differs from it.

How sure: a paired bootstrap over sequences (draw the sequence indices with replacement
``resamples`` times from a seeded :func:`numpy.random.default_rng`, take the mean difference of
each draw, report the percentile interval), the two-sided sign-flip (paired permutation) test
of the mean difference (exact up to :data:`EXACT_SIGN_FLIP` sequences, seeded Monte Carlo
beyond) and the Wilcoxon signed-rank test (scipy). With 30 sequences the interval is wide:
a 0.5-point gain whose interval contains 0 is not shown to be one.

Runs are read only through the results store: a run whose stored evaluation is not current
(:func:`vosbench.results.evaluation_status`) is refused (or evaluated again when the caller
passes ``evaluate``), never compared with old numbers. Torch-free.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vosbench.errors import ConfigError, InputError, Problem
from vosbench.io import atomic_write_text
from vosbench.report.collect import ReportError, RunReport, read_manifest, read_table
from vosbench.report.tables import higher_is_better, to_csv, to_markdown
from vosbench.results import RunStore, evaluation_status

DEFAULT_RESAMPLES = 10_000
MAX_RESAMPLES = 1_000_000
EXACT_SIGN_FLIP = 16
"""Up to this many sequences the sign-flip test enumerates all 2^n sign patterns."""
_BLOCK = 1 << 20  # resampled values held at once: memory stays bounded for any size
_NOT_METRICS = ("Object", "Frames", "bound_pix", "Proposal")
UNIT = (
    "per-sequence scores (each metric averaged over the sequence's objects); differences are "
    "run − baseline, averaged over the sequences both runs scored (each sequence weighs the same)"
)


class CompareError(ConfigError):
    """Runs that cannot be compared (another dataset, nothing in common)."""


class NotCurrentError(InputError):
    """A run whose stored evaluation does not describe its masks (missing, stale, damaged)."""


@dataclass(frozen=True)
class RunScores:
    """One run's per-sequence scores (index: sequence; columns: metrics) and what it ran on."""

    label: str
    run_dir: Path
    dataset: Mapping[str, Any]
    scores: pd.DataFrame
    listed: int | None = None

    @property
    def dataset_label(self) -> str:
        task = self.dataset.get("task") or "semi-supervised"
        label = f"{self.dataset.get('name', '?')}/{self.dataset.get('split', '?')}"
        return label if task == "semi-supervised" else f"{label} ({task})"

    @property
    def identity(self) -> tuple:
        """What must be equal for two runs to be compared: dataset, split, task, options."""
        spec = self.dataset
        options = spec.get("options") or {}
        return (
            spec.get("name"),
            spec.get("split"),
            spec.get("task") or "semi-supervised",
            tuple(sorted((str(k), str(v)) for k, v in dict(options).items())),
        )

    @property
    def coverage(self) -> str:
        """``k/N``: sequences scored of those the split lists."""
        return f"{len(self.scores)}/{self.listed if self.listed else '?'}"


def sequence_scores(per_object: pd.DataFrame) -> pd.DataFrame:
    """Per-object statistics → one row per sequence: each metric's mean over the objects."""
    metrics = [
        c
        for c in per_object.columns
        if c not in ("Sequence", "J&F", *_NOT_METRICS)
        and pd.api.types.is_numeric_dtype(per_object[c])
    ]
    if not {"J-Mean", "F-Mean"} <= set(metrics):
        raise ReportError("the per-object table's J-Mean and F-Mean columns are not numbers")
    table = per_object.groupby("Sequence", sort=True)[metrics].mean()
    table.insert(0, "J&F", (table["J-Mean"] + table["F-Mean"]) / 2)
    table.index = table.index.astype(str)
    return table


def read_scores(run_dir: Path, split: str) -> pd.DataFrame:
    """The per-sequence scores of a run's stored evaluation (``per-object_results-<split>.csv``)."""
    path = Path(run_dir) / f"per-object_results-{split}.csv"
    if not path.is_file():
        raise NotCurrentError(Problem(path, "evaluation file missing", "missing"))
    table = read_table(path, ("Sequence", "J-Mean", "F-Mean"))
    try:
        return sequence_scores(table)
    except ReportError as error:
        raise ReportError(f"{path}: {error}") from None


def load_run(
    path: Path | str,
    *,
    label: str | None = None,
    evaluate: Callable[[RunStore], object] | None = None,
) -> RunScores:
    """A run folder's scores, read through the results store.

    Raises :class:`NotCurrentError` when its evaluation is missing or stale (after calling
    ``evaluate(store)`` once, when given), InputError / ConfigError for a folder that is not a run.
    """
    path = Path(path)
    store = RunStore(path)
    if not path.is_dir():
        raise ConfigError(f"{path}: no such run folder")
    if not store.exists():
        raise ConfigError(f"{path}: not a vosbench run folder (no manifest.json)")
    manifest = read_manifest(store)
    status = evaluation_status(store)
    if not status.current and evaluate is not None:
        evaluate(store)
        status = evaluation_status(store)
    if not status.current:
        raise NotCurrentError(
            Problem(
                path,
                f"its evaluation is not current ({status.reason}), so it is not compared; "
                f"evaluate it with `vosbench eval {path}` (or pass --evaluate)",
                "stale",
            )
        )
    spec = dict(manifest["dataset"])
    listed = spec.get("listed")
    return RunScores(
        label or _default_label(path, manifest),
        path,
        spec,
        read_scores(path, str(spec.get("split"))),
        listed if isinstance(listed, int) else None,
    )


def load_runs(
    paths: Seq[Path | str], *, evaluate: Callable[[RunStore], object] | None = None
) -> list[RunScores]:
    """:func:`load_run` of each folder, labelled by folder name (with its parents where two
    names are equal)."""
    paths = [Path(p) for p in paths]
    labels = _unique_labels(paths)
    return [load_run(p, label=label, evaluate=evaluate) for p, label in zip(paths, labels)]


def _unique_labels(paths: Seq[Path]) -> list[str]:
    parts = [p.resolve().parts for p in paths]
    for depth in range(1, max(len(p) for p in parts) + 1):
        labels = ["/".join(p[-depth:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return [f"{label} ({i + 1})" for i, label in enumerate(labels)]


def report_scores(run: RunReport) -> RunScores | None:
    """The scores of a run the report collected (its evaluation is current), or None."""
    if not run.evaluated:
        return None
    return RunScores(
        run.label,
        run.run_dir,
        run.dataset_spec,
        read_scores(run.run_dir, run.split),
        run.total_sequences,
    )


def _default_label(path: Path, manifest: Mapping[str, Any]) -> str:
    return path.resolve().name or str(manifest.get("method", path))


# -- statistics ---------------------------------------------------------------------------------
def _differences(values: Seq[float] | np.ndarray) -> np.ndarray:
    d = np.asarray(values, dtype=np.float64)
    if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)):
        raise ValueError("differences must be a non-empty list of finite numbers")
    return d


def _check_resamples(resamples: int) -> None:
    if not 1 <= resamples <= MAX_RESAMPLES:
        raise ConfigError(f"resamples: {resamples} is outside 1 … {MAX_RESAMPLES}")


def bootstrap_means(
    differences: Seq[float] | np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> np.ndarray:
    """The mean of each of ``resamples`` draws of the differences with replacement.

    Draw b is ``rng.integers(0, n, size=n)`` of ``rng = numpy.random.default_rng(seed)``, in
    order (drawn in blocks of rows, which gives the same numbers as one draw per row).
    """
    d = _differences(differences)
    _check_resamples(resamples)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    rows = max(1, _BLOCK // d.size)
    for start in range(0, resamples, rows):
        count = min(rows, resamples - start)
        means[start : start + count] = d[rng.integers(0, d.size, size=(count, d.size))].mean(axis=1)
    return means


def paired_bootstrap(
    differences: Seq[float] | np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """The percentile interval of the mean difference over :func:`bootstrap_means`."""
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence: {confidence} is not between 0 and 1")
    means = bootstrap_means(differences, resamples, seed)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def sign_flip_p(
    differences: Seq[float] | np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> float:
    """Two-sided p-value of the mean difference under random signs (paired permutation test).

    Exact (every sign pattern) up to :data:`EXACT_SIGN_FLIP` differences, else from
    ``resamples`` seeded random patterns, ``(1 + as extreme) / (1 + resamples)``.
    """
    d = _differences(differences)
    _check_resamples(resamples)
    observed = abs(d.mean())
    tolerance = 1e-12 * max(1.0, float(np.abs(d).max()))
    if d.size <= EXACT_SIGN_FLIP:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=d.size)))
        return float(np.mean(np.abs(signs @ d) / d.size >= observed - tolerance))
    rng = np.random.default_rng(seed)
    extreme = 0
    rows = max(1, _BLOCK // d.size)
    for start in range(0, resamples, rows):
        count = min(rows, resamples - start)
        signs = rng.choice((-1.0, 1.0), size=(count, d.size))
        extreme += int(np.sum(np.abs(signs @ d) / d.size >= observed - tolerance))
    return (1 + extreme) / (1 + resamples)


def wilcoxon_p(differences: Seq[float] | np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value (zero differences dropped; 1.0 when all are zero)."""
    from scipy.stats import wilcoxon

    d = _differences(differences)
    if not np.any(d):
        return 1.0
    try:
        return float(wilcoxon(d).pvalue)
    except ValueError:
        return math.nan


# -- comparisons --------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricDifference:
    """One metric of one pair: means over the common sequences, their difference, how sure."""

    metric: str
    sequences: int
    baseline: float
    run: float
    difference: float
    low: float
    high: float
    p_sign_flip: float
    p_wilcoxon: float

    @property
    def higher_is_better(self) -> bool | None:
        return higher_is_better(self.metric)


@dataclass
class Comparison:
    """A run against the baseline on the sequences both scored."""

    baseline: RunScores
    run: RunScores
    sequences: list[str]
    table: pd.DataFrame  # per sequence: "<metric> baseline", "<metric> run", "<metric> diff"
    metrics: list[MetricDifference]
    resamples: int
    seed: int
    confidence: float
    only_baseline: list[str] = field(default_factory=list)
    only_run: list[str] = field(default_factory=list)

    def metric(self, name: str) -> MetricDifference:
        for found in self.metrics:
            if found.metric == name:
                return found
        raise KeyError(name)

    def largest(self, metric: str = "J&F", count: int | None = None) -> pd.DataFrame:
        """The per-sequence ``metric`` rows, largest absolute difference first."""
        columns = [f"{metric} baseline", f"{metric} run", f"{metric} diff"]
        rows = self.table[columns].dropna()
        order = rows[f"{metric} diff"].abs().sort_values(ascending=False, kind="stable").index
        rows = rows.loc[order]
        return rows if count is None else rows.head(count)

    @property
    def coverage_note(self) -> str:
        parts = [
            f"{len(self.sequences)} sequence(s) scored by both "
            f"({self.baseline.label} {self.baseline.coverage}, "
            f"{self.run.label} {self.run.coverage})"
        ]
        for label, names in (
            (self.baseline.label, self.only_baseline),
            (self.run.label, self.only_run),
        ):
            if names:
                shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
                parts.append(f"{len(names)} scored by {label} only, left out ({shown})")
        return "; ".join(parts)


def compare_pair(
    baseline: RunScores,
    run: RunScores,
    *,
    metrics: Seq[str] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
    wilcoxon: bool = True,
) -> Comparison:
    """``run`` against ``baseline`` (same dataset, split, task and options, else CompareError).

    ``wilcoxon=False`` leaves the Wilcoxon p-value out (NaN) and scipy unimported.
    """
    _check_resamples(resamples)
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence: {confidence} is not between 0 and 1")
    check_same_dataset(baseline, run)
    common = sorted(set(baseline.scores.index) & set(run.scores.index))
    if not common:
        raise CompareError(
            f"{baseline.run_dir} and {run.run_dir} have no evaluated sequence in common"
        )
    names = _metric_names(baseline, run, metrics)
    table = pd.DataFrame(index=pd.Index(common, name="sequence"))
    found = []
    for name in names:
        a = baseline.scores.loc[common, name].astype(float)
        b = run.scores.loc[common, name].astype(float)
        table[f"{name} baseline"], table[f"{name} run"], table[f"{name} diff"] = a, b, b - a
        both = a.notna() & b.notna() & np.isfinite(a) & np.isfinite(b)
        if both.any():
            found.append(
                _metric_difference(name, a[both], b[both], resamples, seed, confidence, wilcoxon)
            )
    return Comparison(
        baseline,
        run,
        common,
        table,
        found,
        resamples,
        seed,
        confidence,
        sorted(set(baseline.scores.index) - set(common)),
        sorted(set(run.scores.index) - set(common)),
    )


def check_same_dataset(baseline: RunScores, run: RunScores) -> None:
    """CompareError unless both runs ran on one dataset, split, task and dataset options."""
    if baseline.identity != run.identity:
        raise CompareError(
            f"{run.run_dir} is a run on {run.dataset_label}{_options(run)}, {baseline.run_dir} on "
            f"{baseline.dataset_label}{_options(baseline)}: compare runs of one dataset and split"
        )


def _options(run: RunScores) -> str:
    options = run.dataset.get("options") or {}
    return f" {dict(options)}" if options else ""


def _metric_names(baseline: RunScores, run: RunScores, asked: Seq[str] | None) -> list[str]:
    shared = [c for c in baseline.scores.columns if c in set(run.scores.columns)]
    if not asked:
        return shared
    unknown = [m for m in asked if m not in shared]
    if unknown:
        raise CompareError(
            f"metric(s) {', '.join(unknown)} not in both evaluations "
            f"(both have: {', '.join(shared)})"
        )
    return list(dict.fromkeys(["J&F", *asked])) if "J&F" in shared else list(asked)


def _metric_difference(
    name: str,
    a: pd.Series,
    b: pd.Series,
    resamples: int,
    seed: int,
    confidence: float,
    wilcoxon: bool,
) -> MetricDifference:
    d = (b - a).to_numpy()
    low, high = paired_bootstrap(d, resamples, seed, confidence)
    return MetricDifference(
        name,
        len(d),
        float(a.mean()),
        float(b.mean()),
        float(d.mean()),
        low,
        high,
        sign_flip_p(d, resamples, seed),
        wilcoxon_p(d) if wilcoxon else math.nan,
    )


def compare_runs(
    runs: Seq[RunScores],
    *,
    metrics: Seq[str] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[Comparison]:
    """Each run after the first against the first (the baseline)."""
    if len(runs) < 2:
        raise CompareError("comparing needs at least two runs (the first is the baseline)")
    for run in runs[1:]:  # every dataset checked before any bootstrap
        check_same_dataset(runs[0], run)
    return [
        compare_pair(
            runs[0], run, metrics=metrics, resamples=resamples, seed=seed, confidence=confidence
        )
        for run in runs[1:]
    ]


# -- output -------------------------------------------------------------------------------------
def signed(value: float, digits: int = 3) -> str:
    return "" if math.isnan(value) else f"{value:+.{digits}f}"


def _plain(value: float, digits: int = 3) -> str:
    return "" if math.isnan(value) else f"{value:.{digits}f}"


def format_p(value: float) -> str:
    if math.isnan(value):
        return ""
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _better(metric: str) -> str:
    direction = higher_is_better(metric)
    return "" if direction is None else ("higher" if direction else "lower")


SUMMARY_COLUMNS = ("metric", "better", "n", "baseline", "run", "diff", "CI low", "CI high")


def summary_rows(comparison: Comparison, digits: int = 3) -> list[dict[str, str]]:
    """One formatted row per metric: means, difference, interval and p-values."""
    rows = []
    for m in comparison.metrics:
        rows.append(
            {
                "metric": m.metric,
                "better": _better(m.metric),
                "n": str(m.sequences),
                "baseline": _plain(m.baseline, digits),
                "run": _plain(m.run, digits),
                "diff": signed(m.difference, digits),
                "CI low": signed(m.low, digits),
                "CI high": signed(m.high, digits),
                "p sign-flip": format_p(m.p_sign_flip),
                "p Wilcoxon": format_p(m.p_wilcoxon),
            }
        )
    return rows


def sequence_rows(
    comparison: Comparison, metric: str = "J&F", count: int | None = None
) -> list[dict[str, str]]:
    """Formatted per-sequence rows of ``metric``, largest absolute difference first."""
    return [
        {
            "sequence": str(name),
            comparison.baseline.label: _plain(row.iloc[0]),
            comparison.run.label: _plain(row.iloc[1]),
            "diff": signed(row.iloc[2]),
        }
        for name, row in comparison.largest(metric, count).iterrows()
    ]


def heading(comparison: Comparison) -> str:
    return (
        f"{comparison.run.label} against {comparison.baseline.label} (baseline) on "
        f"{comparison.baseline.dataset_label}"
    )


def method_note(comparison: Comparison) -> str:
    return (
        f"{comparison.confidence * 100:g}% paired bootstrap interval over sequences "
        f"({comparison.resamples} resamples, seed {comparison.seed}); p-values: sign-flip "
        f"{'(exact)' if len(comparison.sequences) <= EXACT_SIGN_FLIP else '(Monte Carlo)'} and "
        "Wilcoxon signed-rank, two-sided"
    )


def _columns(rows: list[dict[str, str]]) -> list[str]:
    return list(rows[0]) if rows else list(SUMMARY_COLUMNS)


def comparison_markdown(comparisons: Seq[Comparison], top: int | None = 10) -> str:
    """The comparisons as one Markdown document (summary and per-sequence tables per pair)."""
    parts = [f"# Paired comparison\n\nUnit: {UNIT}.\n"]
    for c in comparisons:
        summary = summary_rows(c)
        per_sequence = sequence_rows(c, "J&F", top)
        shown = "every sequence" if top is None or top >= len(c.sequences) else f"the {top}"
        parts += [
            f"\n## {heading(c)}\n",
            f"{c.coverage_note}. {method_note(c)}.\n",
            to_markdown(summary, _columns(summary)),
            f"\nJ&F per sequence, {shown} with the largest |diff| first:\n",
            to_markdown(per_sequence, _columns(per_sequence)),
        ]
    return "\n".join(parts)


def comparison_csv(comparisons: Seq[Comparison]) -> str:
    """Every pair's per-sequence values at full precision: one row per (run, sequence, metric)."""
    columns = ("baseline", "run", "sequence", "metric", "baseline_value", "run_value", "diff")
    rows = []
    for c in comparisons:
        for m in c.metrics:
            for name, row in c.table.iterrows():
                rows.append(
                    {
                        "baseline": c.baseline.label,
                        "run": c.run.label,
                        "sequence": str(name),
                        "metric": m.metric,
                        "baseline_value": _full(row[f"{m.metric} baseline"]),
                        "run_value": _full(row[f"{m.metric} run"]),
                        "diff": _full(row[f"{m.metric} diff"]),
                    }
                )
    return to_csv(rows, columns)


def summary_csv(comparisons: Seq[Comparison]) -> str:
    """Every pair's per-metric summary at full precision."""
    columns = (
        "baseline",
        "run",
        "metric",
        "sequences",
        "baseline_mean",
        "run_mean",
        "diff",
        "ci_low",
        "ci_high",
        "confidence",
        "resamples",
        "seed",
        "p_sign_flip",
        "p_wilcoxon",
    )
    rows = [
        {
            "baseline": c.baseline.label,
            "run": c.run.label,
            "metric": m.metric,
            "sequences": str(m.sequences),
            "baseline_mean": _full(m.baseline),
            "run_mean": _full(m.run),
            "diff": _full(m.difference),
            "ci_low": _full(m.low),
            "ci_high": _full(m.high),
            "confidence": str(c.confidence),
            "resamples": str(c.resamples),
            "seed": str(c.seed),
            "p_sign_flip": _full(m.p_sign_flip),
            "p_wilcoxon": _full(m.p_wilcoxon),
        }
        for c in comparisons
        for m in c.metrics
    ]
    return to_csv(rows, columns)


def _full(value: Any) -> str:
    number = float(value)
    return "" if math.isnan(number) else repr(number)


def write_comparison(
    comparisons: Seq[Comparison],
    *,
    csv: Path | str | None = None,
    markdown: Path | str | None = None,
    top: int | None = 10,
) -> dict[str, Path]:
    """Write ``csv`` (per sequence) with ``<stem>-summary.csv`` beside it, and ``markdown``."""
    files: dict[str, Path] = {}
    if csv is not None:
        csv = Path(csv)
        files["csv"] = atomic_write_text(csv, comparison_csv(comparisons))
        summary = csv.with_name(f"{csv.stem}-summary{csv.suffix or '.csv'}")
        files["summary"] = atomic_write_text(summary, summary_csv(comparisons))
    if markdown is not None:
        files["md"] = atomic_write_text(markdown, comparison_markdown(comparisons, top))
    return files
