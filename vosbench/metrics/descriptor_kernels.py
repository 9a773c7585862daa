"""Compiled mask → contour → shape-context descriptor of temporal stability T (numba).

:mod:`vosbench.metrics.temporal` imports this module lazily, the first time T is computed, and
falls back to its numpy code when numba is not installed. One compiled call,
:func:`mask_contours`, takes a mask to its contours, its longest contour or that contour's
shape contexts, so a process loads one entry point's machine code for the whole descriptor
side. Every step repeats the numpy code's arithmetic, so contours are the same point for point
and histograms the same count for count:

* the bounding box and the corner grid (:class:`temporal._Grid`: corner codes, successors,
  junction exits), in a few linear passes over the box;
* the contour tracing (:func:`junction_curves`, :func:`loops`): pieces between junctions,
  polycont's piece numbering, its Jordan-curve walk, loops without junctions, integer work that
  gives the same corners in the same order as the Python code;
* :func:`douglas_peucker`: psimpl's radial-distance pass and Douglas–Peucker (each chord's
  distances without branches, its farthest point by an integer maximum);
* the up-sampling, in single precision, one increment at a time as ``np.add.accumulate``;
* :func:`shape_contexts`: the mean pairwise distance is summed in numpy's pairwise order
  (``np.mean`` of the ``N × N`` matrix: blocks of ≤ 128 in 8 lanes, halves rounded to a
  multiple of 8) without forming the matrix, so it is the same to the bit. A point's ring is
  found from its squared distance by five comparisons with the smallest squares whose
  normalised distance ``√s / mean`` reaches each radial edge (found by bisection over the
  doubles; rounding is monotonic, so the comparisons agree with the numpy code's for every
  distance). The angular sector comes from two comparisons instead of ``atan2``; pairs within
  1e-9 rad of a sector edge take the numpy code's exact ``atan2`` formula (on an axis, where
  that ``atan2`` is exact, a constant per direction), so every count is the same. Each pair
  is binned once for both of its points.

Compiled functions are cached on disk (``cache=True``): the first call after installation
compiles them (about half a minute on a loaded 2-core machine), later processes load them.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

_N_THETA = 12
_N_BINS = 60
#: Pairs closer than this (relative, ≈ radians) to a sector edge use the exact atan2 formula;
#: the numpy code's rounding moves an angle by < 1e-14.
_EDGE_MARGIN = 1e-9
_SQRT3 = math.sqrt(3.0)
#: Row codes beyond the 60 bins: too far to count, or near a sector edge (exact formula).
_FAR = 60
_NEAR = 61
#: temporal.MIN_CONTOUR_POINTS, PRE_SIMPLIFY_TOLERANCE, CONTOUR_TOLERANCE, UPSAMPLE_STEP.
_MIN_POINTS = 4
_PRE_TOLERANCE = 0.1
_TOLERANCE = 3.0
_STEP = 3.0
#: mask_contours modes.
ALL_CONTOURS, LONGEST, DESCRIPTOR = 0, 1, 2


# --- corner grid ----------------------------------------------------------------------------
@njit(**_JIT)
def _box(mask):
    """First and last rows and columns holding a non-zero pixel; (−1, …) when none does."""
    h, w = mask.shape
    columns = np.zeros(w, dtype=np.uint8)  # OR of the rows (SIMD: no early exit)
    r0, r1 = -1, -1
    for r in range(h):
        row = mask[r]
        any_set = np.uint8(0)
        for c in range(w):
            v = row[c]
            any_set |= v
            columns[c] |= v
        if any_set != 0:
            r1 = r
            if r0 < 0:
                r0 = r
    c0, c1 = -1, -1
    for c in range(w):
        if columns[c] != 0:
            c1 = c
            if c0 < 0:
                c0 = c
    return r0, r1, c0, c1


@njit(**_JIT)
def _grid(mask, r0, r1, c0, c1):
    """``temporal._Grid`` of the box: corners (flat indices on the ``(h + 1) × (w + 1)``
    corner grid, raster order), their successors (compact, −1 at junctions), the junctions
    (compact) and their two exits (slot, next corner) each."""
    h, w = r1 - r0 + 1, c1 - c0 + 1
    pad = np.zeros((h + 2, w + 2), dtype=np.uint8)
    for r in range(h):
        src, dst = mask[r0 + r, c0 : c1 + 1], pad[r + 1, 1 : w + 1]
        for c in range(w):
            dst[c] = np.uint8(src[c] != 0)
    width = w + 1
    size = (h + 1) * width
    flat_code = np.zeros(size + 8 - size % 8, dtype=np.uint8)  # whole 8-byte words
    count = 0
    for r in range(h + 1):
        up, down, out = pad[r], pad[r + 1], flat_code[r * width : (r + 1) * width]
        for c in range(width):
            v = up[c] | (up[c + 1] << 1) | (down[c] << 2) | (down[c + 1] << 3)
            out[c] = v
            count += (v != 0) & (v != 15)
    corners = np.empty(count, dtype=np.int64)
    codes = np.empty(count, dtype=np.uint8)
    compact = np.empty(size, dtype=np.int32)  # read at boundary corners only
    k = 0
    n_junctions = 0
    words = flat_code.view(np.uint64)
    inside = np.uint64(0x0F0F0F0F0F0F0F0F)
    for q in range(words.shape[0]):
        word = words[q]
        if word == 0 or word == inside:  # 8 corners off the boundary
            continue
        for f in range(8 * q, 8 * q + 8):
            v = flat_code[f]
            if v != 0 and v != 15:
                corners[k], codes[k] = f, v
                compact[f] = k
                k += 1
                n_junctions += (v == 6) | (v == 9)
    successor = np.empty(count, dtype=np.int64)
    junctions = np.empty(n_junctions, dtype=np.int64)
    exit_slot = np.empty((n_junctions, 2), dtype=np.int64)
    exit_next = np.empty((n_junctions, 2), dtype=np.int64)
    j = 0
    for k in range(count):
        v, f = codes[k], corners[k]
        if v == 6 or v == 9:  # junction: E then W (object NW and SE), or N then S
            successor[k] = -1
            junctions[j] = k
            if v == 9:
                exit_slot[j, 0], exit_slot[j, 1] = 3, 1
                exit_next[j, 0], exit_next[j, 1] = compact[f + 1], compact[f - 1]
            else:
                exit_slot[j, 0], exit_slot[j, 1] = 0, 2
                exit_next[j, 0], exit_next[j, 1] = compact[f - width], compact[f + width]
            j += 1
            continue
        nw, ne, sw, se = v & 1, (v >> 1) & 1, (v >> 2) & 1, (v >> 3) & 1
        if ne == 0 and se == 1:
            step = 1
        elif nw == 1 and sw == 0:
            step = -1
        elif sw == 1 and se == 0:
            step = width
        else:  # ne == 1 and nw == 0: the only case left on a boundary
            step = -width
        successor[k] = compact[f + step]
    return corners, successor, junctions, exit_slot, exit_next, width


# --- contour tracing ------------------------------------------------------------------------
@njit(**_JIT)
def loops(successor: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First corner and number of corners of each closed boundary made of ``free`` corners, in
    raster order of the first corner (``temporal._loops``): each loop is walked once, from
    its smallest corner index, where a scan in index order meets it first."""
    seen = ~free
    starts, sizes = [0], [0]
    for v in range(successor.shape[0]):
        if seen[v]:
            continue
        size, u = 0, v
        while not seen[u]:
            seen[u] = True
            size += 1
            u = successor[u]
        starts.append(v)
        sizes.append(size)
    return np.array(starts[1:], dtype=np.int64), np.array(sizes[1:], dtype=np.int64)


