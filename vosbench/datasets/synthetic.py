"""Seeded procedural VOS videos: the embedded default dataset, so every command runs offline.

A video is a textured background seen through a panning camera, with 1-3 saturated,
patterned objects that move, deform, occlude one another in a fixed depth order and,
optionally, enter late from a border. Each sequence keeps only a small per-frame parameter
table; frames and masks are rendered on demand, one at a time.

Determinism: the same (config, split, sequence index) gives byte-identical frames and masks
on any machine. Random numbers come from explicitly seeded PCG64 generators; scalar
trigonometry uses Python's ``math`` (never numpy's SIMD kernels, whose last bits vary with the
CPU); pixels are made with integer arithmetic, bit-exact resizing (``INTER_LINEAR_EXACT``) and
integer polygon filling of vertices rounded to 1/16 px.
"""

from __future__ import annotations

import colorsys
import dataclasses
import json
import math
import zlib
from collections.abc import Iterator, Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np

from vosbench.datasets.base import Dataset, Sequence, require_task
from vosbench.datasets.davis import load_davis2017
from vosbench.errors import DatasetError, Problem
from vosbench.io import atomic_write_bytes, atomic_write_text, write_mask

GENERATOR_VERSION = 1
VOID_LABEL = 255
SPLIT_CODES: Mapping[str, int] = MappingProxyType({"val": 0, "train": 1})
# The DAVIS-2017 resolution folder, kept whatever the size so the davis2017 loader reads it too.
RESOLUTION_DIR = "480p"
META_FILE = "synthetic.json"
JPEG_QUALITY = 95

_SHIFT = 4  # polygon vertices in 1/16 px fixed point
_BACKGROUNDS = ("noise", "stripes", "gradient", "checker")
_SHAPES = ("ellipse", "blob", "polygon")
_PATTERNS = ("solid", "stripes", "checker", "rings", "dots")


@dataclass(frozen=True)
class SyntheticConfig:
    """What to generate; equal configs give identical datasets.

    Attributes:
        num_sequences, num_frames, height, width: dataset shape.
        min_objects, max_objects: objects per sequence, drawn uniformly in between.
        seed: master seed; the split and sequence index are mixed in.
        late_objects: one object (never the highest id, so the DAVIS object count from frame 0
            stays right) first appears after frame 0, entering through a border.
        camera_motion: scale of the global pan (0 = static camera).
        deformation: scale of shape change (axes, rotation, morphing; 0 = rigid).
        border_entry: chance that an object starts partly outside the frame.
        void_band: width in px of a void (255) band along object boundaries; 0 = none.
        name_prefix: sequence names are ``<prefix>-000`` (``<prefix>-train-000`` for train).
    """

    num_sequences: int = 6
    num_frames: int = 40
    height: int = 480
    width: int = 854
    min_objects: int = 1
    max_objects: int = 3
    seed: int = 0
    late_objects: bool = False
    camera_motion: float = 1.0
    deformation: float = 1.0
    border_entry: float = 0.2
    void_band: int = 0
    name_prefix: str = "synth"

    def __post_init__(self) -> None:
        problems = _config_problems(self)
        if problems:
            raise DatasetError([Problem(None, p, "config") for p in problems])

    def sequence_name(self, split: str, index: int) -> str:
        middle = "" if split == "val" else f"{split}-"
        return f"{self.name_prefix}-{middle}{index:03d}"


def _config_problems(c: SyntheticConfig) -> list[str]:
    checks = [
        (c.num_sequences >= 1, "num_sequences must be >= 1"),
        (c.num_frames >= 1, "num_frames must be >= 1"),
        (c.height >= 16 and c.width >= 16, "height and width must be >= 16 px"),
        (1 <= c.min_objects <= c.max_objects, "need 1 <= min_objects <= max_objects"),
        (c.max_objects <= 12, "max_objects must be <= 12 (objects need distinct colours)"),
        (c.seed >= 0, "seed must be >= 0"),
        (c.camera_motion >= 0 and c.deformation >= 0, "camera_motion and deformation must be >= 0"),
        (0 <= c.border_entry <= 1, "border_entry is a probability in [0, 1]"),
        (0 <= c.void_band <= 20, "void_band must lie in 0..20 px"),
        (
            bool(c.name_prefix) and "/" not in c.name_prefix,
            "name_prefix must be a non-empty name without '/'",
        ),
    ]
    return [message for ok, message in checks if not ok]


PRESETS: Mapping[str, SyntheticConfig] = MappingProxyType(
    {
        "val": SyntheticConfig(),
        "small": SyntheticConfig(num_sequences=3, num_frames=12, height=96, width=160),
        "bench": SyntheticConfig(num_sequences=30, num_frames=70),
        "hard": SyntheticConfig(
            min_objects=2,
            max_objects=4,
            late_objects=True,
            camera_motion=1.5,
            deformation=1.6,
            border_entry=0.5,
        ),
    }
)
DEFAULT_PRESET = "val"


def resolve_config(
    config_or_preset: str | SyntheticConfig | None = None, **overrides: Any
) -> SyntheticConfig:
    """A config from a preset name (or a config) with ``overrides`` applied and type-checked."""
    if config_or_preset is None:
        config_or_preset = DEFAULT_PRESET
    if isinstance(config_or_preset, SyntheticConfig):
        base = config_or_preset
    elif config_or_preset in PRESETS:
        base = PRESETS[config_or_preset]
    else:
        known = ", ".join(PRESETS)
        raise DatasetError(
            Problem(
                None,
                f"unknown synthetic preset {config_or_preset!r}; choose one of {known}",
                "config",
            )
        )
    if not overrides:
        return base
    types = {f.name: f.type for f in dataclasses.fields(SyntheticConfig)}
    unknown = sorted(set(overrides) - set(types))
    if unknown:
        raise DatasetError(
            Problem(
                None,
                f"unknown synthetic option(s) {', '.join(unknown)}; known: {', '.join(types)}",
                "config",
            )
        )
    values = {k: _coerce(k, str(types[k]), v) for k, v in overrides.items()}
    return dataclasses.replace(base, **values)


