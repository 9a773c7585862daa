"""The training engine: one loop for every network, the method-specific part in its trainer.

``train(method, config)`` builds the method's network through its trainer
(:mod:`vosbench.train.trainers`), draws batches from the configured clip sources
(:mod:`vosbench.train.sources`) and optimises the trainer's loss with the configured optimizer,
schedule, precision (autocast; a gradient scaler for fp16) and gradient clipping. It writes, in
the run folder:

* ``run.json``: method, config (as given and as read), versions, device;
* ``log.jsonl``: one line per ``log_every`` steps (step, loss terms, learning rate, gradient
  norm, clips/s, elapsed seconds) and one per validation (J&F, J, F);
* ``checkpoints/step-XXXXXXXX.pt`` every ``checkpoint_every`` steps and when a run stops
  (atomic; model, optimizer, scheduler, scaler and RNG states, the step, the sampler position);
* ``validation/step-XXXXXXXX/``: a ``vosbench run`` folder (masks, evaluation) and its weights;
* ``weights.pth``: the trained weights as a vosbench checkpoint (``vosbench run --weights``).

Resuming: running again on the same folder continues from its latest checkpoint (a folder
holding another configuration is refused; ``force`` starts over). Batches depend only on
(seed, step) and every random state is restored, so an interrupted and resumed run ends with
the same weights, bit for bit, as an uninterrupted one (on the CPU; on CUDA with
``train.deterministic``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vosbench import __version__
from vosbench.errors import ConfigError, VosbenchError
from vosbench.io.atomic import atomic_write, atomic_write_text
from vosbench.runner.contexts import precision_context, seeded
from vosbench.train.config import TrainingConfig, build_options, check_clip_sizes, load_config
from vosbench.train.sources import ClipStream, batches, build_source, describe_source
from vosbench.train.trainers import MethodTrainer, get_trainer

TRAIN_FORMAT = "vosbench-train/1"
CHECKPOINT_PATTERN = re.compile(r"^step-(\d{8})\.pt$")
# Settings that never change the weights: left out of the digest that guards resuming.
_BOOKKEEPING = {
    "train": ("checkpoint_every", "keep_checkpoints", "log_every", "time_budget", "threads"),
    "data": ("workers",),
    "validation": None,
}


class TrainingError(VosbenchError):
    """Training cannot go on (a non-finite loss, a checkpoint that does not fit the run …)."""


class TrainProgress:
    """Callbacks for progress display; the default does nothing."""

    def start(self, total: int, done: int) -> None: ...

    def step(self, step: int, terms: Mapping[str, float]) -> None: ...

    def validation(self, step: int, metrics: Mapping[str, float]) -> None: ...

    def close(self) -> None: ...


@dataclass
class TrainResult:
    """What a training invocation did."""

    run_dir: Path
    method: str
    step: int
    stop_reason: str  # finished | max_steps | time_budget
    weights: Path
    resumed_from: int | None = None
    last_terms: dict[str, float] = field(default_factory=dict)
    validations: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0
    # `-c key=value` the weights need (model section), then those validation tests with
    method_options: dict[str, str] = field(default_factory=dict)


@dataclass
class _Run:
    """Everything the loop works on."""

    config: TrainingConfig
    raw: dict[str, Any]
    path: Path
    method: str
    method_config: Any
    trainer: MethodTrainer
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: Any
    stream: ClipStream
    device: torch.device
    run_dir: Path
    digest: str
    elapsed_before: float = 0.0  # training seconds of earlier invocations (resumed runs)


def train(
    config_path: Path | str,
    *,
    method: str | None = None,
    output: Path | str | None = None,
    device: str = "auto",
    max_steps: int | None = None,
    resume: bool | None = None,
    force: bool = False,
    progress: TrainProgress | None = None,
    time_budget: float | None = None,
) -> TrainResult:
    """Train ``method`` with the YAML config at ``config_path``.

    Args:
        method: the method trained; defaults to the config's ``method`` (they must agree).
        output: run folder (default ``results/train/<config file stem>``).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        max_steps: stop after this step (the schedule still follows ``train.steps``).
        resume: None continues from the folder's latest checkpoint when there is one; True
            requires one; False refuses a folder that already holds checkpoints.
        force: start over in a folder holding another run (its checkpoints and log are removed).
        time_budget: seconds of training after which to stop (overrides ``train.time_budget``).

    Raises:
        ConfigError: a bad config (the message names the file and the key), a method without a
            trainer, a folder holding another run.
        TrainingError: a non-finite loss.
    """
    progress = progress or TrainProgress()
    config, raw = load_config(config_path)
    path = Path(config_path)
    if time_budget is not None:
        config = dataclasses.replace(
            config, train=dataclasses.replace(config.train, time_budget=time_budget)
        )
    method = _method_name(method, config, path)
    run_dir = Path(output) if output is not None else Path("results") / "train" / path.stem
    with _threads(config.train.threads), seeded(config.train.seed, cuda=device != "cpu"):
        run = _build(config, raw, path, method, run_dir, device)
        start = _open_run_dir(run, resume, force)
        return _loop(run, start, max_steps, progress)


# -- set-up ------------------------------------------------------------------------------------


def _method_name(method: str | None, config: TrainingConfig, path: Path) -> str:
    from vosbench.runner.methods import METHODS

    if method is None and config.method is None:
        raise ConfigError(
            f"{path}: method: no method given (pass --method or set `method:` in the config)"
        )
    if (
        method is not None
        and config.method is not None
        and METHODS.entry(method).name != METHODS.entry(config.method).name
    ):
        raise ConfigError(f"{path}: method: the config is for {config.method!r}, not {method!r}")
    return METHODS.entry(method or config.method).name


def _build(
    config: TrainingConfig,
    raw: dict[str, Any],
    path: Path,
    method: str,
    run_dir: Path,
    device_name: str,
) -> _Run:
    from vosbench.runner.methods import get_method, make_config
    from vosbench.runner.runner import resolve_device

    method_class = get_method(method)
    trainer_class = get_trainer(method)
    try:
        method_config = make_config(method_class.Config, _tuples(config.model))
    except ConfigError as error:
        raise ConfigError(f"{path}: model: {error}") from None
    options = build_options(trainer_class.Options, config.trainer, path, "trainer")
    trainer = trainer_class(method_class, method_config, options)
    device = resolve_device(device_name, method_class.card.devices, method)
    _check_precision(config.train.precision, device, path)
    sources = [
        build_source(s, config.train.seed + i, path, f"data.sources[{i}]")
        for i, s in enumerate(config.data.sources)
    ]
    check_clip_sizes(
        {f"data.sources[{i}].size": getattr(s, "size", None) for i, s in enumerate(sources)},
        trainer.clip_size_problem,
        path,
    )
    with seeded(config.train.seed):
        model = trainer.build_model()
    _initialise(trainer, model, config, path, method, method_config)
    model.to(device).train()
    optimizer = _optimizer(trainer.parameter_groups(model), config, path)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config))
    scaler = torch.amp.GradScaler(device.type, enabled=config.train.precision == "amp-fp16")
    stream = ClipStream(sources, [s.weight for s in config.data.sources], config.train.seed)
    return _Run(
        config,
        raw,
        path,
        method,
        method_config,
        trainer,
        model,
        optimizer,
        scheduler,
        scaler,
        stream,
        device,
        run_dir,
        config_digest(method, config),
    )


def _tuples(values: Mapping[str, Any]) -> dict[str, Any]:
    """YAML lists become tuples (method configs are frozen dataclasses with tuple fields)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


