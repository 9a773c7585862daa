"""The ``vosbench`` command: thin click commands over the library API.

Each command maps options to one library call and prints the result; errors raised by the
library (:class:`vosbench.errors.VosbenchError`) become a message on stderr and exit code 1.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence as Seq
from pathlib import Path

import click

from vosbench import __version__
from vosbench.errors import VosbenchError
from vosbench.runner.card import PRECISIONS

# vosbench.datasets.base.TASKS, spelled out: importing it loads numpy before the eval command
# can ask OpenBLAS for one thread (tests/test_cli_tasks.py holds the two equal)
TASK_CHOICE = click.Choice(["semi-supervised", "unsupervised", "unsupervised-single"])
INTERRUPTED = (
    "Interrupted. Nothing complete was lost: run the same command again to resume (`vosbench run` "
    "keeps every finished sequence; eval and report write their outputs whole or not at all)."
)


def _split_names(values: Seq[str]) -> list | None:
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    return names or None


def _dataset_options(function=None, *, default: str | None = "synthetic"):
    """--dataset/--root/--split/--task/--sequences/--resolution/--allow-missing, shared by dataset
    commands."""

    def apply(function):
        options = [
            click.option(
                "--dataset",
                "-d",
                default=default,
                show_default=default is not None,
                help="Dataset name (see `vosbench datasets`)."
                + ("" if default else " Default: the run's, from its manifest."),
            ),
            click.option(
                "--root",
                type=click.Path(file_okay=False, path_type=Path),
                help="Dataset folder (not needed for the in-memory synthetic dataset).",
            ),
            click.option(
                "--split", help="Split (default: the dataset's evaluation split, e.g. val)."
            ),
            click.option(
                "--task",
                type=TASK_CHOICE,
                help="Task (default: semi-supervised; unsupervised-single: LVOS's one "
                "foreground mask per frame).",
            ),
            click.option(
                "--sequences",
                "-s",
                multiple=True,
                help="Only these sequences (repeat or comma-separate).",
            ),
            click.option(
                "--resolution", help="480p (default) or 1080p / Full-Resolution for DAVIS."
            ),
            click.option(
                "--allow-missing",
                is_flag=True,
                help="Go on when sequences of the split are missing on disk (tables then say k/N).",
            ),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return apply(function) if function is not None else apply


def _load(
    dataset: str,
    root: Path | None,
    split: str | None,
    task: str | None,
    sequences: Seq[str],
    resolution: str | None,
    allow_missing: bool = False,
):
    from vosbench.datasets import load_dataset

    options = {"resolution": resolution} if resolution else {}
    return load_dataset(
        dataset,
        root,
        split,
        task=task,
        sequences=_split_names(sequences),
        allow_missing=allow_missing,
        **options,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vosbench")
def cli() -> None:
    """Benchmark video object segmentation methods under one protocol."""


@cli.command("eval")
@click.argument("results_dir", type=click.Path(path_type=Path))
@_dataset_options(default=None)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the CSVs (default: RESULTS_DIR; for a subset of a run, "
    "RUN/evaluations/<id>).",
)
@click.option(
    "--workers", "-j", type=click.IntRange(min=1), help="Processes (default: number of cores)."
)
@click.option(
    "--decay-compat",
    "decay_mode",
    flag_value="compat",
    default=None,
    help="Reproduce the official evaluator's Decay (DAVIS: wrong for objects with ≥ 256 "
    "frames; LVOS: always 0).",
)
@click.option(
    "--decay-mode",
    "decay_mode",
    type=click.Choice(["exact", "davis2017", "davis2017-numpy1", "lvos", "compat"]),
    help="Decay computation (default: exact; compat: the dataset's official evaluator's).",
)
@click.option(
    "--extra-ids",
    type=click.Choice(["error", "ignore"]),
    default=None,
    help="Prediction ids beyond the ground truth's: an error or dropped with a warning "
    "(default: the benchmark's official rule: an error for DAVIS, dropped for VOST).",
)
@click.option("--all-frames", is_flag=True, help="Score first and last frames too (non-official).")
@click.option(
    "--skip-short", is_flag=True, help="Skip sequences too short for the protocol, with a warning."
)
@click.option(
    "--all-problems",
    is_flag=True,
    help="Report every problem found instead of stopping at the first.",
)
@click.option(
    "--bound-th",
    type=float,
    default=0.008,
    show_default=True,
    help="F tolerance: fraction of the diagonal, or whole pixels if ≥ 1 (non-default is "
    "non-official).",
)
@click.option(
    "--metrics",
    "-m",
    "metric_names",
    multiple=True,
    help="Metrics to compute, e.g. J,F,T (default: the dataset's official set; see `vosbench "
    "metrics`).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the global table.")
def eval_command(
    results_dir: Path,
    dataset: str | None,
    root: Path | None,
    split: str | None,
    task: str | None,
    sequences: Seq[str],
    resolution: str | None,
    allow_missing: bool,
    output: Path | None,
    workers: int | None,
    decay_mode: str | None,
    extra_ids: str | None,
    all_frames: bool,
    skip_short: bool,
    all_problems: bool,
    bound_th: float,
    metric_names: Seq[str],
    quiet: bool,
) -> None:
    """Score RESULTS_DIR (<sequence>/<frame>.png, or a `vosbench run` folder) with the official
    DAVIS J and F.

    A run folder names its dataset in its manifest and is scored over every completed
    sequence; a plain results folder needs --dataset (and --root).
    """
    _one_blas_thread()
    from vosbench.benchmarks import rules_for
    from vosbench.metrics import Protocol, evaluate, write_outputs
    from vosbench.metrics.outputs import format_table, per_sequence_rows
    from vosbench.results import evaluate_run
    from vosbench.results.evaluation import is_run_protocol, plan_evaluation

    metrics = _split_names(metric_names)
    protocol_options = dict(
        bound_th=bound_th,
        decay_mode=decay_mode or "exact",
        all_frames=all_frames,
        skip_short=skip_short,
    )
    if extra_ids is not None:  # else the dataset's rules decide (Protocol.for_dataset)
        protocol_options["extra_ids"] = extra_ids
    protocol_options["metrics"] = metrics
    official = is_run_protocol(protocol_options)
    plan = plan_evaluation(
        results_dir,
        dataset=dataset,
        root=root,
        split=split,
        task=task,
        sequences=_split_names(sequences),
        output=output,
        official=official,
        options={"resolution": resolution} if resolution else None,
    )
    spec = plan.dataset
    data = _load(
        spec["name"],
        spec["root"],
        spec["split"],
        spec["task"],
        tuple(spec["sequences"] or ()),
        spec["options"].get("resolution"),
        allow_missing,
    )
    protocol = Protocol.for_dataset(data, **protocol_options)
    rules = rules_for(data)
    frame_rule = rules.frame_rule(protocol)
    click.echo(
        f"Evaluating {plan.masks_dir} on {data.label} ({_count(len(data), data)} sequences, "
        f"{protocol.task}, "
        f"{frame_rule}{'' if protocol.official_under(rules) else '; NON-OFFICIAL settings'})",
        err=True,
    )
    for note in plan.notes:
        click.echo(f"note: {note}", err=True)
    started = time.perf_counter()
    with _progress(len(data), "sequences") as bar:
        if plan.own:
            result = evaluate_run(
                plan.store,
                dataset=data,
                workers=workers,
                collect_problems=all_problems,
                progress=lambda _: bar.update(1),
            )
        else:
            result = evaluate(
                data,
                plan.masks_dir,
                protocol,
                workers=workers,
                collect_problems=all_problems,
                progress=lambda _: bar.update(1),
            )
            write_outputs(result, plan.output)
    elapsed = time.perf_counter() - started
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not quiet:
        click.echo(
            f"\n--------------------------- Per-sequence results for {data.label} "
            "---------------------------"
        )
        click.echo(format_table(per_sequence_rows(result)))
    click.echo(
        f"\n--------------------------- Global results for {data.label} ---------------------------"
    )
    click.echo(
        format_table(
            [{**result.global_metrics(), "sequences": _count(len(result.sequences), data)}]
        )
    )
    click.echo(
        f"\n{len(result.objects)} objects in {len(result.sequences)} sequences scored in "
        f"{elapsed:.2f} s; wrote the tables to {plan.output}",
        err=True,
    )


def _one_blas_thread() -> None:
    """Let numpy load with one OpenBLAS thread, unless ``OPENBLAS_NUM_THREADS`` says otherwise.

    Scoring does no linear algebra, and OpenBLAS reads its thread count once, when numpy
    loads: the threads it starts by default spin for a while after starting, CPU time taken
    from the scoring on a busy machine. Workers at ``-j N`` inherit the setting. Where numpy is
    loaded already (``main`` called from a program) nothing is changed.
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _count(done: int, data) -> str:
    """``k/N``: sequences scored of those the split lists (N counts sequences missing on disk)."""
    listed = len(getattr(data, "listed", None) or data.names)
    return f"{done}/{listed}"


