"""Compiled kernels of temporal stability T (numba), equal to the numpy formulation within 1e-15.

:mod:`vosbench.metrics.temporal` imports this module lazily, the first time T is computed, and
falls back to its numpy code when numba is not installed. The kernels repeat the numpy code's
floating-point operations in the same order, except the χ² sums, so values do not change beyond
rounding, only the time:

* :func:`shape_contexts`: the angular sector of a point pair comes from two comparisons
  instead of ``atan2``; pairs within 1e-9 rad of a sector edge (or on an axis) take the numpy
  code's exact ``atan2`` formula, so every count is the same. Each pair is visited once for
  both of its points.
* :func:`junction_curves`, :func:`loops`: the contour tracing (pieces between junctions,
  polycont's piece numbering, its Jordan-curve walk, loops without junctions), integer work
  that gives the same corners in the same order as the Python code.
* :func:`douglas_peucker`: psimpl's radial-distance pass and Douglas–Peucker, point by point.
* :func:`matched_pairs`: the χ² matrix is computed only where the shortest-path search needs
  it. A cell whose cheapest predecessor already costs more than a bound ``U`` cannot lie on a
  path of cost ≤ ``U``, so neither its χ² nor its path cost is computed; if the last cell is
  not reached within ``U``, ``U`` grows and the search runs again (computed χ² cells are
  kept). Cells within ``U`` get exactly the values the full search gives them, so the path,
  its ties and its cost are the full search's. The first pass starts at half the cost of the
  straight diagonal (:func:`diagonal_cost`), a path of its own, so it needs at most two tries;
  the second starts at the cheaper of two of its own paths, the first pass's path re-rooted
  for it (:func:`rerooted_cost`) and the straight diagonal (:func:`diagonal_cost`), which no
  optimum exceeds, so it needs one try. Computed cells are kept per row as one arc of the row
  seen as a circle, so the second pass's rows, which wrap around, reuse the first pass's cells
  without computing the row between them (on DAVIS-2016 val the two passes compute 44% of
  the cells instead of 57%). A χ² cell is
  summed over the non-zero bins of one histogram only (a correction of a per-column total),
  in another order than numpy's pairwise sum of 60 bins: cells move by ~1e-16, per-pair T on
  the 651 DAVIS-2016 val pairs by at most 1.7e-16 (equal rows and columns still get equal
  cells, so ties stay ties).

Compiled functions are cached on disk (``cache=True``): the first call after installation
compiles them (about half a minute on a loaded 2-core machine), later processes load them in
about a second.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vosbench.metrics.temporal import HIST_EPS, N_BINS_THETA

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

_N_THETA = N_BINS_THETA
_N_BINS = 60
#: Pairs closer than this (relative, ≈ radians) to a sector edge use the exact atan2 formula;
#: the numpy code's rounding moves an angle by < 1e-14.
_EDGE_MARGIN = 1e-9
_SQRT3 = math.sqrt(3.0)
#: χ² cells computed at a time when a path runs on along a row.
_CHUNK = 64


# --- shape contexts ---------------------------------------------------------------------------
@njit(**_JIT)
def distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pairwise distances of float64 points, ``dist[i, j]`` from point i to point j."""
    n = x.shape[0]
    dist = np.empty((n, n))
    for i in range(n):
        row, xi, yi = dist[i], x[i], y[i]
        for j in range(n):
            dx = x[j] - xi
            dy = y[j] - yi
            row[j] = math.sqrt(dx * dx + dy * dy)
    return dist


@njit(**_JIT)
def _exact_sector(dx: float, dy: float, width: float) -> int:
    """The numpy code's sector: atan2, shifted into [0, 2π), divided by 30°, floored."""
    theta = math.atan2(dy, dx) + 2 * np.pi
    if theta >= 2 * np.pi:
        theta -= 2 * np.pi
    sector = int(theta / width)
    return 0 if sector == _N_THETA else sector


