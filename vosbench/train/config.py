"""Training configuration: a YAML file read into typed dataclasses, with errors naming file and key.

A config has the sections below (every key optional except ``data.sources``)::

    method: rgmp                # the method trained (must match --method when both are given)
    model: {size: tiny}         # options of the method's own config (as `vosbench run -c`)
    trainer: {truncate: 4}      # options of the method's trainer (see its Options dataclass)
    init: {weights: null, imagenet: null}
    data:
      batch_size: 4
      workers: 0
      sources:                  # where clips come from; one is drawn per clip by weight
        - {kind: video, weight: 1, dataset: synthetic, split: train, frames: 3, size: [128, 224]}
    optim: {optimizer: adam, lr: 1.0e-4, scheduler: poly, clip_grad_norm: 5.0}
    train: {steps: 1000, seed: 0, precision: fp32, checkpoint_every: 200, log_every: 10}
    validation: {every: 0, dataset: synthetic, split: val, sequences: [...],
                 config: {scales: "1.0"}}

String values may name environment variables (``root: ${DAVIS_ROOT}``), so a config can be
shared without editing its paths. Unknown keys, wrong types, bad values and unset variables raise
:class:`vosbench.errors.ConfigError` whose message starts with ``<file>: <section.key>``.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vosbench.errors import ConfigError
from vosbench.runner.options import check_options, is_union

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("constant", "poly", "step")
TRAIN_PRECISIONS = ("fp32", "tf32", "amp-bf16", "amp-fp16")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class SourceConfig:
    """One clip source: its registered kind, its share of the clips and its own options.

    Every key besides ``kind`` and ``weight`` is passed to the source's constructor (for
    ``video``: dataset, root, split, frames, size, max_skip …; see :mod:`vosbench.train.video`).
    """

    kind: str
    weight: float = 1.0
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise ValueError(f"weight must be > 0, got {self.weight}")


@dataclass(frozen=True)
class DataConfig:
    """Clips per step, loading processes, and the clip sources."""

    sources: tuple[SourceConfig, ...] = ()
    batch_size: int = 4
    workers: int = 0

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError("sources: at least one clip source is needed")
        if self.batch_size < 1 or self.workers < 0:
            raise ValueError("batch_size must be >= 1 and workers >= 0")


@dataclass(frozen=True)
class InitConfig:
    """Where the weights start: a vosbench checkpoint (e.g. of static pretraining) or an ImageNet
    backbone file with torchvision's keys; neither gives the seeded random initialisation."""

    weights: str | None = None
    imagenet: str | None = None

    def __post_init__(self) -> None:
        if self.weights and self.imagenet:
            raise ValueError(
                "weights and imagenet exclude each other (a checkpoint already holds a backbone)"
            )


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer, learning-rate schedule and gradient clipping.

    ``lr`` is the base rate; a trainer's parameter groups scale it (``lr_scale``). Schedules:
    ``constant``; ``poly`` (× (1 − step/steps)^power); ``step`` (× gamma every step_size steps);
    each after ``warmup_steps`` of linear warm-up.
    """

    optimizer: str = "adam"
    lr: float = 1e-4
    momentum: float = 0.9
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    scheduler: str = "constant"
    power: float = 0.9
    step_size: int = 1000
    gamma: float = 0.1
    warmup_steps: int = 0
    clip_grad_norm: float | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}"
            )
        if self.scheduler not in SCHEDULERS:
            raise ValueError(
                f"scheduler must be one of {', '.join(SCHEDULERS)}, not {self.scheduler!r}"
            )
        if not self.lr > 0 or self.weight_decay < 0 or self.step_size < 1 or self.warmup_steps < 0:
            raise ValueError("need lr > 0, weight_decay >= 0, step_size >= 1, warmup_steps >= 0")
        if self.clip_grad_norm is not None and not self.clip_grad_norm > 0:
            raise ValueError(f"clip_grad_norm must be > 0 (or null), got {self.clip_grad_norm}")


@dataclass(frozen=True)
class TrainConfig:
    """Length, seed, precision and the bookkeeping intervals.

    ``time_budget`` (seconds, wall clock, validation included) stops a run early with a
    checkpoint and the exported weights; the schedule still follows ``steps``. ``threads`` sets
    torch's CPU threads (0: leave). ``deterministic`` makes cuDNN pick deterministic algorithms
    (needed for bit-identical resumes on CUDA; CPU runs are deterministic anyway).
    """

    steps: int = 1000
    seed: int = 0
    precision: str = "fp32"
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 10
    time_budget: float | None = None
    threads: int = 0
    deterministic: bool = False

    def __post_init__(self) -> None:
        if self.precision not in TRAIN_PRECISIONS:
            raise ValueError(
                f"precision must be one of {', '.join(TRAIN_PRECISIONS)}, not {self.precision!r}"
            )
        if (
            self.steps < 1
            or self.checkpoint_every < 1
            or self.log_every < 1
            or self.keep_checkpoints < 1
        ):
            raise ValueError("steps, checkpoint_every, log_every and keep_checkpoints must be >= 1")
        if self.seed < 0 or self.threads < 0:
            raise ValueError("seed and threads must be >= 0")
        if self.time_budget is not None and not self.time_budget > 0:
            raise ValueError(f"time_budget must be > 0 seconds (or null), got {self.time_budget}")


@dataclass(frozen=True)
class ValidationConfig:
    """J&F on a held-out dataset every ``every`` steps (0: never), through ``vosbench run``'s
    runner.

    ``config``: method option overrides for validation only (e.g. ``scales: "1.0"``).
    """

    every: int = 0
    dataset: str = "synthetic"
    root: str | None = None
    split: str | None = None
    sequences: tuple[str, ...] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.every < 0:
            raise ValueError(f"every must be >= 0, got {self.every}")


@dataclass(frozen=True)
class TrainingConfig:
    """A whole training configuration (see the module docstring)."""

    method: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    trainer: dict[str, Any] = field(default_factory=dict)
    init: InitConfig = InitConfig()
    data: DataConfig = field(default_factory=lambda: DataConfig(sources=(SourceConfig("video"),)))
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()
    validation: ValidationConfig = ValidationConfig()


def load_config(path: Path | str) -> tuple[TrainingConfig, dict[str, Any]]:
    """Read a YAML training config; returns the typed config and the raw mapping (recorded in
    runs)."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: training config not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read ({error})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    if raw is None:
        raw = {}
    raw = expand_variables(raw, path)
    return parse_config(raw, path), raw


