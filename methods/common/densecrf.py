"""Fully-connected (dense) CRF post-processing: Krähenbühl and Koltun, NIPS 2011.

Every pixel is linked to every other one by Gaussian edge potentials; mean-field inference stays
cheap because each message-passing step is a high-dimensional Gaussian filter, evaluated on a
permutohedral lattice (Adams, Baek and Davis, Eurographics 2010). The conventions are those of
Krähenbühl's ``densecrf`` library as wrapped by ``pydensecrf``, which COSNet's authors ran:

* unary ``-log(clip(p, 1e-5, 1))`` per label (pydensecrf's ``unary_from_softmax``);
* a spatial Gaussian kernel on (row, column) / ``gaussian_sxy`` and a bilateral kernel on
  (row, column) / ``bilateral_sxy`` and (R, G, B) / ``bilateral_srgb``, both with unit
  ("diagonal") feature weights, so a kernel is ``exp(-|f_i - f_j|^2 / 2)``;
* symmetric normalisation: with ``n = 1 / sqrt(K 1)``, a kernel contributes ``n * K(n * Q)``;
* Potts compatibility: label ``l`` gains ``compat * [n K(n Q)]_l`` in its log-probability;
* ``iterations`` parallel mean-field updates starting from ``softmax(-unary)``; label = argmax.

The lattice follows the published algorithm and densecrf's choices (elevation scale
``sqrt(2/3) (d + 1)``, round-half-to-even remainder-0 point, per-axis [1/2, 1, 1/2] blur in axis
order 0..d over existing vertices only, slicing scaled by ``1 / (1 + 2^-d)``), in float32, so it
agrees with pydensecrf to float rounding, not only to the lattice's approximation error.
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
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations < 0:
            raise ConfigError(f"dense CRF iterations must be a non-negative integer, got {self.iterations!r}")
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
        return tuple(cls(bilateral_sxy=sxy, bilateral_compat=compat)
                     for sxy in COSNET_BILATERAL_SXY for compat in COSNET_BILATERAL_COMPAT)

    @property
    def tag(self) -> str:
        """A short name for result folders and tables, e.g. ``s15_c9``."""
        return f"s{self.bilateral_sxy:g}_c{self.bilateral_compat:g}"


# --------------------------------------------------------------------------- lattice

class PermutohedralLattice:
    """Approximate Gaussian filtering ``out_i = sum_j exp(-|f_i - f_j|^2 / 2) v_j`` of N points.

    Built once per feature set (the splat/slice weights and the blur neighbours), then applied
    to any number of value channels. The result carries densecrf's overall scale, which differs
    from the exact sum by a smooth factor; normalised uses (see :class:`SymmetricKernel`) cancel
    most of it.
    """

    def __init__(self, features: np.ndarray):
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[0] == 0 or features.shape[1] == 0:
            raise ValueError(f"lattice features must be a non-empty (N, d) array, got shape {features.shape}")
        if not np.all(np.isfinite(features)):
            raise ValueError("lattice features must be finite")
        self.size, self.dim = features.shape
        elevated = _elevate(features)
        remainder0, rank = _enclosing_simplex(elevated)
        weights = _barycentric_weights(elevated, remainder0, rank)
        keys = _simplex_vertex_keys(remainder0, rank)
        vertex_of_point, self._neighbours = _vertex_tables(keys)
        self.vertices = int(self._neighbours.shape[-1])
        n, d1 = self.size, self.dim + 1
        self._slice = sparse.csr_matrix(
            (weights.ravel(), vertex_of_point.ravel(), np.arange(0, n * d1 + 1, d1)),
            shape=(n, self.vertices))
        self._splat = self._slice.T.tocsr()
        self._alpha = np.float32(1.0 / (1.0 + 2.0 ** (-self.dim)))

    def filter(self, values: np.ndarray) -> np.ndarray:
        """Filter (N,) or (N, C) values; returns float32 of the same shape."""
        values = np.asarray(values, dtype=np.float32)
        flat = values.reshape(self.size, -1)
        grid = np.zeros((self.vertices + 1, flat.shape[1]), dtype=np.float32)  # last row: "absent"
        grid[:-1] = self._splat @ flat
        blurred = np.empty_like(grid)
        blurred[-1] = 0
        for forward, backward in self._neighbours:
            np.add(grid[forward], grid[backward], out=blurred[:-1])
            blurred[:-1] *= np.float32(0.5)
            blurred[:-1] += grid[:-1]
            grid, blurred = blurred, grid
        out = self._slice @ grid[:-1]
        out *= self._alpha
        return out.reshape(values.shape)


def _elevate(features: np.ndarray) -> np.ndarray:
    """Project d-dim features onto the plane sum(x) = 0 of R^(d+1), scaled for unit std."""
    n, d = features.shape
    inv_std = np.float32(math.sqrt(2.0 / 3.0) * (d + 1))
    scale = [np.float32(1.0 / math.sqrt((i + 2) * (i + 1)) * float(inv_std)) for i in range(d)]
    elevated = np.empty((n, d + 1), dtype=np.float32)
    running = np.zeros(n, dtype=np.float32)
    for j in range(d, 0, -1):
        scaled = features[:, j - 1] * scale[j - 1]
        elevated[:, j] = running - np.float32(j) * scaled
        running += scaled
    elevated[:, 0] = running
    return elevated


def _enclosing_simplex(elevated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest remainder-0 lattice point (as float32 coordinates) and the rank of each coordinate."""
    d1 = elevated.shape[1]
    down = elevated * np.float32(1.0 / d1)
    rounded = np.rint(down)
    remainder0 = rounded * np.float32(d1)
    offset = rounded.sum(axis=1).astype(np.int64)
    residual = elevated - remainder0
    rank = np.zeros(elevated.shape, dtype=np.int64)
    for i in range(d1 - 1):
        for j in range(i + 1, d1):
            smaller = residual[:, i] < residual[:, j]
            rank[:, i] += smaller
            rank[:, j] += ~smaller
    rank += offset[:, None]
    low, high = rank < 0, rank >= d1
    rank[low] += d1
    rank[high] -= d1
    remainder0[low] += np.float32(d1)
    remainder0[high] -= np.float32(d1)
    return remainder0, rank


