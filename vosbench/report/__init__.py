"""Reports over a results folder: leaderboard, per-sequence tables, plots, overlays, HTML.

Library API (the CLI's ``vosbench report`` is a thin wrapper)::

    runs = collect_runs("results")                 # re-evaluates stale runs when it can
    write_leaderboard(runs, "results")             # leaderboard.csv/.md, per-sequence/*.csv/.md
    write_plots(runs, "results")                   # plots/*.png
    write_html(runs, "results/report.html")        # one self-contained page
    write_report("results")                        # all of the above
    write_overlay_video("results/davis2016-val/flow", "blackswan", "blackswan.mp4")
    compare.compare_runs(compare.load_runs([run_a, run_b]))   # per sequence, bootstrap interval

J and F are fractions in [0, 1] with 3 decimals, as in the official DAVIS CSV files.
"""

from vosbench.report.build import write_report
from vosbench.report.collect import (
    DatasetCache,
    ReportError,
    RunReport,
    collect_run,
    collect_runs,
    default_evaluate,
    group_runs,
)
from vosbench.report.overlay import overlay, write_overlay_video
from vosbench.report.page import render_html, write_html
from vosbench.report.plots import render_plots, write_plots
from vosbench.report.tables import leaderboard_rows, write_leaderboard

__all__ = [
    "DatasetCache",
    "ReportError",
    "RunReport",
    "collect_run",
    "collect_runs",
    "default_evaluate",
    "group_runs",
    "leaderboard_rows",
    "overlay",
    "render_html",
    "render_plots",
    "write_html",
    "write_leaderboard",
    "write_overlay_video",
    "write_plots",
    "write_report",
]
