"""Clip sources and the deterministic stream of training batches drawn from them.

A clip source is any object with ``sample(rng) -> Clip`` (see :class:`ClipSource`), built from a
config entry ``{kind: <registered name>, weight: w, **options}`` as ``Class(**options, seed=seed)``.
Sources are registered by name in :data:`CLIP_SOURCES` (lazy ``"module:Class"`` strings; outside
packages add theirs through the entry-point group ``vosbench.clip_sources``).

Determinism: clip ``i`` of the stream (``i = step · batch_size + b``) is drawn with a generator
seeded by ``(seed, i)``: the source is chosen by weight, then ``source.sample(rng)`` makes the clip.
The batches therefore depend only on (seed, step): a resumed run sees exactly the clips an
uninterrupted one would, whatever the number of loading processes.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from vosbench.errors import ConfigError, UnknownNameError
from vosbench.registry import Registry
from vosbench.train.clips import Clip
from vosbench.train.config import SourceConfig

CLIP_SOURCES: Registry = Registry("clip source", entry_point_group="vosbench.clip_sources")
CLIP_SOURCES.register(
    "video",
    "vosbench.train.video:VideoClips",
    description="clips of T frames in temporal order from any vosbench dataset",
)
CLIP_SOURCES.register(
    "static",
    "vosbench.train.static:StaticClips",
    description="clips simulated from still images with instance masks (pretraining)",
)


@runtime_checkable
class ClipSource(Protocol):
    """What the engine needs from a source: one clip per call, all randomness from ``rng``."""

    def sample(self, rng: np.random.Generator) -> Clip: ...


def clip_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of clip ``index`` of a stream seeded with ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(index)])))


def build_source(config: SourceConfig, seed: int, path: Path | str, where: str) -> ClipSource:
    """Instantiate a registered source from its config entry; errors name the file and the entry."""
    try:
        cls = CLIP_SOURCES.get(config.kind)
    except ImportError as error:
        raise ConfigError(
            f"{path}: {where}.kind: source {config.kind!r} cannot be loaded ({error})"
        ) from None
    except (ConfigError, UnknownNameError) as error:
        raise ConfigError(f"{path}: {where}.kind: {error}") from None
    accepted = inspect.signature(cls).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        unknown = [k for k in config.options if k not in accepted]
        if unknown:
            known = ", ".join(k for k in accepted if k != "seed")
            raise ConfigError(
                f"{path}: {where}.{unknown[0]}: unknown option of source {config.kind!r} "
                f"(options: {known})"
            )
    try:
        source = cls(**config.options, seed=seed)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: {where}: {error}") from None
    if not isinstance(source, ClipSource):
        raise ConfigError(
            f"{path}: {where}.kind: {config.kind!r} builds no clip source (no sample(rng) method)"
        )
    return source


@dataclass
class ClipBatch:
    """B clips stacked: frames (B, T, H, W, 3) uint8, masks (B, T, H, W) uint8 ids (255 void),
    previous (B, T, H, W) uint8 simulated previous masks where ``has_previous`` (zeros
    elsewhere)."""

    frames: torch.Tensor
    masks: torch.Tensor
    previous: torch.Tensor
    has_previous: torch.Tensor
    sources: list[str]

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def to(self, device: torch.device) -> ClipBatch:
        move = {"non_blocking": device.type == "cuda"}
        return ClipBatch(
            self.frames.to(device, **move),
            self.masks.to(device, **move),
            self.previous.to(device, **move),
            self.has_previous.to(device, **move),
            self.sources,
        )

    def rgb(self) -> torch.Tensor:
        """Frames as float (B, T, 3, H, W) in [0, 1]."""
        return self.frames.permute(0, 1, 4, 2, 3).float().div_(255.0)

    def pin_memory(self) -> ClipBatch:
        return ClipBatch(
            self.frames.pin_memory(),
            self.masks.pin_memory(),
            self.previous.pin_memory(),
            self.has_previous.pin_memory(),
            self.sources,
        )


def collate(clips: Sequence[Clip]) -> ClipBatch:
    """Stack clips of one shape into a :class:`ClipBatch` (a clear error when shapes differ)."""
    shapes = {c.frames.shape for c in clips}
    if len(shapes) > 1:
        listed = ", ".join(f"{c.source or '?'} {tuple(c.frames.shape[:3])}" for c in clips)
        raise ConfigError(
            f"clips of one batch must share frames and size (T, H, W); got {listed}. "
            "Give every source the same frames and size."
        )
    previous = [c.previous if c.previous is not None else np.zeros_like(c.masks) for c in clips]
    return ClipBatch(
        torch.from_numpy(np.stack([c.frames for c in clips])),
        torch.from_numpy(np.stack([c.masks for c in clips])),
        torch.from_numpy(np.stack(previous)),
        torch.tensor([c.previous is not None for c in clips]),
        [c.source for c in clips],
    )


class ClipStream(torch.utils.data.Dataset):
    """Clip ``i`` → a deterministic clip from one of the weighted sources (see the module
    docstring)."""

    def __init__(self, sources: Sequence[ClipSource], weights: Sequence[float], seed: int):
        if len(sources) != len(weights) or not sources:
            raise ValueError("need one weight per source and at least one source")
        self.sources = list(sources)
        total = float(sum(weights))
        self.cumulative = np.cumsum([w / total for w in weights])
        self.seed = seed

    def __len__(self) -> int:
        return 1 << 62  # endless; the engine's sampler says which clips are drawn

    def __getitem__(self, index: int) -> Clip:
        rng = clip_rng(self.seed, index)
        choice = (
            0
            if len(self.sources) == 1
            else int(np.searchsorted(self.cumulative, rng.random(), side="right"))
        )
        return self.sources[min(choice, len(self.sources) - 1)].sample(rng)

    def batch(self, step: int, batch_size: int) -> ClipBatch:
        """The batch of ``step``, drawn in this process."""
        return collate([self[step * batch_size + b] for b in range(batch_size)])


class StepSampler(torch.utils.data.Sampler):
    """Clip indices of steps ``start`` … ``stop - 1``, in order (``batch_size`` per step)."""

    def __init__(self, start: int, stop: int, batch_size: int):
        self.start, self.stop, self.batch_size = start, stop, batch_size

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start * self.batch_size, self.stop * self.batch_size))

    def __len__(self) -> int:
        return max(0, self.stop - self.start) * self.batch_size


def batches(
    stream: ClipStream,
    start: int,
    stop: int,
    batch_size: int,
    workers: int,
    pin_memory: bool = False,
) -> Iterator[ClipBatch]:
    """The batches of steps ``start`` … ``stop - 1``, loaded by ``workers`` processes (0: inline).

    The loader gets its own generator, so it never draws from (and never shifts) torch's global
    random state: resuming then reproduces an uninterrupted run.
    """
    if workers == 0:
        return (stream.batch(step, batch_size) for step in range(start, stop))
    loader = torch.utils.data.DataLoader(
        stream,
        batch_size=batch_size,
        sampler=StepSampler(start, stop, batch_size),
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        generator=torch.Generator().manual_seed(stream.seed),
        persistent_workers=False,
        prefetch_factor=2,
    )
    return iter(loader)


def describe_source(source: Any) -> dict | None:
    """A source's own description for the run record, when it offers one."""
    describe = getattr(source, "describe", None)
    return describe() if callable(describe) else None