def _barycentric_weights(elevated: np.ndarray, remainder0: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Weights of the d+1 simplex vertices, indexed by vertex remainder (0..d)."""
    n, d1 = elevated.shape
    d = d1 - 1
    contribution = (elevated - remainder0) * np.float32(1.0 / d1)
    weights = np.zeros((n, d1 + 1), dtype=np.float32)
    rows = np.arange(n)
    for i in range(d1):
        column = d - rank[:, i]
        weights[rows, column] += contribution[:, i]
        weights[rows, column + 1] -= contribution[:, i]
    weights[:, 0] += np.float32(1.0) + weights[:, d1]
    return weights[:, :d1]


def _simplex_vertex_keys(remainder0: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """(N, d+1 vertices, d) integer coordinates; the (d+1)-th coordinate is implied (sum 0)."""
    d1 = rank.shape[1]
    d = d1 - 1
    base = remainder0[:, :d].astype(np.int64)
    rank = rank[:, :d]
    keys = np.empty((rank.shape[0], d1, d), dtype=np.int64)
    for r in range(d1):
        keys[:, r] = base + r - d1 * (rank > d - r)
    return keys


def _vertex_tables(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex id of every (point, remainder) and, per axis, the two blur neighbours of each vertex.

    Neighbour ids equal the vertex count where the neighbour does not exist (a zero row).
    Along axis j the neighbours of key k are k + (d+1) e_j - 1 and k - (d+1) e_j + 1.
    """
    n, d1, d = keys.shape
    flat = keys.reshape(-1, d)
    steps = np.full((d1, d), -1, dtype=np.int64)
    steps[np.arange(d), np.arange(d)] += d1
    low = flat.min(axis=0) - d1
    span = flat.max(axis=0) + d1 - low + 1
    if float(np.prod(span.astype(np.float64))) < 2.0 ** 62:
        stride = np.concatenate([np.cumprod(span[::-1])[::-1][1:], [1]]).astype(np.int64)
        codes = (flat - low) @ stride
        vertex_codes, vertex_of_point = np.unique(codes, return_inverse=True)
        step_codes = steps @ stride
        neighbour_codes = np.stack([np.stack([vertex_codes + c, vertex_codes - c]) for c in step_codes])
    else:  # coordinates too spread for one int64 code: compare whole rows instead
        vertex_keys, vertex_of_point = np.unique(flat, axis=0, return_inverse=True)
        candidates = np.concatenate([vertex_keys] + [vertex_keys + s * sign for s in steps for sign in (1, -1)])
        _, row_codes = np.unique(candidates, axis=0, return_inverse=True)
        row_codes = row_codes.reshape(-1)
        m = len(vertex_keys)
        vertex_codes = row_codes[:m]  # increasing, as both uniques sort rows the same way
        neighbour_codes = row_codes[m:].reshape(d1, 2, m)
    m = len(vertex_codes)
    position = np.searchsorted(vertex_codes, neighbour_codes)
    found = np.take(vertex_codes, np.minimum(position, m - 1)) == neighbour_codes
    neighbours = np.where(found, position, m).astype(np.intp)
    return vertex_of_point.reshape(n, d1).astype(np.intp), neighbours


# --------------------------------------------------------------------------- mean field

class SymmetricKernel:
    """``Q -> n * K(n * Q)`` with ``n = 1 / sqrt(K 1)``: densecrf's NORMALIZE_SYMMETRIC."""

    def __init__(self, features: np.ndarray):
        self.lattice = PermutohedralLattice(features)
        ones = np.ones(self.lattice.size, dtype=np.float32)
        self.norm = (1.0 / np.sqrt(self.lattice.filter(ones) + 1e-20)).astype(np.float32)[:, None]

    def __call__(self, q: np.ndarray) -> np.ndarray:
        return self.lattice.filter(q * self.norm) * self.norm


def mean_field(unary: np.ndarray, pairwise: Sequence[tuple[float, Callable[[np.ndarray], np.ndarray]]],
               iterations: int) -> np.ndarray:
    """Marginals (N, L) after ``iterations`` parallel updates; ``unary`` is (N, L) energies.

    Each pairwise term is (Potts weight, kernel) where kernel maps (N, L) marginals to filtered
    (N, L) marginals; all terms read the same marginals within an update, as densecrf does.
    """
    unary = np.asarray(unary, dtype=np.float32)
    q = _softmax(-unary)
    for _ in range(iterations):
        logits = -unary
        for weight, kernel in pairwise:
            logits = logits + np.float32(weight) * kernel(q)
        q = _softmax(logits)
    return q


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------- images

def minmax_normalise(probability: np.ndarray) -> np.ndarray:
    """Stretch a map to [0, 1]: ``(p - min) / (max - min)``, as COSNet's CRF script does.

    A constant map has no range to stretch; it is returned unchanged (as float32). Its value is
    then all the information it carries: a constant 0 stays background, a constant 1 stays
    foreground. (The authors' script divides 0 by 0 there; its NaN marginals make the argmax
    pick background whatever the value.)
    """
    p = np.asarray(probability, dtype=np.float64)
    low, high = float(p.min()), float(p.max())
    if high <= low:
        return p.astype(np.float32)
    return ((p - low) / (high - low)).astype(np.float32)


def spatial_features(height: int, width: int, sxy: float) -> np.ndarray:
    """(H*W, 2) float32 features (row, column) / sxy, pixels in row-major order."""
    rows, cols = np.meshgrid(np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32),
                             indexing="ij")
    return np.stack([rows.ravel(), cols.ravel()], axis=1) / np.float32(sxy)


