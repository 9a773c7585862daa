"""Leaderboard and per-sequence tables, as CSV and Markdown.

Conventions: J and F are fractions in [0, 1] with 3 decimals, exactly like the official
DAVIS ``global_results`` CSV (so numbers can be compared with it by eye); FPS keep 1 decimal
at 10 FPS and above, 2 below. A missing number is an empty CSV cell and "–" in Markdown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence as Seq
from pathlib import Path

import pandas as pd

from vosbench.io import atomic_write_text
from vosbench.metrics.outputs import GLOBAL_COLUMNS, csv_text
from vosbench.report.collect import RunReport, group_runs

METRIC_COLUMNS = ("J&F",) + GLOBAL_COLUMNS[1:]
LEADERBOARD_COLUMNS = (
    "method",
    "dataset",
    "split",
    *METRIC_COLUMNS,
    "model FPS",
    "end-to-end FPS",
    "device",
    "precision",
    "objects",
    "sequences",
    "config_hash",
    "exclusive",
    "status",
    "run",
)


def extra_metric_columns(runs: Seq[RunReport]) -> list[str]:
    """Columns of the metrics beyond J and F that any run's evaluation holds (``T-Mean`` …)."""
    seen: dict[str, None] = {}
    for run in runs:
        for name in run.global_metrics or {}:
            # A benchmark's own "J&F" (MOSEv2) would overwrite the leaderboard's J&F column,
            # which is J&F-Mean; it stays in the run's global_metrics and official files.
            if name not in GLOBAL_COLUMNS and name not in METRIC_COLUMNS:
                seen.setdefault(name, None)
    return list(seen)


def leaderboard_columns(runs: Seq[RunReport]) -> tuple[str, ...]:
    """The leaderboard's columns: the official ones, then those of the other metrics that ran."""
    at = LEADERBOARD_COLUMNS.index("F-Decay") + 1
    return LEADERBOARD_COLUMNS[:at] + tuple(extra_metric_columns(runs)) + LEADERBOARD_COLUMNS[at:]


def higher_is_better(column: str) -> bool | None:
    """The direction of a metric column from its metric's declaration (None: not a metric
    column)."""
    from vosbench.metrics.api import METRICS, get_metric

    name = column.rsplit("-", 1)[0]
    if column == "J&F" or name in ("J", "F"):
        return not column.endswith("Decay")
    if name not in METRICS:
        return None
    try:
        return get_metric(name).higher_is_better
    except Exception:  # noqa: BLE001 - a broken plug-in loses its bold, not the report
        return None


def format_metric(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.3f}"


def format_fps(value: float | None) -> str:
    if value is None or math.isnan(value) or math.isinf(value):
        return ""
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def sequences_cell(run: RunReport) -> str:
    total = "?" if run.total_sequences is None else str(run.total_sequences)
    return f"{len(run.records)}/{total}"


def run_location(run: RunReport, results_dir: Path | None) -> str:
    if results_dir is not None:
        try:
            return run.run_dir.relative_to(results_dir).as_posix()
        except ValueError:
            pass
    return str(run.run_dir)


def leaderboard_row(run: RunReport, results_dir: Path | None = None) -> dict[str, str]:
    """One formatted leaderboard row (every cell a string)."""
    exclusive = run.exclusive
    row = {"method": run.label, "dataset": run.dataset_name, "split": run.split}
    row.update(
        {
            name: format_metric(run.metric(source))
            for name, source in zip(METRIC_COLUMNS, GLOBAL_COLUMNS)
        }
    )
    row.update({name: format_metric(run.metric(name)) for name in extra_metric_columns([run])})
    row.update(
        {
            "model FPS": format_fps(run.fps),
            "end-to-end FPS": format_fps(run.e2e_fps),
            "device": run.device,
            "precision": run.precision,
            "objects": "" if run.summary.get("objects") is None else str(run.summary["objects"]),
            "sequences": sequences_cell(run),
            "config_hash": run.config_hash,
            "exclusive": "" if exclusive is None else ("yes" if exclusive else "no"),
            "status": "; ".join([run.status, *run.notes]),
            "run": run_location(run, results_dir),
        }
    )
    return row


def ordered_runs(runs: Seq[RunReport]) -> list[RunReport]:
    """By dataset, then J&F descending (runs without numbers last)."""
    return [run for group in group_runs(list(runs)).values() for run in group]


def leaderboard_rows(runs: Seq[RunReport], results_dir: Path | None = None) -> list[dict[str, str]]:
    return [leaderboard_row(run, results_dir) for run in ordered_runs(runs)]


def to_csv(rows: list[dict[str, str]], columns: Seq[str]) -> str:
    return csv_text(columns, [[row.get(c, "") for c in columns] for row in rows])


def to_markdown(rows: list[dict[str, str]], columns: Seq[str]) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned."""

    def cell(text: str) -> str:
        return (text or "–").replace("|", "\\|").replace("\n", " ")

    numeric = {
        c
        for c in columns
        if any(r.get(c, "") for r in rows) and all(_is_number(r.get(c, "")) for r in rows)
    }
    lines = [
        "| " + " | ".join(cell(c) for c in columns) + " |",
        "|" + "|".join("---:" if c in numeric else "---" for c in columns) + "|",
    ]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _is_number(text: str) -> bool:
    if text == "":
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_leaderboard(
    runs: Seq[RunReport], out_dir: Path | str, results_dir: Path | str | None = None
) -> dict[str, Path]:
    """``leaderboard.csv``/``.md`` and ``per-sequence/<dataset>-<split>.csv``/``.md``.

    Returns relative file name → path. ``results_dir`` makes the ``run`` column relative.
    """
    out_dir = Path(out_dir)
    rows = leaderboard_rows(runs, Path(results_dir) if results_dir is not None else None)
    columns = leaderboard_columns(runs)
    files = {
        "leaderboard.csv": atomic_write_text(out_dir / "leaderboard.csv", to_csv(rows, columns)),
        "leaderboard.md": atomic_write_text(out_dir / "leaderboard.md", to_markdown(rows, columns)),
    }
    files.update(write_per_sequence(runs, out_dir))
    return files


# -- per-sequence -------------------------------------------------------------------------------
def per_sequence_frame(runs: Seq[RunReport]) -> pd.DataFrame:
    """J&F per sequence (rows, sorted) and run (columns, leaderboard order) of one dataset."""
    columns = {
        run.label: run.per_sequence.set_index("Sequence")["J&F"]
        for run in runs
        if run.per_sequence is not None
    }
    if not columns:
        return pd.DataFrame()
    table = pd.DataFrame(columns)
    table.index.name = "sequence"
    return table.sort_index()


def per_sequence_rows(table: pd.DataFrame) -> list[dict[str, str]]:
    return [
        {"sequence": str(name), **{c: format_metric(float(v)) for c, v in row.items()}}
        for name, row in table.iterrows()
    ]


def write_per_sequence(runs: Seq[RunReport], out_dir: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for key, group in group_runs(list(runs)).items():
        table = per_sequence_frame(group)
        if table.empty:
            continue
        rows, columns = per_sequence_rows(table), ["sequence", *table.columns]
        for ext, render in (("csv", to_csv), ("md", to_markdown)):
            name = f"per-sequence/{key}.{ext}"
            files[name] = atomic_write_text(out_dir / name, render(rows, columns))
    return files
