"""Run a method over a dataset: one sequence at a time, timed, written atomically, resumable.

The loop per frame is: take the (prefetched) decoded frame → copy to the device → hand in
the annotation of objects that appear at this frame → ``method.step`` (the model region) →
argmax / id lookup → label map on the host (the end-to-end region ends here) → PNG encode
into the sequence's staging folder (outside both regions). A sequence becomes visible only
when it is complete (see :mod:`vosbench.results.store`); a method that raises on one
sequence has its error recorded and the run goes on. The run folder is locked while the run
writes into it, and the machine's load is recorded around every sequence, so that FPS measured
on a busy machine is never stored as exclusive.
"""

from __future__ import annotations

import hashlib
import json
import os
import traceback
from collections.abc import Callable, Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vosbench.benchmarks.submission import is_server_scored, write_submission_folder
from vosbench.datasets.base import Dataset, Sequence
from vosbench.errors import ConfigError, VosbenchError
from vosbench.io.masks import encode_mask
from vosbench.io.prefetch import prefetch
from vosbench.results import (
    RUN_FORMAT,
    RunLocks,
    RunStore,
    dataset_spec,
    evaluate_run,
    exclusivity,
    write_json,
)
from vosbench.results.speed import sequence_exclusive
from vosbench.runner.checkpoint import WeightsError, read_architecture, sha256_file
from vosbench.runner.environment import device_name, environment
from vosbench.runner.load import LoadProbe
from vosbench.runner.methods import (
    config_hash,
    config_record,
    config_with_checkpoint,
    get_method,
)
from vosbench.runner.options import architecture_options, show
from vosbench.runner.protocol import SequenceMeta, VOSMethod
from vosbench.runner.timing import Timer, summarize


class MethodError(VosbenchError):
    """A method returned something the runner cannot turn into a label map."""


@dataclass(frozen=True)
class Shard:
    """This process's share of the sequences: index ``k`` of ``n`` (0-based)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ConfigError(f"invalid shard {self.index}/{self.count}: need 0 <= K < N")

    @classmethod
    def parse(cls, text: str | None, environ: Mapping[str, str] = os.environ) -> Shard:
        """``"K/N"`` (0-based), else torchrun's ``RANK`` / ``WORLD_SIZE``, else the whole run."""
        if text:
            index, sep, count = text.partition("/")
            if not sep or not index.strip().isdigit() or not count.strip().isdigit():
                raise ConfigError(f"--shard {text!r}: expected K/N, e.g. 0/4")
            return cls(int(index), int(count))
        if "WORLD_SIZE" in environ and "RANK" in environ:
            return cls(int(environ["RANK"]), int(environ["WORLD_SIZE"]))
        return cls()

    def select(self, sequences: Seq[Sequence]) -> list[Sequence]:
        """Longest-first order, then every N-th sequence from K (balances uneven lengths)."""
        if self.count == 1:
            return list(sequences)
        ordered = sorted(sequences, key=lambda s: (-len(s), s.name))
        return [s for i, s in enumerate(ordered) if i % self.count == self.index]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


class RunProgress:
    """Progress callbacks (the CLI draws bars with them); the default does nothing."""

    def run_start(self, total: int, done: int) -> None: ...

    def sequence_start(self, name: str, frames: int) -> None: ...

    def frame(self) -> None: ...

    def sequence_end(self, name: str, error: str | None) -> None: ...


@dataclass
class RunResult:
    """What a run did: where, which sequences ran / were already done / failed, speed, accuracy."""

    store: RunStore
    manifest: dict[str, Any]
    ran: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    evaluation: Any = None
    evaluation_note: str = ""
    warmup_s: float = 0.0
    damaged: list[str] = field(
        default_factory=list
    )  # markers found damaged (their sequences rerun)
    submission: Path | None = None  # the server's layout, for server-scored splits

    @property
    def completed(self) -> int:
        """Sequences of the folder complete now (every shard and earlier invocation)."""
        return int(self.summary.get("sequences", 0))

    @property
    def listed(self) -> int | None:
        """How many sequences the dataset's split lists (the N of "k/N")."""
        value = (self.manifest.get("dataset") or {}).get("listed")
        return value if isinstance(value, int) else None

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class RunSettings:
    """How to run: everything besides the method, its config and the dataset."""

    device: str = "auto"
    precision: str = "fp32"
    weights: Path | None = None
    random_init: bool = False
    warmup_frames: int = 10
    io_workers: int = 1
    shard: Shard = Shard()
    force: bool = False
    evaluate: bool = True
    eval_workers: int | None = None


