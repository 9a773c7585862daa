"""``write_report``: collect the runs of a results folder and write every report file."""

from __future__ import annotations

from pathlib import Path

from vosbench.report.collect import DatasetCache, EvaluateFn, collect_runs, default_evaluate
from vosbench.report.page import write_html
from vosbench.report.plots import render_plots, write_plots
from vosbench.report.tables import write_leaderboard


def write_report(
    results_dir: Path | str,
    out_dir: Path | str | None = None,
    *,
    evaluate: EvaluateFn | None = default_evaluate,
    plots: bool = True,
    html: bool = True,
    thumbnails: int = 3,
    thumbnail_width: int = 160,
    time_bins: int = 10,
    title: str = "vosbench report",
    warnings: list[str] | None = None,
) -> dict[str, Path]:
    """Collect every run under ``results_dir`` and write the report into ``out_dir``.

    Writes ``leaderboard.csv``/``.md``, ``per-sequence/<dataset>-<split>.csv``/``.md``,
    ``plots/*.png`` and ``report.html`` (``out_dir`` defaults to ``results_dir``). Runs whose
    evaluation is missing or stale are re-evaluated with ``evaluate`` (None: never; they are
    then reported as not evaluated). Foreign or damaged run folders are left out with a line
    in ``warnings``. Returns relative file name → path.
    """
    results_dir = Path(results_dir)
    out = Path(out_dir) if out_dir is not None else results_dir
    runs = collect_runs(results_dir, evaluate=evaluate, datasets=DatasetCache(), warnings=warnings)
    files = write_leaderboard(runs, out, results_dir)
    images = render_plots(runs, bins=time_bins) if (plots or html) else {}
    if plots:
        files.update(write_plots(runs, out, images=images))
    if html:
        files["report.html"] = write_html(
            runs,
            out / "report.html",
            title=title,
            results_dir=results_dir,
            images=images,
            thumbnails=thumbnails,
            thumbnail_width=thumbnail_width,
        )
    return files
