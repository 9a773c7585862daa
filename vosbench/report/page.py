"""The self-contained ``report.html``: inline CSS, images as base64 data URIs, no scripts.

The page opens from a file, a mail attachment or an offline machine alike: it loads
nothing. Every piece of text that comes from a run folder is escaped with ``html.escape``.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Iterable, Mapping
from collections.abc import Sequence as Seq
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from vosbench.errors import VosbenchError
from vosbench.io import atomic_write_text, read_mask
from vosbench.report import compare
from vosbench.report.collect import RunReport, group_runs, rank_key
from vosbench.report.overlay import encode_jpeg, thumbnail
from vosbench.report.plots import PLOT_KINDS, render_plots
from vosbench.report.tables import (
    higher_is_better,
    leaderboard_columns,
    leaderboard_row,
    per_sequence_frame,
    per_sequence_rows,
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2330;
 background:#fff;font-size:14px;line-height:1.4}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;
 border-bottom:2px solid #dde3ec;padding-bottom:4px}h3{font-size:15px;margin:20px 0 6px}
.meta{color:#5b6476;margin:0 0 12px}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:6px 0 14px;font-size:12.5px}
th,td{border:1px solid #d5dbe5;padding:3px 7px;white-space:nowrap}
th{background:#eef2f8;text-align:left;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.best{font-weight:700}
tr.muted td{color:#8a93a3}
td.status{white-space:normal;min-width:160px;max-width:420px;font-size:11.5px}
.plots{display:flex;flex-wrap:wrap;gap:12px}
.plots img{max-width:100%;border:1px solid #e3e7ee}
.seq{margin:10px 0 18px}
.thumbs{display:grid;gap:3px;align-items:center}
.thumbs img{display:block;border-radius:2px}
.thumbs .lab{font-size:11.5px;padding-right:6px;text-align:right;color:#3b4456;
 overflow-wrap:anywhere}
.thumbs .col{font-size:11px;color:#5b6476;text-align:center}
.missing{color:#a0a7b4;font-size:11px;text-align:center}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
pre{background:#f6f8fb;border:1px solid #e3e7ee;padding:8px;font-size:11.5px;overflow-x:auto}
ul.notes{margin:4px 0 10px;color:#7a4b00}
"""


def section_columns(group: Seq[RunReport]) -> tuple[str, ...]:
    """Leaderboard columns shown per dataset section (dataset and split are the section's title)."""
    return tuple(c for c in leaderboard_columns(group) if c not in ("dataset", "split"))


def _direction(column: str) -> bool | None:
    if column in ("model FPS", "end-to-end FPS"):
        return True
    return higher_is_better(column)


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _best(rows: list[dict[str, str]], column: str) -> float:
    values = [v for v in (_float(r.get(column, "")) for r in rows) if not math.isnan(v)]
    direction = _direction(column) if len(values) >= 2 else None
    if direction is None:
        return math.nan
    return max(values) if direction else min(values)


def html_table(
    rows: list[dict[str, str]],
    columns: Seq[str],
    *,
    muted: list[bool] | None = None,
    best_columns: bool = True,
) -> str:
    """A table whose numeric cells are right-aligned; the best value of a metric column is bold."""
    best = {c: _best(rows, c) for c in columns} if best_columns else {}
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for c in columns:
            text = row.get(c, "")
            classes = []
            if not math.isnan(_float(text)) or text == "":
                classes.append("num")
            if c == "status":
                classes = ["status"]
            if text and _float(text) == best.get(c):
                classes.append("best")
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{esc(text) if text else '–'}</td>")
        row_class = ' class="muted"' if muted and muted[i] else ""
        body.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


# -- sections -----------------------------------------------------------------------------------
def leaderboard_html(group: Seq[RunReport], results_dir: Path | None) -> str:
    rows = [leaderboard_row(run, results_dir) for run in group]
    return html_table(rows, section_columns(group), muted=[not run.evaluated for run in group])