@cli.command("metrics")
def metrics_command() -> None:
    """List the metrics vosbench can compute (built-in and plug-ins)."""
    from vosbench.metrics.api import DEFAULT_METRICS, METRICS, OFFICIAL_METRICS

    for entry in METRICS.entries():
        official = [name for name, names in OFFICIAL_METRICS.items() if entry.name.upper() in names]
        where = (
            "; every dataset"
            if entry.name.upper() in DEFAULT_METRICS
            else (f"; official for {', '.join(official)}" if official else "")
        )
        click.echo(
            f"{entry.name.upper() if entry.origin == 'builtin' else entry.name:<10} "
            f"{entry.info.get('description', '')} ({entry.origin}{where})"
        )


@cli.command("datasets")
def datasets_command() -> None:
    """List the datasets vosbench can read: their splits, tasks and the rules they are scored by."""
    from vosbench.benchmarks import rules_for
    from vosbench.datasets import DATASETS

    entries = list(DATASETS.entries())
    width = max(len(entry.name) for entry in entries) + 1
    for entry in entries:
        rules = rules_for(entry.name)
        splits = ", ".join(entry.info.get("splits", ()))
        click.echo(f"{entry.name:<{width}} {entry.info.get('description', '')}")
        click.echo(f"{'':<{width}} splits: {splits}; origin: {entry.origin}")
        click.echo(f"{'':<{width}} tasks: {', '.join(rules.tasks)}")
        click.echo(f"{'':<{width}} scored by: {rules.description}")