@njit(**_JIT)
def _arrival_slot(step: int, width: int) -> int:
    """``temporal._arrival_slot`` from the flat step between two corners (N, W, S, E = 0…3)."""
    if step == width:
        return 0
    if step == -width:
        return 2
    return 1 if step == 1 else 3


@njit(**_JIT)
def _trace(flat, successor, junctions, exit_slot, exit_next, width):
    """``temporal._trace_pieces``: piece ``2 j + e`` leaves junction number j (raster order)
    through its exit e. Returns its corners (``corners[offset[k]:offset[k + 1]]``, tail
    first), the slots of its tail and head (``slot[k]``) and their junction numbers
    (``end[k]``)."""
    n_junctions = junctions.shape[0]
    number = np.full(successor.shape[0], -1, dtype=np.int64)
    for j in range(n_junctions):
        number[junctions[j]] = j
    n_pieces = 2 * n_junctions
    offset = np.zeros(n_pieces + 1, dtype=np.int64)
    corners = [0]
    slot = np.empty((n_pieces, 2), dtype=np.int64)
    end = np.empty((n_pieces, 2), dtype=np.int64)
    for j in range(n_junctions):
        for e in range(2):
            k = 2 * j + e
            before, v = junctions[j], exit_next[j, e]
            corners.append(before)
            corners.append(v)
            while successor[v] >= 0:
                before, v = v, successor[v]
                corners.append(v)
            offset[k + 1] = len(corners) - 1
            slot[k, 0], slot[k, 1] = exit_slot[j, e], _arrival_slot(flat[v] - flat[before], width)
            end[k, 0], end[k, 1] = j, number[v]
    return np.array(corners[1:], dtype=np.int64), offset, slot, end


@njit(**_JIT)
def _toolkit_order(slot, end, n_junctions):
    """``temporal._toolkit_pieces``: polycont's piece order, as (piece, 1 if taken from its
    head) per toolkit piece, from the last junction's slots N, W, S, E down to the first's."""
    n_pieces = slot.shape[0]
    at_slot = np.empty(4 * n_junctions, dtype=np.int64)  # 2 · piece + (head end) per slot
    for k in range(n_pieces):
        at_slot[4 * end[k, 0] + slot[k, 0]] = 2 * k
        at_slot[4 * end[k, 1] + slot[k, 1]] = 2 * k + 1
    order = np.empty((n_pieces, 2), dtype=np.int64)
    done = np.zeros(n_pieces, dtype=np.bool_)
    i = 0
    for j in range(n_junctions - 1, -1, -1):
        for s in range(4):
            k, from_head = at_slot[4 * j + s] // 2, at_slot[4 * j + s] % 2
            if not done[k]:
                done[k] = True
                order[i, 0], order[i, 1] = k, from_head
                i += 1
    return order