def bilateral_features(image: np.ndarray, sxy: float, srgb: float) -> np.ndarray:
    """(H*W, 5) float32 features (row, column) / sxy and (R, G, B) / srgb."""
    h, w = image.shape[:2]
    colour = image.reshape(h * w, -1).astype(np.float32) / np.float32(srgb)
    return np.concatenate([spatial_features(h, w, sxy), colour], axis=1)


def dense_crf_marginals(image: np.ndarray, probabilities: np.ndarray, params: DenseCRFParams = DenseCRFParams(),
                        backend: str = "numpy") -> np.ndarray:
    """Mean-field marginals (L, H, W) float32 of the CRF over ``image`` with unary from ``probabilities``.

    ``probabilities`` is (L, H, W) in [0, 1]; no min-max stretch is applied here.
    ``backend="pydensecrf"`` runs the same model through the optional pydensecrf2 package.
    """
    image, probabilities = _check_inputs(image, probabilities)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown dense CRF backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    labels, h, w = probabilities.shape
    unary = -np.log(np.clip(probabilities.astype(np.float64), params.unary_clip, 1.0)).astype(np.float32)
    unary = unary.reshape(labels, h * w)
    gaussian = spatial_features(h, w, params.gaussian_sxy)
    bilateral = bilateral_features(image, params.bilateral_sxy, params.bilateral_srgb)
    if backend == "pydensecrf":
        q = _pydensecrf_marginals(unary, [(params.gaussian_compat, gaussian), (params.bilateral_compat, bilateral)],
                                  params.iterations)
    else:
        terms = [(params.gaussian_compat, SymmetricKernel(gaussian)),
                 (params.bilateral_compat, SymmetricKernel(bilateral))]
        q = mean_field(np.ascontiguousarray(unary.T), terms, params.iterations).T
    return np.ascontiguousarray(q.reshape(labels, h, w), dtype=np.float32)


