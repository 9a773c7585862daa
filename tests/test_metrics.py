"""J, F and statistics against hand-computed golden cases (metrics spec §12) and invariants."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vosbench.metrics import (
    boundary_measure,
    boundary_radius,
    db_statistics,
    decay_bin_ids,
    region_similarity,
    seg2bmap,
)
from vosbench.metrics.boundary import disk_rectangles
from vosbench.metrics.statistics import decay


def rect(shape, rows, cols):
    mask = np.zeros(shape, bool)
    mask[rows[0] : rows[1] + 1, cols[0] : cols[1] + 1] = True
    return mask


SMALL = (20, 30)
EMPTY = np.zeros(SMALL, bool)
FULL = np.ones(SMALL, bool)
SQUARE = rect(SMALL, (5, 9), (5, 9))
RING = rect(SMALL, (3, 16), (5, 24)) & ~rect(SMALL, (7, 12), (10, 19))
BIG = (480, 854)
BIG_GT = rect(BIG, (100, 299), (200, 499))


def pixel(shape, y, x):
    mask = np.zeros(shape, bool)
    mask[y, x] = True
    return mask


# (case, GT, prediction, J, F) from metrics.md §12.1; F values given to 3 decimals there.
GOLDEN = [
    ("both empty", EMPTY, EMPTY, 1, 1),
    ("GT empty", EMPTY, SQUARE, 0, 0),
    ("prediction empty", SQUARE, EMPTY, 0, 0),
    ("identical square", SQUARE, SQUARE, 1, 1),
    ("shift 1", SQUARE, rect(SMALL, (5, 9), (6, 10)), 20 / 30, 1),
    ("shift 2", SQUARE, rect(SMALL, (5, 9), (7, 11)), 15 / 35, 0.6),
    ("shift 3", SQUARE, rect(SMALL, (5, 9), (8, 12)), 10 / 40, 0.5),
    ("full frame", FULL, FULL, 1, 1),
    ("full vs half", FULL, rect(SMALL, (0, 19), (0, 14)), 0.5, 0),
    ("left border", rect(SMALL, (4, 11), (0, 5)), rect(SMALL, (4, 11), (0, 6)), 48 / 56, 1),
    ("right border", rect(SMALL, (4, 11), (24, 29)), rect(SMALL, (4, 11), (23, 29)), 48 / 56, 1),
    ("full-height bar", rect(SMALL, (0, 19), (10, 13)), rect(SMALL, (0, 19), (11, 14)), 0.6, 1),
    ("single pixel", pixel(SMALL, 7, 7), pixel(SMALL, 7, 7), 1, 1),
    ("diagonal pixel", pixel(SMALL, 7, 7), pixel(SMALL, 8, 8), 0, 0.75),
    ("corner pixel", pixel(SMALL, 19, 29), pixel(SMALL, 19, 29), 1, 1),
    ("thin line shifted 2", rect(SMALL, (2, 17), (15, 15)), rect(SMALL, (2, 17), (17, 17)), 0, 0.5),
    ("ring vs filled", RING, rect(SMALL, (3, 16), (5, 24)), 220 / 280, 0.809524),
    ("854x480 shift 7", BIG_GT, rect(BIG, (100, 299), (207, 506)), 0.954397, 1),
    ("shift 8", BIG_GT, rect(BIG, (100, 299), (208, 507)), 0.948052, 1),
    ("shift 9", BIG_GT, rect(BIG, (100, 299), (209, 508)), 0.941748, 0.616),
    ("shift 10", BIG_GT, rect(BIG, (100, 299), (210, 509)), 0.935484, 0.614),
    ("shift 12", BIG_GT, rect(BIG, (100, 299), (212, 511)), 0.923077, 0.61),
    ("shift 20", BIG_GT, rect(BIG, (100, 299), (220, 519)), 0.875, 0.594),
]


@pytest.mark.parametrize("name,gt,pred,j,f", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_tiny_cases(name, gt, pred, j, f):
    assert region_similarity(pred, gt) == pytest.approx(j, abs=5e-7)
    assert boundary_measure(pred, gt) == pytest.approx(f, abs=5e-4 if f not in (0, 1) else 1e-12)


def test_golden_exact_boundary_values():
    # shift 2: P = R = 0.6 exactly (ratios of pixel counts), so F is exactly 0.6 up to rounding.
    assert boundary_measure(rect(SMALL, (5, 9), (7, 11)), SQUARE) == pytest.approx(0.6, abs=1e-12)
    assert boundary_measure(pixel(SMALL, 8, 8), pixel(SMALL, 7, 7)) == pytest.approx(
        0.75, abs=1e-12
    )


def test_void_semantics_official_pytest_case():
    shape = (200, 200)
    gt = rect(shape, (100, 149), (100, 149))
    void = rect(shape, (50, 99), (100, 149))
    pred = rect(shape, (50, 149), (100, 149))
    assert region_similarity(pred, gt, void) == 1
    assert boundary_measure(pred, gt, void) == 1
    assert region_similarity(pred, gt) == 0.5
    assert boundary_measure(pred, gt) == pytest.approx(0.628, abs=5e-4)


def test_seg2bmap_cases():
    assert set(zip(*np.nonzero(seg2bmap(pixel(SMALL, 7, 7))))) == {(6, 6), (6, 7), (7, 6), (7, 7)}
    assert not seg2bmap(FULL).any()
    assert set(zip(*np.nonzero(seg2bmap(pixel(SMALL, 19, 29))))) == {(18, 28), (18, 29), (19, 28)}
    boundary = seg2bmap(rect((5, 6), (1, 3), (1, 4)))
    expected = rect((5, 6), (0, 3), (0, 4)) & ~rect((5, 6), (1, 2), (1, 3))
    assert np.array_equal(boundary, expected)


@pytest.mark.parametrize(
    "shape,radius",
    [
        ((480, 854), 8),
        ((480, 853), 8),
        ((480, 864), 8),
        ((480, 910), 9),
        ((480, 911), 9),
        ((480, 1130), 10),
        ((480, 1152), 10),
        ((360, 640), 6),
        ((576, 1024), 10),
        ((720, 1280), 12),
        ((1080, 1920), 18),
        ((2160, 3840), 36),
        ((473, 473), 6),
        ((301, 457), 5),
        ((240, 320), 4),
        ((90, 160), 2),
        ((20, 30), 1),
    ],
)
def test_boundary_radius_table(shape, radius):
    assert boundary_radius(shape) == radius


@pytest.mark.parametrize(
    "radius,size",
    [
        (1, 5),
        (2, 13),
        (4, 49),
        (5, 81),
        (6, 113),
        (8, 197),
        (9, 253),
        (10, 317),
        (12, 441),
        (18, 1009),
    ],
)
def test_disk_rectangles_cover_exactly_the_disk(radius, size):
    canvas = np.zeros((2 * radius + 1,) * 2, bool)
    for half_w, half_h in disk_rectangles(radius):
        canvas[radius - half_h : radius + half_h + 1, radius - half_w : radius + half_w + 1] = True
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    assert np.array_equal(canvas, dy**2 + dx**2 <= radius**2)
    assert canvas.sum() == size


def test_pixel_tolerance_must_be_integer():
    with pytest.raises(ValueError):
        boundary_radius((10, 10), 2.5)
    assert boundary_radius((10, 10), 3) == 3


# ------------------------------------------------------------------------------------------
# Reference: the official definition written out plainly (full-frame boundary maps and disk
# dilations), used to check the fast crop-based implementation on random masks.


def reference_boundary_map(mask):
    mask = mask.astype(bool)
    east, south, south_east = np.zeros_like(mask), np.zeros_like(mask), np.zeros_like(mask)
    east[:, :-1], south[:-1, :], south_east[:-1, :-1] = mask[:, 1:], mask[1:, :], mask[1:, 1:]
    boundary = (mask ^ east) | (mask ^ south) | (mask ^ south_east)
    boundary[-1, :] = mask[-1, :] ^ east[-1, :]
    boundary[:, -1] = mask[:, -1] ^ south[:, -1]
    boundary[-1, -1] = False
    return boundary


def reference_f(pred, gt, bound_th=0.008):
    radius = bound_th if bound_th >= 1 else math.ceil(bound_th * math.hypot(*gt.shape))
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disk = (dy**2 + dx**2 <= radius**2).astype(np.uint8)
    b_pred, b_gt = reference_boundary_map(pred), reference_boundary_map(gt)
    d_pred = cv2.dilate(b_pred.astype(np.uint8), disk) > 0
    d_gt = cv2.dilate(b_gt.astype(np.uint8), disk) > 0
    n_pred, n_gt = b_pred.sum(), b_gt.sum()
    if n_pred == 0 or n_gt == 0:
        precision, recall = (
            (1.0, 1.0) if n_pred == n_gt else ((1.0, 0.0) if n_pred == 0 else (0.0, 1.0))
        )
    else:
        precision, recall = (b_pred & d_gt).sum() / n_pred, (b_gt & d_pred).sum() / n_gt
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


mask_pairs = st.tuples(st.integers(2, 40), st.integers(2, 40)).flatmap(
    lambda shape: st.tuples(arrays(np.bool_, shape), arrays(np.bool_, shape))
)


@settings(max_examples=300, deadline=None)
@given(mask_pairs, st.sampled_from([0.008, 0.05, 0.2, 1, 2, 3]))
def test_fast_f_equals_reference(pair, bound_th):
    pred, gt = pair
    assert boundary_measure(pred, gt, bound_th=bound_th) == reference_f(pred, gt, bound_th)
    assert np.array_equal(seg2bmap(pred), reference_boundary_map(pred))


def test_fast_f_equals_reference_on_blobs():
    rng = np.random.default_rng(7)
    for _ in range(40):
        h, w = rng.integers(30, 200, size=2)
        gt = cv2.GaussianBlur(rng.random((h, w)), (0, 0), 4) > 0.5
        pred = np.roll(gt, tuple(rng.integers(-6, 7, size=2)), axis=(0, 1)) ^ (
            rng.random((h, w)) < 0.01
        )
        assert boundary_measure(pred, gt) == reference_f(pred, gt)


@settings(max_examples=150, deadline=None)
@given(mask_pairs)
def test_metric_invariants(pair):
    pred, gt = pair
    j, f = region_similarity(pred, gt), boundary_measure(pred, gt)
    assert 0 <= j <= 1 and 0 <= f <= 1
    assert j == region_similarity(gt, pred)
    assert f == boundary_measure(gt, pred)
    assert region_similarity(gt, gt) == 1 and boundary_measure(gt, gt) == 1


# ------------------------------------------------------------------------------------------
# Statistics (metrics.md §6, §12.2)


@pytest.mark.parametrize(
    "values,mean,recall,decay_value,ids",
    [
        ([1, 1, 1, 1, 1], 1.0, 1.0, 0.0, (0, 1, 2, 3, 4)),
        (list(np.linspace(1, 0, 10)), 0.5, 0.5, 0.777778, (0, 2, 5, 7, 9)),
        ([0.7], 0.7, 1.0, 0.0, (0, 0, 0, 0, 0)),
        ([0.9, 0.1], 0.5, 0.5, 0.8, (0, 0, 1, 1, 1)),
        ([0.9, 0.5, 0.1], 0.5, 1 / 3, 0.6, (0, 1, 1, 2, 2)),
        ([1.0, 0.8, 0.6, 0.4], 0.7, 0.75, 0.4, (0, 1, 2, 2, 3)),
        ([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4], 0.7, 5 / 7, 0.45, (0, 2, 3, 5, 6)),
        ([0.5, 0.5000001, 0.4999999, 0.6], 0.525, 0.5, -0.0499999, (0, 1, 2, 2, 3)),
        ([0.8, math.nan, 0.6, 0.4, 0.2], 0.5, 0.4, 0.5, (0, 1, 2, 3, 4)),
    ],
)
def test_statistics_golden(values, mean, recall, decay_value, ids):
    stats = db_statistics(values)
    assert stats.mean == pytest.approx(mean, abs=1e-9)
    assert stats.recall == pytest.approx(recall, abs=1e-12)
    assert stats.decay == pytest.approx(decay_value, abs=1e-6)
    assert decay_bin_ids(len(values)) == ids


@pytest.mark.parametrize(
    "n,compat,numpy1,exact",
    [
        (255, 0.75, 0.75, 0.75),
        (256, math.nan, 0.749020, 0.749020),
        (257, math.nan, math.nan, 0.75),
        (258, math.nan, math.nan, 0.750973),
        (298, math.nan, math.nan, 0.750842),
        (300, math.nan, math.nan, 0.749164),
        (400, 0.107769, 0.107769, 0.749373),
        (600, math.nan, math.nan, 0.749583),
        (1000, math.nan, math.nan, 0.749750),
    ],
)
def test_decay_long_ramps(n, compat, numpy1, exact):
    ramp = np.linspace(1, 0, n)
    for mode, expected in (("davis2017", compat), ("davis2017-numpy1", numpy1), ("exact", exact)):
        value = decay(ramp, mode)
        if math.isnan(expected):
            assert math.isnan(value), mode
        else:
            assert value == pytest.approx(expected, abs=1e-6), mode


def test_decay_bin_ids_match_float_rounding_rule():
    # official: round(linspace(1, n, 5) + 1e-10) - 1, as int64
    for n in range(1, 1200):
        official = tuple(int(v) for v in np.round(np.linspace(1, n, 5) + 1e-10) - 1)
        assert decay_bin_ids(n) == official
