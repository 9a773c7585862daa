"""Fully-connected (dense) CRF post-processing: Krähenbühl and Koltun, NIPS 2011.

Every pixel is linked to every other one by Gaussian edge potentials; mean-field inference stays
cheap because each message-passing step is a high-dimensional Gaussian filter, evaluated on a
permutohedral lattice (Adams, Baek and Davis, Eurographics 2010). The conventions are those of
Krähenbühl's ``densecrf`` library as wrapped by ``pydensecrf``, which COSNet's authors ran:

* unary ``-log(clip(p, 1e-5, 1))`` per label (pydensecrf's ``unary_from_softmax``);
* a spatial Gaussian kernel on (row, column) / ``gaussian_sxy`` and a bilateral kernel on
  (row, column) / ``bilateral_sxy`` and (R, G, B) / ``bilateral_srgb``, both with unit
  ("diagonal") feature weights, so a kernel is ``exp(-|f_i - f_j|^2 / 2)``, the pixel itself
  included (the paper's sum leaves it out; the lattice, like densecrf, cannot);
* symmetric normalisation: with ``n = 1 / sqrt(K 1)``, a kernel contributes ``n * K(n * Q)``;
* Potts compatibility: label ``l`` gains ``compat * [n K(n Q)]_l`` in its log-probability;
* ``iterations`` parallel mean-field updates starting from ``softmax(-unary)``; label = argmax.

The lattice follows the published algorithm and densecrf's choices (elevation scale
``sqrt(2/3) (d + 1)``, splatting with barycentric weights, a [1/2, 1, 1/2] blur along each of
the d + 1 lattice axes in order 0..d over existing vertices only, slicing scaled by
``1 / (1 + 2^-d)``), in float32 with the same operation order, so it agrees with pydensecrf to
float rounding (about 1e-5 on marginals), not merely to the lattice's approximation error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from vosbench.errors import ConfigError

BACKENDS = ("numpy", "pydensecrf")
COSNET_BILATERAL_SXY = (10.0, 15.0, 20.0)
COSNET_BILATERAL_COMPAT = (8.0, 9.0, 10.0)


@dataclass(frozen=True)
class DenseCRFParams:
    """One dense-CRF setting. The defaults are COSNet's recipe at the centre of its grid.

    COSNet's authors grid-searched ``bilateral_sxy`` in {10, 15, 20} and ``bilateral_compat``
    in {8, 9, 10} without saying which point gave the paper number; the default is the centre,
    (15, 9), the point nearest to all nine. ``normalise_probability`` applies their per-frame
    min-max stretch (:func:`minmax_normalise`) in :func:`dense_crf`.
    """

    iterations: int = 5
    gaussian_sxy: float = 1.0
    gaussian_compat: float = 5.0
    bilateral_sxy: float = 15.0
    bilateral_srgb: float = 7.0
    bilateral_compat: float = 9.0
    unary_clip: float = 1e-5
    normalise_probability: bool = True

    def __post_init__(self) -> None:
        if (
            isinstance(self.iterations, bool)
            or not isinstance(self.iterations, int)
            or self.iterations < 0
        ):
            raise ConfigError(
                f"dense CRF iterations must be a non-negative integer, got {self.iterations!r}"
            )
        for name in ("gaussian_sxy", "bilateral_sxy", "bilateral_srgb"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"dense CRF {name} must be a positive number, got {value!r}")
        for name in ("gaussian_compat", "bilateral_compat"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ConfigError(f"dense CRF {name} must be a non-negative number, got {value!r}")
        if not (isinstance(self.unary_clip, (int, float)) and 0 < self.unary_clip < 1):
            raise ConfigError(f"dense CRF unary_clip must lie in (0, 1), got {self.unary_clip!r}")

    @classmethod
    def cosnet_grid(cls) -> tuple[DenseCRFParams, ...]:
        """The nine settings COSNet's authors searched: bilateral sxy x bilateral compat."""
        return tuple(
            cls(bilateral_sxy=sxy, bilateral_compat=compat)
            for sxy in COSNET_BILATERAL_SXY
            for compat in COSNET_BILATERAL_COMPAT
        )

    @property
    def tag(self) -> str:
        """A short name for result folders and tables, e.g. ``s15_c9``."""
        return f"s{self.bilateral_sxy:g}_c{self.bilateral_compat:g}"