@njit(**_JIT)
def _smallest_two(remaining, j):
    """The two smallest piece ids left at junction j (−1 where fewer)."""
    first, second = -1, -1
    for t in range(4):
        v = remaining[j, t]
        if v < 0:
            continue
        if first < 0 or v < first:
            first, second = v, first
        elif second < 0 or v < second:
            second = v
    return first, second


@njit(**_JIT)
def _take(remaining, left, tips, i, junction) -> int:
    """Remove toolkit piece i from both its junctions' lists; the junction it leads to.
    ``tips[i]`` = (orig, end, orig slot, end slot); ``left[j]``: pieces still at junction j."""
    nxt = tips[i, 1] if junction == tips[i, 0] else tips[i, 0]
    for j in (junction, nxt):
        for t in range(4):
            if remaining[j, t] == i:
                remaining[j, t] = -1
                left[j] -= 1
    return nxt


@njit(**_JIT)
def _slot_at(tips, i, junction) -> int:
    return tips[i, 2] if junction == tips[i, 0] else tips[i, 3]


@njit(**_JIT)
def _jordan_walk(tips, n_junctions):
    """``temporal._jordan_curves`` on toolkit pieces given by their ``tips``: the members
    (piece, junction it is taken from) of all curves, one curve after the other, and the
    curves' first members (``bounds[c]:bounds[c + 1]``)."""
    n = tips.shape[0]
    remaining = np.full((n_junctions, 4), -1, dtype=np.int64)
    left = np.zeros(n_junctions, dtype=np.int64)
    for i in range(n):
        for j in (tips[i, 0], tips[i, 1]):
            if j == tips[i, 1] and j == tips[i, 0] and left[j] and remaining[j, left[j] - 1] == i:
                continue  # a piece from a junction back to it is listed there once
            remaining[j, left[j]] = i
            left[j] += 1
    where = np.full(n_junctions, -1, dtype=np.int64)  # position in the walk of swept junctions
    swept = np.empty((n + 1, 2), dtype=np.int64)  # (junction, piece) per step of the walk
    members = np.empty((n, 2), dtype=np.int64)
    bounds = [0]
    n_members = 0
    start = n_junctions - 1
    while start >= 0:
        if left[start] == 0:
            start -= 1
            continue
        junction = start
        current, _ = _smallest_two(remaining, junction)
        nxt = _take(remaining, left, tips, current, junction)
        swept[0, 0], swept[0, 1], depth = junction, current, 1
        where[junction] = 0
        closing = nxt == junction
        while depth:
            if not closing:
                junction = nxt
                pick, second = _smallest_two(remaining, junction)
                here = _slot_at(tips, current, junction)
                # polycont's "straight" test: both slots on one axis (N, S even; W, E odd)
                if _slot_at(tips, pick, junction) % 2 == here % 2 and second >= 0:
                    pick = second  # (a lone straight option is an assert in polycont)
                current = pick
                nxt = _take(remaining, left, tips, current, junction)
                where[junction] = depth
                swept[depth, 0], swept[depth, 1] = junction, current
                depth += 1
                closing = where[nxt] >= 0
            if closing:  # the walk met a swept junction: its loop is a curve
                first = where[nxt]
                for t in range(first, depth):
                    members[n_members, 0], members[n_members, 1] = swept[t, 1], swept[t, 0]
                    n_members += 1
                    where[swept[t, 0]] = -1
                bounds.append(n_members)
                depth = first
                if depth:
                    current = swept[depth - 1, 1]
                closing = False
    return members[:n_members], np.array(bounds, dtype=np.int64)