def per_sequence_html(group: Seq[RunReport]) -> str:
    table = per_sequence_frame(group)
    if table.empty:
        return '<p class="meta">No evaluated run: no per-sequence table.</p>'
    rows = per_sequence_rows(table)
    columns = ["sequence", *table.columns]
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for row in rows:
        values = [_float(row[c]) for c in table.columns]
        top = max((v for v in values if not math.isnan(v)), default=math.nan)
        cells = [f"<td>{esc(row['sequence'])}</td>"]
        for c, value in zip(table.columns, values):
            cells.append(_score_cell(row[c], value, len(values) > 1 and value == top))
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _score_cell(text: str, value: float, best: bool) -> str:
    """A number tinted from red (0) to green (1), so weak sequences stand out."""
    if math.isnan(value):
        return '<td class="num">–</td>'
    hue = round(120 * min(max(value, 0.0), 1.0))
    classes = "num best" if best else "num"
    return f'<td class="{classes}" style="background:hsl({hue},65%,88%)">{esc(text)}</td>'


def plots_html(key: str, images: Mapping[str, bytes]) -> str:
    tags = []
    for kind in PLOT_KINDS:
        name = f"plots/{key}-{kind}.png"
        if name in images:
            tags.append(f'<img alt="{esc(kind)} plot" src="{data_uri(images[name], "image/png")}">')
    return (
        f'<div class="plots">{"".join(tags)}</div>'
        if tags
        else '<p class="meta">No plots (no evaluated run).</p>'
    )


def pick_stems(stems: Seq[str], count: int) -> list[str]:
    """``count`` frames spread evenly from the first to the last."""
    if count <= 0 or not stems:
        return []
    indices = np.unique(np.linspace(0, len(stems) - 1, min(count, len(stems))).round().astype(int))
    return [stems[i] for i in indices]


def _image_cell(frame: np.ndarray, labels: np.ndarray | None, width: int, alt: str) -> str:
    jpeg = encode_jpeg(thumbnail(frame, labels, width))
    return f'<img alt="{esc(alt)}" width="{width}" src="{data_uri(jpeg, "image/jpeg")}">'


def _mask(run: RunReport, sequence: str, stem: str) -> np.ndarray | None:
    path = run.run_dir / "masks" / sequence / f"{stem}.png"
    if not path.is_file():
        return None
    try:
        return read_mask(path)
    except VosbenchError:
        return None


def sequence_thumbnails(
    group: Seq[RunReport], dataset: object, sequence: str, count: int, width: int
) -> str:
    """A grid: one row for the ground truth and one per run, one column per chosen frame."""
    try:
        video = dataset[sequence]  # type: ignore[index]
        stems = pick_stems(list(video.frames), count)
        frames = {stem: video.read_frame(stem) for stem in stems}
    except VosbenchError as error:
        return (
            f'<p class="missing">{esc(sequence)}: frames unavailable '
            f"({esc(str(error).splitlines()[0])})</p>"
        )
    annotated = set(video.annotated)
    cells = ["<div></div>"] + [f'<div class="col">{esc(stem)}</div>' for stem in stems]
    cells.append('<div class="lab">ground truth</div>')
    for stem in stems:
        gt = video.read_annotation(stem) if stem in annotated else None
        cells.append(
            _image_cell(frames[stem], gt, width, f"{sequence} {stem} ground truth")
            if gt is not None
            else '<div class="missing">not annotated</div>'
        )
    for run in group:
        cells.append(f'<div class="lab">{esc(run.label)}</div>')
        for stem in stems:
            labels = _mask(run, sequence, stem)
            cells.append(
                _image_cell(frames[stem], labels, width, f"{sequence} {stem} {run.label}")
                if labels is not None
                else '<div class="missing">no mask</div>'
            )
    style = f"grid-template-columns:minmax(80px,max-content) repeat({len(stems)},{width}px)"
    return (
        f'<div class="seq"><h3>{esc(sequence)}</h3><div class="thumbs" style="{style}">'
        f"{''.join(cells)}</div></div>"
    )


