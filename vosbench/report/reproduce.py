"""``vosbench reproduce``: run a method's published protocol, evaluate it, set it beside the
published numbers.

For each benchmark (``<dataset>/<split>``) the method's card has numbers for (or the one asked
for), :func:`reproduce` resolves the weights (a file, a released checkpoint's tag, ``official``),
runs the method with :func:`vosbench.runner.run` (the same run folder, resume and evaluation as
``vosbench run``), and lays the measured global table beside each published number: the paper's,
the leaderboard's, any other source's, with ``measured − reference``. With the per-method result
archive of the DAVIS site (``<sequence>/<frame>.png``), those masks are imported into a run-like
folder of the results store, evaluated there, compared per sequence with
:mod:`vosbench.report.compare` and, mask against mask, by their IoU with ours.

Every weight file is resolved before anything runs, so weights that cannot be had stop the
command before any file is written. Torch is imported only by the run itself.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Callable, Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from vosbench.errors import ConfigError, InputError, Problem, VosbenchError
from vosbench.io import atomic_write_text
from vosbench.report import compare
from vosbench.report.tables import to_markdown
from vosbench.results import RUN_FORMAT, RunLocks, RunStore, dataset_spec, evaluate_run
from vosbench.results.speed import exclusivity_note
from vosbench.weights.cards import METRICS, Reference

ROOT_ENV_PREFIX = "VOSBENCH_ROOT_"
"""``VOSBENCH_ROOT_DAVIS2016=/data/DAVIS-2016``: a dataset's root when ``--root`` names none."""
METRIC_ORDER = METRICS  # the accuracy measures a weight card may cite, in table order
SPEED_ORDER = ("FPS", "ms/frame")
MAX_OFFICIAL_FILES = 200_000
"""Bound on the files read from an official result archive (DAVIS-2017 val has ~2,000 frames)."""


# -- plan ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Benchmark:
    """One ``<dataset>/<split>`` the method is reproduced on."""

    dataset: str
    split: str

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.split}"


@dataclass(frozen=True)
class WeightsChoice:
    """The weights a benchmark runs with: the file, its tag ("" for a plain file) and checksums."""

    path: Path | None
    tag: str = ""
    sha256: str = ""  # the released file's (a tag) or the file's own (a path)
    checksum: str = ""  # how that sha256 is vouched for ("pinned", "recorded …", "file")


@dataclass
class Outcome:
    """What happened on one benchmark."""

    benchmark: Benchmark
    status: str  # "done", or "not run: …" / "not evaluated: …"
    references: list[Reference] = field(default_factory=list)
    measured: dict[str, float] = field(default_factory=dict)
    weights: WeightsChoice | None = None
    run_dir: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    coverage: str = ""
    official: OfficialComparison | None = None
    report: Path | None = None

    failed: bool = False  # sequences of the run failed

    @property
    def ran(self) -> bool:
        """Run and evaluated."""
        return self.status == "done"


@dataclass
class OfficialComparison:
    """Our masks against the official archive's: per-sequence scores and mask agreement."""

    source: Path
    run_dir: Path
    comparison: compare.Comparison
    agreement: dict[str, tuple[float, int]]  # sequence → (mean IoU over frames, frames)
    notes: list[str] = field(default_factory=list)

    @property
    def mean_agreement(self) -> float:
        values = [value for value, _ in self.agreement.values()]
        return float(np.mean(values)) if values else math.nan


def card_benchmarks(method: str) -> list[Benchmark]:
    """The benchmarks the method's card (and its checkpoints' cards) publish numbers for."""
    from vosbench.runner.methods import method_card

    seen: dict[str, Benchmark] = {}
    for reference in method_card(method).references():
        dataset, split = reference.benchmark.split("/", 1)
        seen.setdefault(reference.benchmark, Benchmark(dataset, split))
    return list(seen.values())


def select_benchmarks(method: str, dataset: str | None, split: str | None) -> list[Benchmark]:
    """The card's benchmarks, narrowed to ``dataset`` (and ``split``); a dataset the card has no
    numbers for is still run (its split: ``split`` or the dataset's evaluation split)."""
    from vosbench.datasets import DATASETS

    listed = card_benchmarks(method)
    if dataset is None:
        if split is not None:
            listed = [b for b in listed if b.split == split]
        if not listed:
            raise ConfigError(
                f"the card of {method} lists no benchmark{f' with split {split}' if split else ''}"
                "; name one with --dataset"
            )
        return listed
    entry = DATASETS.entry(dataset)  # unknown names fail with "did you mean"
    chosen = [b for b in listed if b.dataset == entry.name and (split is None or b.split == split)]
    if chosen:
        return chosen
    return [Benchmark(entry.name, split or str(entry.info.get("default_split") or ""))]


