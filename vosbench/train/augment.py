"""Geometric and photometric transforms that turn one image into simulated video frames.

Everything works on numpy arrays with OpenCV's ``remap``: a transform is a backward map that
gives, for every output pixel, where to sample the input (linear for images, nearest for
label maps), so an image and its mask always share one geometry.

* **Affine**: 3 x 3 matrices (mirror, cover-fit, random rotation / scale / shear /
  translation) composed and inverted exactly.
* **Thin-plate spline** (TPS): a smooth displacement field interpolating random shifts of a
  grid of control points, solved here with numpy. Maps are evaluated on a node grid (2-8 px
  apart) and interpolated bilinearly to every pixel with ``cv2.resize``; affine parts pass
  through the interpolation unchanged.
* **Previous mask**: each object of a target mask moved by its own random affine + TPS warp,
  the displacement clipped to a hard bound, then dilated or eroded: an imperfect propagation,
  as RGMP simulates it for static-image pre-training.
* **Colour jitter**: brightness, contrast, saturation and hue factors.

The parameters (and where each default comes from) are in :class:`StaticAugmentation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from vosbench.errors import ConfigError

VOID_LABEL = 255
# TPS fields are evaluated on nodes at most FIELD_STEP px apart and interpolated in between.
FIELD_STEP = 8
# A previous-mask control grid spans at least this many px, so thin objects get a solvable one.
MIN_TPS_SPAN = 8.0
# The previous mask's field is random and clipped anyway: a coarser node grid is enough.
PREVIOUS_NODES_PER_SPACING = 6


@dataclass(frozen=True)
class StaticAugmentation:
    """How reference, target and previous-mask frames are simulated from one image.

    Frame geometry (drawn independently for every frame, reference included):
        rotation: ±degrees (RANet: 30).
        scale: (low, high) zoom around the output centre (RANet: 0.75-1.25).
        translation: ± fraction of the output width / height (chosen: 0.1; COSNet's 90 % crop
            is ±0.05).
        shear: ± degrees of horizontal shear (chosen: 5).
        tps_points: a tps_points x tps_points grid of control points over the frame
            (RANet: 16 points, i.e. 4); 0 switches the frame TPS off.
        tps_shift: ± fraction of the output width / height each control point moves by
            (RANet: 0.15).
        mirror_probability: chance that the whole clip is mirrored left-right (COSNet flips;
            0.5 chosen).

    Colour (drawn per frame): brightness, contrast, saturation: factors in 1 ± value;
        hue: ± fraction of the hue circle (chosen: 0.2, 0.2, 0.2, 0.02).

    Composition (RGMP's second generator: other backgrounds, occlusion, distractors):
        paste_probability: chance that the objects are pasted onto another image of the set,
            which moves with its own per-frame transforms (chosen: 0.5).
        occluder_probability: chance that the objects of another image, shrunk by a factor in
            ``occluder_scale``, move over the frames as an occluder labelled background
            (chosen: 0.25, (0.3, 0.6)).

    Previous mask (per object, each target frame; fractions of the object's box size):
        previous_scale: ± relative scale change (chosen: 0.05).
        previous_rotation: ± degrees (chosen: 5).
        previous_translation: ± fraction of the box width / height (chosen: 0.1).
        previous_tps_points, previous_tps_shift: control grid over the box and ± shift as a
            fraction of its size (chosen: 4, 0.1).
        previous_max_shift: hard bound on any pixel's displacement, as a fraction of the
            output's shorter side (chosen: 0.05, 19 px at 384 x 384, 24 px at 480 x 864).
        previous_morph: erosion / dilation radius drawn in [-previous_morph, previous_morph]
            px (chosen: 3).

    Objects:
        max_objects: keep at most this many objects per clip, drawn at random (0 = all);
            the others stay in the picture labelled background, as distractors.
    """

    rotation: float = 30.0
    scale: tuple[float, float] = (0.75, 1.25)
    translation: float = 0.1
    shear: float = 5.0
    tps_points: int = 4
    tps_shift: float = 0.15
    mirror_probability: float = 0.5
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    hue: float = 0.02
    paste_probability: float = 0.5
    occluder_probability: float = 0.25
    occluder_scale: tuple[float, float] = (0.3, 0.6)
    previous_scale: float = 0.05
    previous_rotation: float = 5.0
    previous_translation: float = 0.1
    previous_tps_points: int = 4
    previous_tps_shift: float = 0.1
    previous_max_shift: float = 0.05
    previous_morph: int = 3
    max_objects: int = 0

    def __post_init__(self) -> None:
        problems = _parameter_problems(self)
        if problems:
            raise ConfigError("invalid static augmentation: " + "; ".join(problems))

    @classmethod
    def none(cls, **overrides) -> StaticAugmentation:
        """Every transform off (identity frames, previous mask = target mask), then
        ``overrides``."""
        off = dict(
            rotation=0.0,
            scale=(1.0, 1.0),
            translation=0.0,
            shear=0.0,
            tps_points=0,
            tps_shift=0.0,
            mirror_probability=0.0,
            brightness=0.0,
            contrast=0.0,
            saturation=0.0,
            hue=0.0,
            paste_probability=0.0,
            occluder_probability=0.0,
            previous_scale=0.0,
            previous_rotation=0.0,
            previous_translation=0.0,
            previous_tps_points=0,
            previous_tps_shift=0.0,
            previous_max_shift=0.0,
            previous_morph=0,
        )
        off.update(overrides)
        return cls(**off)

    def previous_bound_px(self, size: tuple[int, int]) -> float:
        """The largest displacement (px) of a previous-mask pixel for output ``size`` (H, W)."""
        return self.previous_max_shift * min(size)


# name -> (smallest, largest) allowed value; ranges are (low, high) pairs checked apart
_LIMITS = {
    "rotation": (0, 180),
    "translation": (0, 1),
    "shear": (0, 60),
    "tps_shift": (0, 0.49),
    "mirror_probability": (0, 1),
    "brightness": (0, 0.99),
    "contrast": (0, 0.99),
    "saturation": (0, 0.99),
    "hue": (0, 0.5),
    "paste_probability": (0, 1),
    "occluder_probability": (0, 1),
    "previous_scale": (0, 0.99),
    "previous_rotation": (0, 180),
    "previous_translation": (0, 1),
    "previous_tps_shift": (0, 0.49),
    "previous_max_shift": (0, 1),
    "previous_morph": (0, 64),
    "max_objects": (0, 254),
}


def _parameter_problems(p: StaticAugmentation) -> list[str]:
    problems = []
    for name, (low, high) in _LIMITS.items():
        value = getattr(p, name)
        if not (isinstance(value, (int, float)) and low <= value <= high):
            problems.append(f"{name} must lie in [{low}, {high}], got {value!r}")
    for name in ("scale", "occluder_scale"):
        value = tuple(getattr(p, name))
        if len(value) != 2 or not 0 < value[0] <= value[1]:
            problems.append(
                f"{name} must be (low, high) with 0 < low <= high, got {getattr(p, name)!r}"
            )
    for name in ("tps_points", "previous_tps_points"):
        value = getattr(p, name)
        if not (isinstance(value, int) and (value == 0 or 2 <= value <= 16)):
            problems.append(f"{name} must be 0 (off) or 2 ... 16, got {value!r}")
    return problems


# --------------------------------------------------------------------------------------------
# Affine matrices (3 x 3, mapping input (x, y, 1) to output)


def translation_matrix(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def mirror_matrix(width: int) -> np.ndarray:
    """Left-right mirror of an image ``width`` px wide: x -> width - 1 - x."""
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def cover_matrix(source_hw: tuple[int, int], output_hw: tuple[int, int]) -> np.ndarray:
    """Scale the source (keeping its aspect) so that it covers the output, centres aligned."""
    (h, w), (oh, ow) = source_hw, output_hw
    s = max(oh / h, ow / w)
    return (
        translation_matrix((ow - 1) / 2, (oh - 1) / 2)
        @ np.diag([s, s, 1.0])
        @ translation_matrix(-(w - 1) / 2, -(h - 1) / 2)
    )


def affine_matrix(
    *,
    scale: float = 1.0,
    rotation: float = 0.0,
    shear: float = 0.0,
    translation: tuple[float, float] = (0.0, 0.0),
    centre: tuple[float, float] = (0.0, 0.0),
    aspect: tuple[float, float] = (1.0, 1.0),
) -> np.ndarray:
    """Rotation (degrees) · horizontal shear (degrees) · scale about ``centre``, then a shift.

    ``aspect`` scales x and y apart (relative scale change of the previous mask).
    """
    cx, cy = centre
    theta, phi = math.radians(rotation), math.radians(shear)
    rotate = np.array(
        [
            [math.cos(theta), -math.sin(theta), 0.0],
            [math.sin(theta), math.cos(theta), 0.0],
            [0.0, 0.0, 1.0],
        ]
    )
    shear_m = np.array([[1.0, math.tan(phi), 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    zoom = np.diag([scale * aspect[0], scale * aspect[1], 1.0])
    return (
        translation_matrix(cx + translation[0], cy + translation[1])
        @ rotate
        @ shear_m
        @ zoom
        @ translation_matrix(-cx, -cy)
    )


def random_frame_affine(
    rng: np.random.Generator, params: StaticAugmentation, output_hw: tuple[int, int]
) -> np.ndarray:
    """One frame's random rotation, scale, shear and translation about the output centre."""
    oh, ow = output_hw
    return affine_matrix(
        scale=float(rng.uniform(*params.scale)),
        rotation=float(rng.uniform(-params.rotation, params.rotation)),
        shear=float(rng.uniform(-params.shear, params.shear)),
        translation=(
            float(rng.uniform(-1, 1) * params.translation * ow),
            float(rng.uniform(-1, 1) * params.translation * oh),
        ),
        centre=((ow - 1) / 2, (oh - 1) / 2),
    )


# --------------------------------------------------------------------------------------------
# Thin-plate splines


@dataclass(frozen=True)
class ThinPlateSpline:
    """f(p) = a0 + a1 x + a2 y + Σ w_i U(|p - c_i|), U(r) = r² log r², interpolating values at c_i.

    Coordinates are divided by ``unit`` before evaluation, for a well-conditioned system.
    """

    centres: np.ndarray  # (n, 2) control points, in units
    weights: np.ndarray  # (n, k)
    affine: np.ndarray  # (3, k)
    unit: float

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Values (m, k) at ``points`` (m, 2) in pixels (float32 arithmetic: sub-pixel accuracy
        is all a random warp needs)."""
        p = (np.asarray(points, dtype=np.float64) / self.unit).astype(np.float32)
        centres = self.centres.astype(np.float32)
        kernel = _tps_kernel(_squared_distances(p, centres))
        radial = kernel @ self.weights.astype(np.float32)
        affine = self.affine.astype(np.float32)
        return radial + p[:, 0:1] * affine[1] + p[:, 1:2] * affine[2] + affine[0]


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    dx = a[:, 0:1] - b[None, :, 0]
    dy = a[:, 1:2] - b[None, :, 1]
    dx *= dx
    dy *= dy
    dx += dy
    return dx


def _tps_kernel(r2: np.ndarray) -> np.ndarray:
    """U = r² log r², 0 at r = 0."""
    tiny = np.finfo(r2.dtype).tiny
    return r2 * np.log(np.maximum(r2, tiny))


def fit_tps(centres: np.ndarray, values: np.ndarray, unit: float | None = None) -> ThinPlateSpline:
    """The thin-plate spline through ``values`` (n, k) at ``centres`` (n, 2 px).

    Solves [[K, P], [Pᵀ, 0]] [w; a] = [v; 0] with K_ij = U(|c_i - c_j|), P = [1, x, y].
    """
    centres = np.asarray(centres, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if centres.ndim != 2 or centres.shape[1] != 2 or len(centres) < 3:
        raise ValueError(f"a TPS needs (n >= 3, 2) control points, got {centres.shape}")
    values = values.reshape(len(centres), -1)
    if unit is None:
        unit = float(max(1.0, np.ptp(centres, axis=0).max()))
    c = centres / unit
    n = len(c)
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = _tps_kernel(_squared_distances(c, c))
    system[:n, n] = 1.0
    system[:n, n + 1 :] = c
    system[n, :n] = 1.0
    system[n + 1 :, :n] = c.T
    rhs = np.zeros((n + 3, values.shape[1]))
    rhs[:n] = values
    solution = np.linalg.solve(system, rhs)
    return ThinPlateSpline(c, solution[:n], solution[n:], unit)


def control_grid(x0: float, y0: float, x1: float, y1: float, points: int) -> np.ndarray:
    """``points`` x ``points`` control points (x, y) spanning the box [x0, x1] x [y0, y1]."""
    xs, ys = np.linspace(x0, x1, points), np.linspace(y0, y1, points)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def node_step(centres: np.ndarray, nodes_per_spacing: float = 12) -> int:
    """Node spacing for a spline through ``centres``: the closest control points' distance
    over ``nodes_per_spacing``, rounded down to a power of two in 2 … FIELD_STEP."""
    spacing = float(
        np.sqrt(_squared_distances(centres, centres) + np.eye(len(centres)) * 1e18).min()
    )
    step = FIELD_STEP
    while step > 2 and step > spacing / nodes_per_spacing:
        step //= 2
    return step


def _node_count(size: int, step: int) -> int:
    return size // step + 3


def node_grid(height: int, width: int, step: int) -> np.ndarray:
    """(ny, nx, 2) float64 (x, y) of the nodes :func:`upsample_nodes` interpolates from.

    Node k sits at (k - 1)·step + (step - 1)/2: where ``cv2.resize`` by a factor ``step`` puts
    source sample k once the first ``step`` output pixels are cropped, so that every pixel of
    the H x W image lies strictly between nodes.
    """
    grid = np.empty((_node_count(height, step), _node_count(width, step), 2))
    grid[..., 0] = (np.arange(grid.shape[1])[None, :] - 1) * float(step) + (step - 1) / 2
    grid[..., 1] = (np.arange(grid.shape[0])[:, None] - 1) * float(step) + (step - 1) / 2
    return grid


def upsample_nodes(values: np.ndarray, height: int, width: int, step: int) -> np.ndarray:
    """(H, W, 2) float32 bilinear interpolation of ``values`` on :func:`node_grid` to every pixel.

    An affine function of the position is reproduced exactly, and every interpolated vector is
    a convex combination of node vectors (a bound on their length holds in between).
    """
    ny, nx = values.shape[:2]
    if (ny, nx) != (_node_count(height, step), _node_count(width, step)):
        raise ValueError(f"{ny}x{nx} nodes do not match a {height}x{width} image with step {step}")
    full = cv2.resize(
        values.astype(np.float32), (nx * step, ny * step), interpolation=cv2.INTER_LINEAR
    )
    return full[step : step + height, step : step + width]


def tps_field(
    centres: np.ndarray, shifts: np.ndarray, height: int, width: int, step: int | None = None
) -> np.ndarray:
    """(H, W, 2) float32 displacement (dx, dy) interpolating ``shifts`` (n, 2) at ``centres``.

    The spline is evaluated on nodes every ``step`` px (default :func:`node_step`) and
    interpolated bilinearly in between: exact at the nodes, within a pixel of the spline
    elsewhere even for shifts of 15 % of the size.
    """
    step = step or node_step(centres)
    nodes = node_grid(height, width, step)
    spline = fit_tps(centres, shifts, unit=float(max(height, width)))
    return upsample_nodes(spline(nodes.reshape(-1, 2)).reshape(nodes.shape), height, width, step)


def _random_spline(
    rng: np.random.Generator,
    box: tuple[float, float, float, float],
    points: int,
    shift: tuple[float, float],
    unit: float,
) -> ThinPlateSpline | None:
    """A spline moving a points-by-points control grid over ``box`` by ± ``shift`` (x, y) px."""
    if points < 2 or (shift[0] <= 0 and shift[1] <= 0):
        return None
    centres = control_grid(*box, points)
    shifts = rng.uniform(-1.0, 1.0, size=centres.shape) * np.asarray(shift, dtype=np.float64)
    return fit_tps(centres, shifts, unit=unit)


def _spline_step(spline: ThinPlateSpline | None, nodes_per_spacing: float = 12) -> int:
    return (
        node_step(spline.centres * spline.unit, nodes_per_spacing)
        if spline is not None
        else FIELD_STEP
    )


# --------------------------------------------------------------------------------------------
# Backward maps and remapping


@lru_cache(maxsize=16)
def pixel_grid(height: int, width: int) -> np.ndarray:
    """Read-only (H, W, 2) float32 (x, y) coordinates of every pixel."""
    grid = np.empty((height, width, 2), dtype=np.float32)
    grid[..., 0] = np.arange(width, dtype=np.float32)[None, :]
    grid[..., 1] = np.arange(height, dtype=np.float32)[:, None]
    grid.setflags(write=False)
    return grid


def backward_map(
    forward: np.ndarray, output_hw: tuple[int, int], field: np.ndarray | None = None
) -> np.ndarray:
    """(H, W, 2) float32 input coordinates sampled for each output pixel p:
    forward⁻¹(p + field(p))."""
    points = pixel_grid(*output_hw)
    if field is not None:
        points = points + field
    return cv2.transform(points, np.linalg.inv(forward)[:2])


def remap_image(image: np.ndarray, coordinates: np.ndarray) -> np.ndarray:
    """Bilinear sampling at (H, W, 2) float32 input coordinates; outside the input is black."""
    return cv2.remap(
        image, coordinates, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def remap_labels(labels: np.ndarray, coordinates: np.ndarray) -> np.ndarray:
    """Nearest-neighbour sampling of a label map; outside the input is background (0)."""
    return cv2.remap(
        labels, coordinates, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def random_frame_map(
    rng: np.random.Generator,
    params: StaticAugmentation,
    placement: np.ndarray,
    output_hw: tuple[int, int],
) -> np.ndarray:
    """One simulated frame's backward map: forward⁻¹(p + tps(p)), forward = a random affine
    after ``placement``. With a TPS the map is computed on nodes and interpolated (the
    affine part commutes with the interpolation)."""
    oh, ow = output_hw
    inverse = np.linalg.inv(random_frame_affine(rng, params, output_hw) @ placement)[:2]
    spline = _random_spline(
        rng,
        (0.0, 0.0, ow - 1.0, oh - 1.0),
        params.tps_points,
        (params.tps_shift * ow, params.tps_shift * oh),
        float(max(oh, ow)),
    )
    if spline is None:
        return cv2.transform(pixel_grid(oh, ow), inverse)
    step = _spline_step(spline)
    nodes = node_grid(oh, ow, step)
    moved = nodes + spline(nodes.reshape(-1, 2)).reshape(nodes.shape)
    return upsample_nodes(cv2.transform(moved, inverse), oh, ow, step)


# --------------------------------------------------------------------------------------------
# Colour


def colour_jitter(
    image: np.ndarray, rng: np.random.Generator, params: StaticAugmentation
) -> np.ndarray:
    """Brightness, contrast, saturation and hue, applied as one affine colour transform.

    With luma y = w·x (BT.601 weights) and the image's mean luma m: brightness scales by b,
    contrast c pulls towards b·m, saturation s towards each pixel's luma, and hue turns the
    chroma plane (YIQ) by an angle of ``hue`` x 360°. All of it is linear in x, so it is one
    3 x 4 matrix applied by ``cv2.transform`` (rounded and saturated to uint8).
    """
    b = float(rng.uniform(1 - params.brightness, 1 + params.brightness))
    c = float(rng.uniform(1 - params.contrast, 1 + params.contrast))
    s = float(rng.uniform(1 - params.saturation, 1 + params.saturation))
    hue = float(rng.uniform(-params.hue, params.hue))
    if b == 1 and c == 1 and s == 1 and hue == 0:
        return image
    mean_luma = float(np.dot(_LUMA, cv2.mean(image)[:3]))
    # x' = s·b·c·x + (1 − s)·b·c·(w·x)·1 + (1 − c)·b·m
    linear = s * b * c * np.eye(3) + (1 - s) * b * c * np.outer(np.ones(3), _LUMA)
    linear = _hue_rotation(hue) @ linear
    offset = (1 - c) * b * mean_luma * _hue_rotation(hue) @ np.ones(3)
    return cv2.transform(image, np.hstack([linear, offset[:, None]]))


_LUMA = np.array([0.299, 0.587, 0.114])
_RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]]
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def _hue_rotation(turns: float) -> np.ndarray:
    """RGB → RGB matrix turning the chroma (I, Q) plane by ``turns`` of a full circle; luma kept."""
    if turns == 0:
        return np.eye(3)
    angle = 2 * math.pi * turns
    rotate = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.0, math.cos(angle), -math.sin(angle)],
            [0.0, math.sin(angle), math.cos(angle)],
        ]
    )
    return _YIQ_TO_RGB @ rotate @ _RGB_TO_YIQ


# --------------------------------------------------------------------------------------------
# Previous mask


def object_ids(labels: np.ndarray) -> tuple[int, ...]:
    """Ids present in a label map, background and void excluded, ascending."""
    present = np.flatnonzero(cv2.calcHist([labels], [0], None, [256], [0, 256]).ravel())
    return tuple(int(i) for i in present if i not in (0, VOID_LABEL))


def previous_displacement(
    rng: np.random.Generator,
    params: StaticAugmentation,
    box: tuple[int, int, int, int],
    crop_hw: tuple[int, int],
    bound: float,
) -> np.ndarray:
    """(h, w, 2) displacement of one object's crop: affine + TPS around ``box`` (x, y, w, h in
    crop coordinates), each vector's length at most ``bound`` px.

    The field is computed and clipped on nodes, then interpolated: interpolated vectors are
    convex combinations of clipped ones, so the bound holds at every pixel.
    """
    ch, cw = crop_hw
    x, y, bw, bh = box
    centre = (x + (bw - 1) / 2, y + (bh - 1) / 2)
    forward = affine_matrix(
        aspect=tuple(
            float(v) for v in rng.uniform(1 - params.previous_scale, 1 + params.previous_scale, 2)
        ),
        rotation=float(rng.uniform(-params.previous_rotation, params.previous_rotation)),
        translation=(
            float(rng.uniform(-1, 1) * params.previous_translation * bw),
            float(rng.uniform(-1, 1) * params.previous_translation * bh),
        ),
        centre=centre,
    )
    half_w, half_h = max(bw - 1, MIN_TPS_SPAN) / 2, max(bh - 1, MIN_TPS_SPAN) / 2
    spline = _random_spline(
        rng,
        (centre[0] - half_w, centre[1] - half_h, centre[0] + half_w, centre[1] + half_h),
        params.previous_tps_points,
        (params.previous_tps_shift * bw, params.previous_tps_shift * bh),
        float(max(ch, cw)),
    )
    step = _spline_step(spline, PREVIOUS_NODES_PER_SPACING)
    nodes = node_grid(ch, cw, step)
    points = nodes.reshape(-1, 2)
    shift = cv2.transform(nodes, forward[:2]).reshape(-1, 2) - points
    if spline is not None:
        shift += spline(points)
    length = np.sqrt((shift**2).sum(axis=1))
    too_long = length > bound
    shift[too_long] *= (bound / length[too_long])[:, None]
    return upsample_nodes(shift.reshape(nodes.shape), ch, cw, step)


def morph(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilate (radius > 0) or erode (radius < 0) a 0/1 mask with a disc."""
    if radius == 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(radius) + 1,) * 2)
    return (cv2.dilate if radius > 0 else cv2.erode)(mask, kernel)