def run(
    method: str | type[VOSMethod],
    dataset: Dataset,
    *,
    config: Mapping[str, Any] | None = None,
    settings: RunSettings = RunSettings(),
    output: Path | str | None = None,
    results_root: Path | str = "results",
    progress: RunProgress | None = None,
    dataset_spec: Mapping[str, Any] | None = None,
) -> RunResult:
    """Run ``method`` on ``dataset`` and store masks, timings, manifest (and the evaluation).

    Args:
        method: a registered name (``flow``) or a :class:`VOSMethod` subclass
            (``run(MyMethod, dataset)``: no registration needed; its card's name names the run
            folder).
        dataset: the loaded dataset (its sequences, possibly a selection).
        config: option overrides for the method's config dataclass (strings are converted).
        settings: device, precision, weights, warm-up, prefetch, shard, force, evaluation.
        output: the run folder (default ``<results_root>/<dataset>-<split>/<method>[-<hash>]``).
        progress: callbacks for progress bars.
        dataset_spec: how to load the dataset again (name, root, split, task, options); the
            report re-evaluates runs from it. Default: derived from ``dataset``.

    Raises:
        ConfigError: unknown method or option, missing weights, a device or precision the
            method does not support, an output folder holding another run.
    """
    progress = progress or RunProgress()
    method_class, method_config, device, weights, recorded = _resolve(
        method, dataset, config, settings
    )
    manifest = _manifest(
        method_class.card.name,
        method_class,
        method_config,
        (weights, recorded),
        settings,
        device,
        dataset,
        dataset_spec,
    )
    folder = _run_folder(
        output, results_root, dataset, method_class, method_config, weights, settings, manifest
    )
    store = RunStore(folder, worker=f"shard-{settings.shard.index}-of-{settings.shard.count}")
    store.refuse_foreign(
        force=settings.force
    )  # before a lock file is made in someone else's folder
    locks = RunLocks(folder)
    with locks.folder(exclusive=settings.force), locks.worker(store.worker):
        manifest = store.open(manifest, force=settings.force)
        result = _run_sequences(
            store,
            manifest,
            method_class,
            method_config,
            device,
            (weights, recorded),
            dataset,
            settings,
            progress,
        )
        _write_run_files(result, settings)
        if is_server_scored(dataset) and settings.shard.count == 1 and result.store.records():
            result.submission = write_submission_folder(result.store.root, dataset)
    if settings.evaluate:
        _evaluate_if_possible(result, dataset, settings)
    return result


def _run_sequences(
    store: RunStore,
    manifest: dict[str, Any],
    method_class: type,
    method_config: Any,
    device: torch.device,
    checkpoint: tuple[Path | None, Mapping[str, Any] | None],
    dataset: Dataset,
    settings: RunSettings,
    progress: RunProgress,
) -> RunResult:
    """Run every sequence of this shard that is not done yet (under the folder's locks)."""
    weights, recorded = checkpoint
    damaged = store.scan().damaged
    todo = settings.shard.select(dataset.sequences)
    pending = [s for s in todo if not store.is_done(s.name, manifest["config_hash"])]
    result = RunResult(
        store,
        manifest,
        resumed=[s.name for s in todo if s not in pending],
        damaged=[str(problem) for problem in damaged],
    )
    progress.run_start(len(todo), len(result.resumed))
    if pending:
        instance = _instantiate(method_class, method_config, device, weights, recorded, settings)
        timer = Timer(device)
        warmup_started = timer.now()
        for sequence in _warm_up_sequences(instance, pending):
            _warm_up(instance, sequence, dataset, device, settings.warmup_frames)
        result.warmup_s = timer.now() - warmup_started
        probe = LoadProbe(gpu=device.type == "cuda")
        for sequence in pending:
            _run_one(instance, sequence, dataset, store, timer, settings, result, progress, probe)
    return result