def parse_roots(
    values: Seq[str],
    benchmarks: Seq[Benchmark],
    environ: Mapping[str, str] | None = None,
) -> dict[str, Path]:
    """Dataset roots from ``--root``: ``D=PATH`` (repeatable) or one plain ``PATH`` when one
    dataset is in play; ``$VOSBENCH_ROOT_<DATASET>`` (upper case, ``-`` as ``_``) fills the
    rest."""
    from vosbench.datasets import DATASETS

    datasets = list(dict.fromkeys(b.dataset for b in benchmarks))
    roots: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if sep and name.strip() and name.strip().lower() in DATASETS:
            roots[DATASETS.entry(name.strip()).name] = Path(path).expanduser()
            continue
        if len(datasets) != 1:
            raise ConfigError(
                f"--root {value}: {len(datasets)} datasets are in play "
                f"({', '.join(datasets)}); name one per root as --root DATASET=PATH or choose "
                "one with --dataset"
            )
        roots[datasets[0]] = Path(value).expanduser()
    environ = os.environ if environ is None else environ
    for name in datasets:
        variable = ROOT_ENV_PREFIX + name.upper().replace("-", "_")
        if name not in roots and environ.get(variable):
            roots[name] = Path(environ[variable]).expanduser()
    return roots


def choose_weights(
    value: str | None,
    method: str,
    dataset: str,
    *,
    mirror: str | None = None,
    home: Path | str | None = None,
    progress: Any = None,
    notes: Callable[[str], None] | None = None,
) -> WeightsChoice:
    """The weights for ``method`` on ``dataset``: ``value`` (a file, a tag, ``official``) or,
    when None, ``official`` for a method that needs weights and none for one that does not.
    WeightsUnavailableError when a released file cannot be had."""
    from vosbench.runner.methods import method_card
    from vosbench.weights import fetch_weights, weights_tag
    from vosbench.weights.cache import sha256_file

    card = method_card(method)
    if value is None:
        if not card.needs_weights:
            return WeightsChoice(None)
        value = "official"
    tag = weights_tag(value, card.name, dataset=dataset)
    if tag is None:
        path = Path(value).expanduser()
        if not path.is_file():
            raise ConfigError(f"--weights {value}: no such file, and not a weights tag")
        return WeightsChoice(path, "", sha256_file(path), "file")
    fetched = fetch_weights(tag, mirror=mirror, home=home, progress=progress, notes=notes)
    return WeightsChoice(fetched.path, tag, fetched.sha256, fetched.checksum)


def references_for(method: str, benchmark: Benchmark, weights: WeightsChoice) -> list[Reference]:
    """The numbers published for this benchmark: the method card's own and those of the
    checkpoint that runs (a plain file is compared with the dataset's official checkpoint)."""
    from vosbench.runner.methods import method_card
    from vosbench.weights import official_tag, weight_card

    card = method_card(method)
    found = [r for r in card.reference if r.benchmark == benchmark.key]
    tag = weights.tag
    if not tag and card.weights:
        try:
            tag = official_tag(card.name, benchmark.dataset)
        except ConfigError:
            tag = ""
    if tag:
        found += [r for r in weight_card(tag).references if r.benchmark == benchmark.key]
    return found


# -- the command ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReproduceOptions:
    """Everything but the method: where the data is, which weights, how to run."""

    dataset: str | None = None
    split: str | None = None
    roots: tuple[str, ...] = ()
    weights: str | None = None
    mirror: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    results_root: Path = Path("results")
    official_results: Path | None = None
    sequences: tuple[str, ...] = ()
    device: str = "auto"
    precision: str = "fp32"
    warmup_frames: int = 10
    eval_workers: int | None = None
    home: Path | None = None
    environ: Mapping[str, str] | None = None


