"""Compiled matching kernels of temporal stability T (numba), equal to the numpy formulation
within 1e-15.

:mod:`vosbench.metrics.temporal` imports this module lazily, the first time T is computed, and
falls back to its numpy code when numba is not installed (the mask → descriptor side has its
own kernels, :mod:`vosbench.metrics.descriptor_kernels`, equal to the numpy code to the bit).
The kernels repeat the numpy code's floating-point operations in the same order, except the
χ² sums, so values do not change beyond rounding, only the time:

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
compiles them (about half a minute on a loaded 2-core machine), later processes load them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vosbench.metrics.temporal import HIST_EPS

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

_N_BINS = 60
#: χ² cells computed at a time when a path runs on along a row.
_CHUNK = 64


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
