"""Dense CRF: the lattice against exact Gaussian filtering, mean field against a brute-force dense
CRF, golden values from pydensecrf, invariants and input checks."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
from vosbench_methods.common import densecrf
from vosbench_methods.common.densecrf import (
    DenseCRF,
    DenseCRFParams,
    PermutohedralLattice,
    SymmetricKernel,
    bilateral_features,
    dense_crf,
    dense_crf_labels,
    mean_field,
    minmax_normalise,
    spatial_features,
)

from vosbench.errors import ConfigError

HAVE_PYDENSECRF = importlib.util.find_spec("pydensecrf") is not None


def exact_gaussian(features: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    f = features.astype(np.float64)
    return np.exp(-((f[:, None, :] - f[None, :, :]) ** 2).sum(-1) / (2 * sigma**2))


def exact_symmetric(features: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """The (N, N) operator n K n with n = 1 / sqrt(K 1)."""
    k = exact_gaussian(features, sigma)
    n = 1.0 / np.sqrt(k.sum(1))
    return n[:, None] * k * n[None, :]


def brute_force_mean_field(
    unary: np.ndarray, operators: list[tuple[float, np.ndarray]], iterations: int
) -> np.ndarray:
    """Dense mean field written out: Q <- softmax(-U + sum_k w_k A_k Q) over labels."""
    q = np.exp(-unary - (-unary).max(0))
    q /= q.sum(0)
    for _ in range(iterations):
        logits = -unary + sum(w * (a @ q.T).T for w, a in operators)
        q = np.exp(logits - logits.max(0))
        q /= q.sum(0)
    return q


def disc_scene(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A red disc on blue with colour noise; a noisy probability guess shifted 2 px right."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    inside = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2
    image = np.where(inside[..., None], [200, 60, 40], [40, 120, 190]) + rng.integers(
        -20, 21, (h, w, 3)
    )
    p = np.where(np.roll(inside, 2, axis=1), 0.7, 0.3) + rng.uniform(-0.25, 0.25, (h, w))
    return np.clip(image, 0, 255).astype(np.uint8), np.clip(p, 0, 1), inside


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


# ------------------------------------------------------------------ lattice vs exact Gaussian


def test_lattice_approximates_unit_gaussian_on_a_grid():
    # Normalised filtering of values in [0, 1] on a 2-D grid (sxy 3): max 0.015, mean 0.004
    # from the exact std-1 Gaussian; a std off by 30 % is clearly further away.
    features = spatial_features(16, 20, 3.0)
    values = np.random.default_rng(0).random(len(features)).astype(np.float32)
    lattice = SymmetricKernel(features)(values)
    errors = {s: np.abs(exact_symmetric(features, s) @ values - lattice) for s in (0.7, 1.0, 1.4)}
    assert errors[1.0].max() < 0.025 and errors[1.0].mean() < 0.006
    assert (
        errors[0.7].mean() > 2 * errors[1.0].mean() and errors[1.4].mean() > 2 * errors[1.0].mean()
    )


def test_lattice_approximates_bilateral_gaussian():
    # 5-D bilateral features of a smooth image with a colour edge: mean error about 0.02.
    yy, xx = np.mgrid[0:16, 0:20]
    image = np.stack([yy * 12, xx * 10, 128 + 60 * np.sin(xx / 3.0)], -1).astype(np.uint8)
    image[:, 10:] = 255 - image[:, 10:]
    features = bilateral_features(image, 3.0, 20.0)
    values = np.random.default_rng(1).random(len(features)).astype(np.float32)
    error = np.abs(exact_symmetric(features) @ values - SymmetricKernel(features)(values))
    assert error.max() < 0.12 and error.mean() < 0.03


def test_lattice_is_linear_and_handles_channels():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(300, 3)).astype(np.float32)
    lattice = PermutohedralLattice(features)
    a, b = rng.random(300).astype(np.float32), rng.random(300).astype(np.float32)
    both = lattice.filter(np.stack([a, b]))
    np.testing.assert_allclose(both[0], lattice.filter(a), rtol=0, atol=0)
    np.testing.assert_allclose(
        lattice.filter(2 * a + 3 * b), 2 * both[0] + 3 * both[1], rtol=1e-5, atol=1e-5
    )
    # Unnormalised, the lattice sums to a fraction (about 0.2-0.9) of the exact Gaussian sum;
    # symmetric normalisation cancels most of that.
    ratio = lattice.filter(np.ones(300, np.float32)) / exact_gaussian(features).sum(1)
    assert 0.15 < ratio.min() and ratio.max() < 1.0


def test_lattice_unpacked_keys_give_the_same_filter(monkeypatch):
    features = bilateral_features(disc_scene(12, 15, 0)[0], 4.0, 10.0)
    values = np.random.default_rng(3).random(len(features)).astype(np.float32)
    packed = PermutohedralLattice(features)
    monkeypatch.setattr(densecrf, "_MAX_PACKED_CODE", 0.0)
    rows = PermutohedralLattice(features)
    assert rows.vertices == packed.vertices
    np.testing.assert_array_equal(rows.filter(values), packed.filter(values))


# ------------------------------------------------------------------ mean field vs brute force


def test_mean_field_update_rule_matches_dense_loop():
    # Exact dense kernels plugged into mean_field: the update (L - 1 filterings, parallel terms,
    # Potts weights) must reproduce the written-out loop. Three labels exercise the last-label rule.
    rng = np.random.default_rng(4)
    image, _, _ = disc_scene(10, 12, 1)
    probs = rng.dirichlet([1.0, 1.0, 1.0], size=120).T
    unary = -np.log(probs)
    a1 = exact_symmetric(spatial_features(10, 12, 1.5))
    a2 = exact_symmetric(bilateral_features(image, 4.0, 15.0))
    kernels = [(3.0, lambda q, a=a1: (a @ q.T).T), (6.0, lambda q, a=a2: (a @ q.T).T)]
    q = mean_field(unary.astype(np.float32), kernels, 5)
    expected = brute_force_mean_field(unary, [(3.0, a1), (6.0, a2)], 5)
    np.testing.assert_allclose(q, expected, atol=2e-5)


@pytest.mark.parametrize("seed", range(4))
def test_crf_matches_brute_force_dense_crf(seed):
    # Weak coupling keeps mean field close to linear, so the lattice's approximation error shows
    # directly: mean |dQ| about 0.006 (dropping the self term or using plain row normalisation
    # gives 0.011-0.015). Strong coupling amplifies it near decision boundaries.
    params = DenseCRFParams(
        gaussian_compat=1.0, bilateral_compat=2.0, bilateral_sxy=3.0, bilateral_srgb=20.0
    )
    image, p, _ = disc_scene(12, 15, seed)
    probs = np.stack([1 - p, p])
    operators = [
        (params.gaussian_compat, exact_symmetric(spatial_features(12, 15, params.gaussian_sxy))),
        (
            params.bilateral_compat,
            exact_symmetric(bilateral_features(image, params.bilateral_sxy, params.bilateral_srgb)),
        ),
    ]
    expected = brute_force_mean_field(-np.log(np.clip(probs, 1e-5, 1)).reshape(2, -1), operators, 5)
    q = DenseCRF(params).marginals(image, probs).reshape(2, -1)
    assert np.abs(q - expected).mean() < 0.01
    assert np.abs(q - expected).max() < 0.15
    assert (q.argmax(0) != expected.argmax(0)).mean() <= 0.05


# ------------------------------------------------------------------ golden values from pydensecrf


def golden_scene() -> tuple[np.ndarray, np.ndarray]:
    """An ellipse with texture; a guess shifted by (1, 2) px. Integer arithmetic only."""
    yy, xx = np.mgrid[0:20, 0:24]
    inside = (yy - 9) ** 2 * 64 + (xx - 12) ** 2 * 36 < 36 * 64
    texture = (yy * 7 + xx * 13) % 11
    image = np.where(inside[..., None], [190, 70, 50], [50, 110, 180]) + texture[..., None] * [
        3,
        -2,
        2,
    ]
    p = 0.3 + 0.4 * np.roll(inside, (1, 2), axis=(0, 1)) + (texture - 5) / 25.0
    return image.astype(np.uint8), p


# pydensecrf2 1.1 running COSNet's CRF script on golden_scene (min-max stretch, unary_from_softmax,
# create_pairwise_gaussian/bilateral, DIAG_KERNEL, NORMALIZE_SYMMETRIC, 5 stepInference): the
# label rows as binary numbers (column 0 the most significant bit), the sum of Q(foreground), and
# Q(foreground) at its four least certain pixels.
GOLDEN = {
    (15.0, 9.0): (
        [
            0,
            0,
            0,
            0,
            32640,
            131008,
            262112,
            524272,
            262132,
            524272,
            524272,
            524272,
            262112,
            131008,
            65408,
            1024,
            0,
            0,
            0,
            0,
        ],
        140.962418,
        {(13, 20): 0.487031, (8, 21): 0.521363, (15, 13): 0.946574, (8, 5): 0.009578},
    ),
    (10.0, 8.0): (
        [
            0,
            0,
            0,
            0,
            32640,
            131008,
            262112,
            524272,
            262132,
            524272,
            524272,
            524272,
            262112,
            131016,
            65408,
            1024,
            0,
            0,
            0,
            0,
        ],
        141.584991,
        {(13, 20): 0.800614, (8, 21): 0.821035, (15, 13): 0.972397, (8, 5): 0.003169},
    ),
    (20.0, 10.0): (
        [
            0,
            0,
            0,
            0,
            32640,
            131008,
            262112,
            524272,
            262128,
            524272,
            524272,
            524272,
            262112,
            131008,
            65408,
            1024,
            0,
            0,
            0,
            0,
        ],
        139.995911,
        {(15, 13): 0.736918, (8, 21): 0.123678, (13, 20): 0.110221, (8, 5): 0.020955},
    ),
}


@pytest.mark.parametrize("setting", sorted(GOLDEN))
def test_matches_pydensecrf_golden(setting):
    rows, q_sum, pixels = GOLDEN[setting]
    params = DenseCRFParams(bilateral_sxy=setting[0], bilateral_compat=setting[1])
    image, p = golden_scene()
    labels = dense_crf(image, p, params)
    expected = np.array(
        [[(row >> (23 - c)) & 1 for c in range(24)] for row in rows], dtype=np.uint8
    )
    np.testing.assert_array_equal(labels, expected)
    stretched = minmax_normalise(p)
    q = DenseCRF(params).marginals(image, np.stack([1 - stretched, stretched]))[1]
    assert q.sum() == pytest.approx(q_sum, abs=1e-3)
    for (y, x), value in pixels.items():
        assert q[y, x] == pytest.approx(value, abs=1e-4)


@pytest.mark.skipif(
    not HAVE_PYDENSECRF, reason="pydensecrf2 not installed (pip install 'vosbench[crf]')"
)
def test_matches_pydensecrf_run_as_cosnet_did():
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import (
        create_pairwise_bilateral,
        create_pairwise_gaussian,
        unary_from_softmax,
    )

    image, p, _ = disc_scene(40, 50, 5)
    params = DenseCRFParams(bilateral_sxy=10.0, bilateral_compat=10.0)
    crf = dcrf.DenseCRF(40 * 50, 2)
    crf.setUnaryEnergy(unary_from_softmax(np.stack([1 - p, p]), 1))
    crf.addPairwiseEnergy(
        create_pairwise_gaussian(sdims=(1, 1), shape=(40, 50)),
        compat=5,
        kernel=dcrf.DIAG_KERNEL,
        normalization=dcrf.NORMALIZE_SYMMETRIC,
    )
    crf.addPairwiseEnergy(
        create_pairwise_bilateral(sdims=(10, 10), schan=(7, 7, 7), img=image, chdim=2),
        compat=10,
        kernel=dcrf.DIAG_KERNEL,
        normalization=dcrf.NORMALIZE_SYMMETRIC,
    )
    expected = np.array(crf.inference(5)).reshape(2, 40, 50)
    q = DenseCRF(params).marginals(image, np.stack([1 - p, p]))
    assert np.abs(q - expected).max() < 1e-4
    np.testing.assert_array_equal(q.argmax(0), expected.argmax(0))
    through_backend = DenseCRF(params, backend="pydensecrf").marginals(image, np.stack([1 - p, p]))
    assert np.abs(through_backend - expected).max() < 1e-6


def test_missing_pydensecrf_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydensecrf", None)
    monkeypatch.setitem(sys.modules, "pydensecrf.densecrf", None)
    image, p, _ = disc_scene(8, 9, 0)
    with pytest.raises(ConfigError, match="pydensecrf2"):
        dense_crf(image, p, backend="pydensecrf")


# ------------------------------------------------------------------ behaviour


def test_confident_unary_that_follows_the_image_is_kept():
    image, _, inside = disc_scene(30, 36, 6)
    labels = dense_crf(image, inside.astype(np.float64))
    np.testing.assert_array_equal(labels, inside.astype(np.uint8))


def test_noisy_guess_snaps_to_the_colour_edge():
    image, p, inside = disc_scene(40, 48, 7)
    labels = dense_crf(image, p)
    assert iou(p > 0.5, inside) < 0.65  # 0.62
    assert iou(labels > 0, inside) > 0.98  # 1.0


def test_output_is_binary_uint8_and_deterministic():
    image, p, _ = disc_scene(24, 30, 8)
    first = dense_crf(image, p)
    assert first.dtype == np.uint8 and first.shape == (24, 30)
    assert set(np.unique(first)) <= {0, 1}
    np.testing.assert_array_equal(dense_crf(image, p), first)


def test_reused_crf_across_frame_sizes_equals_fresh_ones():
    crf = DenseCRF()
    for h, w, seed in [(20, 24, 0), (16, 30, 1), (20, 24, 2)]:
        image, p, _ = disc_scene(h, w, seed)
        np.testing.assert_array_equal(crf.binary(image, p), dense_crf(image, p))


def test_multi_label_argmax():
    image, p, inside = disc_scene(24, 30, 9)
    third = np.full_like(p, 0.05)
    probs = np.stack([(1 - p) * 0.9, p * 0.9, third])
    labels = dense_crf_labels(image, probs)
    assert labels.dtype == np.uint8 and set(np.unique(labels)) <= {0, 1}
    two = DenseCRF().labels(image, np.stack([1 - p, p]))
    assert iou(labels == 1, inside) > 0.9 and iou(two == 1, inside) > 0.9


def test_zero_iterations_is_the_unary_argmax():
    image, p, _ = disc_scene(12, 15, 10)
    labels = dense_crf(image, p, DenseCRFParams(iterations=0, normalise_probability=False))
    np.testing.assert_array_equal(labels, (p > 0.5).astype(np.uint8))


def test_minmax_normalise_and_constant_maps():
    p = np.array([[0.4, 0.5], [0.45, 0.6]])
    np.testing.assert_allclose(minmax_normalise(p), [[0.0, 0.5], [0.25, 1.0]])
    constant = np.full((3, 4), 0.7, dtype=np.float32)
    np.testing.assert_array_equal(minmax_normalise(constant), constant)
    image, _, _ = disc_scene(10, 12, 11)
    for value, label in [(0.0, 0), (0.3, 0), (0.8, 1), (1.0, 1)]:
        assert np.all(dense_crf(image, np.full((10, 12), value)) == label)


def test_stretch_is_applied_before_the_crf():
    image, p, _ = disc_scene(20, 24, 12)
    squeezed = 0.45 + 0.1 * p  # range 0.45-0.55: weak unary unless stretched
    stretched = dense_crf(
        image, minmax_normalise(squeezed), DenseCRFParams(normalise_probability=False)
    )
    np.testing.assert_array_equal(dense_crf(image, squeezed), stretched)


def test_cosnet_grid_and_default():
    grid = DenseCRFParams.cosnet_grid()
    assert len(grid) == 9 and len(set(grid)) == 9
    assert {(g.bilateral_sxy, g.bilateral_compat) for g in grid} == {
        (s, c) for s in (10.0, 15.0, 20.0) for c in (8.0, 9.0, 10.0)
    }
    assert all(
        (g.iterations, g.gaussian_sxy, g.gaussian_compat, g.bilateral_srgb) == (5, 1.0, 5.0, 7.0)
        for g in grid
    )
    assert DenseCRFParams() in grid and DenseCRFParams().tag == "s15_c9"


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "image, probability, message",
    [
        (np.zeros((8, 9, 3), np.float32), np.zeros((8, 9)), "uint8"),
        (np.zeros((8, 9), np.uint8), np.zeros((8, 9)), r"\(H, W, 3\)"),
        (np.zeros((8, 9, 4), np.uint8), np.zeros((8, 9)), r"\(H, W, 3\)"),
        (np.zeros((8, 9, 3), np.uint8), np.zeros((8, 10)), "8x10 but the image is 8x9"),
        (np.zeros((8, 9, 3), np.uint8), np.zeros((8, 9), np.uint8), "floating point"),
        (np.zeros((8, 9, 3), np.uint8), np.full((8, 9), np.nan), "NaN"),
        (np.zeros((8, 9, 3), np.uint8), np.full((8, 9), 1.5), r"\[0, 1\]"),
        (np.zeros((8, 9, 3), np.uint8), np.zeros((1, 8, 9)), r"\(H, W\) map"),
        (np.zeros((0, 9, 3), np.uint8), np.zeros((0, 9)), "empty"),
    ],
)
def test_bad_inputs_raise_value_error(image, probability, message):
    with pytest.raises(ValueError, match=message):
        dense_crf(image, probability)


def test_bad_label_stack_raises():
    image = np.zeros((8, 9, 3), np.uint8)
    with pytest.raises(ValueError, match="at least 2 labels"):
        dense_crf_labels(image, np.ones((1, 8, 9)))
    with pytest.raises(ValueError, match="uint8"):
        dense_crf_labels(image, np.ones((257, 8, 9)) / 257)


@pytest.mark.parametrize(
    "field, value",
    [
        ("iterations", -1),
        ("iterations", 2.5),
        ("bilateral_sxy", 0.0),
        ("gaussian_sxy", float("nan")),
        ("bilateral_srgb", -7.0),
        ("bilateral_compat", -1.0),
        ("unary_clip", 0.0),
    ],
)
def test_bad_params_raise_config_error(field, value):
    with pytest.raises(ConfigError, match=field):
        DenseCRFParams(**{field: value})


def test_unknown_backend():
    with pytest.raises(ConfigError, match="backend"):
        DenseCRF(backend="cuda")


# ------------------------------------------------------------------ real frames


@pytest.mark.parametrize("sequence", ["blackswan", "breakdance"])
def test_real_frame_guess_improves(davis2016_root, sequence):
    from PIL import Image
    from scipy import ndimage

    frame = Image.open(davis2016_root / "JPEGImages" / "480p" / sequence / "00000.jpg").convert(
        "RGB"
    )
    mask = Image.open(davis2016_root / "Annotations" / "480p" / sequence / "00000.png").convert("L")
    image, truth = np.asarray(frame.reduce(4)), np.asarray(mask.reduce(4)) > 127
    rng = np.random.default_rng(0)
    guess = ndimage.gaussian_filter(np.roll(truth, 3, axis=1).astype(float), 3)
    p = np.clip(0.15 + 0.7 * guess + rng.uniform(-0.3, 0.3, guess.shape), 0, 1)
    assert iou(dense_crf(image, p) > 0, truth) > iou(p > 0.5, truth) + 0.1