def reproduce(
    method: str,
    options: ReproduceOptions = ReproduceOptions(),
    *,
    progress: Any = None,
    download_progress: Any = None,
    notes: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Reproduce ``method`` on each benchmark; returns one :class:`Outcome` per benchmark and
    writes ``<results_root>/reproduce/<method>-<dataset>[-<split>].md`` for each that ran.

    Raises:
        WeightsUnavailableError: a released checkpoint cannot be downloaded (nothing is written).
        ConfigError: unknown method, dataset or tag; roots that name no dataset; an official
            archive with more than one benchmark in play.
    """
    from vosbench.runner.methods import method_card

    name = method_card(method).name
    benchmarks = select_benchmarks(name, options.dataset, options.split)
    roots = parse_roots(options.roots, benchmarks, options.environ)
    outcomes = [Outcome(benchmark, "") for benchmark in benchmarks]
    planned: list[tuple[Outcome, Any]] = []
    for outcome in outcomes:  # every dataset loaded and every weight file had before any run
        data = _load(
            outcome.benchmark, roots.get(outcome.benchmark.dataset), options, name, outcome
        )
        if data is not None:
            planned.append((outcome, data))
    if options.official_results is not None:
        _check_archive(options.official_results, [o.benchmark for o, _ in planned])
    for outcome, _ in planned:
        outcome.weights = choose_weights(
            options.weights,
            name,
            outcome.benchmark.dataset,
            mirror=options.mirror,
            home=options.home,
            progress=download_progress,
            notes=notes,
        )
        outcome.references = references_for(name, outcome.benchmark, outcome.weights)
    for outcome, data in planned:
        _run(name, outcome, data, options, progress)
        if outcome.ran and options.official_results is not None:
            outcome.official = compare_official(
                name, options.official_results, outcome, data, options.results_root
            )
        if outcome.run_dir is not None and outcome.manifest:
            outcome.report = write_reproduction(name, outcome, options.results_root)
    return outcomes


def _check_archive(folder: Path, benchmarks: Seq[Benchmark]) -> None:
    if not folder.is_dir():
        raise ConfigError(f"--official-results {folder}: no such folder")
    if len(benchmarks) != 1:
        keys = ", ".join(b.key for b in benchmarks) or "none"
        raise ConfigError(
            f"--official-results holds one benchmark's masks, but {len(benchmarks)} would run "
            f"({keys}); choose one with --dataset (and --split)"
        )


def _load(
    benchmark: Benchmark,
    root: Path | None,
    options: ReproduceOptions,
    method: str,
    outcome: Outcome,
) -> Any:
    """The benchmark's dataset, or None with the reason in ``outcome.status``."""
    from vosbench.datasets import load_dataset
    from vosbench.runner.methods import method_card

    explicit = options.dataset is not None
    if root is None and not explicit:
        outcome.status = "not run: no root given"
        return None
    try:
        return load_dataset(
            benchmark.dataset,
            root,
            benchmark.split,
            task=method_card(method).task,
            sequences=list(options.sequences) or None,
        )
    except VosbenchError as error:
        reason = "no root given" if root is None else str(error).splitlines()[0]
        outcome.status = f"not run: {reason}"
        return None


def _run(name: str, outcome: Outcome, data: Any, options: ReproduceOptions, progress: Any) -> None:
    """Run and evaluate through the runner (``vosbench run``'s code path)."""
    from vosbench.runner import RunSettings, run

    assert outcome.weights is not None
    settings = RunSettings(
        device=options.device,
        precision=options.precision,
        weights=outcome.weights.path,
        warmup_frames=options.warmup_frames,
        eval_workers=options.eval_workers,
    )
    result = run(
        name,
        data,
        config=dict(options.config),
        settings=settings,
        results_root=options.results_root,
        progress=progress,
        dataset_spec=dataset_spec(data),
    )
    outcome.run_dir, outcome.manifest, outcome.summary = (
        result.store.root,
        result.manifest,
        result.summary,
    )
    outcome.coverage = f"{result.completed}/{result.listed or '?'}"
    if result.failures:
        failed = ", ".join(sorted(result.failures))
        outcome.status = f"not evaluated: {len(result.failures)} sequence(s) failed ({failed})"
        outcome.failed = True
    elif result.evaluation is None:
        outcome.status = f"not evaluated: {result.evaluation_note or 'no evaluation'}"
    else:
        outcome.measured = dict(result.evaluation.global_metrics())
        outcome.status = "done"


# -- the comparison with published numbers -------------------------------------------------------
def _column(reference: Reference) -> str:
    return reference.source + (f" ({reference.conditions})" if reference.conditions else "")


def measured_value(outcome: Outcome, metric: str) -> float:
    """The measured number for ``metric`` (speed from the run's summary), NaN when absent."""
    if metric in SPEED_ORDER:
        fps = outcome.summary.get("fps")
        if not isinstance(fps, (int, float)) or not fps or math.isnan(fps):
            return math.nan
        return float(fps) if metric == "FPS" else 1000.0 / float(fps)
    value = outcome.measured.get(metric)
    return float(value) if isinstance(value, (int, float)) else math.nan


def comparison_rows(outcome: Outcome) -> list[dict[str, str]]:
    """One row per metric: each source's number, the measured one, and measured − source."""
    sources = list(dict.fromkeys(_column(r) for r in outcome.references))
    sources.sort(key=lambda s: (not s.startswith("paper"), "leaderboard" not in s))
    values = {(_column(r), r.metric): r.value for r in outcome.references}
    metrics = [m for m in METRIC_ORDER if m in outcome.measured or any(k[1] == m for k in values)]
    metrics += [m for m in SPEED_ORDER if any(k[1] == m for k in values)]
    rows = []
    for metric in metrics:
        measured = measured_value(outcome, metric)
        row = {"metric": metric}
        row.update({source: _number(values.get((source, metric))) for source in sources})
        row["measured"] = _number(measured)
        for source in sources:
            reference = values.get((source, metric))
            digits = 1 if metric in SPEED_ORDER else 3
            row[f"Δ {source}"] = (
                ""
                if reference is None or math.isnan(measured)
                else f"{measured - reference:+.{digits}f}"
            )
        rows.append(row)
    return rows


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


# -- the official result archive -----------------------------------------------------------------
def import_official(
    folder: Path, data: Any, target: Path, method: str
) -> tuple[RunStore, list[str]]:
    """Copy an official archive's masks (``<sequence>/<frame>.png``; 0/255 or palette) into a
    run-like folder of the results store, so that it is evaluated and compared as a run.

    Every file is checked as a mask (:func:`vosbench.io.read_mask`) and copied as it is; only
    frames of the dataset's sequences are taken. Returns the store and notes on what was left
    out. The target folder is replaced only when it holds an earlier import.
    """
    from vosbench.names import check_name

    folder = Path(folder)
    notes: list[str] = []
    present = {p.name for p in folder.iterdir() if p.is_dir() and check_name(p.name) is None}
    names = [s.name for s in data.sequences if s.name in present]
    if not names:
        raise InputError(
            Problem(
                folder,
                f"holds no sequence folder of {data.label} (expected <sequence>/<frame>.png, "
                f"e.g. {data.names[0] if data.names else '?'}/00000.png)",
                "empty",
            )
        )
    extra = sorted(present - set(data.names))
    if extra:
        notes.append(f"{len(extra)} folder(s) of the archive are not sequences of {data.label}")
    spec = dataset_spec(data)
    manifest = {
        "format": RUN_FORMAT,
        "method": f"{method}-official",
        "config_hash": "official-results",
        "source": {"kind": "official results", "folder": str(folder.resolve())},
        "dataset": {
            **spec,
            "label": data.label,
            "binary": data.binary,
            "sequences": list(data.names),
        },
        "dataset_id": f"{spec['name']}-{spec['split']}",
    }
    chosen = _archive_files(folder, [s for s in data.sequences if s.name in names])
    store = RunStore(target)
    store.refuse_foreign(force=True)
    with RunLocks(target).folder(exclusive=True):  # every file checked: replace the old import
        store.open(manifest, force=True)
        for sequence, files in chosen:
            writer = store.staging(sequence.name)
            for stem, path in files:
                writer.write(stem, path.read_bytes())
            writer.commit(
                {
                    "sequence": sequence.name,
                    "frames": [stem for stem, _ in files],
                    "model_ms": [0.0] * len(files),  # not timed: imported
                    "e2e_ms": [0.0] * len(files),
                    "num_objects": len(sequence.object_ids),
                    "config_hash": "official-results",
                    "imported": True,
                }
            )
    missing = len(data.names) - len(names)
    if missing:
        notes.append(f"the archive lacks {missing} of the {len(data.names)} sequences")
    return store, notes


def _archive_files(folder: Path, sequences: Seq[Any]) -> list[tuple[Any, list[tuple[str, Path]]]]:
    """Each sequence's ``<frame>.png`` files of the archive, every one checked as a mask
    (a MaskFormatError names the first that is not) before anything is written."""
    from vosbench.io import read_mask

    chosen, count = [], 0
    for sequence in sequences:
        files = []
        for stem in sequence.frames:
            path = folder / sequence.name / f"{stem}.png"
            if not path.is_file():
                continue
            count += 1
            if count > MAX_OFFICIAL_FILES:
                raise InputError(
                    Problem(folder, f"more than {MAX_OFFICIAL_FILES} mask files", "too_large")
                )
            read_mask(path)
            files.append((stem, path))
        if files:
            chosen.append((sequence, files))
    return chosen


def mask_agreement(ours: Path, theirs: Path, sequence: Any, binary: bool) -> tuple[float, int]:
    """Mean over frames of the IoU between two mask folders of one sequence, every frame both
    hold: for one object (``binary``) the foreground's IoU, else the mean over the sequence's
    objects of each object's IoU; a pair of empty masks agrees fully (1)."""
    from vosbench.io import read_mask

    values = []
    for stem in sequence.frames:
        a_path, b_path = ours / f"{stem}.png", theirs / f"{stem}.png"
        if not (a_path.is_file() and b_path.is_file()):
            continue
        a, b = read_mask(a_path), read_mask(b_path)
        if a.shape != b.shape:
            raise InputError(
                Problem(b_path, f"is {b.shape[1]}x{b.shape[0]}, ours {a.shape[1]}x{a.shape[0]}")
            )
        if binary:
            values.append(_iou(a != 0, b != 0))
        else:
            ids = sequence.object_ids or (1,)
            values.append(float(np.mean([_iou(a == k, b == k) for k in ids])))
    return (float(np.mean(values)) if values else math.nan), len(values)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def compare_official(
    method: str, folder: Path, outcome: Outcome, data: Any, results_root: Path
) -> OfficialComparison:
    """Evaluate the archive as a run and compare it with ours, per sequence and mask by mask."""
    assert outcome.run_dir is not None
    target = Path(results_root) / "reproduce" / "official" / report_stem(method, outcome.benchmark)
    store, notes = import_official(folder, data, target, method)
    evaluate_run(store, dataset=data)
    theirs = compare.load_run(store.root, label="official")
    ours = compare.load_run(outcome.run_dir, label="vosbench")
    comparison = compare.compare_pair(theirs, ours, seed=0)
    agreement = {}
    ours_store = RunStore(outcome.run_dir)
    for sequence in data.sequences:
        if sequence.name in comparison.sequences:
            agreement[sequence.name] = mask_agreement(
                ours_store.sequence_dir(sequence.name),
                store.sequence_dir(sequence.name),
                sequence,
                data.binary,
            )
    return OfficialComparison(Path(folder), store.root, comparison, agreement, notes)


def official_rows(official: OfficialComparison) -> list[dict[str, str]]:
    """Per sequence: official J&F, ours, ours − official, and the masks' mean IoU."""
    table = official.comparison.table
    rows = []
    for name in official.comparison.sequences:
        iou, frames = official.agreement.get(name, (math.nan, 0))
        rows.append(
            {
                "sequence": name,
                "official J&F": _number(float(table.loc[name, "J&F baseline"])),
                "vosbench J&F": _number(float(table.loc[name, "J&F run"])),
                "diff": f"{float(table.loc[name, 'J&F diff']):+.3f}",
                "mask IoU": _number(iou),
                "frames": str(frames),
            }
        )
    return rows


# -- the report file -----------------------------------------------------------------------------
def report_stem(method: str, benchmark: Benchmark) -> str:
    """``rgmp-davis2016`` for a dataset's evaluation split, ``rgmp-davis2017-test-dev`` else."""
    from vosbench.datasets import DATASETS

    default = DATASETS.entry(benchmark.dataset).info.get("default_split")
    suffix = "" if benchmark.split == default else f"-{benchmark.split}"
    return f"{method}-{benchmark.dataset}{suffix}"


def report_path(method: str, benchmark: Benchmark, results_root: Path | str) -> Path:
    return Path(results_root) / "reproduce" / f"{report_stem(method, benchmark)}.md"


def write_reproduction(method: str, outcome: Outcome, results_root: Path | str) -> Path:
    """Write the outcome's Markdown file (atomically) and return its path."""
    path = report_path(method, outcome.benchmark, results_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, report_markdown(method, outcome))


def report_markdown(method: str, outcome: Outcome) -> str:
    manifest, summary = outcome.manifest, outcome.summary
    weights = outcome.weights or WeightsChoice(None)
    card = manifest.get("card") or {}
    environment = manifest.get("environment") or {}
    lines = [
        f"# {method} on {outcome.benchmark.key}: published and measured",
        "",
        f"Written by `vosbench reproduce` on {datetime.now(UTC).isoformat(timespec='seconds')}.",
        "",
        f"- status: {outcome.status}; sequences {outcome.coverage}",
        f"- run folder: `{outcome.run_dir}`",
        f"- weights: {_weights_text(weights, manifest)}",
        f"- protocol: {_protocol(card, weights)}",
        f"- config: `{json.dumps(manifest.get('config', {}), sort_keys=True)}`"
        + _changed_options(method, manifest.get("config") or {}),
        f"- device: {manifest.get('device_name', '?')} ({manifest.get('precision', '?')}); "
        f"CPU {environment.get('cpu', '?')}, {environment.get('logical_cores', '?')} cores, "
        f"torch {environment.get('torch', '?')}, vosbench {environment.get('vosbench', '?')} "
        f"(git {environment.get('git') or '?'}), {environment.get('os') or platform.platform()}",
        f"- speed: {_speed_text(summary, outcome)}",
        "",
        "## Published and measured",
        "",
        "Differences are measured − published; published numbers with conditions (a CRF, "
        "online fine-tuning) are not what the released protocol alone runs.",
        "",
    ]
    rows = comparison_rows(outcome)
    lines.append(to_markdown(rows, list(rows[0])) if rows else "No number to compare.\n")
    sources = list(dict.fromkeys(f"{r.source}" for r in outcome.references))
    if sources:
        lines += [f"Sources: {'; '.join(sources)} (as the method's card cites them).", ""]
    if outcome.official is not None:
        lines += _official_section(outcome.official)
    return "\n".join(lines).rstrip() + "\n"


def _weights_text(weights: WeightsChoice, manifest: Mapping[str, Any]) -> str:
    if weights.path is None:
        return "none (the method needs none)"
    converted = (manifest.get("weights") or {}).get("sha256", "")
    what = f"tag `{weights.tag}`, released file sha256 `{weights.sha256}` ({weights.checksum})"
    if not weights.tag:
        what = f"file `{weights.path}` (not a released tag), sha256 `{weights.sha256}`"
    return f"{what}; the checkpoint that ran: `{weights.path}`, sha256 `{converted}`"


def _protocol(card: Mapping[str, Any], weights: WeightsChoice) -> str:
    protocol = str(card.get("protocol") or "the method's defaults")
    if weights.tag:
        for record in card.get("weights") or []:
            if record.get("tag") == weights.tag and record.get("protocol"):
                protocol = str(record["protocol"])
    return protocol


def _changed_options(method: str, config: Mapping[str, Any]) -> str:
    """The options a run changed from the card's defaults (the published protocol)."""
    from vosbench.runner.methods import config_record, method_card

    defaults = config_record(method_card(method).config())
    changed = [f"{k}={json.dumps(v)}" for k, v in config.items() if defaults.get(k, v) != v]
    return f" (changed from the defaults: {', '.join(changed)})" if changed else ""


def _speed_text(summary: Mapping[str, Any], outcome: Outcome) -> str:
    fps = measured_value(outcome, "FPS")
    exclusive = summary.get("exclusive")
    verdict = {True: "exclusive (the machine was not shared)", False: "not exclusive"}.get(
        exclusive, "exclusivity unknown"
    )
    note = exclusivity_note(summary, summary.get("sequences"))
    text = f"{_number(fps) or '?'} FPS (model region); {verdict}"
    return text + (f" ({note})" if note else "")


def _official_section(official: OfficialComparison) -> list[str]:
    comparison = official.comparison
    summary = compare.summary_rows(comparison)
    rows = official_rows(official)
    lines = [
        "## Against the official result masks",
        "",
        f"Archive: `{official.source}`, imported and evaluated as `{official.run_dir}`. "
        f"{comparison.coverage_note}. Differences are vosbench − official; "
        f"{compare.method_note(comparison)}.",
        "",
        to_markdown(summary, list(summary[0])) if summary else "",
        f"Mask agreement: mean IoU of our masks and the official ones, over every frame both "
        f"hold, averaged over sequences: {_number(official.mean_agreement)}.",
        "",
        to_markdown(rows, list(rows[0])) if rows else "No sequence in common.\n",
    ]
    lines += [f"Note: {note}." for note in official.notes]
    return lines + [""]


__all__ = [
    "Benchmark",
    "OfficialComparison",
    "Outcome",
    "ROOT_ENV_PREFIX",
    "ReproduceOptions",
    "WeightsChoice",
    "card_benchmarks",
    "choose_weights",
    "compare_official",
    "comparison_rows",
    "import_official",
    "mask_agreement",
    "parse_roots",
    "references_for",
    "report_markdown",
    "report_path",
    "reproduce",
    "select_benchmarks",
    "write_reproduction",
]