def thumbnails_html(group: Seq[RunReport], count: int, width: int) -> str:
    if count <= 0:
        return ""
    dataset = next((r.dataset for r in group if r.dataset is not None), None)
    if dataset is None:
        return (
            '<p class="meta">Frames unavailable (the dataset could not be loaded): no '
            "thumbnails.</p>"
        )
    names = set(getattr(dataset, "names", []))
    sequences = sorted({s for run in group for s in run.completed if s in names})
    if not sequences:
        return '<p class="meta">No completed sequence: no thumbnails.</p>'
    parts = [sequence_thumbnails(group, dataset, s, count, width) for s in sequences]
    return "<h3>Masks over frames</h3>" + "".join(parts)


def notes_html(group: Iterable[RunReport]) -> str:
    items = [
        f"<li>{esc(run.label)}: {esc(note)}</li>"
        for run in group
        for note in ([run.status] if not run.evaluated else []) + run.notes
    ]
    return f'<ul class="notes">{"".join(items)}</ul>' if items else ""


def run_details_html(run: RunReport, results_dir: Path | None) -> str:
    card = run.card
    facts = {
        k: card.get(k)
        for k in ("summary", "paper", "code_url", "licence", "reference")
        if card.get(k)
    }
    record = {
        "run": leaderboard_row(run, results_dir)["run"],
        "card": facts,
        "config": run.manifest.get("config"),
        "config_hash": run.config_hash,
        "weights": run.manifest.get("weights"),
        "device": run.device,
        "precision": run.precision,
        "settings": run.manifest.get("settings"),
        "created": run.manifest.get("created"),
        "speed": {
            k: run.summary.get(k)
            for k in (
                "fps",
                "fps_propagation",
                "e2e_fps",
                "latency_ms_p50",
                "latency_ms_p90",
                "init_ms",
                "peak_host_mb",
                "peak_gpu_mb",
            )
        },
    }
    text = json.dumps(record, indent=2, default=str, allow_nan=True)
    return f"<details><summary>{esc(run.label)}</summary><pre>{esc(text)}</pre></details>"


REPORT_PAIRS = 10
"""The leader is compared with at most this many runs of its dataset (the next best first)."""
REPORT_SEQUENCES = 5
"""Sequences listed for the leader against the runner-up, largest difference first."""


def comparison_html(group: Seq[RunReport]) -> str:
    """The best run by J&F against each of the next (at most :data:`REPORT_PAIRS`) evaluated
    runs: its lead per sequence with a paired bootstrap interval, and against the runner-up
    the sequences where they differ most (see :mod:`vosbench.report.compare`)."""
    evaluated = sorted((run for run in group if run.evaluated), key=rank_key)
    if len(evaluated) < 2:
        return '<p class="meta">Fewer than two evaluated runs: nothing to compare.</p>'
    leader, notes, rows, first = evaluated[0], [], [], None
    try:
        best = compare.report_scores(leader)
    except VosbenchError as error:
        return f'<p class="meta">{esc(leader.label)} cannot be compared: {esc(_line(error))}</p>'
    for run in evaluated[1 : REPORT_PAIRS + 1]:
        try:
            pair = compare.compare_pair(
                compare.report_scores(run), best, metrics=["J&F"], wilcoxon=False
            )
        except VosbenchError as error:
            notes.append(f"{run.label}: not compared ({_line(error)})")
            continue
        first = first or pair
        jf = pair.metric("J&F")
        rows.append(
            {
                "against": run.label,
                "sequences": str(jf.sequences),
                "its J&F": f"{jf.baseline:.3f}",
                f"{leader.label} J&F": f"{jf.run:.3f}",
                "lead": compare.signed(jf.difference),
                "95% CI": f"[{compare.signed(jf.low)}, {compare.signed(jf.high)}]",
                "p sign-flip": compare.format_p(jf.p_sign_flip),
            }
        )
    if len(evaluated) > REPORT_PAIRS + 1:
        notes.append(f"{len(evaluated) - REPORT_PAIRS - 1} more run(s) not compared")
    parts = [
        f'<p class="meta">{esc(leader.label)} (best J&amp;F) against the other runs, per '
        "sequence: lead = its J&amp;F − the other's, averaged over the sequences both scored "
        "(each sequence weighs the same, so it differs from the J&amp;F above, a mean over "
        f"objects); 95% paired bootstrap interval over sequences ({compare.DEFAULT_RESAMPLES} "
        "resamples, seed 0). "
        "An interval that contains 0 does not show a real lead.</p>",
    ]
    if rows:
        parts.append(html_table(rows, list(rows[0]), best_columns=False))
    if first is not None:
        seq_rows = compare.sequence_rows(first, "J&F", REPORT_SEQUENCES)
        parts += [
            f'<p class="meta">Against {esc(first.baseline.label)}: the {len(seq_rows)} '
            "sequence(s) where they differ most.</p>",
            html_table(seq_rows, list(seq_rows[0]), best_columns=False) if seq_rows else "",
        ]
    if notes:
        parts.append(f'<ul class="notes">{"".join(f"<li>{esc(n)}</li>" for n in notes)}</ul>')
    return "".join(parts)