# --------------------------------------------------------------------------- lattice

# Vertex keys are packed into one int64 while the product of the coordinate spans stays below this.
_MAX_PACKED_CODE = 2.0**62


class PermutohedralLattice:
    """Approximate Gaussian filtering ``out_i = sum_j exp(-|f_i - f_j|^2 / 2) v_j`` of N points.

    Built once per feature set (splat/slice weights, blur neighbours), then applied to any
    number of value channels. The result carries densecrf's overall scale, which differs from
    the exact sum by a smooth factor; normalised uses (:class:`SymmetricKernel`) cancel most of it.
    """

    def __init__(self, features: np.ndarray):
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[0] == 0 or features.shape[1] == 0:
            raise ValueError(
                f"lattice features must be a non-empty (N, d) array, got shape {features.shape}"
            )
        if not np.all(np.isfinite(features)):
            raise ValueError("lattice features must be finite")
        self.size, self.dim = features.shape
        elevated = _elevate(np.ascontiguousarray(features.T))
        remainder0, rank = _enclosing_simplex(elevated)
        weights = _barycentric_weights(elevated, remainder0, rank)
        vertex_of_point, self._neighbours = _vertex_tables(remainder0, rank)
        self.vertices = int(self._neighbours.shape[-1])
        n, d1 = self.size, self.dim + 1
        self._slice = sparse.csr_matrix(
            (
                np.ascontiguousarray(weights.T).ravel(),
                np.ascontiguousarray(vertex_of_point.T).ravel(),
                np.arange(0, n * d1 + 1, d1),
            ),
            shape=(n, self.vertices),
        )
        self._splat = self._slice.T.tocsr()
        self._alpha = np.float32(1.0 / (1.0 + 2.0 ** (-self.dim)))

    def filter(self, values: np.ndarray) -> np.ndarray:
        """Filter values of shape (N,) or (C, N), channel by channel; returns float32, same
        shape."""
        values = np.asarray(values, dtype=np.float32)
        if values.shape[-1] != self.size or values.ndim > 2:
            raise ValueError(
                f"lattice of {self.size} points cannot filter values of shape {values.shape}"
            )
        channels = values.reshape(-1, self.size)
        out = np.empty(channels.shape, dtype=np.float32)
        for c, channel in enumerate(channels):
            out[c] = self._filter_channel(channel)
        return out.reshape(values.shape)

    def _filter_channel(self, values: np.ndarray) -> np.ndarray:
        grid = np.empty(
            self.vertices + 1, dtype=np.float32
        )  # the last entry stands for absent vertices
        grid[:-1] = self._splat @ values
        grid[-1] = 0
        blurred = np.empty_like(grid)
        blurred[-1] = 0
        half = np.float32(0.5)
        for forward, backward in self._neighbours:  # axes 0..d in order, each [1/2, 1, 1/2]
            np.add(grid.take(forward), grid.take(backward), out=blurred[:-1])
            blurred[:-1] *= half
            blurred[:-1] += grid[:-1]
            grid, blurred = blurred, grid
        out = self._slice @ grid[:-1]
        out *= self._alpha
        return out


def _elevate(features: np.ndarray) -> np.ndarray:
    """(d+1, N): d-dim features (d, N) on the plane sum(x) = 0 of R^(d+1), scaled for unit std."""
    d, n = features.shape
    inv_std = np.float32(math.sqrt(2.0 / 3.0) * (d + 1))
    scale = [np.float32(1.0 / math.sqrt((i + 2) * (i + 1)) * float(inv_std)) for i in range(d)]
    elevated = np.empty((d + 1, n), dtype=np.float32)
    running = np.zeros(n, dtype=np.float32)
    for j in range(d, 0, -1):
        scaled = features[j - 1] * scale[j - 1]
        np.subtract(running, np.float32(j) * scaled, out=elevated[j])
        running += scaled
    elevated[0] = running
    return elevated