@njit(**_JIT)
def _row_codes(x, y, dist_row, mean, edges, i, ring, sector) -> None:
    """For the pairs (i, j ≥ i): ``ring[j]``, the number of radial edges above the normalised
    distance (0: too far, not counted), and ``sector[j]``, the 30° sector of p_j − p_i
    (counter-clockwise from +x, y down) by comparisons, or −1 within the margin of a sector
    edge or an axis. Free of branches, so the loop runs in SIMD."""
    e0, e1, e2, e3, e4 = edges[0], edges[1], edges[2], edges[3], edges[4]
    xi, yi = x[i], y[i]
    for j in range(i, x.shape[0]):
        r = dist_row[j] / mean
        ring[j] = (r < e0) + (r < e1) + (r < e2) + (r < e3) + (r < e4)
        dx, dy = x[j] - xi, y[j] - yi
        ax, ay = abs(dx), abs(dy)
        scale = _EDGE_MARGIN * (ax + ay)
        low = _SQRT3 * ay - ax  # > 0 above 30° from the x axis
        high = ay - _SQRT3 * ax  # > 0 above 60°
        q = (low > 0) + (high > 0)
        up = q if dx > 0 else 5 - q
        down = 6 + q if dx < 0 else 11 - q
        near = (ax <= scale) | (ay <= scale) | (abs(low) <= 2 * scale) | (abs(high) <= 2 * scale)
        sector[j] = -1 if near else (up if dy > 0 else down)


@njit(**_JIT)
def histograms(
    x: np.ndarray, y: np.ndarray, dist: np.ndarray, mean: float, edges: np.ndarray, width: float
) -> np.ndarray:
    """Shape-context counts given the distances and their mean (``temporal.shape_contexts``).

    The pair (i, j) is visited once: the distance is symmetric and the reverse direction lies
    six sectors further, except near an edge, where both directions take the exact formula.
    """
    n = x.shape[0]
    hist = np.zeros((n, _N_BINS), dtype=np.int64)
    ring = np.empty(n, dtype=np.int64)
    sector = np.empty(n, dtype=np.int64)
    for i in range(n):
        _row_codes(x, y, dist[i], mean, edges, i, ring, sector)
        for j in range(i, n):
            if ring[j] == 0:
                continue
            forward = sector[j]
            if forward >= 0:
                backward = (forward + 6) % _N_THETA
            else:
                forward = _exact_sector(x[j] - x[i], y[j] - y[i], width)
                # p_i − p_j, not −dx: equal points give +0.0, whose atan2 is 0, not −π
                backward = _exact_sector(x[i] - x[j], y[i] - y[j], width)
            base = (ring[j] - 1) * _N_THETA
            hist[i, base + forward] += 1
            if j != i:
                hist[j, base + backward] += 1
    return hist


# --- contour tracing ------------------------------------------------------------------------
@njit(**_JIT)
def follow(successor: np.ndarray, first: int, start: int) -> np.ndarray:
    """Corners from ``first`` along ``successor`` up to a junction (successor −1, included) or,
    for a loop, back to ``start`` (appended again): ``temporal._trace_pieces`` and
    ``temporal._walk_loop`` corner by corner."""
    path = [first]
    v = first
    while successor[v] >= 0 and successor[v] != start:
        v = successor[v]
        path.append(v)
    if successor[v] == start:
        path.append(start)
    return np.array(path, dtype=np.int64)


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
def _discard(remaining, left, j, i):
    for t in range(4):
        if remaining[j, t] == i:
            remaining[j, t] = -1
            left[j] -= 1


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
def _find_key(points: np.ndarray, first: int, last: int) -> tuple[int, float]:
    """Interior point farthest from the chord first–last and its squared distance (psimpl
    FindKey: projection fraction in float32; ties go to the later point)."""
    s1x, s1y = points[first, 0], points[first, 1]
    vx, vy = points[last, 0] - s1x, points[last, 1] - s1y
    cv = vx * vx + vy * vy
    key, best = first, -1.0
    for i in range(first + 1, last):
        px, py = points[i, 0], points[i, 1]
        wx, wy = px - s1x, py - s1y
        cw = wx * vx + wy * vy
        if cw <= 0:
            tx, ty = s1x, s1y
        elif cv <= cw:
            tx, ty = points[last, 0], points[last, 1]
        else:
            fraction = np.float64(np.float32(cw) / np.float32(cv))
            tx, ty = s1x + fraction * vx, s1y + fraction * vy
        dx, dy = px - tx, py - ty
        d2 = dx * dx + dy * dy
        if d2 >= best:
            key, best = i, d2
    return key, best