@njit(**_JIT)
def junction_curves(flat, successor, junctions, exit_slot, exit_next, width):
    """The closed curves through junctions, as ``temporal._curves`` builds them from
    ``_trace_pieces``, ``_toolkit_pieces``, ``_jordan_curves`` and ``_curve_corners``.

    ``junctions``: corner indices of the junctions in raster order; ``exit_slot[j]``,
    ``exit_next[j]``: their two exits (slot, next corner) as ``_Grid.exits``. Returns the
    pieces' corners (to tell loops apart), all curves' corners one after the other
    (``corners[bounds[c]:bounds[c + 1]]``, first = last) and whether polycont reverses each.
    """
    n_junctions = junctions.shape[0]
    piece_corners, offset, slot, end = _trace(
        flat, successor, junctions, exit_slot, exit_next, width
    )
    order = _toolkit_order(slot, end, n_junctions)
    tips = np.empty((order.shape[0], 4), dtype=np.int64)
    for i in range(order.shape[0]):
        k, rev = order[i, 0], order[i, 1]
        tips[i, 0], tips[i, 1] = end[k, rev], end[k, 1 - rev]
        tips[i, 2], tips[i, 3] = slot[k, rev], slot[k, 1 - rev]
    members, member_bounds = _jordan_walk(tips, n_junctions)
    n_curves = member_bounds.shape[0] - 1
    corners = np.empty(piece_corners.shape[0], dtype=np.int64)
    bounds = np.zeros(n_curves + 1, dtype=np.int64)
    flip = np.zeros(n_curves, dtype=np.bool_)
    n = 0
    for c in range(n_curves):
        for t in range(member_bounds[c], member_bounds[c + 1]):
            i, junction = members[t, 0], members[t, 1]
            k = order[i, 0]
            # the toolkit piece runs against piece k if taken from its head; the curve takes
            # it backwards from its end
            backwards = (order[i, 1] == 1) != (tips[i, 0] != junction)
            lo, hi = offset[k], offset[k + 1]
            skip = 0 if t == member_bounds[c] else 1
            if backwards:
                for u in range(hi - 1 - skip, lo - 1, -1):
                    corners[n] = piece_corners[u]
                    n += 1
            else:
                for u in range(lo + skip, hi):
                    corners[n] = piece_corners[u]
                    n += 1
        bounds[c + 1] = n
        # polycont reverses it unless its first step, out of its start junction j, has the
        # object on the right (temporal._reversed_by_toolkit)
        j, second = members[member_bounds[c], 1], corners[bounds[c] + 1]
        flip[c] = exit_next[j, 0] != second and exit_next[j, 1] != second
    return piece_corners, corners[:n], bounds, flip


# --- polyline simplification ------------------------------------------------------------------
@njit(**_JIT)
def _radial_distance(points: np.ndarray, tolerance: float) -> np.ndarray:
    """psimpl RadialDistance: drop points closer than ``tolerance`` to the last kept one."""
    n = points.shape[0]
    tol2 = tolerance * tolerance
    keep = np.zeros(n, dtype=np.bool_)
    keep[0] = keep[n - 1] = True
    cx, cy = points[0, 0], points[0, 1]
    for i in range(1, n - 1):
        dx, dy = cx - points[i, 0], cy - points[i, 1]
        if dx * dx + dy * dy < tol2:
            continue
        keep[i] = True
        cx, cy = points[i, 0], points[i, 1]
    return points[keep]


@njit(**_JIT)
def _find_key(xs, ys, first: int, last: int, d2, bits) -> tuple[int, float]:
    """Interior point farthest from the chord first–last and its squared distance (psimpl
    FindKey: projection fraction in float32; ties go to the later point).

    The distances are computed without branches (SIMD) into ``d2``; squared distances are
    ≥ +0, so their bit patterns (``bits``, a view of ``d2``) order as they do, and the
    integer maximum vectorises where a float one would not."""
    s1x, s1y, s2x, s2y = xs[first], ys[first], xs[last], ys[last]
    vx, vy = s2x - s1x, s2y - s1y
    cv = vx * vx + vy * vy
    cv32 = np.float32(cv)
    m = last - first - 1
    at = np.uint64(first + 1)  # unsigned indices: no negative-index wrap, so SIMD
    for t in range(m):
        u = np.uint64(t)
        px, py = xs[at + u], ys[at + u]
        wx, wy = px - s1x, py - s1y
        cw = wx * vx + wy * vy
        fraction = np.float64(np.float32(cw) / cv32)
        tx = s1x if cw <= 0 else (s2x if cv <= cw else s1x + fraction * vx)
        ty = s1y if cw <= 0 else (s2y if cv <= cw else s1y + fraction * vy)
        dx, dy = px - tx, py - ty
        d2[u] = dx * dx + dy * dy
    top = np.int64(0)
    for t in range(m):
        top = max(top, bits[np.uint64(t)])
    t = m - 1
    while bits[t] != top:
        t -= 1
    return first + 1 + t, d2[t]


@njit(**_JIT)
def douglas_peucker(points: np.ndarray, tolerance: float) -> np.ndarray:
    """psimpl simplify_douglas_peucker (radial distance first), with an explicit stack
    (``temporal._douglas_peucker``)."""
    if points.shape[0] < 3:
        return points
    points = _radial_distance(points, tolerance)
    n = points.shape[0]
    xs, ys = points[:, 0].copy(), points[:, 1].copy()
    d2 = np.empty(n)
    bits = d2.view(np.int64)
    keep = np.zeros(n, dtype=np.bool_)
    keep[0] = keep[n - 1] = True
    tol2 = tolerance * tolerance
    stack = np.empty((n, 2), dtype=np.int64)  # ranges still to split (at most n at once)
    stack[0, 0], stack[0, 1] = 0, n - 1
    depth = 1
    while depth:
        depth -= 1
        first, last = stack[depth, 0], stack[depth, 1]
        if last - first < 2:
            continue
        key, dist2 = _find_key(xs, ys, first, last, d2, bits)
        if tol2 < dist2:
            keep[key] = True
            stack[depth, 0], stack[depth, 1] = first, key
            stack[depth + 1, 0], stack[depth + 1, 1] = key, last
            depth += 2
    return points[keep]