def expand_variables(value: Any, path: Path | str, where: str = "") -> Any:
    """``${NAME}`` in string values replaced by the environment variable (an error when unset)."""
    if isinstance(value, Mapping):
        return {k: expand_variables(v, path, _join(where, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_variables(v, path, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(
                f"{path}: {where}: environment variable {name} is not set (the config reads "
                f"${{{name}}})"
            )
        return os.environ[name]

    return _VARIABLE.sub(lookup, value)


def check_clip_sizes(
    sizes: Mapping[str, tuple[int, int] | None],
    problem: Callable[[tuple[int, int]], str | None],
    path: Path | str,
) -> None:
    """Refuse the first clip size the trainer cannot train on (``problem(size)``: why, or None).

    ``sizes`` maps each source's key (``data.sources[0].size``) to its (H, W), None when the source
    has no fixed size. A size that does not fit a network otherwise fails deep inside torch at the
    first step, after the network is built.
    """
    for where, size in sizes.items():
        if size is None:
            continue
        height, width = int(size[0]), int(size[1])
        reason = problem((height, width))
        if reason:
            raise ConfigError(f"{path}: {where}: [{height}, {width}]: {reason}")


def parse_config(raw: Any, path: Path | str = "<config>") -> TrainingConfig:
    """The typed config from a mapping (as YAML gives it)."""
    return _build(TrainingConfig, raw, str(path), "")


def build_options(cls: type, raw: Any, path: Path | str, where: str) -> Any:
    """A trainer's or source's options dataclass from a mapping, with the same checks and
    messages."""
    return _build(cls, raw, str(path), where)


def _build(cls: type, raw: Any, path: str, where: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: {where or 'top level'}: expected a mapping, got {_kind(raw)}")
    if cls is SourceConfig:
        return _source(raw, path, where)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = [key for key in raw if key not in fields]
    if unknown:
        key = str(unknown[0])
        close = difflib.get_close_matches(key, list(fields), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(fields)})"
        raise ConfigError(f"{path}: {_join(where, key)}: unknown key{hint}")
    values = {key: _value(value, hints[key], path, _join(where, key)) for key, value in raw.items()}
    try:
        built = cls(**values)
        check_options(built)  # ranges declared with vosbench.runner.options.option
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: {where or 'top level'}: {error}") from None
    return built


def _source(raw: Mapping[str, Any], path: str, where: str) -> SourceConfig:
    if "kind" not in raw:
        raise ConfigError(f"{path}: {where}: a source needs a 'kind' (e.g. video, static)")
    kind = _value(raw["kind"], str, path, _join(where, "kind"))
    weight = _value(raw.get("weight", 1.0), float, path, _join(where, "weight"))
    options = {str(k): v for k, v in raw.items() if k not in ("kind", "weight")}
    try:
        return SourceConfig(kind, weight, options)
    except ValueError as error:
        raise ConfigError(f"{path}: {where}: {error}") from None


def _value(value: Any, kind: Any, path: str, where: str) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if is_union(kind):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _value(value, inner[0], path, where)
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, path, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: {where}: expected a list, got {_kind(value)}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            items = [_value(v, args[0], path, f"{where}[{i}]") for i, v in enumerate(value)]
        elif origin is tuple and args:
            if len(value) != len(args):
                raise ConfigError(f"{path}: {where}: expected {len(args)} values, got {len(value)}")
            items = [
                _value(v, a, path, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args))
            ]
        else:
            item = args[0] if args else Any
            items = [_value(v, item, path, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping) or kind is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: {where}: expected a mapping, got {_kind(value)}")
        return {str(k): v for k, v in value.items()}
    if kind is Any:
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: {where}: expected true or false, got {_kind(value)}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: {where}: expected an integer, got {_kind(value)}")
        return value
    if kind is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-5 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: {where}: expected a number, got {_kind(value)}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: {where}: expected a string, got {_kind(value)}")
        return value
    return value


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return (
        f"{type(value).__name__} {value!r}"
        if not isinstance(value, (dict, list))
        else type(value).__name__
    )
