"""Report figures, drawn on private ``Figure`` objects with the Agg canvas.

Nothing touches ``pyplot`` or changes global matplotlib state (LaTeX is switched off only
inside a ``rc_context``), so the report is safe to call from any program, headless or not.
Each dataset gets: speed vs accuracy, J&F per sequence, mean J over normalised time
(how accuracy decays along a video) and, when the dataset has attributes (DAVIS-2016's
db_info.yml), J&F per attribute.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from collections.abc import Sequence as Seq
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from vosbench.io import atomic_write_bytes
from vosbench.report.collect import RunReport, group_runs

DPI = 100
RC = {"text.usetex": False, "font.size": 9, "axes.grid": True, "grid.alpha": 0.3}
PLOT_KINDS = ("speed-accuracy", "per-sequence", "j-over-time", "attributes")


def _text(text: str) -> str:
    """Escape ``$`` so names are never parsed as mathtext."""
    return str(text).replace("$", r"\$")


def run_colours(runs: Seq[RunReport]) -> dict[str, tuple]:
    """One colour per run label, stable across every figure of a report."""
    labels = sorted({run.label for run in runs})
    cmap = matplotlib.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    return {label: cmap(i % cmap.N) for i, label in enumerate(labels)}


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def outside_legend(figure: Figure, entries: int) -> None:
    """The legend under the axes, where it never hides data."""
    figure.legend(loc="outside lower center", ncols=min(entries, 3), fontsize=7, frameon=False)


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    figure.clear()
    return buffer.getvalue()


# -- figures ------------------------------------------------------------------------------------
def speed_accuracy_figure(
    runs: Seq[RunReport], title: str, colours: Mapping[str, tuple]
) -> Figure | None:
    """Model FPS (log x) against J&F, one labelled point per evaluated, timed run."""
    points = [
        r
        for r in runs
        if r.evaluated and r.fps > 0 and math.isfinite(r.fps) and math.isfinite(r.jf)
    ]
    if not points:
        return None
    figure = new_figure(6.4, 4.4)
    axes = figure.add_subplot()
    low, high = min(r.fps for r in points) / 2, max(r.fps for r in points) * 2
    middle = math.sqrt(low * high)
    placed: list[tuple[float, float]] = []
    for run in points:
        axes.scatter(run.fps, run.jf, s=46, color=colours[run.label], zorder=3)
        crowd = sum(
            abs(math.log10(run.fps / f)) < 0.15 and abs(run.jf - j) < 0.015 for f, j in placed
        )
        placed.append((run.fps, run.jf))
        left = run.fps > middle  # labels point inwards so they stay inside the axes
        note = axes.annotate(
            _text(run.label),
            (run.fps, run.jf),
            xytext=(-6 if left else 6, 3 - 11 * crowd),
            textcoords="offset points",
            fontsize=8,
            ha="right" if left else "left",
        )
        note.set_in_layout(False)  # long labels must not squeeze the axes
    axes.set_xscale("log")
    axes.set_xlim(low, high)
    axes.margins(y=0.12)
    axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("model FPS (log scale)")
    axes.set_ylabel("J&F (mean)")
    axes.set_title(_text(f"{title}: speed vs accuracy"))
    return figure


def per_sequence_figure(
    runs: Seq[RunReport], title: str, colours: Mapping[str, tuple]
) -> Figure | None:
    """J&F of every sequence, one marker per run; sequences ordered from easy to hard."""
    tables = {
        r.label: r.per_sequence.set_index("Sequence")["J&F"]
        for r in runs
        if r.per_sequence is not None
    }
    if not tables:
        return None
    table = pd.DataFrame(tables)
    table = table.loc[table.mean(axis=1).sort_values(ascending=False).index]
    x = np.arange(len(table))
    figure = new_figure(max(6.4, 0.32 * len(table) + 2.5), 4.6)
    axes = figure.add_subplot()
    for label in table.columns:  # markers only: sequences are categories, nothing lies between them
        axes.plot(
            x,
            table[label].to_numpy(dtype=float),
            marker="o",
            markersize=4,
            linestyle="none",
            color=colours[label],
            label=_text(label),
        )
    axes.grid(axis="x", linewidth=0.3, alpha=0.5)
    axes.set_xticks(x, [_text(s) for s in table.index], rotation=60, ha="right", fontsize=7)
    axes.set_ylim(0, 1.02)
    axes.set_ylabel("J&F (mean over objects)")
    axes.set_title(_text(f"{title}: J&F per sequence"))
    outside_legend(figure, len(table.columns))
    return figure


def j_over_time(per_frame: pd.DataFrame, bins: int = 10) -> np.ndarray:
    """Mean J per normalised-time bin: each object's frames map onto [0, 1], objects weigh
    equally."""
    frame = per_frame[["Sequence", "Object", "J"]].copy()
    keys = [frame["Sequence"], frame["Object"]]
    position = frame.groupby(keys, sort=False).cumcount()
    length = frame.groupby(keys, sort=False)["J"].transform("size")
    t = position / (length - 1).where(length > 1, 1)
    frame["bin"] = np.minimum((t * bins).astype(int), bins - 1)
    per_object = frame.groupby(["Sequence", "Object", "bin"])["J"].mean()
    means = per_object.groupby(level="bin").mean()
    return means.reindex(range(bins)).to_numpy(dtype=float)


def decay_figure(
    runs: Seq[RunReport], title: str, colours: Mapping[str, tuple], bins: int = 10
) -> Figure | None:
    """Mean J against normalised time (start → end of each object's evaluated frames)."""
    series = {
        r.label: j_over_time(r.per_frame, bins)
        for r in runs
        if r.per_frame is not None and len(r.per_frame)
    }
    if not series:
        return None
    centres = (np.arange(bins) + 0.5) / bins
    figure = new_figure(6.4, 4.2)
    axes = figure.add_subplot()
    for label, values in series.items():
        shown = ~np.isnan(values)  # short objects leave some bins empty: join the others
        axes.plot(
            centres[shown],
            values[shown],
            marker="o",
            markersize=4,
            color=colours[label],
            label=_text(label),
        )
    axes.set_xlim(0, 1)
    axes.set_xlabel("normalised time in the sequence")
    axes.set_ylabel("mean J")
    axes.set_title(_text(f"{title}: J over time ({bins} bins)"))
    outside_legend(figure, len(series))
    return figure


def sequence_attributes(dataset: object) -> dict[str, list[str]]:
    """Sequence → attribute codes (DAVIS db_info.yml), empty when the dataset has none."""
    found: dict[str, list[str]] = {}
    for sequence in getattr(dataset, "sequences", None) or []:
        value = getattr(sequence, "attributes", None) or {}
        codes = value.get("attributes") if isinstance(value, Mapping) else value
        if isinstance(codes, (list, tuple)) and codes:
            found[sequence.name] = [str(code) for code in codes]
    return found


def attribute_table(runs: Seq[RunReport], attributes: Mapping[str, list[str]]) -> pd.DataFrame:
    """Mean J&F over the sequences having each attribute (rows) for each run (columns)."""
    columns = {}
    for run in runs:
        if run.per_sequence is None:
            continue
        jf = run.per_sequence.set_index("Sequence")["J&F"]
        codes = sorted({c for s in jf.index for c in attributes.get(s, [])})
        columns[run.label] = {
            c: float(jf[[s for s in jf.index if c in attributes.get(s, [])]].mean()) for c in codes
        }
    return pd.DataFrame(columns).sort_index()


# The DAVIS-2016 attribute codes of db_info.yml and their names in the DAVIS paper (Perazzi et al.,
# CVPR 2016, Table 1); ROT is listed in db_info.yml but not among the paper's fifteen.
ATTRIBUTE_NAMES = {
    "AC": "appearance change",
    "BC": "background clutter",
    "CS": "camera shake",
    "DB": "dynamic background",
    "DEF": "deformation",
    "EA": "edge ambiguity",
    "FM": "fast motion",
    "HO": "heterogeneous object",
    "IO": "interacting objects",
    "LR": "low resolution",
    "MB": "motion blur",
    "OCC": "occlusion",
    "OV": "out of view",
    "SC": "shape complexity",
    "SV": "scale variation",
    "ROT": "ROT (db_info.yml)",
}


def attribute_label(code: str, count: int) -> str:
    """A tick label a reader understands without the code: name, code and sequence count."""
    name = ATTRIBUTE_NAMES.get(code)
    return (
        f"{name}\n{code} ({count})" if name and not name.startswith(code) else f"{code}\n({count})"
    )


def attribute_figure(
    runs: Seq[RunReport], title: str, colours: Mapping[str, tuple]
) -> Figure | None:
    """Grouped bars of J&F per attribute, the number of sequences under each code."""
    dataset = next((r.dataset for r in runs if r.dataset is not None), None)
    attributes = sequence_attributes(dataset)
    table = attribute_table(runs, attributes) if attributes else pd.DataFrame()
    if table.empty:
        return None
    counts = {c: sum(c in codes for codes in attributes.values()) for c in table.index}
    x = np.arange(len(table))
    width = 0.8 / len(table.columns)
    figure = new_figure(max(6.4, 0.45 * len(table) * max(1, len(table.columns) / 2) + 2), 4.4)
    axes = figure.add_subplot()
    for i, label in enumerate(table.columns):
        axes.bar(
            x + (i - (len(table.columns) - 1) / 2) * width,
            table[label].to_numpy(dtype=float),
            width,
            color=colours[label],
            label=_text(label),
        )
    axes.set_xticks(
        x,
        [_text(attribute_label(c, counts[c])) for c in table.index],
        fontsize=7,
        rotation=45,
        ha="right",
    )
    axes.set_ylim(0, 1.02)
    axes.set_ylabel("J&F (mean over sequences)")
    axes.set_title(_text(f"{title}: J&F by attribute (code, number of sequences)"))
    outside_legend(figure, len(table.columns))
    return figure


# -- rendering ----------------------------------------------------------------------------------
Builder = Callable[..., Figure | None]


def render_plots(runs: Seq[RunReport], *, bins: int = 10) -> dict[str, bytes]:
    """``plots/<dataset key>-<kind>.png`` → PNG bytes for every figure that has data."""
    colours = run_colours(runs)
    builders: dict[str, Builder] = {
        "speed-accuracy": speed_accuracy_figure,
        "per-sequence": per_sequence_figure,
        "j-over-time": lambda rs, t, c: decay_figure(rs, t, c, bins),
        "attributes": attribute_figure,
    }
    images: dict[str, bytes] = {}
    with matplotlib.rc_context(RC):
        for key, group in group_runs(list(runs)).items():
            title = f"{group[0].dataset_name}/{group[0].split}"
            for kind, build in builders.items():
                figure = build(group, title, colours)
                if figure is not None:
                    images[f"plots/{key}-{kind}.png"] = png_bytes(figure)
    return images


def write_plots(
    runs: Seq[RunReport],
    out_dir: Path | str,
    *,
    images: Mapping[str, bytes] | None = None,
    bins: int = 10,
) -> dict[str, Path]:
    """Write the figures under ``out_dir/plots``; returns relative name → path."""
    images = images if images is not None else render_plots(runs, bins=bins)
    return {name: atomic_write_bytes(Path(out_dir) / name, data) for name, data in images.items()}