def dense_crf_labels(image: np.ndarray, probabilities: np.ndarray, params: DenseCRFParams = DenseCRFParams(),
                     backend: str = "numpy") -> np.ndarray:
    """Argmax labels (H, W) uint8 of the CRF for (L, H, W) per-label probabilities, L <= 256."""
    q = dense_crf_marginals(image, probabilities, params, backend)
    if q.shape[0] > 256:
        raise ValueError(f"dense_crf_labels returns uint8 labels; got {q.shape[0]} labels")
    return q.argmax(axis=0).astype(np.uint8)


def dense_crf(image: np.ndarray, probability: np.ndarray, params: DenseCRFParams = DenseCRFParams(),
              backend: str = "numpy") -> np.ndarray:
    """Binary foreground (H, W) uint8 in {0, 1} from an (H, W) foreground probability in [0, 1].

    COSNet's post-processing: optional min-max stretch, labels [1 - p, p], the CRF, argmax.
    """
    image = np.asarray(image)
    probability = np.asarray(probability)
    if probability.ndim != 2:
        raise ValueError(f"dense_crf probability must be an (H, W) map, got shape {probability.shape}")
    _check_probability(probability)
    if params.normalise_probability:
        probability = minmax_normalise(probability)
    p = probability.astype(np.float64)
    return dense_crf_labels(image, np.stack([1.0 - p, p]), params, backend)


def _check_inputs(image: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image)
    probabilities = np.asarray(probabilities)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"dense CRF image must be (H, W, 3) uint8 RGB, got {image.dtype} of shape {image.shape}")
    if probabilities.ndim != 3 or probabilities.shape[0] < 2:
        raise ValueError("dense CRF probabilities must be (L, H, W) with at least 2 labels, "
                         f"got shape {probabilities.shape}")
    if probabilities.shape[1:] != image.shape[:2]:
        raise ValueError(f"dense CRF probabilities are {probabilities.shape[1]}x{probabilities.shape[2]} "
                         f"but the image is {image.shape[0]}x{image.shape[1]}")
    if image.shape[0] * image.shape[1] == 0:
        raise ValueError(f"dense CRF image is empty (shape {image.shape})")
    _check_probability(probabilities)
    return image, probabilities


def _check_probability(probability: np.ndarray) -> None:
    if not np.issubdtype(probability.dtype, np.floating):
        raise ValueError(f"dense CRF probabilities must be floating point in [0, 1], got dtype {probability.dtype}")
    if probability.size == 0:
        raise ValueError("dense CRF probability map is empty")
    if not np.all(np.isfinite(probability)):
        raise ValueError("dense CRF probabilities contain NaN or infinite values")
    low, high = float(probability.min()), float(probability.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(f"dense CRF probabilities must lie in [0, 1], got values in [{low:g}, {high:g}]")


def _pydensecrf_marginals(unary: np.ndarray, terms: Sequence[tuple[float, np.ndarray]], iterations: int) -> np.ndarray:
    """The same model through pydensecrf (``pip install vosbench[crf]``); returns (L, N)."""
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError as error:
        raise ConfigError("dense CRF backend 'pydensecrf' needs the pydensecrf2 package: "
                          "pip install 'vosbench[crf]'") from error
    labels, n = unary.shape
    crf = dcrf.DenseCRF(n, labels)
    crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    for compat, features in terms:
        crf.addPairwiseEnergy(np.ascontiguousarray(features.T, dtype=np.float32), compat=float(compat),
                              kernel=dcrf.DIAG_KERNEL, normalization=dcrf.NORMALIZE_SYMMETRIC)
    return np.asarray(crf.inference(iterations), dtype=np.float32).reshape(labels, n)