@cli.command("validate")
@_dataset_options
def validate_command(
    dataset: str,
    root: Path | None,
    split: str | None,
    task: str | None,
    sequences: Seq[str],
    resolution: str | None,
    allow_missing: bool,
) -> None:
    """Check a dataset folder and report every problem found, at once."""
    from vosbench.datasets import validate_dataset

    data = _load(dataset, root, split, task, sequences, resolution, allow_missing)
    problems = validate_dataset(data)
    errors = [p for p in problems if p.kind not in ("warning", "info")]
    for problem in problems:
        click.echo(f"{'warning' if problem not in errors else 'error'}: {problem}")
    frames = sum(len(s) for s in data)
    click.echo(
        f"{data.label}: {len(data)} sequences, {frames} frames, {len(errors)} error(s), "
        f"{len(problems) - len(errors)} warning(s)"
    )
    if errors:
        raise click.exceptions.Exit(1)


@cli.command("synth")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--preset", default="val", show_default=True, help="Generator preset (small, val, bench, hard)."
)
@click.option(
    "--split",
    default=None,
    help="Split name (default: the layout's default split; davis2017: val, in ImageSets/2017).",
)
@click.option(
    "--layout",
    default="davis2017",
    show_default=True,
    help="The dataset whose on-disk layout to write (see `vosbench datasets`); read it back "
    "with --dataset LAYOUT (davis2017's also with --dataset synthetic).",
)
@click.option(
    "--predictions",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write noisy predictions (a demo results folder) here; it must be empty or absent.",
)
@click.option(
    "--force", is_flag=True, help="Let --predictions overwrite the masks of a non-empty folder."
)
def synth_command(
    out_dir: Path,
    preset: str,
    split: str | None,
    layout: str,
    predictions: Path | None,
    force: bool,
) -> None:
    """Write a synthetic dataset in a benchmark's layout (and optionally predictions).

    The layouts are the datasets whose catalogue entry names a synthetic writer (the
    ``synthetic`` metadata); the default is DAVIS-2017's.
    """
    from vosbench.benchmarks import synthetic_predictions_writer, synthetic_writer
    from vosbench.datasets import DATASETS

    entry = DATASETS.entry(layout)
    writer = synthetic_writer(entry.name)
    split = split or entry.info.get("default_split") or "val"
    root = writer(out_dir, preset, split=split)
    click.echo(f"wrote synthetic dataset ({preset}, {entry.name} layout, split {split}) to {root}")
    if predictions is not None:
        synthetic_predictions_writer(entry.name)(root, split, predictions, overwrite=force)
        click.echo(f"wrote predictions to {predictions}")


@cli.command("run")
@click.option("--method", "-m", required=True, help="Method name (see `vosbench methods`).")
@_dataset_options
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option(
    "--precision",
    default="fp32",
    show_default=True,
    type=click.Choice(list(PRECISIONS)),
    help="Numeric precision (methods list what they support).",
)
@click.option(
    "--weights",
    "-w",
    metavar="FILE|TAG|official",
    help="Weights: a vosbench checkpoint file, a released checkpoint's tag (downloaded and "
    "converted once; see `vosbench weights list`) or `official` (the method's for the dataset).",
)
@click.option(
    "--mirror",
    metavar="URL|DIR",
    help="Fetch released weights as <mirror>/<file name> instead of from their origin "
    "(default $VOSBENCH_WEIGHTS_MIRROR).",
)
@click.option(
    "--random-init", is_flag=True, help="Run a network without weights (speed tests only)."
)
@click.option(
    "--config",
    "-c",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config option of the method (repeatable).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder (default: <results>/<dataset>-<split>/<method>).",
)
@click.option(
    "--results",
    "results_root",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Root of the default run folders.",
)
@click.option(
    "--shard",
    help="Run only shard K/N of the sequences (0-based); torchrun's RANK/WORLD_SIZE also work.",
)
@click.option(
    "--warmup",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="Untimed warm-up frames before the first sequence.",
)
@click.option(
    "--io-workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=0),
    help="Frame-decoding threads ahead of the method (0: decode inline).",
)
@click.option(
    "--force", is_flag=True, help="Replace whatever the run folder holds instead of resuming."
)
@click.option("--no-eval", is_flag=True, help="Do not evaluate after running.")
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(min=1),
    help="Evaluation processes (default: number of cores).",
)
def run_command(
    method: str,
    dataset: str,
    root: Path | None,
    split: str | None,
    task: str | None,
    sequences: Seq[str],
    resolution: str | None,
    allow_missing: bool,
    device: str,
    precision: str,
    weights: str | None,
    mirror: str | None,
    random_init: bool,
    overrides: Seq[str],
    output: Path | None,
    results_root: Path,
    shard: str | None,
    warmup: int,
    io_workers: int,
    force: bool,
    no_eval: bool,
    workers: int | None,
) -> None:
    """Run a method on a dataset, write its masks and timings, and evaluate them.

    \b
    Examples:
      vosbench run --method flow                                   # synthetic data
      vosbench run --method flow --dataset davis2016 --root /data/DAVIS-2016
      vosbench run --method rgmp --weights official --dataset davis2016 --root /data/DAVIS-2016
      vosbench run --method rgmp --weights rgmp.pth --dataset davis2017 --root /data/DAVIS \\
        --shard 0/4
    """
    from vosbench.results import dataset_spec
    from vosbench.runner import RunSettings, Shard, get_method, parse_overrides, run

    card = get_method(method).card
    data = _load(dataset, root, split, task or card.task, sequences, resolution, allow_missing)
    weights_path = None
    if weights is not None and random_init:
        raise click.UsageError("--weights and --random-init exclude each other")
    if weights is not None:
        from vosbench.weights import resolve_weights

        weights_path = resolve_weights(
            weights,
            card.name,
            dataset=data.name,
            mirror=mirror,
            progress=_DownloadBar(),
            notes=lambda note: click.echo(f"note: {note}", err=True),
        )
    settings = RunSettings(
        device=device,
        precision=precision,
        weights=weights_path,
        random_init=random_init,
        warmup_frames=warmup,
        io_workers=io_workers,
        shard=Shard.parse(shard),
        force=force,
        evaluate=not no_eval,
        eval_workers=workers,
    )
    spec = dataset_spec(data, {"resolution": resolution} if resolution else {})
    if data.sequences and settings.shard.count > 1:
        click.echo(
            f"shard {settings.shard}: {len(settings.shard.select(data.sequences))} of {len(data)} "
            "sequences",
            err=True,
        )
    with _RunBars() as bars:
        result = run(
            method,
            data,
            config=parse_overrides(overrides),
            settings=settings,
            output=output,
            results_root=results_root,
            progress=bars,
            dataset_spec=spec,
        )
    _print_run(result)
    if not result.ok:
        click.echo(
            f"\n{len(result.failures)} sequence(s) failed (details in "
            f"{result.store.root / 'failures'}):",
            err=True,
        )
        for name, error in result.failures.items():
            click.echo(f"  {name}: {error}", err=True)
        raise click.exceptions.Exit(1)