# --- polygons -------------------------------------------------------------------------------
@njit(**_JIT)
def _curve_corners(c, kind, flips, successor, curve_corners, curve_bounds) -> np.ndarray:
    """Corners of curve c (``temporal._Curve.corners``): a loop walked from its first corner
    (``kind[c]`` ≥ 0), reversed where polycont explores it the other way; or a junction
    curve's corners (``kind[c]`` = −1 − its number)."""
    if kind[c] < 0:
        t = -1 - kind[c]
        return curve_corners[curve_bounds[t] : curve_bounds[t + 1]]
    start = kind[c]
    size = 1
    v = successor[start]
    while v != start:
        size += 1
        v = successor[v]
    out = np.empty(size + 1, dtype=np.int64)
    out[0] = start
    v = successor[start]
    for t in range(1, size):
        out[t] = v
        v = successor[v]
    out[size] = start
    if flips[c]:
        return out[::-1].copy()
    return out


@njit(**_JIT)
def _polygon(corner_ids, flip, flat, width, r0, c0) -> np.ndarray:
    """``temporal._polygon``: the simplified contour, (x, y) pixel-corner points, first = last."""
    n = corner_ids.shape[0]
    rc = np.empty((n, 2))
    for t in range(n):
        f = flat[corner_ids[t]]
        rc[t, 0], rc[t, 1] = (f // width) * 2, (f % width) * 2  # polycont's doubled grid
    simple = douglas_peucker(douglas_peucker(rc, _PRE_TOLERANCE), _TOLERANCE)
    m = simple.shape[0]
    out = np.empty((m, 2), dtype=np.int64)
    for t in range(m):
        u = m - 1 - t if flip else t
        out[t, 0] = np.int64(simple[u, 1] // 2) + c0
        out[t, 1] = np.int64(simple[u, 0] // 2) + r0
    return out


@njit(**_JIT)
def _curves(mask, r0, r1, c0, c1):
    """The grid of the box and its curves in ``temporal._curves`` order (loops, last first;
    then the curves through junctions): per curve its number of corners, ``kind`` (a loop's
    first corner, or −1 − its junction-curve number) and whether polycont reverses it."""
    flat, successor, junctions, exit_slot, exit_next, width = _grid(mask, r0, r1, c0, c1)
    piece_corners, curve_corners, curve_bounds, junction_flips = junction_curves(
        flat, successor, junctions, exit_slot, exit_next, width
    )
    free = np.ones(flat.shape[0], dtype=np.bool_)
    free[piece_corners] = False
    starts, sizes = loops(successor, free)
    n_loops, n_junction_curves = starts.shape[0], curve_bounds.shape[0] - 1
    n_curves = n_loops + n_junction_curves
    size = np.empty(n_curves, dtype=np.int64)
    kind = np.empty(n_curves, dtype=np.int64)
    flips = np.empty(n_curves, dtype=np.bool_)
    for t in range(n_loops):
        start = starts[n_loops - 1 - t]
        size[t], kind[t] = sizes[n_loops - 1 - t] + 1, start
        flips[t] = flat[successor[start]] - flat[start] != width  # explored upwards
    for t in range(n_junction_curves):
        c = n_loops + t
        size[c] = curve_bounds[t + 1] - curve_bounds[t]
        kind[c], flips[c] = -1 - t, junction_flips[t]
    return width, flat, successor, size, kind, flips, curve_corners, curve_bounds


# --- up-sampling and shape contexts -----------------------------------------------------------
@njit(**_JIT)
def _upsample(contour) -> np.ndarray:
    """``temporal.upsample_contour``: segments longer than 3 px split evenly, in float32."""
    k = contour.shape[0]
    step = np.float32(_STEP)
    pts = np.empty((k, 2), dtype=np.float32)
    for t in range(k):
        pts[t, 0], pts[t, 1] = np.float32(contour[t, 0]), np.float32(contour[t, 1])
    n_seg = np.empty(max(k - 1, 0), dtype=np.int64)
    total = 1
    for t in range(k - 1):
        dx, dy = pts[t + 1, 0] - pts[t, 0], pts[t + 1, 1] - pts[t, 1]
        length = np.sqrt(dx * dx + dy * dy)
        n_seg[t] = np.int64(np.ceil(length / step)) if length > step else 1
        total += n_seg[t]
    out = np.empty((total, 2), dtype=np.float32)
    u = 0
    for t in range(k - 1):
        m = n_seg[t]
        count = np.float32(m)
        ix = (pts[t + 1, 0] - pts[t, 0]) / count
        iy = (pts[t + 1, 1] - pts[t, 1]) / count
        x, y = pts[t, 0], pts[t, 1]
        out[u, 0], out[u, 1] = x, y
        for s in range(1, m):
            x, y = x + ix, y + iy
            out[u + s, 0], out[u + s, 1] = x, y
        u += m
    out[u, 0], out[u, 1] = pts[k - 1, 0], pts[k - 1, 1]
    return out


@njit(**_JIT)
def _distance_row(x, y, i, out) -> None:
    """Distances from point i to every point, into ``out[:n]``."""
    xi, yi = x[i], y[i]
    for j in range(x.shape[0]):
        dx = x[j] - xi
        dy = y[j] - yi
        out[j] = math.sqrt(dx * dx + dy * dy)


@intrinsic
def _lane_sums(typingctx, items, start, count):
    """numpy's 8-lane sum of ``items[start:start + count]`` (count a multiple of 8, ≥ 8):
    lane t adds the items t, t + 8, t + 16, … in order; the lanes are combined as
    ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``. Written with 8-wide vector adds,
    which are lane by lane, so the order is numpy's (numba does not vectorise it by itself)."""
    signature = types.float64(items, start, count)

    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[0])(context, builder, args[0])
        first = builder.gep(array.data, [args[1]])
        n = args[2]
        lanes = ir.VectorType(ir.DoubleType(), 8)
        pointer = lanes.as_pointer()
        one = ir.Constant(n.type, 1)
        eight = ir.Constant(n.type, 8)
        total = cgutils.alloca_once_value(
            builder, builder.load(builder.bitcast(first, pointer), align=8)
        )
        with cgutils.for_range_slice(builder, one, builder.sdiv(n, eight), one) as (q, _):
            at = builder.bitcast(builder.gep(first, [builder.mul(q, eight)]), pointer)
            builder.store(builder.fadd(builder.load(total), builder.load(at, align=8)), total)
        r = builder.load(total)
        lane = [builder.extract_element(r, ir.Constant(ir.IntType(32), t)) for t in range(8)]
        low = builder.fadd(builder.fadd(lane[0], lane[1]), builder.fadd(lane[2], lane[3]))
        high = builder.fadd(builder.fadd(lane[4], lane[5]), builder.fadd(lane[6], lane[7]))
        return builder.fadd(low, high)

    return signature, codegen


@njit(**_JIT)
def _leaf_sum(a, lo: int, m: int) -> float:
    """numpy's pairwise-sum leaf of ``a[lo:lo + m]`` (m ≤ 128): 8 lanes, combined as a tree,
    then the rest one by one; fewer than 8 items one by one."""
    if m < 8:
        res = 0.0
        for t in range(lo, lo + m):
            res += a[t]
        return res
    stop = m - (m % 8)
    res = _lane_sums(a, lo, stop)
    for q in range(lo + stop, lo + m):
        res += a[q]
    return res


@njit(**_JIT)
def mean_distance(x: np.ndarray, y: np.ndarray) -> float:
    """``np.mean`` of the pairwise distance matrix, to the bit, without the matrix.

    numpy sums a contiguous array pairwise: a range longer than 128 is halved at a multiple
    of 8, left half first, and a leaf is summed in 8 lanes (:func:`_leaf_sum`). The recursion
    runs here on an explicit stack over the row-major flattened matrix, whose rows are
    computed once each, in order, into a buffer that holds the current leaf.
    """
    n = x.shape[0]
    total = n * n
    if total == 0:
        return math.nan
    stream = np.empty(n + 256)  # flat items [first, filled) of the matrix
    first, filled = 0, 0
    lo_at = np.empty(64, dtype=np.int64)
    size_at = np.empty(64, dtype=np.int64)
    left_sum = np.empty(64)
    right_next = np.zeros(64, dtype=np.bool_)  # the left half is summed: the right is next
    lo_at[0], size_at[0], right_next[0] = 0, total, False
    depth = 1
    while True:
        lo, m = lo_at[depth - 1], size_at[depth - 1]
        if m > 128:
            half = m // 2
            half -= half % 8
            lo_at[depth], size_at[depth], right_next[depth] = lo, half, False
            depth += 1
            continue
        while filled < lo + m:  # append the next row, dropping the items before this leaf
            if filled - first + n > stream.shape[0]:
                keep = filled - lo
                stream[:keep] = stream[lo - first : filled - first]
                first = lo
            _distance_row(x, y, filled // n, stream[filled - first :])
            filled += n
        value = _leaf_sum(stream, lo - first, m)
        depth -= 1
        while depth:
            p = depth - 1
            if not right_next[p]:
                left_sum[p], right_next[p] = value, True
                half = size_at[p] // 2
                half -= half % 8
                lo_at[depth], size_at[depth] = lo_at[p] + half, size_at[p] - half
                right_next[depth] = False
                depth += 1
                break
            value = left_sum[p] + value
            depth -= 1
        if depth == 0:
            return (0.0 + value) / total


@njit(**_JIT)
def _ring_bound(mean: float, edge: float) -> float:
    """The smallest squared distance s ≥ 0 with ``not (sqrt(s) / mean < edge)``: as both
    roundings are monotonic, ``sqrt(s) / mean < edge`` exactly when ``s`` is below it."""
    bits = np.zeros(1, dtype=np.int64)
    value = bits.view(np.float64)
    lo, hi = np.int64(0), np.int64(0x7FF0000000000000)  # +0 … +inf, ordered as integers
    while lo < hi:
        bits[0] = lo + (hi - lo) // 2
        if math.sqrt(value[0]) / mean < edge:
            lo = bits[0] + 1
        else:
            hi = bits[0]
    bits[0] = lo
    return value[0]


@njit(**_JIT)
def _exact_sector(dx: float, dy: float, width: float) -> int:
    """The numpy code's sector: atan2, shifted into [0, 2π), divided by 30°, floored."""
    theta = math.atan2(dy, dx) + 2 * np.pi
    if theta >= 2 * np.pi:
        theta -= 2 * np.pi
    sector = int(theta / width)
    return 0 if sector == _N_THETA else sector


@njit(**_JIT)
def _ring(s, b0, b1, b2, b3, b4):
    """Number of radial edges above the normalised distance (0: too far, not counted)."""
    return (
        np.uint8(s < b0) + np.uint8(s < b1) + np.uint8(s < b2) + np.uint8(s < b3) + np.uint8(s < b4)
    )


@njit(**_JIT)
def _row_codes(x, y, xi, yi, b0, b1, b2, b3, b4, code) -> None:
    """Bin of p_j − p_i for every j: ``(ring − 1) · 12 + sector`` with the sector by
    comparisons (counter-clockwise from +x, y down), ``_FAR`` beyond the outer edge,
    ``_NEAR`` within the margin of a sector edge or an axis. Free of branches: SIMD."""
    for j in range(x.shape[0]):
        dx, dy = x[j] - xi, y[j] - yi
        ring = _ring(dx * dx + dy * dy, b0, b1, b2, b3, b4)
        ax, ay = abs(dx), abs(dy)
        scale = _EDGE_MARGIN * (ax + ay)
        low = _SQRT3 * ay - ax  # > 0 above 30° from the x axis
        high = ay - _SQRT3 * ax  # > 0 above 60°
        q = np.uint8(low > 0) + np.uint8(high > 0)
        up = q if dx > 0 else 5 - q
        down = 6 + q if dx < 0 else 11 - q
        near = (ax <= scale) | (ay <= scale) | (abs(low) <= 2 * scale) | (abs(high) <= 2 * scale)
        c = (ring - 1) * 12 + (up if dy > 0 else down)
        c = _NEAR if near else c
        code[j] = _FAR if ring == 0 else c


@njit(**_JIT)
def _axis_direction(dx: float, dy: float) -> int:
    """On an axis (dx or dy exactly 0): +x, −x, +y, −y, or 4 for equal points (+0, +0)."""
    if dy == 0:
        return 4 if dx == 0 else (1 if dx < 0 else 0)
    return 2 if dy > 0 else 3


@njit(**_JIT)
def _histograms(x: np.ndarray, y: np.ndarray, edges: np.ndarray, width: float) -> np.ndarray:
    """``temporal.shape_contexts`` of float64 points (float32 values): the same counts.

    Each pair (i, j > i) is binned once (:func:`_row_codes`) for both directions: p_i − p_j
    lies six sectors further than p_j − p_i, except near an edge, where both directions take
    the numpy code's formula (on an axis, dx or dy exactly 0, its atan2 is exact, so each
    axis direction has a constant sector). Row i's own counts go to four interleaved
    histograms (no chain of increments of one counter), the reverse counts to a bins ×
    points table, where consecutive points of a contour mostly hit consecutive counters of
    one bin.
    """
    n = x.shape[0]
    hist = np.zeros((n, _N_BINS), dtype=np.int64)
    if n == 0:
        return hist
    mean = mean_distance(x, y)
    b0, b1 = _ring_bound(mean, edges[0]), _ring_bound(mean, edges[1])
    b2, b3 = _ring_bound(mean, edges[2]), _ring_bound(mean, edges[3])
    b4 = _ring_bound(mean, edges[4])
    reverse = np.empty(64, dtype=np.int64)  # bin of the opposite direction
    for c in range(64):
        reverse[c] = c if c >= _N_BINS else c - c % 12 + (c % 12 + 6) % 12
    # sectors of +x, −x, +y, −y and of equal points, and of the opposite direction
    axis = np.array(
        [
            _exact_sector(1.0, 0.0, width),
            _exact_sector(-1.0, 0.0, width),
            _exact_sector(0.0, 1.0, width),
            _exact_sector(0.0, -1.0, width),
            _exact_sector(0.0, 0.0, width),
        ]
    )
    opposite = axis[np.array([1, 0, 3, 2, 4])]
    self_ring = _ring(0.0, b0, b1, b2, b3, b4)
    code = np.empty(n, dtype=np.uint8)
    own = np.zeros(4 * 64, dtype=np.int32)
    back = np.zeros(64 * n, dtype=np.int32)  # back[b · n + j]: pairs (i < j) in bin b of j
    for i in range(n):
        xi, yi = x[i], y[i]
        m = n - 1 - i
        _row_codes(x[i + 1 :], y[i + 1 :], xi, yi, b0, b1, b2, b3, b4, code)
        own[:] = 0
        for t in range(m):
            j = i + 1 + t
            c = np.int64(code[t])
            r = reverse[c]
            if c == _NEAR:
                dx, dy = x[j] - xi, y[j] - yi
                ring = _ring(dx * dx + dy * dy, b0, b1, b2, b3, b4)
                if ring == 0:
                    c, r = _FAR, _FAR
                elif dx == 0 or dy == 0:
                    d = _axis_direction(dx, dy)
                    c, r = (ring - 1) * 12 + axis[d], (ring - 1) * 12 + opposite[d]
                else:  # p_i − p_j, not −dx (the same here, off an axis)
                    c = (ring - 1) * 12 + _exact_sector(dx, dy, width)
                    r = (ring - 1) * 12 + _exact_sector(xi - x[j], yi - y[j], width)
            own[(t & 3) * 64 + c] += 1
            back[r * n + j] += 1
        row = hist[i]
        for b in range(_N_BINS):
            row[b] = own[b] + own[64 + b] + own[128 + b] + own[192 + b] + back[b * n + i]
        if self_ring:  # the point itself: distance 0, angle atan2(+0, +0)
            row[(self_ring - 1) * 12 + axis[4]] += 1
    return hist


@njit(**_JIT)
def shape_contexts(points: np.ndarray, edges: np.ndarray, width: float) -> np.ndarray:
    """``temporal.shape_contexts`` of float32 ``(N, 2)`` points: the same counts."""
    n = points.shape[0]
    x, y = np.empty(n), np.empty(n)
    for t in range(n):
        x[t], y[t] = np.float64(points[t, 0]), np.float64(points[t, 1])
    return _histograms(x, y, edges, width)


# --- the entry point --------------------------------------------------------------------------
@njit(**_JIT)
def mask_contours(mask: np.ndarray, mode: int, edges: np.ndarray, width: float):
    """A ``uint8`` mask (non-zero = object) to, by ``mode``:

    * ``ALL_CONTOURS``: every simplified contour of ≥ 4 points (``temporal.extract_contours``);
    * ``LONGEST``: the longest one (``temporal.mask_longest_contour``);
    * ``DESCRIPTOR``: the longest one and its up-sampled shape contexts
      (``temporal.contour_descriptor``).

    Returns the contours' ``(x, y)`` points one after the other (contour c is
    ``points[bounds[c]:bounds[c + 1]]``) and the histograms (``(0, 60)`` unless
    ``DESCRIPTOR`` and a contour exists).
    """
    pieces = [np.empty((0, 2), dtype=np.int64)]
    r0, r1, c0, c1 = _box(mask)
    if r0 < 0:  # empty: no curve
        n_curves = 0
        grid_width, flat, successor = 0, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        size, kind, flips = successor, successor, np.empty(0, dtype=np.bool_)
        curve_corners, curve_bounds = successor, successor
    else:
        grid_width, flat, successor, size, kind, flips, curve_corners, curve_bounds = _curves(
            mask, r0, r1, c0, c1
        )
        n_curves = size.shape[0]
    if mode == ALL_CONTOURS:
        for c in range(n_curves):
            ids = _curve_corners(c, kind, flips, successor, curve_corners, curve_bounds)
            poly = _polygon(ids, flips[c], flat, grid_width, r0, c0)
            if poly.shape[0] >= _MIN_POINTS:
                pieces.append(poly)
    elif n_curves:
        # mask_longest_contour: by decreasing size (later first on ties), until a curve has
        # fewer corners than the best simplified count (simplification never adds points)
        order = np.argsort(-(size * n_curves + np.arange(n_curves)))
        best, best_k = np.empty((0, 2), dtype=np.int64), -1
        for k in order:
            if best_k >= 0 and (
                size[k] < best.shape[0] or (size[k] == best.shape[0] and k < best_k)
            ):
                break
            ids = _curve_corners(k, kind, flips, successor, curve_corners, curve_bounds)
            poly = _polygon(ids, flips[k], flat, grid_width, r0, c0)
            if poly.shape[0] < _MIN_POINTS:
                continue
            if (
                best_k < 0
                or poly.shape[0] > best.shape[0]
                or (poly.shape[0] == best.shape[0] and k > best_k)
            ):
                best, best_k = poly, k
        if best_k >= 0:
            pieces.append(best)
    bounds = np.zeros(len(pieces), dtype=np.int64)
    for t in range(1, len(pieces)):
        bounds[t] = bounds[t - 1] + pieces[t].shape[0]
    points = np.empty((bounds[-1], 2), dtype=np.int64)
    for t in range(1, len(pieces)):
        points[bounds[t - 1] : bounds[t]] = pieces[t]
    if mode == DESCRIPTOR and len(pieces) > 1:
        up = _upsample(points)
        n = up.shape[0]
        x, y = np.empty(n), np.empty(n)
        for t in range(n):
            x[t], y[t] = np.float64(up[t, 0]), np.float64(up[t, 1])
        hist = _histograms(x, y, edges, width)
    else:
        hist = np.zeros((0, _N_BINS), dtype=np.int64)
    return points, bounds, hist