def deform_previous(
    labels: np.ndarray, rng: np.random.Generator, params: StaticAugmentation
) -> np.ndarray:
    """A simulated previous-frame mask: every object of ``labels`` warped on its own.

    Each object is moved by a random affine + TPS displacement (every pixel by at most
    ``params.previous_bound_px(labels.shape)`` px), then dilated or eroded by up to
    ``params.previous_morph`` px (an erosion that would erase the object is skipped); objects
    are drawn in ascending id order (a later one covers an earlier one). Void becomes
    background: a previous mask is a prediction.
    """
    height, width = labels.shape
    bound = params.previous_bound_px((height, width))
    out = np.zeros_like(labels)
    margin = int(math.ceil(bound)) + params.previous_morph + 2
    for oid in object_ids(labels):
        binary = (labels == oid).view(np.uint8)
        x, y, bw, bh = cv2.boundingRect(binary)
        x0, y0 = max(0, x - margin), max(0, y - margin)
        x1, y1 = min(width, x + bw + margin), min(height, y + bh + margin)
        crop = binary[y0:y1, x0:x1]
        field = previous_displacement(rng, params, (x - x0, y - y0, bw, bh), crop.shape, bound)
        moved = remap_labels(crop, pixel_grid(*crop.shape) + field)
        radius = int(rng.integers(-params.previous_morph, params.previous_morph + 1))
        morphed = morph(moved, radius)
        moved = morphed if radius > 0 or morphed.any() else moved  # erosion never erases an object
        out[y0:y1, x0:x1][moved.view(bool)] = oid
    return out


__all__ = [
    "FIELD_STEP",
    "StaticAugmentation",
    "ThinPlateSpline",
    "affine_matrix",
    "backward_map",
    "colour_jitter",
    "control_grid",
    "cover_matrix",
    "deform_previous",
    "fit_tps",
    "mirror_matrix",
    "morph",
    "object_ids",
    "node_grid",
    "node_step",
    "pixel_grid",
    "previous_displacement",
    "random_frame_affine",
    "random_frame_map",
    "remap_image",
    "remap_labels",
    "tps_field",
    "translation_matrix",
    "upsample_nodes",
]