def _print_run(result) -> None:
    from vosbench.metrics.outputs import format_table
    from vosbench.results import exclusivity_note

    summary, manifest = result.summary, result.manifest
    click.echo(
        f"{manifest['method']} on {manifest['dataset']['label']} ({manifest['device_name']}, "
        f"{manifest['precision']}): {len(result.ran)} sequence(s) run, {len(result.resumed)} "
        f"already done; output {result.store.root}",
        err=True,
    )
    for problem in result.damaged:
        click.echo(f"warning: {problem} (rerun)", err=True)
    listed = result.listed
    row = {
        "method": manifest["method"],
        "sequences": f"{result.completed}/{listed if listed else '?'}",
    }
    if result.evaluation is not None:
        row.update(result.evaluation.global_metrics())
    row.update(
        {
            "FPS": summary.get("fps"),
            "e2e FPS": summary.get("e2e_fps"),
            "init ms": summary.get("init_ms"),
            "frames": summary.get("frames"),
        }
    )
    click.echo(format_table([row]))
    if listed and result.completed < listed:
        click.echo(
            f"partial: {result.completed} of the {listed} sequences of "
            f"{manifest['dataset']['label']} are complete; accuracy and speed above cover those "
            "only",
            err=True,
        )
    note = exclusivity_note(summary, result.completed)
    if note:
        click.echo(note, err=True)
    if result.evaluation is None and result.evaluation_note:
        click.echo(f"not evaluated: {result.evaluation_note}", err=True)


@cli.command("submission")
@click.argument("source", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The zip to write (default: SOURCE/submission.zip).",
)
@_dataset_options(default=None)
@click.option(
    "--allow-partial", is_flag=True, help="Pack the videos present when some have no masks."
)
@click.option("--force", is_flag=True, help="Replace the zip if it exists.")
def submission_command(
    source: Path,
    output: Path | None,
    dataset: str | None,
    root: Path | None,
    split: str | None,
    task: str | None,
    sequences: Seq[str],
    resolution: str | None,
    allow_missing: bool,
    allow_partial: bool,
    force: bool,
) -> None:
    """Pack a run (or a folder of <video>/<frame>.png masks) into the zip an evaluation server
    takes: Annotations/<video>/<frame>.png for exactly the frames it scores.

    \b
    Examples:
      vosbench submission results/youtube-vos-valid/flow -o flow-ytvos19.zip
      vosbench submission MASKS --dataset mose --root /data/MOSE --split valid -o mose.zip
    """
    from vosbench.benchmarks.submission import write_submission

    data = None
    if dataset is not None:
        data = _load(dataset, root, split, task, sequences, resolution, allow_missing)
    target = output or source / "submission.zip"
    packed = write_submission(
        source, target, dataset=data, allow_partial=allow_partial, overwrite=force
    )
    click.echo(
        f"wrote {target}: {len(packed.files)} masks of {len(packed.videos)} video(s) under "
        "Annotations/<video>/<frame>.png"
        + (f" ({packed.converted} re-encoded as palette PNGs)" if packed.converted else "")
    )
    if packed.missing_videos:
        click.echo(
            f"partial: {len(packed.missing_videos)} video(s) have no masks and are left out",
            err=True,
        )