def _coerce(name: str, kind: str, value: Any) -> Any:
    """Options may arrive as strings from the command line."""
    try:
        if kind == "bool":
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return lowered in ("1", "true", "yes", "on")
            return bool(value)
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        return float(value) if kind == "float" else str(value)
    except (TypeError, ValueError):
        raise DatasetError(
            Problem(None, f"synthetic option {name}={value!r} is not a valid {kind}", "config")
        ) from None


def _rng(*key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(k) for k in key])))


def _split_code(split: str) -> int:
    if split not in SPLIT_CODES:
        raise DatasetError(
            Problem(
                None,
                f"synthetic has no split {split!r}; choose one of {', '.join(SPLIT_CODES)}",
                "config",
            )
        )
    return SPLIT_CODES[split]


# --------------------------------------------------------------------------------------------
# Per-sequence plan: everything random is drawn once, in a fixed order, at construction.


@dataclass(frozen=True, eq=False)
class _Background:
    """A low-resolution texture grid; each frame upsamples it by an integer factor and crops."""

    style: str
    grid: np.ndarray  # (gh, gw, 3) uint8, one texel per ``cell`` x ``cell`` px of the canvas
    cell: int
    margin: tuple[int, int]  # (y, x): canvas = frame grown by this on each side, for the pan


@dataclass(frozen=True, eq=False)
class _Track:
    """One object: shape profile, per-frame pose table and appearance."""

    oid: int
    kind: str
    ux: np.ndarray
    uy: np.ndarray
    p0: np.ndarray  # radius profile (px) at morph 0
    p1: np.ndarray  # radius profile (px) at morph 1
    cx: np.ndarray  # (T,) centre, screen px
    cy: np.ndarray
    cos: np.ndarray  # (T,) rotation
    sin: np.ndarray
    sx: np.ndarray  # (T,) axis scales
    sy: np.ndarray
    morph: np.ndarray  # (T,) in [0, 1]
    first: int  # first frame where the object is drawn
    colours: tuple[tuple[int, int, int], tuple[int, int, int]]
    pattern: str
    period: int
    a: int
    b: int


def _margins(config: SyntheticConfig) -> tuple[int, int]:
    m = 0.06 * config.camera_motion
    return int(round(m * config.height)), int(round(m * config.width))


def _sin_table(amplitude: float, omega: float, phase: float, count: int) -> np.ndarray:
    return np.array(
        [amplitude * math.sin(omega * t + phase) for t in range(count)], dtype=np.float64
    )


def _camera_path(rng: np.random.Generator, config: SyntheticConfig) -> np.ndarray:
    """(T, 2) integer (x, y) offsets: a linear pan plus a slow sway, within the canvas margin."""
    count = config.num_frames
    my, mx = _margins(config)
    path = np.zeros((count, 2), dtype=np.int64)
    for axis, margin in ((0, mx), (1, my)):
        pan = rng.uniform(-0.8, 0.8) * margin
        sway = rng.uniform(0.0, 0.2) * margin
        omega, phase = rng.uniform(0.1, 0.3), rng.uniform(0, 2 * math.pi)
        ramp = np.array([pan * (2 * t / max(1, count - 1) - 1) for t in range(count)])
        values = np.round(ramp + _sin_table(sway, omega, phase, count))
        path[:, axis] = np.clip(values, -margin, margin).astype(np.int64)
    return path