def _instantiate(
    method_class: type,
    config: Any,
    device: torch.device,
    weights: Path | None,
    recorded: Mapping[str, Any] | None,
    settings: RunSettings,
) -> VOSMethod:
    """The method, built on ``weights``; a file without an architecture record that does not fit
    gets a note on the options it may have been made for."""
    try:
        return method_class(
            config,
            device=device,
            weights=str(weights) if weights else None,
            precision=settings.precision,
        )
    except WeightsError as error:
        names = architecture_options(method_class.Config)
        if weights is None or recorded is not None or not names:
            raise
        current = ", ".join(f"{name}={show(getattr(config, name))}" for name in names)
        fits = _fitting_choices(method_class, config, weights, names)
        hint = (
            f"; the weights fit {' or '.join(fits)}: pass it with -c"
            if fits
            else ": if the weights were made with other values, pass them with -c"
        )
        raise WeightsError(
            error.path,
            f"{error.reason}\n"
            f"  warning: the file records no network configuration (a checkpoint written before "
            f"vosbench recorded one, or not by vosbench); this run built {current}{hint}",
            error.missing,
            error.unexpected,
            error.mismatched,
        ) from None


def _fitting_choices(method_class: type, config: Any, weights: Path, names: Seq[str]) -> list[str]:
    """``name=value`` for each other choice of an architecture option whose network the file's
    keys and shapes fit (networks built on the meta device: shapes only); [] when unknown."""
    import dataclasses

    from vosbench.runner.checkpoint import fit_state_dict, read_state_dict
    from vosbench.runner.options import valid_range

    build = getattr(method_class, "build_network", None)
    if build is None:
        return []
    try:
        state = read_state_dict(weights, method=method_class.card.name)
    except WeightsError:
        return []
    fields = {f.name: f for f in dataclasses.fields(config)}
    fits = []
    for name in names:
        valid = valid_range(fields[name])
        choices = valid.choices if valid is not None and valid.choices is not None else ()
        if not choices and isinstance(getattr(config, name), bool):
            choices = (False, True)
        for choice in choices:
            if choice == getattr(config, name):
                continue
            try:
                with torch.device("meta"):
                    expected = build(dataclasses.replace(config, **{name: choice})).state_dict()
                fit_state_dict(expected, state, weights)
            except (VosbenchError, TypeError, ValueError, RuntimeError):
                continue
            fits.append(f"{name}={show(choice)}")
    return fits


def _resolve(
    method: str | type[VOSMethod],
    dataset: Dataset,
    config: Mapping[str, Any] | None,
    settings: RunSettings,
):
    """The method class, its config, the device and the weights file, all checked."""
    method_class = get_method(method)
    card = method_class.card
    _check_task(card.task, dataset)
    weights = required_weights_file(card, settings.weights, settings.random_init)
    recorded = read_architecture(weights, method=card.name) if weights is not None else None
    method_config, _ = config_with_checkpoint(method_class.Config, config, recorded, weights)
    device = resolve_device(settings.device, card.devices, card.name)
    if settings.precision not in card.precisions:
        raise ConfigError(
            f"{card.name} supports precision {', '.join(card.precisions)}, not "
            f"{settings.precision!r}"
        )
    return method_class, method_config, device, weights, recorded


def _run_folder(
    output: Path | str | None,
    results_root: Path | str,
    dataset: Dataset,
    method_class: type,
    method_config: Any,
    weights: Path | None,
    settings: RunSettings,
    manifest: dict[str, Any],
) -> Path:
    """The run folder (default settings get the plain method name)."""
    if output is not None:
        return Path(output)
    default = (
        method_config == method_class.Config() and weights is None and settings.precision == "fp32"
    )
    return default_output(
        results_root, dataset, method_class.card.name, None if default else manifest["config_hash"]
    )


def _write_run_files(result: RunResult, settings: RunSettings) -> None:
    """summary.json and timing.csv over every completed sequence (all shards so far)."""
    records = result.store.records()
    result.summary = {
        **summarize(records),
        **exclusivity(records, settings.shard.count),
        "warmup_s": round(result.warmup_s, 3),
    }  # this invocation's, compilation included
    result.store.write_timing_csv(records)
    write_json(result.store.root / "summary.json", result.summary)


