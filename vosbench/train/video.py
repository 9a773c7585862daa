"""Training clips from real (or synthetic) videos: T frames in temporal order with random skips.

A clip is drawn as follows, every random choice from the generator handed to
:meth:`VideoClips.sample`:

1. a sequence, uniformly;
2. T annotated frames in temporal order: gaps between consecutive frames drawn uniformly in
   1 … ``max_skip`` (one value for every gap, or one per gap; ``null`` = anywhere later in the
   video), shrunk when the video is too short, and a random start; optionally reversed in time;
3. one geometric transform for the whole clip: scaled so the frame covers the training size
   (``crop: cover``; ``crop: native`` keeps the frame's own scale when it is large enough),
   times a random zoom in ``scale``, a random crop position (retried until the first frame holds
   an object), optionally flipped left-right;
4. frames resampled bilinearly, masks with nearest neighbour; void (255) stays void. The crop
   always lies inside the zoomed frame.

The first frame of a clip is the reference: it always contains at least one object.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence as Seq
from typing import Any

import cv2
import numpy as np

from vosbench.datasets import Dataset, load_dataset
from vosbench.datasets.base import Sequence
from vosbench.train.clips import VOID_LABEL, Clip

SkipSpec = None | int | Seq[int | None]
CROP_TRIES = 10


class VideoClips:
    """Clips of ``frames`` frames at ``size`` (H, W) from the sequences of a vosbench dataset.

    Args:
        dataset: a catalogue name (``davis2017``, ``davis2016``, ``synthetic`` …) or a loaded
            Dataset.
        root, split, sequences, options: as for :func:`vosbench.datasets.load_dataset`
            (``options`` are loader options, e.g. ``{height: 128, width: 224}`` for synthetic).
        frames: T, frames per clip (≥ 1).
        size: (H, W) of the clips.
        max_skip: largest gap between consecutive frames: an int for every gap, a list with one
            entry per gap (T − 1 entries), ``null`` for "anywhere later".
        scale: (min, max) random zoom over the base scale.
        crop: base scale: ``cover`` (the frame just covers ``size``: whole frames, shrunk) or
            ``native`` (the frame's own scale, cropped; shrunk only where smaller than ``size``).
        flip: probability of a left-right flip of the whole clip.
        reverse: probability of playing the clip backwards.
        min_object_pixels: least object pixels the first frame of a clip must hold after cropping.
        max_objects: keep at most this many of the first frame's objects, chosen at random and
            renumbered 1 … K (the others become background); null keeps all with their ids.
        seed: seed of :meth:`__iter__` (the engine passes its own generator to :meth:`sample`).
    """

    def __init__(
        self,
        dataset: str | Dataset = "synthetic",
        root: str | None = None,
        split: str | None = "train",
        *,
        frames: int = 3,
        size: Seq[int] = (256, 448),
        max_skip: SkipSpec = 5,
        scale: Seq[float] = (1.0, 1.3),
        crop: str = "cover",
        flip: float = 0.5,
        reverse: float = 0.0,
        min_object_pixels: int = 16,
        max_objects: int | None = None,
        sequences: Seq[str] | None = None,
        options: Mapping[str, Any] | None = None,
        seed: int = 0,
    ):
        if isinstance(dataset, Dataset):
            self.dataset = dataset.select(list(sequences)) if sequences else dataset
        else:
            self.dataset = load_dataset(
                dataset, root, split, sequences=sequences, **dict(options or {})
            )
        self.frames = int(frames)
        self.size = _pair(size, "size")
        self.gaps = _gaps(max_skip, self.frames)
        self.scale = _range(scale)
        if crop not in ("cover", "native"):
            raise ValueError(f"crop must be cover or native, not {crop!r}")
        self.crop = crop
        if not (0.0 <= flip <= 1.0 and 0.0 <= reverse <= 1.0):
            raise ValueError(
                f"flip and reverse are probabilities in [0, 1], got {flip} and {reverse}"
            )
        self.flip, self.reverse = float(flip), float(reverse)
        self.min_object_pixels = int(min_object_pixels)
        if max_objects is not None and int(max_objects) < 1:
            raise ValueError(f"max_objects must be >= 1 (or null), got {max_objects}")
        self.max_objects = None if max_objects is None else int(max_objects)
        self.seed = seed
        self.sequences: list[Sequence] = [s for s in self.dataset if s.annotated]
        if not self.sequences:
            raise ValueError(
                f"dataset {self.dataset.label} has no annotated sequence to draw clips from"
            )

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "video",
            "dataset": self.dataset.label,
            "sequences": len(self.sequences),
            "frames": self.frames,
            "size": list(self.size),
            "max_skip": self.gaps,
            "scale": list(self.scale),
            "crop": self.crop,
            "flip": self.flip,
            "reverse": self.reverse,
            "max_objects": self.max_objects,
        }

    def __iter__(self):
        rng = np.random.default_rng(self.seed)
        while True:
            yield self.sample(rng)

    def sample(self, rng: np.random.Generator) -> Clip:
        """One clip; every random choice comes from ``rng``."""
        sequence = self.sequences[int(rng.integers(len(self.sequences)))]
        positions = self._positions(len(sequence.annotated), rng)
        if rng.random() < self.reverse:
            positions = positions[::-1]
        stems = [sequence.annotated[p] for p in positions]
        masks = np.stack([sequence.read_annotation(s) for s in stems])
        transform = self._transform(masks[0], rng)
        frames = np.stack(
            [
                _warp(sequence.read_frame(s), transform, self.size, cv2.INTER_LINEAR, 0)
                for s in stems
            ]
        )
        masks = np.stack(
            [_warp(m, transform, self.size, cv2.INTER_NEAREST, VOID_LABEL) for m in masks]
        )
        if self.max_objects is not None:
            masks = _keep_objects(masks, self.max_objects, rng)
        return Clip(
            frames, masks, source=f"{self.dataset.label}:{sequence.name}[{','.join(stems)}]"
        )

    # -- choices --------------------------------------------------------------------------

    def _positions(self, count: int, rng: np.random.Generator) -> list[int]:
        """T indices into the annotated frames, increasing, with gaps drawn per :attr:`gaps`."""
        if self.frames == 1:
            return [int(rng.integers(count))]
        last = count - 1
        limits = [last if g is None else max(1, min(int(g), last)) for g in self.gaps]
        if last < len(limits):  # shorter than the clip: repeat frames, in order
            return sorted(int(p) for p in rng.integers(0, count, self.frames))
        budget = last
        gaps = []
        for i, limit in enumerate(limits):  # keep at least 1 for every gap still to draw
            reserve = len(limits) - i - 1
            high = max(1, min(limit, budget - reserve))
            gap = int(rng.integers(1, high + 1))
            gaps.append(gap)
            budget -= gap
        start = int(rng.integers(0, last - sum(gaps) + 1))
        return list(np.cumsum([start] + gaps).astype(int))

    def _transform(self, first_mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A 2×3 affine map from frame to clip: zoom, crop position (retried until the first frame
        holds an object), flip."""
        height, width = first_mask.shape
        out_h, out_w = self.size
        cover = max(out_h / height, out_w / width)
        zoom = (cover if self.crop == "cover" else max(cover, 1.0)) * float(
            rng.uniform(*self.scale)
        )
        span_y, span_x = height * zoom - out_h, width * zoom - out_w
        flip = rng.random() < self.flip
        objects = (first_mask != 0) & (first_mask != VOID_LABEL)
        transform = None
        for _ in range(CROP_TRIES):
            transform = _affine(
                zoom, float(rng.uniform(0, span_y)), float(rng.uniform(0, span_x)), out_w, flip
            )
            if _object_pixels(objects, transform, self.size) >= self.min_object_pixels:
                return transform
        if objects.any():  # centre the crop on the objects
            ys, xs = np.nonzero(objects)
            oy = min(max(ys.mean() * zoom - out_h / 2, 0.0), max(span_y, 0.0))
            ox = min(max(xs.mean() * zoom - out_w / 2, 0.0), max(span_x, 0.0))
            transform = _affine(zoom, oy, ox, out_w, flip)
        return transform


def _keep_objects(masks: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``limit`` of the first frame's objects, chosen at random and renumbered 1 … K in
    their id order; every other id becomes background (void stays void)."""
    first = np.unique(masks[0])
    ids = [int(i) for i in first if i not in (0, VOID_LABEL)]
    if len(ids) > limit:
        ids = sorted(int(i) for i in rng.choice(ids, size=limit, replace=False))
    table = np.zeros(256, dtype=np.uint8)
    table[VOID_LABEL] = VOID_LABEL
    table[ids] = np.arange(1, len(ids) + 1, dtype=np.uint8)
    return table[masks]


def _affine(zoom: float, offset_y: float, offset_x: float, out_w: int, flip: bool) -> np.ndarray:
    """Frame → clip: scale by ``zoom``, shift the crop origin to 0, mirror if ``flip``.

    Pixel centres map as ``x' = zoom·(x + ½) − ½ − offset`` (half-pixel convention, as resizing
    does).
    """
    shift = 0.5 * zoom - 0.5
    matrix = np.array([[zoom, 0.0, shift - offset_x], [0.0, zoom, shift - offset_y]])
    if flip:
        matrix[0] = [-zoom, 0.0, out_w - 1 - (shift - offset_x)]
    return matrix


def _warp(
    image: np.ndarray, transform: np.ndarray, size: tuple[int, int], interpolation: int, border: int
) -> np.ndarray:
    height, width = size
    value = (border,) * (3 if image.ndim == 3 else 1)
    return cv2.warpAffine(
        image,
        transform,
        (width, height),
        flags=interpolation,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=value,
    )


def _object_pixels(objects: np.ndarray, transform: np.ndarray, size: tuple[int, int]) -> int:
    return int(
        np.count_nonzero(_warp(objects.view(np.uint8), transform, size, cv2.INTER_NEAREST, 0))
    )


def _pair(value: Seq[int], name: str) -> tuple[int, int]:
    if len(value) != 2 or any(int(v) < 8 for v in value):
        raise ValueError(f"{name} must be [height, width] of at least 8 px, got {list(value)}")
    return int(value[0]), int(value[1])


def _range(value: Seq[float]) -> tuple[float, float]:
    if len(value) != 2 or not 1.0 <= float(value[0]) <= float(value[1]):
        raise ValueError(
            f"scale must be [min, max] with 1 <= min <= max (zoom over the base scale), "
            f"got {list(value)}"
        )
    return float(value[0]), float(value[1])


def _gaps(max_skip: SkipSpec, frames: int) -> list[int | None]:
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    if max_skip is None or isinstance(max_skip, int):
        gaps = [max_skip] * (frames - 1)
    else:
        gaps = list(max_skip)
        if len(gaps) != frames - 1:
            raise ValueError(
                f"max_skip lists one gap per pair of frames: {frames - 1} values, got {len(gaps)}"
            )
    if any(g is not None and int(g) < 1 for g in gaps):
        raise ValueError(f"max_skip values must be >= 1 (or null), got {max_skip!r}")
    return [None if g is None else int(g) for g in gaps]