def _plan_background(rng: np.random.Generator, config: SyntheticConfig) -> _Background:
    """Smooth low-saturation colour field + grain + a style layer (stripes, gradient, checker)."""
    my, mx = _margins(config)
    scale = min(config.height, config.width)
    cell = max(2, scale // 120)
    gh = -(-(config.height + 2 * my) // cell)
    gw = -(-(config.width + 2 * mx) // cell)
    coarse_cells = max(2, (scale // 3) // cell)
    level, tint = rng.uniform(70, 170), rng.uniform(-25, 25, size=3)
    luma = rng.normal(0, 30, size=(gh // coarse_cells + 2, gw // coarse_cells + 2, 1))
    chroma = rng.normal(0, 8, size=luma.shape[:2] + (3,))
    coarse = np.clip(np.round(level + tint + luma + chroma), 0, 255).astype(np.uint8)
    field = cv2.resize(coarse, (gw, gh), interpolation=cv2.INTER_LINEAR_EXACT).astype(np.int16)
    gain = int(rng.integers(8, 24))
    grain = rng.integers(-gain, gain + 1, size=(gh, gw, 1), dtype=np.int16)
    style = _BACKGROUNDS[int(rng.integers(len(_BACKGROUNDS)))]
    layer = _layer(rng, style, gh, gw, cell, scale)
    grid = np.clip(field + grain + layer[:, :, None], 0, 255).astype(np.uint8)
    return _Background(style, grid, cell, (my, mx))


def _layer(
    rng: np.random.Generator, style: str, gh: int, gw: int, cell: int, scale: int
) -> np.ndarray:
    """The style's integer pattern on the grid, in canvas px (so it pans with the camera)."""
    y = np.arange(gh, dtype=np.int64)[:, None] * cell + cell // 2
    x = np.arange(gw, dtype=np.int64)[None, :] * cell + cell // 2
    amp = int(rng.integers(12, 36))
    period = max(3 * cell, int(round(rng.uniform(0.04, 0.09) * scale)))
    a, b = (int(v) for v in rng.integers(-3, 4, size=2))
    a = a or 1
    if style == "stripes":
        return (((x * a + y * b) // period) & 1).astype(np.int16) * amp
    if style == "checker":
        return (((x // (3 * period)) + (y // (3 * period))) & 1).astype(np.int16) * amp
    if style == "gradient":
        return ((x * a + y * b) * (2 * amp) // (3 * cell * (gh + gw))).astype(np.int16)
    return np.zeros((gh, gw), dtype=np.int16)


def _plan_shape(
    rng: np.random.Generator, radius: float
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unit directions and two radius profiles (px); the shape morphs between them."""
    kind = _SHAPES[int(rng.integers(len(_SHAPES)))]
    if kind == "polygon":
        n = int(rng.integers(5, 9))
        angles = [(i + rng.uniform(-0.3, 0.3)) * 2 * math.pi / n for i in range(n)]
        p0, p1 = rng.uniform(0.75, 1.0, size=n), rng.uniform(0.75, 1.0, size=n)
    else:
        n = 40
        angles = [i * 2 * math.pi / n for i in range(n)]
        p0, p1 = _blob_profile(rng, angles, kind), _blob_profile(rng, angles, kind)
    ux = np.array([math.cos(a) for a in angles])
    uy = np.array([math.sin(a) for a in angles])
    return kind, ux, uy, p0 * radius, p1 * radius


def _blob_profile(rng: np.random.Generator, angles: list[float], kind: str) -> np.ndarray:
    amplitude = 0.04 if kind == "ellipse" else 0.13
    terms = [(j, rng.uniform(0, amplitude), rng.uniform(0, 2 * math.pi)) for j in (2, 3, 4)]
    profile = [1.0 + sum(amp * math.cos(j * a + ph) for j, amp, ph in terms) for a in angles]
    return np.array(profile, dtype=np.float64)


def _plan_deformation(rng: np.random.Generator, config: SyntheticConfig) -> dict[str, np.ndarray]:
    """Per-frame axis scales, rotation and morph weight, scaled by ``config.deformation``."""
    count, d = config.num_frames, config.deformation
    aspect = rng.uniform(0.55, 1.0)
    tables: dict[str, np.ndarray] = {}
    for axis, base in (("sx", 1.0), ("sy", aspect)):
        amp = min(0.45, d * rng.uniform(0.05, 0.2))
        wave = _sin_table(amp, rng.uniform(0.08, 0.3), rng.uniform(0, 2 * math.pi), count)
        tables[axis] = base * (1.0 + wave)
    theta0, omega = rng.uniform(0, 2 * math.pi), d * rng.uniform(-0.05, 0.05)
    angles = [theta0 + omega * t for t in range(count)]
    tables["cos"] = np.array([math.cos(a) for a in angles])
    tables["sin"] = np.array([math.sin(a) for a in angles])
    weight, omega_m, phase_m = min(1.0, d), rng.uniform(0.1, 0.3), rng.uniform(0, 2 * math.pi)
    tables["morph"] = np.array(
        [weight * (0.5 - 0.5 * math.cos(omega_m * t + phase_m)) for t in range(count)]
    )
    return tables


def _plan_appearance(rng: np.random.Generator, hue: float, scale: int) -> dict[str, Any]:
    """Saturated object colours (the background is greyish) and a pattern that moves with it."""
    sat, val = rng.uniform(0.65, 0.95), rng.uniform(0.75, 1.0)
    light = tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue % 1.0, sat, val))
    dark = tuple(
        int(round(255 * c)) for c in colorsys.hsv_to_rgb((hue + 0.04) % 1.0, sat, val * 0.55)
    )
    a, b = (int(v) for v in rng.integers(-2, 3, size=2))
    return {
        "colours": (light, dark),
        "pattern": _PATTERNS[int(rng.integers(len(_PATTERNS)))],
        "period": max(2, int(round(rng.uniform(0.015, 0.04) * scale))),
        "a": a or 1,
        "b": b,
    }


def _edge_point(rng: np.random.Generator, config: SyntheticConfig, depth: float) -> np.ndarray:
    """A point ``depth`` px inside (negative: outside) a random border, away from corners."""
    h, w = config.height, config.width
    edge = int(rng.integers(4))
    along = rng.uniform(0.2, 0.8)
    return np.array(
        [
            (depth, along * h),
            (w - depth, along * h),
            (along * w, depth),
            (along * w, h - depth),
        ][edge],
        dtype=np.float64,
    )


def _plan_tracks(
    rng: np.random.Generator, config: SyntheticConfig, count: int, camera: np.ndarray
) -> list[_Track]:
    """Objects whose paths cross near a shared meeting point, so they occlude each other."""
    h, w, frames = config.height, config.width, config.num_frames
    scale = min(h, w)
    meet = np.array([w * rng.uniform(0.3, 0.7), h * rng.uniform(0.35, 0.65)])
    late = (
        int(rng.integers(count - 1)) if config.late_objects and count >= 2 and frames >= 2 else -1
    )
    hue0 = rng.uniform(0, 1)
    drift = (camera - camera[0]).astype(np.float64)
    tracks: list[_Track] = []
    starts: list[tuple[np.ndarray, float]] = []
    for k in range(count):
        radius = rng.uniform(0.10, 0.17) * scale
        kind, ux, uy, p0, p1 = _plan_shape(rng, radius)
        deform = _plan_deformation(rng, config)
        reach = max(p0.max(), p1.max()) * max(deform["sx"].max(), deform["sy"].max())
        inner = min(p0.min(), p1.min()) * min(deform["sx"].min(), deform["sy"].min())
        if k == late:
            first = int(rng.integers(max(1, frames // 6), max(2, frames // 2)))
            centre = _late_path(rng, config, meet, inner, first)
        else:
            first = 0
            centre = _placed_path(rng, config, meet, reach, inner, starts)
            starts.append((centre[0], reach))
        centre = centre - drift
        hue = hue0 + k / count + rng.uniform(-0.05, 0.05)
        look = _plan_appearance(rng, hue, scale)
        tracks.append(
            _Track(
                k + 1,
                kind,
                ux,
                uy,
                p0,
                p1,
                centre[:, 0].copy(),
                centre[:, 1].copy(),
                deform["cos"],
                deform["sin"],
                deform["sx"],
                deform["sy"],
                deform["morph"],
                first,
                **look,
            )
        )
    return tracks


def _path(
    rng: np.random.Generator,
    config: SyntheticConfig,
    start: np.ndarray,
    velocity: np.ndarray,
    t0: int,
    radius: float,
) -> np.ndarray:
    """(T, 2) centres: straight motion from ``start`` at frame ``t0`` plus a sideways wobble."""
    t = np.arange(config.num_frames, dtype=np.float64) - t0
    # sqrt is correctly rounded everywhere; hypot comes from the platform's libm
    speed = math.sqrt(velocity[0] * velocity[0] + velocity[1] * velocity[1])
    normal = np.array([-velocity[1], velocity[0]]) / speed if speed > 0 else np.zeros(2)
    wobble_amp = rng.uniform(0, 0.25) * radius
    omega = rng.uniform(0.1, 0.35)
    wobble = np.array([wobble_amp * math.sin(omega * v) for v in t])
    return start[None, :] + t[:, None] * velocity[None, :] + wobble[:, None] * normal[None, :]


def _placed_path(
    rng: np.random.Generator,
    config: SyntheticConfig,
    meet: np.ndarray,
    reach: float,
    inner: float,
    starts: list[tuple[np.ndarray, float]],
) -> np.ndarray:
    """A path visible at frame 0, apart from the other objects there, heading for ``meet``."""
    h, w, frames = config.height, config.width, config.num_frames
    path = np.zeros((frames, 2))
    for _ in range(100):
        target = meet + rng.normal(0, 0.4 * inner, size=2)
        when = max(1.0, rng.uniform(0.35, 0.75) * (frames - 1))
        if rng.random() < config.border_entry:
            start = _edge_point(rng, config, rng.uniform(-0.3, 0.3) * inner)
        else:
            pad = min(0.6 * reach, 0.45 * min(h, w))
            start = np.array([rng.uniform(pad, w - pad), rng.uniform(pad, h - pad)])
        path = _path(rng, config, start, (target - start) / when, 0, inner)
        apart = all(_far(start, s, 0.85 * (reach + r)) for s, r in starts)
        end = path[-1]
        if apart and 0 <= end[0] <= w and 0 <= end[1] <= h:
            break
    return path


def _far(p: np.ndarray, q: np.ndarray, distance: float) -> bool:
    dx, dy = float(p[0] - q[0]), float(p[1] - q[1])
    return dx * dx + dy * dy >= distance * distance


def _late_path(
    rng: np.random.Generator, config: SyntheticConfig, meet: np.ndarray, inner: float, first: int
) -> np.ndarray:
    """A path entering through a border at frame ``first``, partly visible from then on."""
    start = _edge_point(rng, config, -0.5 * inner)
    target = meet + rng.normal(0, 0.4 * inner, size=2)
    return _path(
        rng, config, start, (target - start) / max(1, config.num_frames - 1 - first), first, inner
    )


# --------------------------------------------------------------------------------------------
# Rendering


def _background(bg: _Background, height: int, width: int, offset: tuple[int, int]) -> np.ndarray:
    """The (H, W, 3) view of the background canvas at camera offset (x, y)."""
    my, mx = bg.margin
    x0, y0 = mx + int(offset[0]), my + int(offset[1])
    gh, gw = bg.grid.shape[:2]
    canvas = cv2.resize(bg.grid, (gw * bg.cell, gh * bg.cell), interpolation=cv2.INTER_LINEAR_EXACT)
    return np.ascontiguousarray(canvas[y0 : y0 + height, x0 : x0 + width])


def _pattern(track: _Track, v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Boolean pattern on object-local integer coordinates (so it moves with the object)."""
    p = track.period
    if track.pattern == "stripes":
        return ((u * track.a + v * track.b) // p) & 1 == 1
    if track.pattern == "checker":
        return ((u // p) + (v // p)) & 1 == 1
    if track.pattern == "rings":
        return (np.sqrt((u * u + v * v).astype(np.float64)) // (2 * p)).astype(np.int64) & 1 == 1
    if track.pattern == "dots":
        q = 3 * p
        return ((u % q) - q // 2) ** 2 + ((v % q) - q // 2) ** 2 <= (q // 3) ** 2
    return np.zeros((v.shape[0], u.shape[1]), dtype=bool)


def _polygon(track: _Track, t: int) -> np.ndarray:
    """(N, 2) int32 vertices in 1/16 px at frame ``t``."""
    radius = track.p0 + track.morph[t] * (track.p1 - track.p0)
    lx = track.ux * radius * track.sx[t]
    ly = track.uy * radius * track.sy[t]
    x = track.cx[t] + (lx * track.cos[t] - ly * track.sin[t])
    y = track.cy[t] + (lx * track.sin[t] + ly * track.cos[t])
    return np.round(np.stack([x, y], axis=1) * (1 << _SHIFT)).astype(np.int32)


def _shape_patch(
    track: _Track, t: int, height: int, width: int
) -> tuple[int, int, np.ndarray] | None:
    """(y0, x0, bool mask) of the object's whole shape at frame ``t``, clipped to the frame.

    None when the object is not drawn (before its first frame, or wholly outside).
    """
    if t < track.first:
        return None
    points = _polygon(track, t)
    x0 = max(int(points[:, 0].min()) >> _SHIFT, 0)
    y0 = max(int(points[:, 1].min()) >> _SHIFT, 0)
    x1 = min((int(points[:, 0].max()) >> _SHIFT) + 2, width)
    y1 = min((int(points[:, 1].max()) >> _SHIFT) + 2, height)
    if x0 >= x1 or y0 >= y1:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    local = points - np.array([x0 << _SHIFT, y0 << _SHIFT], dtype=np.int32)
    cv2.fillPoly(mask, [local], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return y0, x0, mask.view(bool)


def _texture(track: _Track, t: int, y0: int, x0: int, shape: tuple[int, int]) -> np.ndarray:
    """(h, w, 3) object texture for the patch at (y0, x0)."""
    cy, cx = int(round(track.cy[t])), int(round(track.cx[t]))
    v = np.arange(y0 - cy, y0 - cy + shape[0], dtype=np.int64)[:, None]
    u = np.arange(x0 - cx, x0 - cx + shape[1], dtype=np.int64)[None, :]
    light, dark = (np.array(c, dtype=np.uint8) for c in track.colours)
    return np.where(_pattern(track, v, u)[:, :, None], dark, light)


def _void_band(labels: np.ndarray, width: int) -> np.ndarray:
    """Mark pixels within ``width`` px of a label change as void, like DAVIS boundary void."""
    kernel = np.ones((2 * width + 1, 2 * width + 1), dtype=np.uint8)
    edge = cv2.dilate(labels, kernel) != cv2.erode(labels, kernel)
    labels[edge] = VOID_LABEL
    return labels


class SyntheticSequence(Sequence):
    """One generated video; frames and masks are rendered on demand, never stored.

    Args:
        config: what to generate.
        index: sequence number within the split.
        split: ``val`` or ``train`` (a different seed stream, so the splits differ).
    """

    def __init__(self, config: SyntheticConfig, index: int, split: str = "val"):
        self.config = config
        self.index = index
        self.split = split
        self.name = config.sequence_name(split, index)
        self.frames = tuple(f"{t:05d}" for t in range(config.num_frames))
        self.annotated = self.frames
        self.void_label = VOID_LABEL
        self.mask_rule = "index"
        self._stems = {stem: t for t, stem in enumerate(self.frames)}
        rng = _rng(config.seed, _split_code(split), index)
        count = int(rng.integers(config.min_objects, config.max_objects + 1))
        self._camera = _camera_path(rng, config)
        self._background = _plan_background(rng, config)
        self._tracks = _plan_tracks(rng, config, count, self._camera)
        self._depth = [int(i) for i in rng.permutation(count)]  # back to front
        self.__dict__["size"] = (config.height, config.width)
        self.attributes = {
            "num_objects": count,
            "first_frame": [tr.first for tr in self._tracks],
            "depth_order": [self._tracks[i].oid for i in self._depth],
            "shapes": [tr.kind for tr in self._tracks],
            "patterns": [tr.pattern for tr in self._tracks],
            "background": self._background.style,
        }

    @property
    def num_objects(self) -> int:
        return len(self._tracks)

    def frame_index(self, stem: str) -> int:
        try:
            return self._stems[stem]
        except KeyError:
            raise DatasetError(
                Problem(None, f"sequence {self.name!r} has no frame {stem!r}", "missing")
            ) from None

    def read_frame(self, stem: str) -> np.ndarray:
        t = self.frame_index(stem)
        h, w = self.size
        image = _background(self._background, h, w, tuple(self._camera[t]))
        for track in self._ordered():
            patch = _shape_patch(track, t, h, w)
            if patch is None:
                continue
            y0, x0, mask = patch
            region = image[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]]
            np.copyto(region, _texture(track, t, y0, x0, mask.shape), where=mask[:, :, None])
        return image

    def read_annotation(self, stem: str) -> np.ndarray:
        t = self.frame_index(stem)
        h, w = self.size
        labels = np.zeros((h, w), dtype=np.uint8)
        for track in self._ordered():
            patch = _shape_patch(track, t, h, w)
            if patch is not None:
                y0, x0, mask = patch
                labels[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]][mask] = track.oid
        if self.config.void_band:
            labels = _void_band(labels, self.config.void_band)
        return labels

    def full_mask(self, stem: str, object_id: int) -> np.ndarray:
        """Object ``object_id``'s whole shape (ignoring occluders) in the frame: shows occlusion."""
        t = self.frame_index(stem)
        h, w = self.size
        mask = np.zeros((h, w), dtype=bool)
        patch = _shape_patch(self._tracks[object_id - 1], t, h, w)
        if patch is not None:
            y0, x0, part = patch
            mask[y0 : y0 + part.shape[0], x0 : x0 + part.shape[1]] = part
        return mask

    def _ordered(self) -> Iterator[_Track]:
        return (self._tracks[i] for i in self._depth)


# --------------------------------------------------------------------------------------------
# Loading and writing


def _config_dict(config: SyntheticConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def _preset_name(config: SyntheticConfig) -> str | None:
    return next((name for name, preset in PRESETS.items() if preset == config), None)


def _info(config: SyntheticConfig, split: str, source: str) -> dict[str, object]:
    return {
        "source": source,
        "preset": _preset_name(config),
        "config": _config_dict(config),
        "seed": config.seed,
        "split_code": SPLIT_CODES.get(split),
        "generator_version": GENERATOR_VERSION,
        "resolution": f"{config.width}x{config.height}",
        "mask_rule": "index",
        "void_label": VOID_LABEL,
    }


def synthetic_dataset(
    config: SyntheticConfig, split: str = "val", task: str = "semi-supervised"
) -> Dataset:
    """The in-memory dataset for ``config`` and ``split``."""
    _split_code(split)
    sequences: list[Sequence] = [
        SyntheticSequence(config, i, split) for i in range(config.num_sequences)
    ]
    return Dataset("synthetic", split, task, sequences, info=_info(config, split, "generated"))


def load_synthetic(
    root: str | Path | None,
    split: str | None,
    *,
    task: str = "semi-supervised",
    preset: str | SyntheticConfig | None = None,
    **overrides: Any,
) -> Dataset:
    """The ``synthetic`` catalogue entry: generated in memory, or read from a written folder.

    Without ``root`` the videos come from ``preset`` (``val`` by default) with ``overrides``
    applied; with ``root`` the folder written by :func:`write_synthetic` is read through the
    same file path as DAVIS-2017 (a requested preset or override must match its record).
    """
    split = split or "val"
    require_task(task)
    if root is None:
        return synthetic_dataset(resolve_config(preset, **overrides), split, task)
    requested = resolve_config(preset, **overrides) if (preset is not None or overrides) else None
    return _load_folder(Path(root).expanduser(), split, task, requested)


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DatasetError(
            Problem(path, f"cannot be read as a synthetic dataset record ({error})", "unreadable")
        ) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise DatasetError(
            Problem(path, "is not a synthetic dataset record (no 'config' object)", "format")
        )
    return meta


def _meta_config(meta: Mapping[str, Any], path: Path) -> SyntheticConfig:
    try:
        return SyntheticConfig(**meta["config"])
    except TypeError as error:
        raise DatasetError(
            Problem(path, f"records an unknown synthetic config ({error})", "format")
        ) from None


def _differences(recorded: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    keys = sorted(set(recorded) | set(wanted))
    return ", ".join(
        f"{k}: {recorded.get(k)!r} there vs {wanted.get(k)!r} asked"
        for k in keys
        if recorded.get(k) != wanted.get(k)
    )


def _load_folder(root: Path, split: str, task: str, requested: SyntheticConfig | None) -> Dataset:
    if not root.is_dir():
        raise DatasetError(Problem(root, "synthetic dataset folder does not exist", "missing"))
    meta_path = root / META_FILE
    meta = _read_meta(meta_path) if meta_path.is_file() else None
    layout = meta.get("layout", DEFAULT_LAYOUT) if meta is not None else DEFAULT_LAYOUT
    if layout != DEFAULT_LAYOUT:
        raise DatasetError(
            Problem(
                root,
                f"holds a synthetic dataset in the {layout} layout; read it with "
                f"--dataset {layout}",
                "format",
            )
        )
    config = _meta_config(meta, meta_path) if meta is not None else None
    if requested is not None and config is not None and requested != config:
        diff = _differences(_config_dict(config), _config_dict(requested))
        raise DatasetError(Problem(root, f"holds a different synthetic dataset ({diff})", "config"))
    list_path = root / "ImageSets" / "2017" / f"{split}.txt"
    if not list_path.is_file():
        raise DatasetError(
            Problem(
                list_path,
                f"split list for {split!r} is missing; write it with "
                f"write_synthetic(..., split={split!r})",
                "missing",
            )
        )
    # The files are in the DAVIS-2017 layout: its loader reads them (one way to read that layout);
    # both tasks use Annotations/, the only annotations the generator writes.
    files = load_davis2017(root, split, task="semi-supervised")
    info = (
        _info(config, split, "files")
        if config is not None
        else {"source": "files", "mask_rule": "index", "void_label": VOID_LABEL}
    )
    return Dataset(
        "synthetic",
        split,
        task,
        list(files.sequences),
        root=root,
        problems=files.problems,
        info=info,
        listed=files.listed,
    )


def _write_jpeg(path: Path, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:
        raise DatasetError(Problem(path, "JPEG encoding failed", "io"))
    atomic_write_bytes(path, data.tobytes())


# --------------------------------------------------------------------------------------------
# The folder record: the one rule every synthetic writer (any layout) follows before writing

GENERATOR = "vosbench.datasets.synthetic"
DEFAULT_LAYOUT = "davis2017"  # what a record without "layout" was written in
# Records of earlier vosbench versions that did not guard a folder against a second config.
_FORMER_RECORDS: Mapping[str, str] = MappingProxyType({"lvos-synthetic.json": "lvos"})
_COMPARED = ("generator", "generator_version", "layout", "config")  # then a layout's options
_ABSENT = object()  # a key the record lacks


def claim_folder(
    out: str | Path,
    config: SyntheticConfig,
    layout: str = DEFAULT_LAYOUT,
    *,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of the output folder ``out`` (existing or new) for ``config`` in ``layout``.

    A synthetic writer calls this before it writes anything (it creates nothing), then
    :func:`save_record`. The record (``synthetic.json`` in ``out``) names the generator and its
    version, the layout, the preset, the config, the layout's ``options`` (parameters that
    shape the files, e.g. an annotation step) and the splits written so far. ``out`` may be
    absent, empty, or hold the record of the same generator version, layout, config and
    options (writing again resumes: the files are deterministic). Anything else is refused
    with a :class:`DatasetError` naming the folder: a file in its place, a record that differs
    (saying in what), a non-empty folder without a record, and a folder of an earlier record
    that never guarded against a second config (``lvos-synthetic.json``). A record without
    ``layout`` (DAVIS-2017 folders written before layouts were recorded) is DAVIS-2017's.
    """
    out = Path(out).expanduser()
    wanted: dict[str, Any] = {
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "layout": layout,
        "config": _config_dict(config),
        **dict(options or {}),
    }
    _refuse_file_in_place(out)
    record_path = out / META_FILE
    if record_path.is_file():
        record = _read_meta(record_path)
        differ = _record_differences(record, wanted, _preset_name(config))
        if differ:
            raise DatasetError(
                Problem(
                    out,
                    f"holds another synthetic dataset ({'; '.join(differ)}); write to another "
                    "folder, or delete this one and write again",
                    "exists",
                )
            )
        splits = record.get("splits")
        return {**record, **wanted, "splits": dict(splits) if isinstance(splits, dict) else {}}
    if out.is_dir() and any(out.iterdir()):
        former = next((name for name in _FORMER_RECORDS if (out / name).is_file()), None)
        if former is not None:
            raise DatasetError(
                Problem(
                    out,
                    f"holds a synthetic {_FORMER_RECORDS[former]} dataset written by an earlier "
                    f"vosbench ({former}, a record that let a second config be written over the "
                    "first, so the files may mix configs); delete this folder and write it "
                    "again, or write to another folder",
                    "exists",
                )
            )
        raise DatasetError(
            Problem(
                out,
                f"is not empty and holds no {META_FILE}; refusing to write a synthetic dataset "
                "over other files: choose a new or empty folder",
                "exists",
            )
        )
    return {**wanted, "preset": _preset_name(config), "splits": {}}


def save_record(
    out: str | Path,
    record: dict[str, Any],
    split: str | None = None,
    names: Seq[str] | None = None,
) -> None:
    """Write ``record`` (from :func:`claim_folder`) to ``out``, creating the folder; with
    ``split``, first note that ``split`` (its sequences ``names``) is written."""
    out = Path(out).expanduser()
    if split is not None:
        record["splits"] = {**record.get("splits", {}), split: list(names or [])}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / META_FILE, json.dumps(record, indent=2) + "\n")


def _refuse_file_in_place(out: Path) -> None:
    """Refuse ``out`` if it, or the nearest of its parents that exists, is not a folder."""
    for path in (out, *out.parents):
        if path.exists() or path.is_symlink():
            if not path.is_dir():
                where = "exists" if path == out else f"is in the way of {out}"
                raise DatasetError(Problem(path, f"{where} and is not a folder", "exists"))
            return


def _record_differences(
    record: Mapping[str, Any], wanted: Mapping[str, Any], preset: str | None
) -> list[str]:
    """What ``record`` holds otherwise than ``wanted``, one phrase per field, in its order; a
    layout's options are compared only within the same layout."""
    found = {key: record.get(key, _ABSENT) for key in wanted}
    found["layout"] = record.get("layout", DEFAULT_LAYOUT)
    keys = list(wanted) if found["layout"] == wanted["layout"] else list(_COMPARED)
    differ = []
    for key in keys:
        if key == "config" and found[key] != wanted[key]:
            there = record.get("preset")
            if there and preset and there != preset:  # the names first, when both have one
                differ.append(f"preset: {there!r} there vs {preset!r} asked")
        differ.append(_difference(key, found[key], wanted[key]))
    return [text for text in differ if text]


def _difference(key: str, found: Any, wanted: Any) -> str:
    if found == wanted:
        return ""
    if found is _ABSENT:
        return f"{key}: not recorded there vs {wanted!r} asked"
    if key == "config" and isinstance(found, dict):
        return f"config {_differences(found, wanted)}"
    return f"{key}: {found!r} there vs {wanted!r} asked"


def write_synthetic(
    out_dir: str | Path,
    config_or_preset: str | SyntheticConfig = DEFAULT_PRESET,
    *,
    split: str = "val",
    predictions: None | bool | str = None,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic split in the DAVIS-2017 layout under ``out_dir``; returns ``out_dir``.

    Files are written atomically; re-running with the same config skips existing files
    (they are deterministic) unless ``overwrite``. A folder holding anything else is refused
    (:func:`claim_folder`).
    ``predictions`` (True or a quality name) also writes perturbed-GT predictions to
    ``out_dir/predictions/<quality>/<seq>/<stem>.png``.
    """
    config = resolve_config(config_or_preset)
    dataset = synthetic_dataset(config, split)
    out = Path(out_dir).expanduser()
    record = claim_folder(out, config, DEFAULT_LAYOUT)
    save_record(out, record)  # claim the folder first
    for sequence in dataset:
        _write_sequence(out, sequence, overwrite)
    names = dataset.names
    atomic_write_text(out / "ImageSets" / "2017" / f"{split}.txt", "\n".join(names) + "\n")
    save_record(out, record, split, names)
    if predictions:
        quality = "noisy" if predictions is True else str(predictions)
        write_predictions(
            dataset, out / "predictions" / quality, quality=quality, overwrite=True
        )  # deterministic
    return out


def _write_sequence(out: Path, sequence: Sequence, overwrite: bool) -> None:
    for stem in sequence.frames:
        frame_path = out / "JPEGImages" / RESOLUTION_DIR / sequence.name / f"{stem}.jpg"
        mask_path = out / "Annotations" / RESOLUTION_DIR / sequence.name / f"{stem}.png"
        if overwrite or not frame_path.is_file():
            _write_jpeg(frame_path, sequence.read_frame(stem))
        if overwrite or not mask_path.is_file():
            write_mask(mask_path, sequence.read_annotation(stem))


# --------------------------------------------------------------------------------------------
# Predictions: perturbed ground truth for demos and benchmarks


@dataclass(frozen=True)
class PredictionNoise:
    """How far predictions stray from the GT; lengths are fractions of the object's radius.

    Attributes:
        drift: shift reached at the last frame, growing linearly from frame 0 (gives Decay > 0).
        jitter: standard deviation of a random per-frame shift.
        morph: largest erosion / dilation radius, drawn per object and frame.
        drop: chance per object and frame that the object is missed altogether.
        false_positive: chance per frame of a false-positive blob with some object's id.
        blob: radius of a false-positive blob.
    """

    drift: float = 0.35
    jitter: float = 0.04
    morph: float = 0.08
    drop: float = 0.02
    false_positive: float = 0.15
    blob: float = 0.3


QUALITIES: Mapping[str, PredictionNoise] = MappingProxyType(
    {
        "perfect": PredictionNoise(0.0, 0.0, 0.0, 0.0, 0.0),
        "good": PredictionNoise(0.12, 0.02, 0.04, 0.005, 0.05),
        "noisy": PredictionNoise(),
        "poor": PredictionNoise(0.9, 0.1, 0.15, 0.08, 0.4, 0.5),
    }
)


def _noise(quality: str | PredictionNoise) -> PredictionNoise:
    if isinstance(quality, PredictionNoise):
        return quality
    if quality not in QUALITIES:
        raise DatasetError(
            Problem(
                None,
                f"unknown prediction quality {quality!r}; choose one of {', '.join(QUALITIES)}",
                "config",
            )
        )
    return QUALITIES[quality]


def _name_key(name: str) -> int:
    """A stable number for a sequence name (``hash()`` is salted per process)."""
    return zlib.crc32(name.encode("utf-8"))


def _shift(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``mask`` moved by (dy, dx) without wrapping round."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = mask[
        max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
    ]
    return out


def _morph(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius == 0:
        return mask
    size = 2 * abs(radius) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    op = cv2.dilate if radius > 0 else cv2.erode
    return op(mask, kernel)


def perturb_labels(
    labels: np.ndarray,
    object_ids: Seq[int],
    progress: float,
    directions: np.ndarray,
    rng: np.random.Generator,
    noise: PredictionNoise,
) -> np.ndarray:
    """A plausible wrong prediction for one GT frame; ``progress`` in [0, 1] scales the drift.

    Void (255) is treated as background; the result holds only ids from ``object_ids``.
    """
    h, w = labels.shape
    out = np.zeros((h, w), dtype=np.uint8)
    radii = []
    for k, oid in enumerate(object_ids):
        mask = (labels == oid).view(np.uint8)
        area = int(cv2.countNonZero(mask))
        if area == 0 or rng.random() < noise.drop:
            continue
        radius = math.sqrt(area / math.pi)
        radii.append(radius)
        move = directions[k] * (noise.drift * radius * progress) + rng.normal(
            0, noise.jitter * radius + 1e-9, size=2
        )
        mask = _shift(mask, int(round(move[1])), int(round(move[0])))
        mask = _morph(mask, int(round(rng.uniform(-1, 1) * noise.morph * radius)))
        out[mask.view(bool)] = oid
    if object_ids and rng.random() < noise.false_positive:
        size = max(2, int(round(noise.blob * (max(radii) if radii else 0.05 * min(h, w)))))
        centre = (int(rng.integers(w)), int(rng.integers(h)))
        axes = (size, max(1, int(round(size * rng.uniform(0.5, 1.0)))))
        oid = int(object_ids[int(rng.integers(len(object_ids)))])
        cv2.ellipse(out, centre, axes, float(rng.integers(180)), 0, 360, oid, thickness=-1)
    return out


def predict_sequence(
    sequence: Sequence, *, quality: str | PredictionNoise = "noisy", seed: int = 0
) -> Iterator[tuple[str, np.ndarray]]:
    """(stem, label map) for every frame, lazily: frame 0 is the GT, later frames are perturbed.

    Deterministic in (seed, sequence name, frame index). A frame without GT reuses the last
    annotated one.
    """
    noise = _noise(quality)
    ids = tuple(sequence.object_ids)
    key = _name_key(sequence.name)
    angles = _rng(seed, key, 0).uniform(0, 2 * math.pi, size=max(1, len(ids)))
    directions = np.array([[math.cos(a), math.sin(a)] for a in angles])
    annotated = set(sequence.annotated)
    last = len(sequence.frames) - 1
    gt: np.ndarray | None = None
    for t, stem in enumerate(sequence.frames):
        if stem in annotated:
            gt = sequence.read_annotation(stem)
        if gt is None:
            continue
        if t == 0:
            yield stem, np.where(gt == VOID_LABEL, 0, gt).astype(np.uint8)
            continue
        rng = _rng(seed, key, 1, t)
        yield stem, perturb_labels(gt, ids, t / max(1, last), directions, rng, noise)


def write_davis_predictions(
    root: str | Path, split: str, out_dir: str | Path, *, overwrite: bool = False
) -> Path:
    """Demo predictions for a folder :func:`write_synthetic` wrote (``vosbench synth
    --predictions``; the davis2017 layout's ``synthetic_predictions`` entry)."""
    from vosbench.datasets import load_dataset

    return write_predictions(load_dataset("synthetic", root, split), out_dir, overwrite=overwrite)


def write_predictions(
    dataset_or_config: Dataset | SyntheticConfig | str,
    out_dir: str | Path,
    *,
    quality: str | PredictionNoise = "noisy",
    seed: int = 0,
    split: str = "val",
    overwrite: bool = False,
) -> Path:
    """Write ``<out_dir>/<seq>/<stem>.png`` palette predictions for every frame.

    ``dataset_or_config`` is any dataset, or a synthetic config / preset name (generated in
    memory for ``split``). J is typically 0.6-0.9 with the ``noisy`` quality. Returns ``out_dir``.
    A non-empty ``out_dir`` is refused unless ``overwrite``: writing some sequences over a
    folder of real results would leave a mix that looks like one run.
    """
    if isinstance(dataset_or_config, Dataset):
        dataset = dataset_or_config
    else:
        dataset = synthetic_dataset(resolve_config(dataset_or_config), split)
    out = Path(out_dir).expanduser()
    if not overwrite and out.is_dir() and any(out.iterdir()):
        raise DatasetError(
            Problem(
                out,
                "the predictions folder is not empty; choose an empty one, or pass "
                "--force (overwrite=True) to overwrite its masks",
                "exists",
            )
        )
    for sequence in dataset:
        for stem, labels in predict_sequence(sequence, quality=quality, seed=seed):
            write_mask(out / sequence.name / f"{stem}.png", labels)
    return out


__all__ = [
    "write_davis_predictions",
    "DEFAULT_LAYOUT",
    "DEFAULT_PRESET",
    "GENERATOR_VERSION",
    "PRESETS",
    "QUALITIES",
    "PredictionNoise",
    "SyntheticConfig",
    "SyntheticSequence",
    "claim_folder",
    "load_synthetic",
    "perturb_labels",
    "predict_sequence",
    "resolve_config",
    "save_record",
    "synthetic_dataset",
    "write_predictions",
    "write_synthetic",
]