def _run_one(
    method: VOSMethod,
    sequence: Sequence,
    dataset: Dataset,
    store: RunStore,
    timer: Timer,
    settings: RunSettings,
    result: RunResult,
    progress: RunProgress,
    probe: LoadProbe,
) -> None:
    """Run one sequence and commit it, or record its failure; the run goes on either way."""
    progress.sequence_start(sequence.name, len(sequence))
    writer = store.staging(sequence.name)
    try:
        probe.start()
        record = run_sequence(
            method, sequence, dataset, timer, writer.write, settings.io_workers, progress
        )
        load = probe.stop()
        export_official(dataset, sequence, writer.folder, store.root)
    except Exception as error:  # noqa: BLE001 - a crashing method must not end the run
        writer.abandon()
        message = f"{type(error).__name__}: {error}"
        store.record_failure(
            sequence.name,
            {
                "sequence": sequence.name,
                "error": message,
                "traceback": traceback.format_exc(),
                "config_hash": result.manifest["config_hash"],
                "time": _now(),
            },
        )
        result.failures[sequence.name] = message
        progress.sequence_end(sequence.name, message)
        return
    except BaseException:
        writer.abandon()
        raise
    alone = sequence_exclusive(load)
    record.update(
        config_hash=result.manifest["config_hash"],
        shard=str(settings.shard),
        load=load,
        exclusive=settings.shard.count == 1 and alone is not False,
        io_workers=settings.io_workers,
        finished=_now(),
    )
    writer.commit(record)
    result.ran.append(sequence.name)
    progress.sequence_end(sequence.name, None)


def export_official(dataset: Dataset, sequence: Sequence, masks_dir: Path, run_root: Path) -> None:
    """Also write a sequence's masks in the layout its benchmark's official evaluator reads,
    under ``<run>/official/``, when the dataset's catalogue entry names an exporter
    (``export="module:function"``, called as ``function(sequence, masks_dir, out_dir)``; SA-V's
    one binary PNG per object). The run's own ``masks/`` keep one id map per frame."""
    from vosbench.datasets import DATASETS
    from vosbench.errors import UnknownNameError
    from vosbench.registry import import_object

    try:
        spec = DATASETS.entry(dataset.name).info.get("export")
    except UnknownNameError:
        return
    if spec:
        import_object(spec)(sequence, masks_dir, run_root / "official")