@njit(**_JIT)
def douglas_peucker(points: np.ndarray, tolerance: float) -> np.ndarray:
    """psimpl simplify_douglas_peucker (radial distance first), with an explicit stack."""
    if points.shape[0] < 3:
        return points
    points = _radial_distance(points, tolerance)
    n = points.shape[0]
    keep = np.zeros(n, dtype=np.bool_)
    keep[0] = keep[n - 1] = True
    tol2 = tolerance * tolerance
    stack = [(0, n - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        key, d2 = _find_key(points, first, last)
        if tol2 < d2:
            keep[key] = True
            stack.append((first, key))
            stack.append((key, last))
    return points[keep]


# --- χ² cells -------------------------------------------------------------------------------
@njit(**_JIT)
def _chi2_cells(cells, row: int, lo: int, hi: int) -> None:
    """χ² of histogram ``a[row]`` against columns lo … hi − 1 of ``bt``, into ``out[row]``.

    Bin k adds ``(x − y)² / (x + y + eps)``, which is ``qb = y² / (y + eps)`` where ``x = 0``.
    Histograms are sparse (≈ 23 of 60 bins non-zero on DAVIS-2016), so a cell is the column's
    sum of ``qb`` over all bins (``qsum``, summed bin by bin) minus its sum over the row's
    non-zero bins (summed in the same order, so equal histograms give exactly 0), plus the
    row's non-zero bins' terms. One operation per column, no dependency between columns: the
    loops compile to SIMD. The sum is formed in another order than numpy's, which moves a
    cell by ~1e-16.
    """
    a, bt, qb, out, _, _, acc, qsum = cells
    m = hi - lo
    terms, zero_terms = acc[0, :m], acc[1, :m]
    terms[:] = 0.0
    zero_terms[:] = 0.0
    for k in range(_N_BINS):
        x = a[row, k]
        if x == 0:
            continue
        y, qy = bt[k, lo:hi], qb[k, lo:hi]
        for t in range(m):
            d = x - y[t]
            terms[t] += (d * d) / ((x + y[t]) + HIST_EPS)
            zero_terms[t] += qy[t]
    for t in range(m):
        out[row, lo + t] = (terms[t] + (qsum[lo + t] - zero_terms[t])) * 0.5


@njit(**_JIT)
def _compute_arc(cells, row: int, start: int, m: int) -> None:
    """χ² cells ``start … start + m − 1`` of ``row``, columns taken modulo the row length."""
    n2 = cells[3].shape[1]
    end = start + m
    if end <= n2:
        _chi2_cells(cells, row, start, end)
    else:
        _chi2_cells(cells, row, start, n2)
        _chi2_cells(cells, row, 0, end - n2)


@njit(**_JIT)
def _ensure(cells, row: int, start: int, m: int) -> None:
    """Compute the χ² cells of ``row`` on the arc ``start … start + m − 1`` (columns modulo the
    row length, ``0 ≤ start < n2``, ``m ≤ n2``) not computed yet.

    ``cells`` is the lazily filled matrix ``(a, bt, qb, out, first, length, scratch, qsum)``
    (``qsum``: ``qb`` summed over bins): row r of ``out`` is computed on one arc of the row
    seen as a circle, ``length[r]`` cells from column ``first[r]``. The second search runs on
    the matrix rolled by the first path's cheapest cell, so its rows wrap around; an arc
    holds both searches' cells without computing the row between them. A request outside the
    arc grows it at its end, or at its start (and at its end where it sticks out on both
    sides), whichever computes fewer cells (gaps included).
    """
    first, length = cells[4], cells[5]
    n2 = cells[3].shape[1]
    if m <= 0:
        return
    have = length[row]
    if have == 0:
        _compute_arc(cells, row, start, m)
        first[row], length[row] = start, m
        return
    at = first[row]
    d = start - at
    if d < 0:
        d += n2
    if d + m <= have:
        return
    # seen from the arc's start, the request begins d cells after it, or b cells before it
    forward = d + m - have  # grow past the arc's end (over any gap) to the request's end
    b = n2 - d
    after = max(0, m - b - have)  # seen from before: what also sticks out past the arc's end
    if min(forward, b + after) >= n2 - have:  # every missing cell
        _compute_arc(cells, row, (at + have) % n2, n2 - have)
        length[row] = n2
    elif forward <= b + after:
        _compute_arc(cells, row, (at + have) % n2, forward)
        length[row] = have + forward
    else:
        _compute_arc(cells, row, start, b)
        if after:
            _compute_arc(cells, row, (at + have) % n2, after)
        first[row], length[row] = start, b + have + after


@njit(**_JIT)
def _rolled_row(cells, x: int, lo: int, hi: int, ox: int, oy: int, buf: np.ndarray) -> None:
    """``buf[lo:hi]`` = cells ``[lo, hi)`` of row ``x`` of the χ² matrix rolled by (ox, oy),
    computing those not computed yet."""
    out = cells[3]
    n1, n2 = out.shape
    r = (x + ox) % n1
    start = (lo + oy) % n2
    end = start + (hi - lo)
    _ensure(cells, r, start, hi - lo)
    if end <= n2:
        buf[lo:hi] = out[r, start:end]
    else:
        split = lo + (n2 - start)
        buf[lo:split] = out[r, start:n2]
        buf[split:hi] = out[r, 0 : end - n2]


@njit(**_JIT)
def _bounded_costs(cells, ox, oy, bound, acc, glo, ghi, row_cost) -> float:
    """Cheapest-path costs (as ``temporal._path_costs``) of the χ² matrix rolled by (ox, oy),
    for the cells whose cost is ≤ ``bound``: ``acc[x, glo[x]:ghi[x]]``, inf elsewhere.

    Row by row: a cell is reached from above only within the previous row's range (plus one
    to the right, diagonally), then from the left as long as the cost stays ≤ ``bound``.
    Returns the cost of the last cell, or, when it costs more than ``bound``, minus the
    smallest cost above ``bound`` met (no path is cheaper: it is a lower bound for the next
    try).
    """
    n1, n2 = acc.shape
    inf = math.inf
    over = inf
    for x in range(n1):
        if x == 0:
            lo, hi = 0, 1
        else:
            lo, hi = glo[x - 1], min(ghi[x - 1] + 1, n2)
            # inf just outside the previous row's range, so that up and diagonal need no test
            if lo > 0:
                acc[x - 1, lo - 1] = inf
            if hi - 1 < n2 and ghi[x - 1] < n2:
                acc[x - 1, ghi[x - 1]] = inf
        _rolled_row(cells, x, lo, hi, ox, oy, row_cost)
        first, last = -1, -1
        left = inf
        for y in range(lo, hi):
            if x == 0:
                g = 0.0
            else:
                m = min(left, acc[x - 1, y])
                if y > 0:
                    m = min(m, acc[x - 1, y - 1])
                g = row_cost[y] + m
            if g > bound:
                over = min(over, g)
                g = inf
            else:
                last = y
                if first < 0:
                    first = y
            acc[x, y] = g
            left = g
        y = hi
        while y < n2 and left <= bound:  # on along the row, from the left only
            end = min(y + _CHUNK, n2)
            _rolled_row(cells, x, y, end, ox, oy, row_cost)
            while y < end and left <= bound:
                g = row_cost[y] + left
                if g > bound:
                    over = min(over, g)
                    g = inf
                else:
                    last = y
                    if first < 0:
                        first = y
                acc[x, y] = g
                left = g
                y += 1
        if first < 0:
            return -over
        glo[x], ghi[x] = first, last + 1
    if ghi[n1 - 1] != n2:
        return -over
    return acc[n1 - 1, n2 - 1]


@njit(**_JIT)
def _cost_at(acc, glo, ghi, x: int, y: int) -> float:
    return acc[x, y] if glo[x] <= y < ghi[x] else math.inf


@njit(**_JIT)
def _trace_back(acc, glo, ghi) -> np.ndarray:
    """Cells of the cheapest path from the last cell back to (0, 0); ties: diagonal, up, left
    (``temporal._best_path``)."""
    x, y = acc.shape[0] - 1, acc.shape[1] - 1
    path = np.empty((x + y + 1, 2), dtype=np.int64)
    k = 0
    path[0, 0], path[0, 1] = x, y
    inf = math.inf
    while x or y:
        diag = _cost_at(acc, glo, ghi, x - 1, y - 1) if x and y else inf
        up = _cost_at(acc, glo, ghi, x - 1, y) if x else inf
        left = _cost_at(acc, glo, ghi, x, y - 1) if y else inf
        if diag <= up and diag <= left:
            x, y = x - 1, y - 1
        elif up <= left:
            x -= 1
        else:
            y -= 1
        k += 1
        path[k, 0], path[k, 1] = x, y
    return path[: k + 1]


@njit(**_JIT)
def best_path(cells, ox: int, oy: int, acc, glo, ghi, bound: float) -> tuple[np.ndarray, float]:
    """The cheapest path of the matrix rolled by (ox, oy) and its cost, found within
    ``bound``, which doubles past the smallest cost that exceeded it until the last cell is
    reached."""
    row_cost = np.empty(acc.shape[1])
    while True:
        total = _bounded_costs(cells, ox, oy, bound, acc, glo, ghi, row_cost)
        if total >= 0:
            return _trace_back(acc, glo, ghi), total
        if -total == math.inf or bound == math.inf:
            bound = math.inf
        else:
            bound = 2.0 * -total


@njit(**_JIT)
def rerooted_cost(cells, path, k: int, ox: int, oy: int) -> float:
    """Cost, in the matrix rolled by (ox, oy) = cell ``path[k]`` + (1, 1), of the first pass's
    path (``path``, from the last cell back to (0, 0)) re-rooted after its cell k: the part
    after it, the wrap-around (a diagonal step), the part up to it, each cell clamped to
    rows and columns ≥ 0 (the first one or two steps). It is a path of the second pass, so
    its cost, summed in path order as the search sums, bounds the second pass's optimum
    from above: a search within it needs no second try."""
    out = cells[3]
    n1, n2 = out.shape
    total, px, py = 0.0, 0, 0
    for t in range(k + path.shape[0]):
        u = k - 1 - t if t < k else path.shape[0] - 1 - (t - k)
        wrap = t >= k
        x = max(path[u, 0] - ox + (n1 if wrap else 0), 0)
        y = max(path[u, 1] - oy + (n2 if wrap else 0), 0)
        if x == px and y == py:
            continue
        r, c = (x + ox) % n1, (y + oy) % n2
        _ensure(cells, r, c, 1)
        total += out[r, c]
        px, py = x, y
    return total


@njit(**_JIT)
def _chi2_cell(cells, row: int, col: int) -> float:
    """One χ² cell, with :func:`_chi2_cells`' operations in its order (so the same value),
    without storing it: a lone cell would grow its row's arc over the gap to it."""
    a, bt, qb, _, _, _, _, qsum = cells
    terms, zero_terms = 0.0, 0.0
    for k in range(_N_BINS):
        x = a[row, k]
        if x == 0:
            continue
        y = bt[k, col]
        d = x - y
        terms += (d * d) / ((x + y) + HIST_EPS)
        zero_terms += qb[k, col]
    return (terms + (qsum[col] - zero_terms)) * 0.5


@njit(**_JIT)
def diagonal_cost(cells, ox: int, oy: int) -> float:
    """Cost of the straight staircase from (0, 0) to the last cell of the matrix rolled by
    (ox, oy) (each step advances the longer side by one, the other by 0 or 1), summed in path
    order as the search sums: a path of the second pass, so no optimum exceeds it. After the
    roll the contours' correspondence runs near this diagonal, where the re-rooted first path
    (:func:`rerooted_cost`) can detour far from it."""
    out, arc_first, arc_length = cells[3], cells[4], cells[5]
    n1, n2 = out.shape
    steps = max(n1, n2) - 1
    total = 0.0
    for t in range(1, steps + 1):
        x = (t * (n1 - 1) + steps // 2) // steps
        y = (t * (n2 - 1) + steps // 2) // steps
        r, c = (x + ox) % n1, (y + oy) % n2
        d = c - arc_first[r]
        if d < 0:
            d += n2
        total += out[r, c] if d < arc_length[r] else _chi2_cell(cells, r, c)
    return total


# --- entry points used by temporal.py -------------------------------------------------------
def shape_contexts(points: np.ndarray, edges: np.ndarray, width: float) -> np.ndarray:
    """``temporal.shape_contexts``: the same counts (the mean distance is numpy's, from the
    same distance matrix, so it is the same to the bit)."""
    p = np.asarray(points, dtype=np.float32).astype(np.float64)
    x, y = np.ascontiguousarray(p[:, 0]), np.ascontiguousarray(p[:, 1])
    dist = distances(x, y)
    return histograms(x, y, dist, float(np.mean(dist)), edges, width)


def matched_pairs(hist1: np.ndarray, hist2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``temporal.contour_cost`` keeps before making them bijective, and the χ²
    matrix, computed where the two shortest-path passes needed it (elsewhere undefined)."""
    a = hist1 / (np.sum(hist1, axis=1, keepdims=True) + HIST_EPS)
    b = hist2 / (np.sum(hist2, axis=1, keepdims=True) + HIST_EPS)
    bt = np.ascontiguousarray(b.T)
    qb = bt * bt / (bt + HIST_EPS)
    n1, n2 = len(a), len(b)
    cost = np.empty((n1, n2))
    arc_first, arc_length = np.zeros(n1, dtype=np.int64), np.zeros(n1, dtype=np.int64)
    qsum = np.zeros(n2)
    for row in qb:  # bin by bin, as _chi2_cells sums a row's non-zero bins
        qsum += row
    cells = (a, bt, qb, cost, arc_first, arc_length, np.empty((2, n2)), qsum)
    acc = np.empty((n1, n2))
    lo, hi = np.empty(n1, dtype=np.int64), np.empty(n1, dtype=np.int64)
    # half the diagonal's cost first: a second try, if needed, is bound by more than the
    # diagonal itself, so it reaches the last cell
    path, _ = best_path(cells, 0, 0, acc, lo, hi, 0.5 * diagonal_cost(cells, 0, 0))
    k = int(np.argmin(cost[path[:-1, 0], path[:-1, 1]]))
    sx, sy = int(path[k, 0]) + 1, int(path[k, 1]) + 1
    bound = min(rerooted_cost(cells, path, k, sx, sy), diagonal_cost(cells, sx, sy))
    pairs, _ = best_path(cells, sx, sy, acc, lo, hi, bound)
    pairs = np.stack([(pairs[:, 0] + sx) % n1, (pairs[:, 1] + sy) % n2], axis=1)
    return pairs, cost