def _line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def dataset_section(
    key: str,
    group: Seq[RunReport],
    images: Mapping[str, bytes],
    results_dir: Path | None,
    thumbnails: int,
    thumbnail_width: int,
) -> str:
    title = f"{group[0].dataset_name} / {group[0].split}"
    if group[0].task != "semi-supervised":
        title += f" ({group[0].task})"
    return "".join(
        [
            f'<section id="{esc(key)}"><h2>{esc(title)}</h2>',
            "<h3>Leaderboard</h3>",
            leaderboard_html(group, results_dir),
            notes_html(group),
            "<h3>Plots</h3>",
            plots_html(key, images),
            "<h3>J&amp;F per sequence</h3>",
            per_sequence_html(group),
            "<h3>Is the lead real?</h3>",
            comparison_html(group),
            thumbnails_html(group, thumbnails, thumbnail_width),
            "<h3>Runs</h3>",
            "".join(run_details_html(r, results_dir) for r in group),
            "</section>",
        ]
    )


def render_html(
    runs: Seq[RunReport],
    *,
    title: str = "vosbench report",
    results_dir: Path | None = None,
    images: Mapping[str, bytes] | None = None,
    thumbnails: int = 3,
    thumbnail_width: int = 160,
) -> str:
    """The whole page as a string (see :func:`write_html`)."""
    images = images if images is not None else render_plots(runs)
    groups = group_runs(list(runs))
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = f" from {esc(results_dir)}" if results_dir is not None else ""
    nav = " · ".join(f'<a href="#{esc(k)}">{esc(k)}</a>' for k in groups)
    body = "".join(
        dataset_section(k, g, images, results_dir, thumbnails, thumbnail_width)
        for k, g in groups.items()
    )
    if not groups:
        body = '<p class="meta">No runs found.</p>'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1>"
        f'<p class="meta">{len(runs)} run(s) on {len(groups)} dataset(s){where}; '
        f"generated {esc(created)}. "
        "J and F are fractions in [0, 1] (official DAVIS definitions); FPS = frames / model time "
        f"(init frame included).</p><p>{nav}</p>{body}</body></html>\n"
    )


def write_html(
    runs: Seq[RunReport],
    out_path: Path | str,
    *,
    title: str = "vosbench report",
    results_dir: Path | str | None = None,
    images: Mapping[str, bytes] | None = None,
    thumbnails: int = 3,
    thumbnail_width: int = 160,
) -> Path:
    """Write the self-contained report page.

    ``images`` are already rendered plots (``plots/<key>-<kind>.png`` → PNG bytes; rendered
    here when None); ``thumbnails`` frames per sequence are shown for the ground truth and
    each run, ``thumbnail_width`` px wide (0 thumbnails to leave them out).
    """
    results = Path(results_dir) if results_dir is not None else None
    page = render_html(
        runs,
        title=title,
        results_dir=results,
        images=images,
        thumbnails=thumbnails,
        thumbnail_width=thumbnail_width,
    )
    return atomic_write_text(out_path, page)