@cli.command("train")
@click.option("--method", "-m", help="Method to train (default: the config's `method`).")
@click.option(
    "--config",
    "-c",
    "config",
    required=True,
    help="Training config: a YAML file or a bundled name (rgmp_tiny, rgmp_davis2017 …).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder (default: results/train/<config name>).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Require a checkpoint to continue from (by default a run folder "
    "with checkpoints is resumed, an empty one starts afresh).",
)
@click.option("--force", is_flag=True, help="Start over in a folder holding another run.")
@click.option(
    "--max-steps",
    type=click.IntRange(min=0),
    help="Stop after this step (the schedule keeps train.steps).",
)
@click.option(
    "--time-budget",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop after this many seconds of training (overrides train.time_budget).",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
def train_command(
    method: str | None,
    config: str,
    output: Path | None,
    resume: bool,
    force: bool,
    max_steps: int | None,
    time_budget: float | None,
    device: str,
) -> None:
    """Train a network: checkpoints, logs and validation in a run folder, weights for
    `vosbench run`.

    \b
    Examples:
      vosbench train --method rgmp --config rgmp_tiny              # CPU, synthetic videos
      vosbench train --method rgmp --config configs/train/rgmp_davis2017.yaml --device cuda
      vosbench run --method rgmp -c size=tiny -c scales=0.5 \\
        --weights results/train/rgmp_tiny/weights.pth
    """
    from vosbench.train.engine import find_config, train

    path = find_config(config)
    with _TrainBar() as bar:
        result = train(
            path,
            method=method,
            output=output or Path("results") / "train" / path.stem,
            device=device,
            max_steps=max_steps,
            resume=True if resume else None,
            force=force,
            progress=bar,
            time_budget=time_budget,
        )
    losses = ", ".join(f"{k} {v:.4f}" for k, v in result.last_terms.items())
    resumed = f" (resumed at step {result.resumed_from})" if result.resumed_from else ""
    click.echo(
        f"{result.method}: {result.step} steps{resumed}, stopped: {result.stop_reason}, "
        f"{result.elapsed_s:.0f} s of training; {losses or 'no step run'}",
        err=True,
    )
    for record in result.validations[-1:]:
        scores = ", ".join(
            f"{k} {v:.3f}" for k, v in record["validation"].items() if k in ("J&F-Mean", "J-Mean")
        )
        click.echo(f"validation at step {record['step']}: {scores}", err=True)
    click.echo(
        f"weights: {result.weights}  (vosbench run --method {result.method} --weights "
        f"{result.weights}{_option_text(result.method_options)})"
    )


def _option_text(options: dict) -> str:
    return "".join(f" -c {key}={value}" for key, value in options.items())


class _TrainBar:
    """A tqdm bar over the training steps, with the latest loss and validation J&F."""

    def __enter__(self):
        from tqdm import tqdm

        self._tqdm, self.bar = tqdm, None
        return self

    def start(self, total: int, done: int) -> None:
        self.bar = self._tqdm(
            total=total,
            initial=done,
            unit=" step",
            desc="training",
            file=sys.stderr,
            disable=None,
            dynamic_ncols=True,
        )

    def step(self, step: int, terms) -> None:
        self.bar.update(step - self.bar.n)
        self.bar.set_postfix(loss=f"{terms.get('loss', float('nan')):.4f}", refresh=False)

    def validation(self, step: int, metrics) -> None:
        if metrics:
            self.bar.write(
                f"step {step}: validation J&F {metrics.get('J&F-Mean', float('nan')):.3f}, "
                f"J {metrics.get('J-Mean', float('nan')):.3f}",
                file=sys.stderr,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __exit__(self, *exc) -> None:
        self.close()


@cli.command("convert")
@click.option("--method", "-m", required=True, help="Method whose released weights SRC holds.")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--allow-pickle",
    is_flag=True,
    help="Let SRC run pickled code while loading (only for a trusted file that a safe load "
    "refuses).",
)
@click.option("--force", is_flag=True, help="Replace DESTINATION if it exists.")
def convert_command(
    method: str, source: Path, destination: Path, allow_pickle: bool, force: bool
) -> None:
    """Convert the authors' released weights SRC into a vosbench checkpoint DESTINATION.

    Every key of SRC must fit the network (none missing, none left over, no shape mismatch);
    DESTINATION records the method and SRC's sha256 and loads with `vosbench run --weights`.

    \b
    Example:
      vosbench convert --method rgmp weights.pth rgmp.pth
      vosbench run --method rgmp --weights rgmp.pth --dataset davis2016 --root /data/DAVIS-2016
    """
    from vosbench.runner import convert_checkpoint

    done = convert_checkpoint(method, source, destination, allow_pickle=allow_pickle, force=force)
    click.echo(
        f"{done.method}: {done.tensors} tensors ({done.values:,} values) from {done.source} "
        f"(sha256 {done.source_sha256[:16]}…) written to {done.destination} (sha256 "
        f"{done.sha256[:16]}…)"
    )


@cli.group("weights")
def weights_group() -> None:
    """The released checkpoints: list them, download and convert one into the cache."""


@weights_group.command("list")
@click.option("--method", "-m", help="Only this method's checkpoints.")
@click.option(
    "--verbose", "-v", is_flag=True, help="Also every URL, the format and the published numbers."
)
def weights_list_command(method: str | None, verbose: bool) -> None:
    """Tag, method, file, size, checksum (or "not pinned") and whether it is in the cache."""
    from vosbench.weights import WeightsCache, cache_root, weight_cards
    from vosbench.weights.cards import reference_lines

    rows, details = [], []
    for tag, card in sorted(weight_cards().items()):
        if method and card.method != method:
            continue
        cache = WeightsCache(card)
        recorded = cache.recorded_sha256()
        checksum = card.sha256[:16] or (
            f"not pinned (recorded {recorded[:12]}…)" if recorded else "not pinned"
        )
        rows.append(
            (
                tag,
                card.method,
                card.file,
                f"{card.size / 1e6:.1f} MB" if card.size else "?",
                checksum,
                "yes" if cache.ready() else "no",
                ", ".join(card.datasets) or card.purpose,
            )
        )
        if verbose:
            details.append(
                f"{tag}: {card.summary}\n  format: {card.format or '?'}"
                + (f"\n  protocol: {card.protocol}" if card.protocol else "")
                + "".join(f"\n  url: {source.describe()}" for source in card.sources)
                + "".join(f"\n  {line}" for line in reference_lines(card.references))
            )
    header = ("tag", "method", "file", "size", "sha256", "cached", "for")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        click.echo("  ".join(str(value).ljust(width) for value, width in zip(row, widths)).rstrip())
    for detail in details:
        click.echo("\n" + detail)
    click.echo(f"cache: {cache_root() / 'weights'}", err=True)


@weights_group.command("fetch")
@click.argument("tag")
@click.option(
    "--mirror",
    metavar="URL|DIR",
    help="Fetch <mirror>/<file name> instead of the origin (default $VOSBENCH_WEIGHTS_MIRROR).",
)
def weights_fetch_command(tag: str, mirror: str | None) -> None:
    """Download TAG's file (resuming a partial one), check and convert it; print the path.

    \b
    Examples:
      vosbench weights fetch rgmp:davis
      vosbench weights fetch ranet:video-multi --mirror https://example.org/vos-weights
    """
    from vosbench.weights import fetch_weights

    done = fetch_weights(
        tag,
        mirror=mirror,
        progress=_DownloadBar(),
        notes=lambda note: click.echo(f"note: {note}", err=True),
    )
    how = f"downloaded from {done.url}" if done.downloaded else "from the cache"
    click.echo(
        f"{done.card.tag}: {done.card.file} {how}, sha256 {done.sha256[:16]}… ({done.checksum})",
        err=True,
    )
    click.echo(str(done.path))


class _DownloadBar:
    """A tqdm bar in bytes on stderr while a file downloads (silent when stderr is no terminal)."""

    def __init__(self) -> None:
        self.bar = None

    def start(self, name: str, total: int | None, done: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            initial=done,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=name,
            file=sys.stderr,
            disable=None,
            leave=False,
        )

    def advance(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.bar.n)

    def end(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@cli.command("methods")
@click.option(
    "--verbose", "-v", is_flag=True, help="Also show each method's config options and defaults."
)
def methods_command(verbose: bool) -> None:
    """List the methods vosbench can run (from their cards: no network is loaded)."""
    from vosbench.runner.methods import METHODS, method_card

    rows, broken, details = [], [], []
    for entry in METHODS.entries():
        try:
            card = method_card(entry.name)
        except VosbenchError as error:
            broken.append((entry.name, f"broken: {error}"))
            continue
        rows.append(
            (
                card.name,
                card.task,
                "yes" if card.needs_weights else "no",
                card.paper or "-",
                card.licence or "none given",
                entry.origin,
            )
        )
        if verbose:
            details.append(_card_details(card))
    if not rows and not broken:
        click.echo(
            "no methods are registered: they come from installed entry points (vosbench.methods); "
            "reinstall vosbench (`pip install -e .` in a checkout)",
            err=True,
        )
        return
    header = ("name", "task", "weights", "paper", "licence", "origin")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        click.echo("  ".join(str(value).ljust(width) for value, width in zip(row, widths)).rstrip())
    for name, reason in broken:
        click.echo(f"{name.ljust(widths[0])}  {reason}")
    for detail in details:
        click.echo("\n" + detail)


def _card_details(card) -> str:
    """The ``methods -v`` paragraph of one card: summary, aliases, options, protocol, input,
    weights."""
    from vosbench.runner.options import describe_options

    options = ", ".join(describe_options(card.config))
    return (
        f"{card.name}: {card.summary}"
        + (f"\n  aliases: {', '.join(card.aliases)}" if card.aliases else "")
        + f"\n  options: {options or 'none'}\n  protocol: {card.protocol}"
        f"\n  input: {card.input_policy}; devices: {', '.join(card.devices)}; "
        f"precisions: {', '.join(card.precisions)}"
        + (f"\n  weights: {card.weights_help}" if card.needs_weights else "")
        + "".join(f"\n  {line}" for line in _weights_lines(card))
    )


def _weights_lines(card) -> list[str]:
    """The released checkpoints of a card with their published numbers, for ``methods -v``."""
    from vosbench.weights.cards import reference_lines

    lines = []
    for weights in card.weights:
        lines.append(
            f"{weights.tag}: {weights.file} ({weights.summary}; "
            f"{'for ' + ', '.join(weights.datasets) if weights.datasets else weights.purpose})"
        )
        lines += [f"  {line}" for line in reference_lines(weights.references)]
    if card.reference:
        lines.append("other published numbers:")
        lines += [f"  {line}" for line in reference_lines(card.reference)]
    return lines


@cli.command("report")
@click.argument(
    "results_dir",
    default="results",
    required=False,
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the report (default: RESULTS_DIR).",
)
@click.option("--no-html", is_flag=True, help="Only the tables and plots.")
@click.option(
    "--no-plots", is_flag=True, help="Only the tables (and report.html unless --no-html)."
)
@click.option(
    "--no-eval",
    is_flag=True,
    help="Never (re-)evaluate: runs without a current evaluation show as such.",
)
@click.option(
    "--thumbnails",
    default=3,
    show_default=True,
    type=click.IntRange(min=0),
    help="Overlay thumbnails per sequence in report.html.",
)
def report_command(
    results_dir: Path,
    output: Path | None,
    no_html: bool,
    no_plots: bool,
    no_eval: bool,
    thumbnails: int,
) -> None:
    """Collect every run under RESULTS_DIR into leaderboard tables, plots and report.html.

    Runs whose evaluation is missing or stale (new masks, merged shards) are evaluated again
    from the dataset named in their manifest.
    """
    from vosbench.report import write_report
    from vosbench.report.collect import default_evaluate

    if not results_dir.is_dir():
        raise click.UsageError(f"{results_dir}: no such folder (run `vosbench run` first)")
    warnings: list = []
    files = write_report(
        results_dir,
        output,
        evaluate=None if no_eval else default_evaluate,
        plots=not no_plots,
        html=not no_html,
        thumbnails=thumbnails,
        warnings=warnings,
    )
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(files["leaderboard.md"].read_text(encoding="utf-8").rstrip())
    click.echo(
        f"wrote {len(files)} files to {output or results_dir} "
        f"(leaderboard.csv, leaderboard.md{'' if no_html else ', report.html'})",
        err=True,
    )


@cli.command("compare")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--metric",
    "-m",
    "metric_names",
    multiple=True,
    help="Metrics to compare, e.g. J-Mean,F-Mean (default: every one both evaluations hold).",
)
@click.option(
    "--resamples",
    "-B",
    default=10_000,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Bootstrap resamples (and sign-flip patterns beyond 16 sequences).",
)
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--confidence",
    default=0.95,
    show_default=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Level of the bootstrap interval.",
)
@click.option(
    "--top",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="Sequences listed per pair, largest |difference| first (0: all).",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the per-sequence values here, and the summary beside it as <name>-summary.csv.",
)
@click.option(
    "--md", "md_path", type=click.Path(dir_okay=False, path_type=Path), help="Write Markdown here."
)
@click.option(
    "--evaluate",
    is_flag=True,
    help="Evaluate runs whose evaluation is missing or stale (their ground truth must be there) "
    "instead of refusing them.",
)
def compare_command(
    runs: Seq[Path],
    metric_names: Seq[str],
    resamples: int,
    seed: int,
    confidence: float,
    top: int,
    csv_path: Path | None,
    md_path: Path | None,
    evaluate: bool,
) -> None:
    """Compare runs of one dataset per sequence: RUN_A is the baseline, every other run is
    compared with it (J&F and each metric, differences, a paired bootstrap interval over
    sequences and p-values).

    \b
    Examples:
      vosbench compare results/davis2016-val/rgmp-1a2b3c results/davis2016-val/flow
      vosbench compare RUN_A RUN_B RUN_C --csv compare.csv --md compare.md --seed 1
    """
    from vosbench.metrics.outputs import format_table
    from vosbench.report import compare
    from vosbench.report.collect import default_evaluate

    scores = compare.load_runs(runs, evaluate=default_evaluate if evaluate else None)
    comparisons = compare.compare_runs(
        scores,
        metrics=_split_names(metric_names),
        resamples=resamples,
        seed=seed,
        confidence=confidence,
    )
    shown = top or None
    click.echo(f"Unit: {compare.UNIT}.")
    for comparison in comparisons:
        click.echo(f"\n{compare.heading(comparison)}")
        click.echo(f"{comparison.coverage_note}\n{compare.method_note(comparison)}")
        click.echo(format_table(compare.summary_rows(comparison)))
        rows = compare.sequence_rows(comparison, "J&F", shown)
        listed = "all sequences" if len(rows) == len(comparison.sequences) else f"top {len(rows)}"
        click.echo(f"\nJ&F per sequence, largest |diff| first ({listed}):")
        click.echo(format_table(rows))
    files = compare.write_comparison(comparisons, csv=csv_path, markdown=md_path, top=shown)
    if files:
        click.echo(f"wrote {', '.join(str(p) for p in files.values())}", err=True)


