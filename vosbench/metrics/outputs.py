"""Result files and printed tables.

Official files come from the benchmark's rules (:meth:`BenchmarkRules.official_outputs`); for
DAVIS (same names, columns and ``%.3f`` rounding as its evaluator, NaN as an empty cell):
``global_results-<split>.csv`` and ``per-sequence_results-<split>.csv``, written by
:func:`global_csv` and :func:`per_sequence_csv` here. vosbench adds ``global_metrics-<split>.csv`` (every metric that ran, full precision),
``per-frame_results-<split>.csv`` (full precision), ``per-object_results-<split>.csv``
(each metric's statistics per object) and ``evaluation-<split>.json`` (protocol, inputs'
digests, versions). Columns beyond J and F follow from the metrics that ran (T on DAVIS-2016). Every file is written atomically, and every run rewrites all of them: nothing is
ever reused from an earlier run. The files are written as one set (all staged, then all
renamed), so a full disk never leaves new and old tables side by side.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
from collections.abc import Sequence as Seq
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from vosbench import __version__
from vosbench.io.atomic import atomic_write_texts
from vosbench.metrics.evaluator import EvaluationResult

GLOBAL_COLUMNS = ("J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")


def official_number(value: float) -> str:
    """``%.3f`` as pandas writes it with ``float_format``; NaN becomes an empty cell."""
    return "" if value is None or math.isnan(value) else f"{value:.3f}"


def csv_text(header: Seq[str], rows: list[Seq[object]]) -> str:
    """CSV text with ``header``, ``\\n`` line ends (as every vosbench table is written)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def global_csv(result: EvaluationResult) -> str:
    metrics = result.global_metrics()
    return csv_text(GLOBAL_COLUMNS, [[official_number(metrics[c]) for c in GLOBAL_COLUMNS]])


def per_sequence_csv(result: EvaluationResult) -> str:
    rows = [
        [o.name, official_number(o.j_stats.mean), official_number(o.f_stats.mean)]
        for o in result.objects
    ]
    return csv_text(("Sequence", "J-Mean", "F-Mean"), rows)


def global_metrics_csv(result: EvaluationResult) -> str:
    """vosbench's global table: the official columns, then every other metric's (full precision)."""
    metrics = result.global_metrics()
    return csv_text(list(metrics), [[_full(value) for value in metrics.values()]])


def per_frame_csv(result: EvaluationResult) -> str:
    extra = [m.name for m in result.extra_metrics]
    rows = []
    for o in result.objects:
        others = [o.values(name) for name in extra]
        for t, (stem, j, f) in enumerate(zip(o.frames, o.j, o.f)):
            rows.append(
                [o.sequence, o.object_id, stem, repr(float(j)), repr(float(f))]
                + [_full(float(v[t])) if v is not None else "" for v in others]
            )
    return csv_text(("Sequence", "Object", "Frame", "J", "F", *extra), rows)


def per_object_rows(result: EvaluationResult) -> list[dict[str, object]]:
    """Each object's statistics; a ``Group`` column where the benchmark groups objects."""
    rows, extra = [], result.extra_metrics
    grouped = any(o.group for o in result.objects)
    for o in result.objects:
        js, fs = o.j_stats, o.f_stats
        row: dict[str, object] = {
            "Sequence": o.sequence,
            "Object": o.object_id,
            **({"Group": o.group} if grouped else {}),
            "Proposal": o.proposal_id or "",
            "Frames": len(o.frames),
            "J&F": (js.mean + fs.mean) / 2,
            "J-Mean": js.mean,
            "J-Recall": js.recall,
            "J-Decay": js.decay,
            "F-Mean": fs.mean,
            "F-Recall": fs.recall,
            "F-Decay": fs.decay,
        }
        for metric in extra:
            row.update(o.summary(metric))
        row["bound_pix"] = o.bound_pix
        rows.append(row)
    return rows


def per_object_csv(result: EvaluationResult) -> str:
    rows = per_object_rows(result)
    header = list(rows[0]) if rows else ["Sequence", "Object"]
    return csv_text(header, [[_full(row[c]) for c in header] for row in rows])


def per_sequence_rows(result: EvaluationResult) -> list[dict[str, object]]:
    """Means over each sequence's objects (a convenience view; not an official table)."""
    rows, extra = [], result.extra_metrics
    for seq in result.sequences:
        if not seq.objects:
            continue
        j = float(np.mean([o.j_stats.mean for o in seq.objects]))
        f = float(np.mean([o.f_stats.mean for o in seq.objects]))
        row: dict[str, object] = {
            "Sequence": seq.name,
            "Objects": len(seq.objects),
            "J&F": (j + f) / 2,
            "J-Mean": j,
            "F-Mean": f,
        }
        for metric in extra:
            column = f"{metric.name}-Mean"
            values = [
                o.summary(metric)[column] for o in seq.objects if o.values(metric.name) is not None
            ]
            row[column] = (
                float(np.nanmean(values)) if values and np.isfinite(values).any() else math.nan
            )
        rows.append(row)
    return rows


def _full(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def metadata(result: EvaluationResult) -> dict[str, object]:
    return {
        "vosbench": __version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": result.dataset,
        "split": result.split,
        "dataset_info": result.info.get("dataset_info", {}),
        "results_dir": str(result.results_dir.resolve()),
        "protocol": result.protocol_record(),
        "sequences": {
            s.name: {
                "objects": len(s.objects),
                "predictions_blake2b": s.digest,
                "skipped": s.skipped,
            }
            for s in result.sequences
        },
        "warnings": result.warnings,
        "global": result.global_metrics(),
    }


def write_outputs(result: EvaluationResult, output_dir) -> dict[str, Path]:
    """Write every result file into ``output_dir``: the benchmark's official files (keys such
    as ``global`` and ``per-sequence``), then vosbench's own; returns key → path."""
    output_dir = Path(output_dir)
    split = result.split
    files = {
        **result.rules.official_outputs(result),
        "global-metrics": (f"global_metrics-{split}.csv", global_metrics_csv(result)),
        "per-frame": (f"per-frame_results-{split}.csv", per_frame_csv(result)),
        "per-object": (f"per-object_results-{split}.csv", per_object_csv(result)),
        "metadata": (
            f"evaluation-{split}.json",
            json.dumps(metadata(result), indent=2, default=_json_default) + "\n",
        ),
    }
    written = atomic_write_texts(output_dir, dict(files.values()))
    return {key: written[name] for key, (name, _text) in files.items()}


def _json_default(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def format_table(rows: list[dict[str, object]], digits: int = 3) -> str:
    """A plain aligned text table (what the CLI prints)."""
    if not rows:
        return "(no rows)"
    header = list(rows[0])
    cells = [[_short(row[c], digits) for c in header] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _short(value: object, digits: int) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)