def _enclosing_simplex(elevated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest remainder-0 lattice point (float32 coordinates) and the rank of each coordinate.

    Ranks count the coordinates whose residual is larger, ties going to the lower index; the
    point is then moved back onto the plane as the rounding required.
    """
    d1 = elevated.shape[0]
    # Any nearby remainder-0 start gives the same simplex after the rank correction below.
    rounded = np.rint(elevated * np.float32(1.0 / d1))
    remainder0 = rounded * np.float32(d1)
    residual = elevated - remainder0
    rank = np.zeros(elevated.shape, dtype=np.int16)
    for i in range(d1 - 1):
        for j in range(i + 1, d1):
            smaller = residual[i] < residual[j]
            rank[i] += smaller
            rank[j] += 1
            rank[j] -= smaller
    rank += rounded.sum(axis=0).astype(np.int16)
    wrap = (rank < 0).astype(np.int16) - (rank >= d1).astype(np.int16)
    rank += np.int16(d1) * wrap
    remainder0 += np.float32(d1) * wrap
    return remainder0, rank


def _barycentric_weights(
    elevated: np.ndarray, remainder0: np.ndarray, rank: np.ndarray
) -> np.ndarray:
    """(d+1, N) weights of the simplex vertices, indexed by vertex remainder 0..d."""
    d1 = elevated.shape[0]
    by_position = np.empty_like(elevated)
    np.put_along_axis(
        by_position,
        (d1 - 1) - rank.astype(np.intp),
        (elevated - remainder0) * np.float32(1.0 / d1),
        axis=0,
    )
    weights = np.empty_like(elevated)
    weights[1:] = by_position[1:] - by_position[:-1]
    weights[0] = by_position[0] + (np.float32(1.0) - by_position[-1])
    return weights


def _vertex_tables(remainder0: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex id of every (remainder, point), shape (d+1, N), and the blur neighbours, (d+1, 2, M).

    The remainder-r vertex of a point has coordinates ``remainder0 + r`` minus d+1 where the
    rank exceeds d - r; keys keep the first d coordinates (the last one is implied by sum 0).
    Along axis j the neighbours of key k are k + (d+1) e_j - 1 and k - (d+1) e_j + 1; a missing
    neighbour gets id M (a zero entry).
    """
    d1, n = rank.shape
    d = d1 - 1
    base = remainder0[:d].astype(np.int64)
    low = base.min(axis=1) - 2 * d1
    span = base.max(axis=1) + 2 * d1 - low + 1
    steps = np.full((d1, d), -1, dtype=np.int64)
    steps[np.arange(d), np.arange(d)] += d1
    if float(np.prod(span.astype(np.float64))) >= _MAX_PACKED_CODE:
        return _vertex_tables_by_rows(base, rank, steps)
    stride = np.ones(d, dtype=np.int64)
    stride[:-1] = np.cumprod(span[::-1])[::-1][1:]
    base_code = stride @ (base - low[:, None])
    # Stride of the coordinate holding each rank (the implied last coordinate has none).
    stride_by_rank = np.empty((d1, n), dtype=np.int64)
    np.put_along_axis(
        stride_by_rank,
        rank.astype(np.intp),
        np.broadcast_to(np.append(stride, 0)[:, None], (d1, n)),
        axis=0,
    )
    codes = np.empty((d1, n), dtype=np.int64)
    lowered = np.zeros(n, dtype=np.int64)  # sum of the strides of coordinates ranked above d - r
    for r in range(d1):
        if r:
            lowered += stride_by_rank[d1 - r]
        codes[r] = base_code + r * stride.sum() - d1 * lowered
    vertex_codes, vertex_of_point = np.unique(codes, return_inverse=True)
    forward = np.stack([_lookup(vertex_codes, vertex_codes + c) for c in steps @ stride])
    return vertex_of_point.reshape(d1, n), _blur_neighbours(forward)


def _vertex_tables_by_rows(
    base: np.ndarray, rank: np.ndarray, steps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_vertex_tables` for coordinates too spread to pack: keys compared as whole rows."""
    d1, n = rank.shape
    d = d1 - 1
    keys = np.stack([base.T + r - d1 * (rank[:d].T > d - r) for r in range(d1)])  # (d+1, N, d)
    vertex_keys, vertex_of_point = np.unique(keys.reshape(-1, d), axis=0, return_inverse=True)
    candidates = [vertex_keys] + [vertex_keys + step for step in steps]
    _, row_codes = np.unique(np.concatenate(candidates), axis=0, return_inverse=True)
    row_codes = row_codes.reshape(-1).astype(np.int64)
    m = len(vertex_keys)
    vertex_codes = row_codes[:m]  # increasing: both uniques order rows the same way
    forward = _lookup(vertex_codes, row_codes[m:].reshape(d1, m))
    return vertex_of_point.reshape(d1, n), _blur_neighbours(forward)


def _blur_neighbours(forward: np.ndarray) -> np.ndarray:
    """(d+1, 2, M) neighbours from the forward ones: b = forward(a) exactly when a = backward(b)."""
    d1, m = forward.shape
    backward = np.full((d1, m), m, dtype=np.intp)
    for axis in range(d1):
        present = np.flatnonzero(forward[axis] < m)
        backward[axis, forward[axis, present]] = present
    return np.stack([forward, backward], axis=1)


def _lookup(sorted_codes: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index of each query among sorted unique codes, or len(sorted_codes) where absent."""
    m = len(sorted_codes)
    position = np.searchsorted(sorted_codes, queries)
    found = sorted_codes.take(np.minimum(position, m - 1)) == queries
    return np.where(found, position, m).astype(np.intp)


# --------------------------------------------------------------------------- mean field


class SymmetricKernel:
    """``Q -> n * K(n * Q)`` with ``n = 1 / sqrt(K 1)``: densecrf's NORMALIZE_SYMMETRIC."""

    def __init__(self, features: np.ndarray):
        self.lattice = PermutohedralLattice(features)
        ones = np.ones(self.lattice.size, dtype=np.float32)
        self.norm = (1.0 / np.sqrt(self.lattice.filter(ones) + np.float32(1e-20))).astype(
            np.float32
        )

    def __call__(self, q: np.ndarray) -> np.ndarray:
        """Filter (C, N) or (N,) values."""
        return self.lattice.filter(q * self.norm) * self.norm


def mean_field(
    unary: np.ndarray,
    pairwise: Sequence[tuple[float, Callable[[np.ndarray], np.ndarray]]],
    iterations: int,
) -> np.ndarray:
    """Marginals (L, N) after ``iterations`` parallel updates from ``unary`` energies (L, N).

    Each pairwise term is (Potts weight, kernel), the kernel a linear map of (C, N) values
    to (C, N) values; every term reads the same marginals within an update, as in densecrf.
    Marginals sum to 1 over labels, so the last label's message is the kernel of ones minus
    the others': L - 1 filterings per term and update instead of L.
    """
    unary = np.asarray(unary, dtype=np.float32)
    labels, n = unary.shape
    filtered_ones = [kernel(np.ones((1, n), dtype=np.float32))[0] for _, kernel in pairwise]
    q = _softmax(-unary)
    for _ in range(iterations):
        logits = -unary
        for (weight, kernel), ones in zip(pairwise, filtered_ones):
            message = np.empty_like(q)
            message[:-1] = kernel(q[:-1])
            np.subtract(ones, message[:-1].sum(axis=0), out=message[-1])
            logits = logits + np.float32(weight) * message
        q = _softmax(logits)
    return q


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over labels (axis 0)."""
    shifted = np.exp(logits - logits.max(axis=0, keepdims=True))
    return shifted / shifted.sum(axis=0, keepdims=True)


# --------------------------------------------------------------------------- images


def minmax_normalise(probability: np.ndarray) -> np.ndarray:
    """Stretch a map to [0, 1], ``(p - min) / (max - min)`` in float64, as COSNet's CRF script does.

    A constant map has no range to stretch and is returned unchanged (as float64): its value is
    all it says, so a constant 0 stays background and a constant 1 stays foreground. (The
    authors' script divides 0 by 0 there; the NaN marginals make its argmax pick background
    whatever the value.)
    """
    p = np.asarray(probability, dtype=np.float64)
    low, high = float(p.min()), float(p.max())
    if high <= low:
        return p.copy()
    return (p - low) / (high - low)


def spatial_features(height: int, width: int, sxy: float) -> np.ndarray:
    """(H*W, 2) float32 features (row, column) / sxy, pixels in row-major order."""
    rows, cols = np.meshgrid(
        np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32), indexing="ij"
    )
    return np.stack([rows.ravel(), cols.ravel()], axis=1) / np.float32(sxy)


def bilateral_features(image: np.ndarray, sxy: float, srgb: float) -> np.ndarray:
    """(H*W, 5) float32 features (row, column) / sxy and (R, G, B) / srgb."""
    h, w = image.shape[:2]
    colour = image.reshape(h * w, -1).astype(np.float32) / np.float32(srgb)
    return np.concatenate([spatial_features(h, w, sxy), colour], axis=1)


class DenseCRF:
    """The CRF of one setting, reused across frames.

    The spatial kernel depends only on the frame size, so it is built once per size and kept
    (at 480p that saves about a third of a frame's time); the bilateral kernel is per image.
    ``backend="pydensecrf"`` runs the same model (same features and unary) through the optional
    pydensecrf2 package (``pip install 'vosbench[crf]'``) instead.
    """

    def __init__(self, params: DenseCRFParams = DenseCRFParams(), backend: str = "numpy"):
        if backend not in BACKENDS:
            raise ConfigError(
                f"unknown dense CRF backend {backend!r}; choose one of {', '.join(BACKENDS)}"
            )
        self.params = params
        self.backend = backend
        self._spatial: tuple[tuple[int, int], SymmetricKernel] | None = None

    def marginals(self, image: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """Marginals (L, H, W) float32 for per-label probabilities (L, H, W) in [0, 1], as given."""
        image, probabilities = _check_inputs(image, probabilities)
        params = self.params
        labels, h, w = probabilities.shape
        unary = -np.log(np.clip(probabilities.astype(np.float64), params.unary_clip, 1.0))
        unary = unary.astype(np.float32).reshape(labels, h * w)
        bilateral = bilateral_features(image, params.bilateral_sxy, params.bilateral_srgb)
        if self.backend == "pydensecrf":
            terms = [
                (params.gaussian_compat, spatial_features(h, w, params.gaussian_sxy)),
                (params.bilateral_compat, bilateral),
            ]
            q = _pydensecrf_marginals(unary, terms, params.iterations)
        else:
            kernels = [
                (params.gaussian_compat, self._spatial_kernel(h, w)),
                (params.bilateral_compat, SymmetricKernel(bilateral)),
            ]
            q = mean_field(unary, kernels, params.iterations)
        return np.ascontiguousarray(q.reshape(labels, h, w), dtype=np.float32)

    def labels(self, image: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """Argmax labels (H, W) uint8 for per-label probabilities (L, H, W), L <= 256."""
        if np.ndim(probabilities) == 3 and np.shape(probabilities)[0] > 256:
            raise ValueError(f"dense CRF labels are uint8; got {np.shape(probabilities)[0]} labels")
        return self.marginals(image, probabilities).argmax(axis=0).astype(np.uint8)

    def binary(self, image: np.ndarray, probability: np.ndarray) -> np.ndarray:
        """Foreground (H, W) uint8 in {0, 1} from a foreground probability (H, W) in [0, 1].

        COSNet's post-processing: min-max stretch (if ``normalise_probability``), labels
        [1 - p, p], the CRF, argmax.
        """
        probability = np.asarray(probability)
        if probability.ndim != 2:
            raise ValueError(
                f"dense CRF probability must be an (H, W) map, got shape {probability.shape}"
            )
        _check_probability(probability)
        p = probability.astype(np.float64)
        if self.params.normalise_probability:
            p = minmax_normalise(p)
        return self.labels(image, np.stack([1.0 - p, p]))

    def _spatial_kernel(self, height: int, width: int) -> SymmetricKernel:
        if self._spatial is None or self._spatial[0] != (height, width):
            features = spatial_features(height, width, self.params.gaussian_sxy)
            self._spatial = ((height, width), SymmetricKernel(features))
        return self._spatial[1]


def dense_crf(
    image: np.ndarray,
    probability: np.ndarray,
    params: DenseCRFParams = DenseCRFParams(),
    backend: str = "numpy",
) -> np.ndarray:
    """Foreground (H, W) uint8 in {0, 1}: :meth:`DenseCRF.binary` for one frame."""
    return DenseCRF(params, backend).binary(image, probability)


def dense_crf_labels(
    image: np.ndarray,
    probabilities: np.ndarray,
    params: DenseCRFParams = DenseCRFParams(),
    backend: str = "numpy",
) -> np.ndarray:
    """Labels (H, W) uint8 from (L, H, W) probabilities: :meth:`DenseCRF.labels` for one frame."""
    return DenseCRF(params, backend).labels(image, probabilities)


def _check_inputs(image: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image)
    probabilities = np.asarray(probabilities)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"dense CRF image must be (H, W, 3) uint8 RGB, got {image.dtype} of shape {image.shape}"
        )
    if probabilities.ndim != 3 or probabilities.shape[0] < 2:
        raise ValueError(
            "dense CRF probabilities must be (L, H, W) with at least 2 labels, "
            f"got shape {probabilities.shape}"
        )
    if probabilities.shape[1:] != image.shape[:2]:
        raise ValueError(
            f"dense CRF probabilities are {probabilities.shape[1]}x{probabilities.shape[2]} "
            f"but the image is {image.shape[0]}x{image.shape[1]}"
        )
    if image.shape[0] * image.shape[1] == 0:
        raise ValueError(f"dense CRF image is empty (shape {image.shape})")
    _check_probability(probabilities)
    return image, probabilities


def _check_probability(probability: np.ndarray) -> None:
    if not np.issubdtype(probability.dtype, np.floating):
        raise ValueError(
            "dense CRF probabilities must be floating point in [0, 1], got dtype "
            f"{probability.dtype}"
        )
    if probability.size == 0:
        raise ValueError("dense CRF probability map is empty")
    if not np.all(np.isfinite(probability)):
        raise ValueError("dense CRF probabilities contain NaN or infinite values")
    low, high = float(probability.min()), float(probability.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"dense CRF probabilities must lie in [0, 1], got values in [{low:g}, {high:g}]"
        )


def _pydensecrf_marginals(
    unary: np.ndarray, terms: Sequence[tuple[float, np.ndarray]], iterations: int
) -> np.ndarray:
    """The same model through pydensecrf (``pip install vosbench[crf]``); returns (L, N)."""
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError as error:
        raise ConfigError(
            "dense CRF backend 'pydensecrf' needs the pydensecrf2 package: "
            "pip install 'vosbench[crf]'"
        ) from error
    labels, n = unary.shape
    crf = dcrf.DenseCRF(n, labels)
    crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    for compat, features in terms:
        crf.addPairwiseEnergy(
            np.ascontiguousarray(features.T, dtype=np.float32),
            compat=float(compat),
            kernel=dcrf.DIAG_KERNEL,
            normalization=dcrf.NORMALIZE_SYMMETRIC,
        )
    return np.asarray(crf.inference(iterations), dtype=np.float32).reshape(labels, n)