@cli.command("reproduce")
@click.option("--method", "-m", required=True, help="Method name (see `vosbench methods`).")
@click.option(
    "--dataset",
    "-d",
    help="Only this dataset (default: every benchmark the method's card publishes numbers for).",
)
@click.option("--split", help="Only this split (default: the card's, else the evaluation split).")
@click.option(
    "--root",
    "roots",
    multiple=True,
    metavar="PATH|DATASET=PATH",
    help="Dataset folder: PATH for the one dataset in play, DATASET=PATH for several "
    "(repeatable); default $VOSBENCH_ROOT_<DATASET>, e.g. VOSBENCH_ROOT_DAVIS2016.",
)
@click.option(
    "--weights",
    "-w",
    metavar="FILE|TAG|official",
    help="Weights (default: official, the released checkpoint for each dataset).",
)
@click.option(
    "--mirror",
    metavar="URL|DIR",
    help="Fetch released weights as <mirror>/<file name> (default $VOSBENCH_WEIGHTS_MIRROR).",
)
@click.option(
    "--official-results",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The DAVIS site's result archive of the method (<sequence>/<frame>.png): compared per "
    "sequence and mask by mask.",
)
@click.option(
    "--config",
    "-c",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config option (the report records it; the published protocol is the default).",
)
@click.option(
    "--sequences", "-s", multiple=True, help="Only these sequences (repeat or comma-separate)."
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--precision", default="fp32", show_default=True, type=click.Choice(list(PRECISIONS)))
@click.option(
    "--results",
    "results_root",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Results root: run folders, and reproduce/<method>-<dataset>.md.",
)
@click.option("--warmup", default=10, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--workers", "-j", type=click.IntRange(min=1), help="Evaluation processes (default: cores)."
)
def reproduce_command(
    method: str,
    dataset: str | None,
    split: str | None,
    roots: Seq[str],
    weights: str | None,
    mirror: str | None,
    official_results: Path | None,
    overrides: Seq[str],
    sequences: Seq[str],
    device: str,
    precision: str,
    results_root: Path,
    warmup: int,
    workers: int | None,
) -> None:
    """Run a method's published protocol on the benchmarks its card lists, evaluate, and set
    paper, leaderboard and measured numbers side by side (results/reproduce/<method>-<dataset>.md).

    \b
    Examples:
      vosbench reproduce --method rgmp --dataset davis2016 --root /data/DAVIS-2016
      vosbench reproduce --method rgmp --root davis2016=/data/DAVIS-2016 \\
        --root davis2017=/data/DAVIS
      vosbench reproduce --method rgmp --dataset davis2016 --root /data/DAVIS-2016 \\
        --official-results /data/davis-results/RGMP
    """
    from vosbench.metrics.outputs import format_table
    from vosbench.report import reproduce as rep
    from vosbench.runner import parse_overrides

    options = rep.ReproduceOptions(
        dataset=dataset,
        split=split,
        roots=tuple(roots),
        weights=weights,
        mirror=mirror,
        config=parse_overrides(overrides),
        results_root=results_root,
        official_results=official_results,
        sequences=tuple(_split_names(sequences) or ()),
        device=device,
        precision=precision,
        warmup_frames=warmup,
        eval_workers=workers,
    )
    with _RunBars() as bars:
        outcomes = rep.reproduce(
            method,
            options,
            progress=bars,
            download_progress=_DownloadBar(),
            notes=lambda note: click.echo(f"note: {note}", err=True),
        )
    for outcome in outcomes:
        click.echo(f"\n{method} on {outcome.benchmark.key}: {outcome.status}")
        if outcome.run_dir is None:
            continue
        rows = rep.comparison_rows(outcome)
        if rows:
            click.echo(format_table(rows))
        if outcome.official is not None:
            official = outcome.official
            click.echo(f"\nagainst the official masks ({official.comparison.coverage_note}):")
            click.echo(format_table(rep.official_rows(official)))
            click.echo(f"mean mask IoU with the official masks: {official.mean_agreement:.3f}")
        if outcome.report is not None:
            click.echo(f"wrote {outcome.report}", err=True)
    if all(o.run_dir is None for o in outcomes) or any(o.failed for o in outcomes):
        raise click.exceptions.Exit(1)


@cli.command("viz")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--sequence",
    "-s",
    "sequences",
    multiple=True,
    help="Sequence(s) to render (default: every completed sequence).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="A .mp4/.gif file (one sequence) or a folder (default: RUN_DIR/viz).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["mp4", "gif"]), default="mp4", show_default=True
)
@click.option("--fps", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--max-width", type=click.IntRange(min=16), help="Shrink wider videos to this width.")
def viz_command(
    run_dir: Path,
    sequences: Seq[str],
    output: Path | None,
    fmt: str,
    fps: float,
    max_width: int | None,
) -> None:
    """Write overlay videos (or GIFs) of a run's masks over its frames."""
    from vosbench.report import write_overlay_video
    from vosbench.results import RunStore

    store = RunStore(run_dir)
    if not store.exists():
        raise click.UsageError(f"{run_dir}: not a vosbench run folder (no manifest.json)")
    names = _split_names(sequences) or [record["sequence"] for record in store.records()]
    if not names:
        raise click.UsageError(f"{run_dir}: no completed sequence to render")
    single = output is not None and output.suffix.lower() in (".mp4", ".gif")
    if single and len(names) > 1:
        raise click.UsageError("--output names one file; pass one --sequence or a folder")
    for name in names:
        target = output if single else (output or run_dir / "viz") / f"{name}.{fmt}"
        write_overlay_video(store, name, target, fps=fps, max_width=max_width)
        click.echo(f"wrote {target}")


class _RunBars:
    """Two tqdm bars for `vosbench run`: sequences overall and frames of the current sequence."""

    def __enter__(self):
        from tqdm import tqdm

        self._tqdm = tqdm
        self.overall = self.current = None
        return self

    def run_start(self, total: int, done: int) -> None:
        self.overall = self._tqdm(
            total=total,
            initial=done,
            unit=" seq",
            desc="sequences",
            file=sys.stderr,
            disable=None,
            position=0,
        )

    def sequence_start(self, name: str, frames: int) -> None:
        self.current = self._tqdm(
            total=frames,
            unit=" frames",
            desc=name,
            file=sys.stderr,
            disable=None,
            position=1,
            leave=False,
        )

    def frame(self) -> None:
        self.current.update(1)

    def sequence_end(self, name: str, error: str | None) -> None:
        self.current.close()
        self.overall.update(1)
        if error:
            self.overall.write(f"{name}: FAILED ({error})", file=sys.stderr)

    def __exit__(self, *exc) -> None:
        for bar in (self.current, self.overall):
            if bar is not None:
                bar.close()


class _progress:
    """A tqdm bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, total: int, unit: str):
        self.total, self.unit, self.bar = total, unit, None

    def __enter__(self):
        if not _is_terminal(sys.stderr):  # what tqdm's disable=None decides, without importing it
            return self
        from tqdm import tqdm

        self.bar = tqdm(
            total=self.total, unit=f" {self.unit}", file=sys.stderr, disable=None, leave=False
        )
        return self.bar

    def update(self, _count: int = 1) -> None:
        """The silent bar's step."""

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def main(argv: Seq[str] | None = None) -> int:
    """Entry point: run the CLI, turning library errors into a message and exit code 1."""
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="vosbench",
            standalone_mode=False,
        )
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo(INTERRUPTED, err=True)
        return 130
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except VosbenchError as error:
        click.echo(f"error: {error}", err=True)
        return 1
    except OSError as error:  # unwritable output folder, full disk …
        where = f"{error.filename}: " if error.filename else ""
        click.echo(f"error: {where}{error.strerror or error}", err=True)
        return 1
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