def run_sequence(
    method: VOSMethod,
    sequence: Sequence,
    dataset: Dataset,
    timer: Timer,
    write: Callable[[str, bytes], None] | None = None,
    io_workers: int = 1,
    progress: RunProgress | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Run ``method`` over one sequence; ``write(stem, png_bytes)`` receives each answer.

    Returns the sequence's record: frames, object count, per-frame model / end-to-end times,
    peak memory, and the method's own settings for it (``describe()``: input size, scales …).
    ``limit`` stops after that many frames (warm-up).
    """
    device = method.device
    semi = dataset.task == "semi-supervised"
    foreground_only = dataset.task == "unsupervised-single"  # one mask: the proposals' union
    prompts = _load_prompts(sequence) if semi else {}
    stems = sequence.frames[:limit] if limit else sequence.frames
    size = sequence.size
    object_ids = tuple(i for _, ids in prompts.values() for i in ids)
    reader = _frame_reader(sequence, stems, device) if method.card.offline else None
    meta = SequenceMeta(
        sequence.name, len(stems), size, object_ids, dataset.label, frame_reader=reader
    )
    handed: list[int] = []
    lookup = torch.zeros(256, dtype=torch.uint8, device=device)
    id_lookup: torch.Tensor | None = None  # None while channel k is object id k
    method.reset(meta)
    timer.begin_sequence()
    frames = prefetch(stems, sequence.read_frame, workers=io_workers)
    try:
        for stem in stems:
            started = timer.now()
            frame = torch.from_numpy(next(frames)).to(device, non_blocking=True)
            mask, new_ids = prompts.get(stem, (None, None))
            if mask is not None:
                mask = mask.to(device, non_blocking=True)
                handed.extend(new_ids)
                lookup[1 : len(handed) + 1] = torch.tensor(handed, dtype=torch.uint8)
                id_lookup = None if handed == list(range(1, len(handed) + 1)) else lookup
            timer.model_begin()
            with torch.inference_mode():
                answer = method.step(frame, mask, new_ids)
            timer.model_end()
            labels = _to_labels(
                answer,
                id_lookup,
                size,
                sequence.name,
                stem,
                channels=len(handed) + 1 if semi else None,
            )
            if foreground_only:
                labels = (labels > 0).view(np.uint8)
            timer.frame_end(started)
            if write is not None:
                write(stem, encode_mask(labels))
            if progress is not None:
                progress.frame()
    finally:
        frames.close()
    timing = timer.end_sequence()
    return {
        "sequence": sequence.name,
        "frames": list(stems),
        "num_frames": len(stems),
        "num_objects": len(meta.object_ids),
        "object_ids": list(meta.object_ids),
        "size": list(size),
        "model_ms": timing.model_ms,
        "e2e_ms": timing.e2e_ms,
        "init_ms": timing.model_ms[0] if stems else None,
        "peak_host_mb": timing.peak_host_mb,
        "peak_gpu_mb": timing.peak_gpu_mb,
        "method_settings": method.describe(),
    }


def _frame_reader(
    sequence: Sequence, stems: Seq[str], device: torch.device
) -> Callable[[int], torch.Tensor]:
    """Frame index → RGB uint8 tensor on ``device``, decoded on demand (offline methods'
    references)."""

    def read(index: int) -> torch.Tensor:
        if not 0 <= index < len(stems):
            raise IndexError(f"{sequence.name}: frame index {index} outside 0 … {len(stems) - 1}")
        return torch.from_numpy(sequence.read_frame(stems[index])).to(device)

    return read


def _load_prompts(sequence: Sequence) -> dict[str, tuple[torch.Tensor, tuple[int, ...]]]:
    """The annotation of each prompt frame, restricted to the objects that appear there."""
    prompts = {}
    for stem, ids in sequence.prompts().items():
        labels = sequence.read_annotation(stem)
        keep = np.isin(labels, ids)
        prompts[stem] = (
            torch.from_numpy(np.where(keep, labels, 0).astype(np.uint8)),
            tuple(sorted(ids)),
        )
    return prompts


def _to_labels(
    answer: torch.Tensor,
    lookup: torch.Tensor | None,
    size: tuple[int, int],
    sequence: str,
    stem: str,
    channels: int | None = None,
) -> np.ndarray:
    """A method's answer (id map, or probabilities over background + handed objects) → host ids.

    ``channels``: the number of probability channels expected (background + objects handed
    in), None for unsupervised proposals.
    """
    if not isinstance(answer, torch.Tensor):
        raise MethodError(
            f"{sequence}/{stem}: step returned {type(answer).__name__}, expected a torch.Tensor"
        )
    if answer.is_floating_point():
        if answer.ndim != 3 or tuple(answer.shape[1:]) != tuple(size):
            raise MethodError(
                f"{sequence}/{stem}: probabilities of shape {tuple(answer.shape)}, "
                f"expected (K+1, {size[0]}, {size[1]})"
            )
        if channels is not None and answer.shape[0] != channels:
            raise MethodError(
                f"{sequence}/{stem}: {answer.shape[0]} probability channels, expected {channels} "
                f"(background + {channels - 1} object(s) handed in)"
            )
        index = answer.max(0).indices  # as argmax(0) (first maximum), but ~10× faster on CPU
        labels = index.to(torch.uint8) if lookup is None else lookup[index]
    else:
        if tuple(answer.shape) != tuple(size):
            raise MethodError(
                f"{sequence}/{stem}: id map of shape {tuple(answer.shape)}, expected {tuple(size)}"
            )
        labels = answer if answer.dtype == torch.uint8 else answer.to(torch.uint8)
    return labels.cpu().numpy()


def _warm_up_sequences(method: VOSMethod, pending: Seq[Sequence]) -> list[Sequence]:
    """The first pending sequence, or for shape-specialised methods the first of each frame size
    and object count (methods batch objects), so compilation or autotuning stays untimed."""
    if not method.shape_specialised:
        return list(pending[:1])
    by_shape: dict[tuple[tuple[int, int], int], Sequence] = {}
    for sequence in pending:
        objects = sum(len(ids) for ids in sequence.prompts().values())
        by_shape.setdefault((tuple(sequence.size), objects), sequence)
    return list(by_shape.values())


def _warm_up(
    method: VOSMethod, sequence: Sequence, dataset: Dataset, device: torch.device, frames: int
) -> None:
    """Run the first frames of a sequence untimed (caches, allocator, lazy initialisation)."""
    if frames <= 0:
        return
    try:
        run_sequence(method, sequence, dataset, Timer(device), None, io_workers=0, limit=frames)
    except Exception:  # noqa: BLE001 - the real run records the error with its sequence
        pass


def _evaluate_if_possible(result: RunResult, dataset: Dataset, settings: RunSettings) -> None:
    """Evaluate every completed sequence of the folder (not only this invocation's)."""
    if is_server_scored(dataset):
        result.evaluation_note = (
            f"{dataset.label} is scored by its evaluation server only; "
            f"`vosbench submission {result.store.root}` packs the zip it takes"
        )
        return
    if settings.shard.count > 1:
        result.evaluation_note = "shard: `vosbench report` evaluates the merged run"
        return
    done = {r["sequence"] for r in result.store.records()}
    if not done:
        result.evaluation_note = "no completed sequence"
        return
    if any(len(s.annotated) < 2 for s in dataset.sequences if s.name in done):
        result.evaluation_note = "no ground truth beyond the first frame (test split)"
        return
    result.evaluation = evaluate_run(result.store, dataset=dataset, workers=settings.eval_workers)


def resolve_device(requested: str, supported: Seq[str], method: str) -> torch.device:
    """``auto`` → CUDA when present and supported, else CPU; explicit requests are checked."""
    if requested == "auto":
        kind = "cuda" if torch.cuda.is_available() and "cuda" in supported else "cpu"
        return torch.device(kind)
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise ConfigError(f"unknown device {requested!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type not in supported:
        raise ConfigError(f"{method} runs on {', '.join(supported)}, not {device.type}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"--device {requested}: CUDA is not available here (torch {torch.__version__})"
        )
    return device


def required_weights_file(card, weights: Path | None, random_init: bool) -> Path | None:
    """The weights file to use (a path: tags are resolved by vosbench.weights before the run),
    or an error saying how to get one."""
    if weights is not None and random_init:
        raise ConfigError("--weights and --random-init exclude each other")
    if weights is None:
        if card.needs_weights and not random_init:
            raise ConfigError(
                f"{card.name} needs weights. {card.weights_help or 'See its README.'} "
                "Pass --weights FILE"
                + (", --weights TAG or --weights official" if card.weights else "")
                + ", or --random-init for speed tests only."
            )
        return None
    weights = Path(weights)
    if not weights.is_file():
        raise ConfigError(f"{weights}: weights file not found")
    return weights


def default_output(
    results_root: Path | str, dataset: Dataset, method: str, variant: str | None
) -> Path:
    """``<root>/<dataset>-<split>/<method>``, suffixed with the config hash for non-default
    settings."""
    name = method if variant is None else f"{method}-{variant}"
    return Path(results_root) / f"{dataset.name}-{dataset.split}" / name


def _manifest(
    name: str,
    method_class: type,
    config: Any,
    checkpoint: tuple[Path | None, Mapping[str, Any] | None],
    settings: RunSettings,
    device: torch.device,
    dataset: Dataset,
    spec: Mapping[str, Any] | None,
) -> dict[str, Any]:
    weights, recorded = checkpoint
    spec = dict(spec) if spec is not None else dataset_spec(dataset)
    weights_sha = sha256_file(weights) if weights else ""
    identity = {
        key: spec.get(key) for key in ("name", "split", "task", "options")
    }  # the root is compared apart
    return {
        "format": RUN_FORMAT,
        "method": name,
        "card": method_class.card.as_record(),
        "config": config_record(config),
        "config_hash": config_hash(
            name,
            config,
            weights_sha256=weights_sha,
            precision=settings.precision,
            extra={"random_init": settings.random_init},
        ),
        "weights": (
            {"path": str(weights), "sha256": weights_sha, "architecture": recorded}
            if weights
            else None
        ),
        "random_init": settings.random_init,
        "dataset": {
            **spec,
            "label": dataset.label,
            "binary": dataset.binary,
            "sequences": dataset.names,
        },
        "dataset_id": hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[
            :12
        ],
        "device": str(device),
        "device_name": device_name(device),
        "precision": settings.precision,
        "settings": {
            "warmup_frames": settings.warmup_frames,
            "io_workers": settings.io_workers,
            "batch_size": 1,
            "torch_threads": torch.get_num_threads(),
            "shards": settings.shard.count,
        },
        "environment": environment(device),
        "created": _now(),
    }


def _check_task(task: str, dataset: Dataset) -> None:
    """An unsupervised method also serves the ``unsupervised-single`` task (LVOS): the runner
    writes the union of its proposals as the one foreground mask that task scores."""
    if task != dataset.task and (task, dataset.task) != ("unsupervised", "unsupervised-single"):
        hint = "--task unsupervised" if task == "unsupervised" else "--task semi-supervised"
        raise ConfigError(
            f"the method is {task} but {dataset.label} was loaded for the {dataset.task} task; "
            f"pass {hint}"
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