def run_options(config: TrainingConfig) -> dict[str, str]:
    """The ``vosbench run -c key=value`` options for weights trained with ``config``: the model
    section (what the weights need), then the method options validation tests with."""
    return {k: _option_value(v) for k, v in {**config.model, **config.validation.config}.items()}


def _option_value(value: Any) -> str:
    """A model option as `vosbench run -c` takes it (lists comma-separated)."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _check_precision(precision: str, device: torch.device, path: Path) -> None:
    if precision == "amp-fp16" and device.type != "cuda":
        raise ConfigError(
            f"{path}: train.precision: amp-fp16 trains on CUDA only; use amp-bf16 or fp32 on "
            f"{device}"
        )
    if precision == "tf32" and device.type != "cuda":
        raise ConfigError(
            f"{path}: train.precision: tf32 exists on CUDA only; use fp32 on {device}"
        )


def _initialise(
    trainer: MethodTrainer,
    model: torch.nn.Module,
    config: TrainingConfig,
    path: Path,
    method: str,
    method_config: Any,
) -> None:
    from vosbench.runner.checkpoint import load_state_dict_file, read_architecture
    from vosbench.runner.methods import architecture_record
    from vosbench.runner.options import show

    init = config.init
    for key, value in (("weights", init.weights), ("imagenet", init.imagenet)):
        if value and not Path(value).expanduser().is_file():
            raise ConfigError(
                f"{path}: init.{key}: {value} not found (paths are relative to the working folder)"
            )
    if init.weights:
        weights = Path(init.weights).expanduser()
        recorded = read_architecture(weights, method=method) or {}
        ours = architecture_record(method_config)
        for key, value in recorded.items():
            if key in ours and show(value) != show(ours[key]):
                raise ConfigError(
                    f"{path}: init.weights: {weights} holds weights for {key}={show(value)} "
                    f"(recorded in the checkpoint), but model.{key} is {show(ours[key])}"
                )
        load_state_dict_file(model, weights, method=method)
    elif init.imagenet:
        trainer.load_imagenet(model, str(Path(init.imagenet).expanduser()))


def _optimizer(
    groups: list[dict[str, Any]], config: TrainingConfig, path: Path
) -> torch.optim.Optimizer:
    o = config.optim
    groups = [
        {"params": g["params"], "lr": o.lr * g.get("lr_scale", 1.0), "name": g.get("name", str(i))}
        for i, g in enumerate(groups)
        if g["params"]
    ]
    if not groups:
        raise ConfigError(f"{path}: the network has no trainable parameter")
    if o.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    if o.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay)
    return torch.optim.Adam(groups, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay)


def _schedule(config: TrainingConfig):
    """Learning-rate factor after ``done`` optimizer steps."""
    o, steps = config.optim, config.train.steps

    def factor(done: int) -> float:
        warm = min(1.0, (done + 1) / o.warmup_steps) if o.warmup_steps else 1.0
        if o.scheduler == "poly":
            return warm * (1.0 - min(done, steps) / steps) ** o.power
        if o.scheduler == "step":
            return warm * o.gamma ** (done // o.step_size)
        return warm

    return factor


def config_digest(method: str, config: TrainingConfig) -> str:
    """A digest of everything in a config that changes the weights (bookkeeping left out)."""
    record = dataclasses.asdict(config)
    for section, keys in _BOOKKEEPING.items():
        if keys is None:
            record.pop(section, None)
        else:
            for key in keys:
                record[section].pop(key, None)
    record["method"] = method
    text = json.dumps(record, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextlib.contextmanager
def _threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# -- the run folder --------------------------------------------------------------------------


def _open_run_dir(run: _Run, resume: bool | None, force: bool) -> int:
    """Claim the folder; the step to start from (0, or the latest checkpoint's)."""
    folder = run.run_dir
    existing = checkpoints(folder)
    record = _read_json(folder / "run.json")
    if force and (existing or record):
        shutil.rmtree(folder / "checkpoints", ignore_errors=True)
        for name in ("log.jsonl", "run.json", "weights.pth"):
            (folder / name).unlink(missing_ok=True)
        existing, record = [], None
    if record and record.get("digest") != run.digest:
        raise ConfigError(
            f"{folder} holds a training run with another configuration "
            f"({record.get('method')}, {record.get('config_path')}); choose another --output "
            "or pass --force to start over"
        )
    if resume is True and not existing:
        raise ConfigError(f"{folder}: nothing to resume (no checkpoint)")
    if resume is False and existing:
        raise ConfigError(
            f"{folder} already holds checkpoints; resume it, or pass --force to start over"
        )
    folder.mkdir(parents=True, exist_ok=True)
    if record is None:
        _write_json(folder / "run.json", _run_record(run))
    if not existing:
        _truncate_log(folder / "log.jsonl", 0)
        return 0
    return _restore(run, existing[-1])


def _run_record(run: _Run) -> dict[str, Any]:
    from vosbench.runner.methods import config_record

    return {
        "format": TRAIN_FORMAT,
        "method": run.method,
        "digest": run.digest,
        "config_path": str(run.path),
        "config": run.raw,
        "resolved": json.loads(json.dumps(dataclasses.asdict(run.config), default=str)),
        "method_config": config_record(run.method_config),
        "trainer": run.trainer.describe(),
        "sources": [describe_source(s) for s in run.stream.sources],
        "device": str(run.device),
        "environment": {
            "vosbench": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "cuda": torch.cuda.get_device_name(run.device) if run.device.type == "cuda" else None,
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def checkpoints(folder: Path) -> list[Path]:
    """A run folder's checkpoints, oldest first."""
    directory = Path(folder) / "checkpoints"
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if CHECKPOINT_PATTERN.match(p.name))


def _save(run: _Run, step: int, elapsed: float) -> Path:
    cuda = torch.cuda.get_rng_state_all() if run.device.type == "cuda" else []
    record = {
        "format": TRAIN_FORMAT,
        "method": run.method,
        "digest": run.digest,
        "step": step,
        "elapsed_s": elapsed,
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "scaler": run.scaler.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "cuda": cuda},
        "sampler": {
            "seed": run.config.train.seed,
            "batch_size": run.config.data.batch_size,
            "next_clip": step * run.config.data.batch_size,
        },
    }
    path = run.run_dir / "checkpoints" / f"step-{step:08d}.pt"
    atomic_write(path, lambda tmp: torch.save(record, tmp))
    for old in checkpoints(run.run_dir)[: -run.config.train.keep_checkpoints]:
        old.unlink(missing_ok=True)
    return path


def _restore(run: _Run, path: Path) -> int:
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a torn or foreign file
        raise TrainingError(f"{path}: cannot be read as a training checkpoint ({error})") from None
    if record.get("format") != TRAIN_FORMAT or record.get("digest") != run.digest:
        raise TrainingError(
            f"{path}: not a checkpoint of this run (format or configuration differ)"
        )
    run.model.load_state_dict(record["model"])
    run.optimizer.load_state_dict(record["optimizer"])
    run.scheduler.load_state_dict(record["scheduler"])
    run.scaler.load_state_dict(record["scaler"])
    torch.set_rng_state(record["rng"]["torch"])
    if run.device.type == "cuda" and record["rng"]["cuda"]:
        torch.cuda.set_rng_state_all(record["rng"]["cuda"])
    step = int(record["step"])
    run.elapsed_before = float(record.get("elapsed_s", 0.0))
    _truncate_log(run.run_dir / "log.jsonl", step)
    return step


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines after ``step`` (they belong to steps a resumed run does again)."""
    if not path.exists():
        return
    kept = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line).get("step", 0) <= step
    ]
    atomic_write_text(path, "".join(line + "\n" for line in kept))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"{path}: unreadable run record ({error}); pass --force to start over"
        ) from None


def _write_json(path: Path, value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, default=str) + "\n")


# -- the loop --------------------------------------------------------------------------------


def _loop(run: _Run, start: int, max_steps: int | None, progress: TrainProgress) -> TrainResult:
    config = run.config
    steps = config.train.steps
    stop = max(start, min(steps, max_steps) if max_steps is not None else steps)
    result = TrainResult(
        run.run_dir,
        run.method,
        start,
        "finished" if stop == steps else "max_steps",
        run.run_dir / "weights.pth",
        resumed_from=start or None,
        method_options=run_options(config),
    )
    budget = config.train.time_budget
    params = [p for group in run.optimizer.param_groups for p in group["params"]]
    progress.start(steps, start)
    began = time.perf_counter()

    def elapsed() -> float:
        return run.elapsed_before + time.perf_counter() - began

    window: dict[str, Any] = {"time": began, "steps": 0, "sums": {}}
    longest, done = 0.0, start
    cudnn = (
        torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True)
        if config.train.deterministic
        else contextlib.nullcontext()
    )
    with log_file(run.run_dir / "log.jsonl") as log, cudnn:
        loader = batches(
            run.stream,
            start,
            stop,
            config.data.batch_size,
            config.data.workers,
            pin_memory=run.device.type == "cuda",
        )
        try:
            while done < stop:
                began_step = time.perf_counter()
                if (
                    budget is not None and elapsed() + longest > budget
                ):  # the next step would overrun
                    result.stop_reason = "time_budget"
                    break
                batch = next(loader).to(run.device)
                with precision_context(run.device, config.train.precision):
                    terms = run.trainer.loss(run.model, batch)
                grad_norm = _optimise(run, terms["loss"], params, done, batch)
                done += 1
                values = {k: float(v.detach()) for k, v in terms.items()}
                if grad_norm is not None:
                    values["grad_norm"] = grad_norm
                longest = max(longest, time.perf_counter() - began_step)
                _accumulate(window, values)
                progress.step(done, values)
                if done % config.train.log_every == 0 or done == stop:
                    result.last_terms = _log_window(log, window, run, done, elapsed())
                if done % config.train.checkpoint_every == 0 and done != stop:
                    _save(run, done, elapsed())
                if config.validation.every and done % config.validation.every == 0:
                    result.validations.append(_validate(run, done, log, progress))
            if window["steps"]:
                result.last_terms = _log_window(log, window, run, done, elapsed())
        finally:
            _close(loader)
    result.step, result.elapsed_s = done, elapsed()
    if done > start or not checkpoints(run.run_dir):
        _save(run, done, result.elapsed_s)
    export_weights(run, run.run_dir / "weights.pth", done)
    progress.close()
    return result


def _optimise(
    run: _Run, loss: torch.Tensor, params: list[torch.nn.Parameter], step: int, batch
) -> float | None:
    """One optimizer step; the gradient norm (before clipping) when clipping is on."""
    if not torch.isfinite(loss.detach()):
        raise TrainingError(
            f"the loss is {float(loss.detach())} at step {step + 1} (clips: "
            f"{', '.join(batch.sources)}); lower the learning rate or clip gradients "
            "(optim.clip_grad_norm)"
        )
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    norm = None
    clip = run.config.optim.clip_grad_norm
    if clip is not None:
        run.scaler.unscale_(run.optimizer)
        norm = float(torch.nn.utils.clip_grad_norm_(params, clip))
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.scheduler.step()
    return norm


def _accumulate(window: dict[str, Any], values: Mapping[str, float]) -> None:
    window["steps"] += 1
    for key, value in values.items():
        window["sums"][key] = window["sums"].get(key, 0.0) + value


def _log_window(
    log, window: dict[str, Any], run: _Run, step: int, elapsed: float
) -> dict[str, float]:
    """One log line: means over the steps since the last line, learning rates, throughput."""
    now = time.perf_counter()
    count = max(window["steps"], 1)
    means = {k: v / count for k, v in window["sums"].items()}
    line = {
        "step": step,
        **{k: round(v, 6) for k, v in means.items()},
        "lr": [group["lr"] for group in run.optimizer.param_groups],
        "clips_per_s": round(
            count * run.config.data.batch_size / max(now - window["time"], 1e-9), 3
        ),
        "elapsed_s": round(elapsed, 2),
    }
    log(line)
    window.update(time=now, steps=0, sums={})
    return means


@contextlib.contextmanager
def log_file(path: Path) -> Iterator[Any]:
    """An appending JSONL writer, flushed line by line (a crash loses at most one line)."""
    with open(path, "a", encoding="utf-8") as handle:

        def write(record: Mapping[str, Any]) -> None:
            handle.write(json.dumps(record, default=str) + "\n")
            handle.flush()

        yield write


def _close(loader: Any) -> None:
    shutdown = getattr(loader, "_shutdown_workers", None)
    if callable(shutdown):
        shutdown()


# -- export and validation -------------------------------------------------------------------


def export_weights(run: _Run, path: Path, step: int) -> Path:
    """The trained weights as a vosbench checkpoint that ``vosbench run --weights`` loads."""
    from vosbench.runner.checkpoint import save_checkpoint
    from vosbench.runner.methods import architecture_record, config_record

    training = {
        "format": TRAIN_FORMAT,
        "step": step,
        "steps": run.config.train.steps,
        "digest": run.digest,
        "config_path": str(run.path),
        "method_config": config_record(run.method_config),
    }
    return save_checkpoint(
        path,
        run.trainer.export_state(run.model),
        method=run.method,
        training=training,
        architecture=architecture_record(run.method_config),
    )


def _validate(run: _Run, step: int, log, progress: TrainProgress) -> dict[str, Any]:
    """J&F of the current weights on the validation set, through the runner and the evaluator."""
    from vosbench.datasets import load_dataset
    from vosbench.runner import RunSettings
    from vosbench.runner import run as run_method
    from vosbench.runner.methods import get_method

    v = run.config.validation
    folder = run.run_dir / "validation" / f"step-{step:08d}"
    weights = export_weights(run, folder / "weights.pth", step)
    task = get_method(run.config.method).card.task  # COSNet validates on the unsupervised task
    dataset = load_dataset(
        v.dataset,
        v.root,
        v.split,
        task=task,
        sequences=list(v.sequences) if v.sequences else None,
        **v.options,
    )
    config = {**_tuples(run.config.model), **_tuples(v.config)}
    settings = RunSettings(
        device=str(run.device),
        weights=weights,
        warmup_frames=0,
        io_workers=0,
        force=True,
        eval_workers=1,
    )
    with torch.random.fork_rng(devices=[]):  # validation never shifts the training's random state
        outcome = run_method(
            run.method, dataset, config=config, settings=settings, output=folder / "run"
        )
    metrics = outcome.evaluation.global_metrics() if outcome.evaluation is not None else {}
    record = {
        "step": step,
        "validation": {k: round(v, 6) for k, v in metrics.items()},
        "dataset": dataset.label,
        "sequences": len(dataset),
        "failures": sorted(outcome.failures),
    }
    log(record)
    progress.validation(step, metrics)
    return record


def bundled_configs() -> list[Path]:
    """Folders searched for config names (``rgmp_tiny`` → ``configs/train/rgmp_tiny.yaml``)."""
    import sys

    here = Path(__file__).resolve()
    return [
        here.parents[2] / "configs" / "train",
        Path(sys.prefix) / "share" / "vosbench" / "configs" / "train",
    ]


def find_config(name: str) -> Path:
    """A config file from a path or the name of a bundled config."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    for folder in bundled_configs():
        for candidate in (folder / name, folder / f"{name}.yaml"):
            if candidate.is_file():
                return candidate
    known = sorted(
        {p.stem for folder in bundled_configs() if folder.is_dir() for p in folder.glob("*.yaml")}
    )
    raise ConfigError(
        f"{name}: no such config file, nor a bundled config name (bundled: "
        f"{', '.join(known) or 'none'})"
    )


def config_names() -> list[tuple[str, Path]]:
    """Bundled config names and files."""
    found: dict[str, Path] = {}
    for folder in bundled_configs():
        if folder.is_dir():
            for p in sorted(folder.glob("*.yaml")):
                found.setdefault(p.stem, p)
    return sorted(found.items())
