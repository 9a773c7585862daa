"""Temporal stability T of DAVIS-2016, as its toolkit computes it, torch-free.

T measures how much an object's shape changes between two consecutive frames: the longest
contour of each mask is described by log-polar shape-context histograms, the two contours are
aligned cyclically by dynamic programming on the χ² cost of their histograms, and T is the mean
cost of the matched points (×5). Lower is better.

The reference is the DAVIS-2016 toolkit (github fperazzi/davis @ aaee12c):
``python/lib/davis/measures/t_stability.py`` (shape contexts, χ², bijective pairs), its C++
extension ``tstab`` (``cpp/polycont``: contours and their simplification; ``python.cpp``:
longest contour, up-sampling, the shortest-path matching) and ``dataset/loader.py`` (the ×5
and the frame pairing). Every step below follows them, including their floating-point types,
so that per-sequence values agree with the toolkit (see ``results/t_stability.md``).

What differs: the toolkit's Dijkstra breaks exact ties between equal-cost paths in its heap
order, which no local rule reproduces; here ties prefer the diagonal step (see
:func:`_best_path`). On DAVIS-2016 val 631 of 651 pairs are equal to the bit and the others
differ by < 4e-4. The χ² matrix is built in cache-sized row blocks instead of the toolkit's
three ``N × M × 60`` arrays (≈ 2.4 GB for two 1,300-point contours; here ≈ 100 MB, mostly the
DP's two ``(N + M) × N`` arrays). Like the toolkit, nothing bounds ``N``: up-sampled contours
of DAVIS-2016 480p masks have 115–1,430 points, and time grows as ``N · M``.

Speed: where numba is installed, a mask's descriptor (corner grid, contour tracing, polygon
simplification, up-sampling, shape contexts) is one compiled call
(:mod:`vosbench.metrics.descriptor_kernels`) whose contours and counts are this module's to
the bit, and the two shortest-path passes run as compiled kernels
(:mod:`vosbench.metrics.temporal_kernels`) that repeat this module's arithmetic operation for
operation except the order of the χ² sums, so values agree within rounding (≤ 1.7e-16 per
pair on DAVIS-2016 val); the passes compute the χ² matrix only where a path within a cost
bound can go (about three quarters of it). The numpy code below is the definition and the
fallback.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from types import ModuleType

import numpy as np

# --- constants, each from the toolkit (fperazzi/davis @ aaee12c) --------------------------
#: Polygon simplification tolerance (t_stability.py ``cont_th``, passed to tstab.mask2poly).
#: polycont simplifies on a doubled grid (pixel corners at even coordinates), so in pixels
#: the tolerance is half of it.
CONTOUR_TOLERANCE = 3.0
#: polycont/simplify.hpp: when the tolerance exceeds 0.1, a first pass at 0.1 removes
#: collinear points before the real one.
PRE_SIMPLIFY_TOLERANCE = 0.1
#: polycont/mask2polycont.hpp erases contours of ≤ 3 points ("single pixels").
MIN_CONTOUR_POINTS = 4
#: t_stability.py ``cont_th_up``: segments longer than this are split (tstab.contour_upsample).
UPSAMPLE_STEP = 3.0
#: t_stability.py shape-context parameters: radial bin edges log-spaced from r_inner to
#: r_outer, relative to the mean pairwise distance of the contour's points.
R_INNER = 1.0 / 8.0
R_OUTER = 2.0
N_BINS_R = 5
N_BINS_THETA = 12
#: t_stability.py hist_cost_2 ``eps`` (normalisation and χ² denominator).
HIST_EPS = 2.2204e-16
#: loader.py ``magic_number``: the per-pair value is 5 × the mean matched cost.
T_SCALE = 5.0

T_CONSTANTS: dict[str, float] = {
    "contour_tolerance": CONTOUR_TOLERANCE,
    "pre_simplify_tolerance": PRE_SIMPLIFY_TOLERANCE,
    "min_contour_points": MIN_CONTOUR_POINTS,
    "upsample_step": UPSAMPLE_STEP,
    "r_inner": R_INNER,
    "r_outer": R_OUTER,
    "n_bins_r": N_BINS_R,
    "n_bins_theta": N_BINS_THETA,
    "hist_eps": HIST_EPS,
    "t_scale": T_SCALE,
}

_R_EDGES = np.logspace(np.log10(R_INNER), np.log10(R_OUTER), N_BINS_R)  # as t_stability.py
_N_BINS = N_BINS_R * N_BINS_THETA
_SECTOR_WIDTH = 2 * np.pi / N_BINS_THETA
_BLOCK_ITEMS = 1 << 17  # χ² blocks of 1 MiB of float64: fast while in cache

# Toolkit slot order at a junction: it pushes E, S, W, N and pops them last-in first-out.
_N, _W, _S, _E = 0, 1, 2, 3
_SLOT_ORDER = (_N, _W, _S, _E)


@functools.cache
def _kernels() -> ModuleType | None:
    """The compiled matching kernels (:mod:`vosbench.metrics.temporal_kernels`), or None where
    numba is not installed. Imported on first use, never with vosbench: numba takes ~0.3 s to
    load."""
    if importlib.util.find_spec("numba") is None:
        return None
    from vosbench.metrics import temporal_kernels

    return temporal_kernels


def _descriptor_kernels() -> ModuleType | None:
    """The compiled mask → descriptor kernels (:mod:`vosbench.metrics.descriptor_kernels`), or
    None where :func:`_kernels` is None (so that one switch selects the numpy code)."""
    if _kernels() is None:
        return None
    from vosbench.metrics import descriptor_kernels

    return descriptor_kernels


def _compiled_contours(mask: np.ndarray, mode: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``descriptor_kernels.mask_contours`` of a mask: the contours and the histograms."""
    kernels = _descriptor_kernels()
    assert kernels is not None
    points, bounds, hist = kernels.mask_contours(_as_uint8(mask), mode, _R_EDGES, _SECTOR_WIDTH)
    contours = [points[lo:hi] for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist())]
    return contours, hist


def _as_uint8(mask: np.ndarray) -> np.ndarray:
    """The mask as a C-contiguous ``uint8`` array, non-zero = object (no copy for ``bool`` or
    ``uint8`` masks, which the kernel reads as they are)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-D, got shape {mask.shape}")
    if mask.dtype == np.bool_:
        mask = mask.view(np.uint8)
    elif mask.dtype != np.uint8:
        mask = (mask != 0).view(np.uint8)
    return np.ascontiguousarray(mask)


# --- contours -------------------------------------------------------------------------------
class _Grid:
    """Crack boundary of a mask on its pixel-corner grid, followed with the object on the right.

    Corner ``(r, c)`` is the top-left corner of pixel ``(r, c)``. Every boundary corner has one
    outgoing edge, except *junctions* (two pixels touching only diagonally), which have two.
    """

    def __init__(self, mask: np.ndarray) -> None:
        pad = np.pad(mask, 1).astype(np.uint8)
        nw, ne, sw, se = pad[:-1, :-1], pad[:-1, 1:], pad[1:, :-1], pad[1:, 1:]
        code = nw | (ne << 1) | (sw << 2) | (se << 3)
        self.width = code.shape[1]
        self.corners = np.flatnonzero((code != 0) & (code != 15))
        self.code = code.ravel()[self.corners]
        self.is_junction = (self.code == 6) | (self.code == 9)
        self.next = self._successors()
        self.exits = self._junction_exits()

    def _successors(self) -> np.ndarray:
        """Compact index of the next corner (object on the right); −1 at junctions."""
        c, w = self.code, self.width
        nw, ne, sw, se = c & 1, (c >> 1) & 1, (c >> 2) & 1, (c >> 3) & 1
        step = np.select(
            [
                (ne == 0) & (se == 1),
                (nw == 1) & (sw == 0),
                (sw == 1) & (se == 0),
                (ne == 1) & (nw == 0),
            ],
            [1, -1, w, -w],
            0,
        )
        nxt = np.searchsorted(self.corners, self.corners + step)
        nxt[self.is_junction] = -1
        return nxt

    def _junction_exits(self) -> dict[int, tuple[tuple[int, int], tuple[int, int]]]:
        """Per junction, its two outgoing (slot, next corner): E and W where the object is
        NW and SE (code 9), N and S where it is NE and SW (code 6)."""
        junctions = np.flatnonzero(self.is_junction)
        nine = self.code[junctions] == 9
        at = self.corners[junctions]
        first = np.searchsorted(self.corners, at + np.where(nine, 1, -self.width))
        second = np.searchsorted(self.corners, at + np.where(nine, -1, self.width))
        return {
            j: ((_E, a), (_W, b)) if n else ((_N, a), (_S, b))
            for j, n, a, b in zip(
                junctions.tolist(), nine.tolist(), first.tolist(), second.tolist()
            )
        }

    def rc(self, indices: Sequence[int]) -> np.ndarray:
        flat = self.corners[np.asarray(indices, dtype=np.int64)]
        return np.stack([flat // self.width, flat % self.width], axis=1)


class _Piece:
    """A boundary path between junctions, corners listed in the object-on-the-right direction."""

    __slots__ = ("corners", "tail", "tail_slot", "head", "head_slot")

    def __init__(
        self, corners: list[int], tail: int, tail_slot: int, head: int, head_slot: int
    ) -> None:
        self.corners, self.tail, self.tail_slot = corners, tail, tail_slot
        self.head, self.head_slot = head, head_slot


def _arrival_slot(grid: _Grid, before: int, at: int) -> int:
    """Slot of ``at`` through which the step ``before → at`` arrives."""
    delta = int(grid.corners[at] - grid.corners[before])
    return {grid.width: _N, -grid.width: _S, 1: _W, -1: _E}[delta]


def _trace_pieces(grid: _Grid) -> list[_Piece]:
    """All junction-to-junction pieces, each traced once from its tail."""
    nxt = grid.next.tolist()
    pieces = []
    for junction, exits in grid.exits.items():
        for slot, first in exits:
            path = [junction, first]
            while nxt[path[-1]] >= 0:
                path.append(nxt[path[-1]])
            pieces.append(
                _Piece(path, junction, slot, path[-1], _arrival_slot(grid, path[-2], path[-1]))
            )
    return pieces


def _loops(grid: _Grid, pieces: list[_Piece]) -> tuple[np.ndarray, np.ndarray]:
    """Closed boundaries without junctions: (first corner, number of corners) of each, in
    raster order of the first corner.

    polycont finds them by scanning vertical edges in raster order and starts each at the top
    end of the first one, which is the loop's raster-first corner. Each loop is labelled by its
    smallest corner index by pointer doubling, so no loop is walked here.
    """
    free = np.ones(len(grid.corners), dtype=bool)
    for piece in pieces:
        free[piece.corners] = False
    succ = np.where(free, grid.next, np.arange(len(free)))
    label = np.arange(len(free))
    for _ in range(max(1, int(len(free)).bit_length())):
        np.minimum(label, label[succ], out=label)
        succ = succ[succ]
    starts, sizes = np.unique(label[free], return_counts=True)
    return starts, sizes


def _walk_loop(grid: _Grid, start: int) -> list[int]:
    """Corners of a loop from its first corner back to it, object on the right."""
    nxt = grid.next
    loop = [start]
    v = int(nxt[start])
    while v != start:
        loop.append(v)
        v = int(nxt[v])
    return loop + [start]


class _ToolkitPiece:
    """A piece as polycont numbers and orients it (``orig`` → ``end``)."""

    __slots__ = ("corners", "orig", "orig_slot", "end", "end_slot")

    def __init__(self, corners, orig, orig_slot, end, end_slot) -> None:
        self.corners, self.orig, self.orig_slot = corners, orig, orig_slot
        self.end, self.end_slot = end, end_slot

    def other(self, junction: int) -> int:
        return self.end if junction == self.orig else self.orig

    def slot_at(self, junction: int) -> int:
        return self.orig_slot if junction == self.orig else self.end_slot


def _toolkit_pieces(grid: _Grid, pieces: list[_Piece]) -> list[_ToolkitPiece]:
    """Number junction pieces as polycont does (mask2poly.hpp).

    Junctions get ids 1… in raster order. Pieces are explored from a stack holding, per
    junction, the slots E, S, W, N: the last junction's N slot comes first, and a piece gets
    the id of the first of its slots met this way, oriented away from that junction.
    """
    junctions = np.flatnonzero(grid.is_junction).tolist()
    jid = {corner: k + 1 for k, corner in enumerate(junctions)}
    at_slot = {}
    for k, piece in enumerate(pieces):
        at_slot[(piece.tail, piece.tail_slot)] = (k, True)
        at_slot[(piece.head, piece.head_slot)] = (k, False)
    ordered: list[_ToolkitPiece] = []
    done = set()
    for corner in reversed(junctions):
        for slot in _SLOT_ORDER:
            k, from_tail = at_slot[(corner, slot)]
            if k in done:
                continue
            done.add(k)
            p = pieces[k]
            if from_tail:
                ordered.append(
                    _ToolkitPiece(p.corners, jid[p.tail], p.tail_slot, jid[p.head], p.head_slot)
                )
            else:
                ordered.append(
                    _ToolkitPiece(
                        p.corners[::-1], jid[p.head], p.head_slot, jid[p.tail], p.tail_slot
                    )
                )
    return ordered


def _jordan_curves(pieces: list[_ToolkitPiece]) -> list[tuple[int, list[tuple[int, int]]]]:
    """Group pieces into closed curves exactly as polycont's lines2jordan.hpp.

    Returns ``(start junction, [(piece id, junction it is taken from), …])`` per curve, in
    output order. At a junction the walk takes the lowest-id remaining piece that does not go
    straight on; a curve closes when the walk meets a junction it has already swept. The next
    walk starts from the highest-id junction left (the order in which libstdc++'s
    ``unordered_map`` of consecutive ids iterates).
    """
    remaining: dict[int, set] = {}
    for k, piece in enumerate(pieces):
        remaining.setdefault(piece.orig, set()).add(k)
        remaining.setdefault(piece.end, set()).add(k)
    curves = []

    def take(junction: int, k: int) -> int:
        for j in (junction, pieces[k].other(junction)):
            if j in remaining:
                remaining[j].discard(k)
                if not remaining[j]:
                    del remaining[j]
        return pieces[k].other(junction)

    def close(at: int, swept: list[tuple[int, int]], where: dict[int, int]) -> int:
        first = where[at]
        curves.append((at, [(k, j) for j, k in swept[first:]]))
        for j, _ in swept[first:]:
            del where[j]
        del swept[first:]
        return swept[-1][1] if swept else -1

    starts = sorted(remaining, reverse=True)
    next_start = 0
    while remaining:
        while starts[next_start] not in remaining:
            next_start += 1
        junction = starts[next_start]
        current = min(remaining[junction])
        nxt = take(junction, current)
        swept, where = [(junction, current)], {junction: 0}
        if nxt == junction:
            close(nxt, swept, where)
        while swept:
            junction = nxt
            options = sorted(remaining[junction])
            here = pieces[current].slot_at(junction)
            pick = options[0]
            if _same_axis(pieces[pick].slot_at(junction), here) and len(options) > 1:
                pick = options[1]  # (a lone straight option is an assert in polycont)
            current = pick
            nxt = take(junction, current)
            where[junction] = len(swept)
            swept.append((junction, current))
            if nxt in where:
                current = close(nxt, swept, where)
    return curves


def _same_axis(a: int, b: int) -> bool:
    """polycont's "straight" test: both slots on the same axis through the junction."""
    return (a in (_N, _S)) == (b in (_N, _S))


def _curve_corners(pieces: list[_ToolkitPiece], members: list[tuple[int, int]]) -> list[int]:
    """Corner indices of a curve from its start junction back to it (lines2jordan order)."""
    out: list[int] = []
    for k, junction in members:
        piece = pieces[k]
        corners = piece.corners if piece.orig == junction else piece.corners[::-1]
        out.extend(corners if not out else corners[1:])
    return out


class _Curve:
    """A closed curve in polycont's output order: its corners (first = last) in the direction
    polycont simplifies it, and whether polycont reverses it afterwards."""

    __slots__ = ("size", "_corners", "_loop_start", "flip")

    def __init__(
        self, size: int, corners: list[int] | None = None, loop_start: int = -1, flip: bool = False
    ) -> None:
        self.size, self._corners, self._loop_start, self.flip = size, corners, loop_start, flip

    def corners(self, grid: _Grid) -> list[int]:
        if self._corners is None:
            loop = _walk_loop(grid, self._loop_start)
            self._corners = loop if not self.flip else loop[::-1]
        return self._corners


def _curves(grid: _Grid) -> list[_Curve]:
    """All closed curves of the boundary, in the order tstab.mask2poly returns them.

    lines2jordan starts from the highest junction id, so the loops (artificial junctions,
    numbered after the real ones) come first, last loop first; then the curves through real
    junctions. A loop is explored downwards from its first corner: against the
    object-on-the-right direction for an outer boundary (which clockwise_sort then reverses
    back), along it for a hole.
    """
    pieces = _trace_pieces(grid)
    curves = _loop_curves(grid, *_loops(grid, pieces))
    ordered = _toolkit_pieces(grid, pieces)
    for _, members in _jordan_curves(ordered):
        corners = _curve_corners(ordered, members)
        curves.append(_Curve(len(corners), corners, flip=_reversed_by_toolkit(grid, corners)))
    return curves


def _loop_curves(grid: _Grid, starts: np.ndarray, sizes: np.ndarray) -> list[_Curve]:
    """The loops' curves, last loop first, walked lazily (few are simplified)."""
    curves = []
    for start, size in zip(starts[::-1].tolist(), sizes[::-1].tolist()):
        down = grid.corners[grid.next[start]] - grid.corners[start] == grid.width
        curves.append(_Curve(size + 1, loop_start=start, flip=not down))
    return curves


def _object_on_right(grid: _Grid, a: int, b: int) -> bool:
    """Whether the boundary step a → b has the object on its right."""
    return int(grid.next[a]) == b if not grid.is_junction[a] else _junction_out(grid, a, b)


def _junction_out(grid: _Grid, a: int, b: int) -> bool:
    return any(corner == b for _, corner in grid.exits[a])


def _reversed_by_toolkit(grid: _Grid, corners: list[int]) -> bool:
    """Whether polycont's clockwise_sort reverses this curve.

    It makes outer contours clockwise and holes counter-clockwise (its signed area and a
    point-in-polygon nesting test), i.e. the object on the right of every step, so the first
    step decides. The one exception would be a curve closing straight through its start
    junction, whose two halves disagree; lines2jordan can in principle produce one, but none
    occurs on DAVIS-2016 (0 of 32,887 curves through junctions in a third of its masks).
    """
    return not _object_on_right(grid, corners[0], corners[1])


def _crop(mask: np.ndarray) -> tuple[_Grid, int, int] | None:
    """The boundary grid of the mask's bounding box and the box's origin; None if empty."""
    mask = np.asarray(mask) != 0
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-D, got shape {mask.shape}")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    r0, c0 = int(rows[0]), int(cols[0])
    return _Grid(mask[r0 : rows[-1] + 1, c0 : cols[-1] + 1]), r0, c0


def _polygon(grid: _Grid, curve: _Curve, r0: int, c0: int) -> np.ndarray:
    """Simplified contour as tstab returns it: (x, y) corners, first = last."""
    rc = grid.rc(curve.corners(grid)) * 2  # polycont's doubled grid
    simple = _simplify(rc.astype(np.float64), CONTOUR_TOLERANCE)
    if curve.flip:
        simple = simple[::-1]
    pts = (simple // 2).astype(np.int64) + (r0, c0)
    return np.ascontiguousarray(pts[:, ::-1])


def extract_contours(mask: np.ndarray) -> list[np.ndarray]:
    """Simplified closed contours of a binary mask, as tstab.mask2poly(mask, 3) returns them.

    Each is an ``int`` array of ``(x, y)`` pixel-corner coordinates (x = column, y = row) whose
    last point repeats the first; outer contours run clockwise on screen, holes
    counter-clockwise; contours of ≤ 3 points are dropped.
    """
    if _descriptor_kernels() is not None:
        return _compiled_contours(mask, 0)[0]
    cropped = _crop(mask)
    if cropped is None:
        return []
    grid, r0, c0 = cropped
    polygons = [_polygon(grid, curve, r0, c0) for curve in _curves(grid)]
    return [p for p in polygons if len(p) >= MIN_CONTOUR_POINTS]


def mask_longest_contour(mask: np.ndarray) -> np.ndarray | None:
    """``longest_contour(extract_contours(mask))`` without simplifying hopeless curves.

    Simplification never adds points, so a curve with fewer corners than the best simplified
    count so far cannot win (nor tie, if it comes earlier: ties go to the later contour).
    """
    if _descriptor_kernels() is not None:
        contours = _compiled_contours(mask, 1)[0]
        return contours[0] if contours else None
    cropped = _crop(mask)
    if cropped is None:
        return None
    grid, r0, c0 = cropped
    curves = _curves(grid)
    best, best_k = None, -1
    for k in sorted(range(len(curves)), key=lambda i: (-curves[i].size, -i)):
        if best is not None and (
            curves[k].size < len(best) or (curves[k].size == len(best) and k < best_k)
        ):
            break
        poly = _polygon(grid, curves[k], r0, c0)
        if len(poly) < MIN_CONTOUR_POINTS:
            continue
        if best is None or len(poly) > len(best) or (len(poly) == len(best) and k > best_k):
            best, best_k = poly, k
    return best


# --- polyline simplification (psimpl, as polycont calls it) ---------------------------------
def _simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """polycont simplify(): a 0.1 pass (if tolerance > 0.1), then the real one."""
    if tolerance > PRE_SIMPLIFY_TOLERANCE:
        points = _douglas_peucker(points, PRE_SIMPLIFY_TOLERANCE)
    return _douglas_peucker(points, tolerance)


def _douglas_peucker(points: np.ndarray, tolerance: float) -> np.ndarray:
    """psimpl simplify_douglas_peucker: radial-distance reduction, then Douglas–Peucker.

    The recursion keeps, in each sub-polyline, the interior point farthest from its chord if
    farther than ``tolerance``; the kept set does not depend on the order of the recursion,
    so all sub-polylines of one level are processed together.
    """
    if len(points) < 3:
        return points
    points = _radial_distance(points, tolerance)
    keep = np.zeros(len(points), dtype=bool)
    keep[0] = keep[-1] = True
    tol2 = tolerance * tolerance
    firsts, lasts = np.array([0]), np.array([len(points) - 1])
    while len(firsts):
        wide = lasts - firsts >= 2
        firsts, lasts = firsts[wide], lasts[wide]
        if not len(firsts):
            break
        key, dist2 = _find_keys(points, firsts, lasts)
        split = tol2 < dist2
        keep[key[split]] = True
        firsts = np.concatenate([firsts[split], key[split]])
        lasts = np.concatenate([key[split], lasts[split]])
    return points[keep]


def _radial_distance(points: np.ndarray, tolerance: float) -> np.ndarray:
    """psimpl RadialDistance: drop points closer than ``tolerance`` to the last kept one."""
    tol2 = tolerance * tolerance
    step = np.diff(points, axis=0)
    if np.min(step[:, 0] * step[:, 0] + step[:, 1] * step[:, 1]) >= tol2:
        return points  # nothing can be dropped: each point is far enough from the previous
    xy = points.tolist()
    kept = [0]
    cx, cy = xy[0]
    for i in range(1, len(xy) - 1):
        dx, dy = cx - xy[i][0], cy - xy[i][1]
        if dx * dx + dy * dy < tol2:
            continue
        kept.append(i)
        cx, cy = xy[i]
    kept.append(len(xy) - 1)
    return points[kept]


def _find_keys(
    points: np.ndarray, firsts: np.ndarray, lasts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per sub-polyline, its farthest interior point from the chord (psimpl FindKey: point to
    segment distance with the projection fraction in float32; ties → the later point)."""
    counts = lasts - firsts - 1
    seg = np.repeat(np.arange(len(firsts)), counts)
    idx = np.arange(len(seg)) - np.repeat(np.cumsum(counts) - counts, counts) + firsts[seg] + 1
    s1, s2, p = points[firsts][seg], points[lasts][seg], points[idx]
    v, w = s2 - s1, p - s1
    cw = w[:, 0] * v[:, 0] + w[:, 1] * v[:, 1]
    cv = v[:, 0] * v[:, 0] + v[:, 1] * v[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = (cw.astype(np.float32) / cv.astype(np.float32)).astype(np.float64)
    proj = s1 + fraction[:, None] * v
    target = np.where((cw <= 0)[:, None], s1, np.where((cv <= cw)[:, None], s2, proj))
    d = p - target
    d2 = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]
    starts = np.cumsum(counts) - counts
    best = np.maximum.reduceat(d2, starts)
    last_best = np.maximum.reduceat(np.where(d2 == best[seg], idx, -1), starts)
    return last_best, best


# --- contour sampling and shape contexts ----------------------------------------------------
def longest_contour(contours: Sequence[np.ndarray]) -> np.ndarray:
    """The contour with the most points, the last one on ties (tstab.get_longest_cont)."""
    best = 0
    for k, contour in enumerate(contours):
        if len(contour) >= len(contours[best]):
            best = k
    return contours[best]


def upsample_contour(contour: np.ndarray, step: float = UPSAMPLE_STEP) -> np.ndarray:
    """Split segments longer than ``step`` evenly (tstab.contour_upsample), in float32.

    A segment of length ``l > step`` gets ``ceil(l / step) − 1`` inner points, accumulated
    one increment at a time in single precision, as the C++ does.
    """
    pts = np.asarray(contour, dtype=np.float32)
    diff = pts[1:] - pts[:-1]
    length = np.sqrt(diff[:, 0] * diff[:, 0] + diff[:, 1] * diff[:, 1])
    step32 = np.float32(step)
    n_seg = np.where(length > step32, np.ceil(length / step32), np.float32(1)).astype(np.int64)
    width = int(n_seg.max()) if len(n_seg) else 1
    blocks = np.zeros((len(diff), width, 2), dtype=np.float32)
    blocks[:, 0] = pts[:-1]
    inc = diff / n_seg[:, None].astype(np.float32)
    cols = np.arange(1, width)
    live = cols[None, :] < n_seg[:, None]
    blocks[:, 1:] = np.where(live[..., None], inc[:, None, :], np.float32(0))
    np.add.accumulate(blocks, axis=1, out=blocks)
    keep = np.arange(width)[None, :] < n_seg[:, None]
    return np.concatenate([blocks[keep], pts[-1:]], axis=0)


def shape_contexts(points: np.ndarray) -> np.ndarray:
    """Log-polar histograms of each point's view of all points (t_stability.sc_compute).

    Bins: 5 radial (edges log-spaced 1/8 … 2 of the mean pairwise distance; points at ≥ 2 are
    not counted) × 12 angular (30° sectors counter-clockwise from +x in image coordinates, y
    down). A point counts itself (distance 0, angle 0). Column ``r · 12 + θ``, r = 0 the
    outermost ring. Same arithmetic as the toolkit (float32 points, float64 maths), so the
    counts are identical; ``fmod(fmod(θ, 2π) + 2π, 2π)`` is evaluated without ``fmod``: for
    θ ∈ [−π, π], ``t = θ + 2π`` lies in [π, 3π] and ``fmod(t, 2π)`` is exactly ``t − 2π`` or
    ``t``. The compiled kernel gives the same counts.
    """
    kernels = _descriptor_kernels()
    if kernels is not None:
        pts = np.ascontiguousarray(np.asarray(points, dtype=np.float32).reshape(-1, 2))
        return kernels.shape_contexts(pts, _R_EDGES, _SECTOR_WIDTH)
    return _shape_contexts_numpy(points)


def _shape_contexts_numpy(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float32).astype(np.float64)
    n = len(p)
    dx = p[None, :, 0] - p[:, None, 0]
    dy = p[None, :, 1] - p[:, None, 1]
    dist = np.sqrt(dx * dx + dy * dy)
    dist /= np.mean(dist)
    ring = np.zeros((n, n), dtype=np.uint8)
    for edge in _R_EDGES:
        ring += dist < edge
    del dist
    theta = np.arctan2(dy, dx, out=dx)
    theta += 2 * np.pi
    theta -= np.where(theta >= 2 * np.pi, 2 * np.pi, 0.0)
    theta /= _SECTOR_WIDTH
    sector = theta.astype(np.int64)  # floor: theta ≥ 0
    sector[sector == N_BINS_THETA] = 0  # θ₂/30° rounding up to 12 is the 0° sector
    inside = ring > 0
    code = (ring.astype(np.int64) - 1) * N_BINS_THETA + sector
    code += (np.arange(n) * _N_BINS)[:, None]
    return np.bincount(code[inside], minlength=n * _N_BINS).reshape(n, _N_BINS)


def chi2_costs(hist1: np.ndarray, hist2: np.ndarray) -> np.ndarray:
    """χ² cost between normalised histograms, ½ Σ (a − b)² / (a + b + eps) (hist_cost_2).

    Same operations per element as the toolkit's (which builds three ``N × M × 60`` arrays at
    once), in blocks of rows small enough to stay in cache, with results equal to the bit.
    """
    a = hist1 / (np.sum(hist1, axis=1, keepdims=True) + HIST_EPS)
    b = hist2 / (np.sum(hist2, axis=1, keepdims=True) + HIST_EPS)
    out = np.empty((len(a), len(b)))
    rows = max(1, _BLOCK_ITEMS // (_N_BINS * max(1, len(b))))
    num = np.empty((min(rows, len(a)), len(b), _N_BINS))
    den = np.empty_like(num)
    for start in range(0, len(a), rows):
        x = a[start : start + rows, None, :]
        t, u = num[: len(x)], den[: len(x)]
        np.subtract(x, b, out=t)
        np.multiply(t, t, out=t)
        np.add(x, b, out=u)
        u += HIST_EPS
        np.divide(t, u, out=t)
        np.sum(t, axis=2, out=out[start : start + len(x)])
    out *= 0.5
    return out


# --- alignment ------------------------------------------------------------------------------
def _path_costs(cost: np.ndarray) -> np.ndarray:
    """Cheapest-path cost from (0, 0) to every cell, moving down, right or diagonally and
    paying each entered cell: the graph tstab.match_dijkstra searches. Returned skewed,
    ``acc[d, x]`` being cell ``(x, d − x)`` (inf outside the matrix).

    Anti-diagonals are independent given the two before them, so the wavefront is one
    vectorised step per diagonal; a strided view reads the costs along them without a copy.
    Sums are accumulated along each path in path order, as Dijkstra does.
    """
    n1, n2 = cost.shape
    pad = np.empty((n1, 2 * n1 + n2))
    pad[:, :n1] = np.inf
    pad[:, n1 + n2 :] = np.inf
    pad[:, n1 : n1 + n2] = cost
    row, item = pad.strides
    skew = np.lib.stride_tricks.as_strided(
        pad[:, n1:], shape=(n1 + n2 - 1, n1), strides=(item, row - item), writeable=False
    )
    acc = np.empty((n1 + n2 - 1, n1))  # valid cells, plus one inf on each side, are written
    acc[0] = np.inf
    acc[0, 0] = 0.0
    best = np.empty(n1)
    for d in range(1, n1 + n2 - 1):
        lo, hi = max(0, d - n2 + 1), min(d, n1 - 1)  # x range of diagonal d
        prev, here = acc[d - 1], best[lo : hi + 1]
        here[:] = prev[lo : hi + 1]  # from the left, (x, y − 1)
        first = max(lo, 1)
        if hi >= first:
            tail = here[first - lo :]
            np.minimum(tail, prev[first - 1 : hi], out=tail)  # from above, (x − 1, y)
            if d >= 2:
                np.minimum(tail, acc[d - 2, first - 1 : hi], out=tail)  # diagonal
        out = acc[d]
        np.add(skew[d, lo : hi + 1], here, out=out[lo : hi + 1])
        if lo:
            out[lo - 1] = np.inf
        if hi + 1 < n1:
            out[hi + 1] = np.inf
    return acc


def _best_path(cost: np.ndarray) -> np.ndarray:
    """Cells of the cheapest path, from the last cell back to (0, 0) (ties: diagonal, up,
    left), as ``(k, 2)`` int array."""
    acc = _path_costs(cost).tolist() if cost.size <= 1 << 16 else _path_costs(cost)
    x, y = cost.shape[0] - 1, cost.shape[1] - 1
    path = [(x, y)]
    inf = math.inf
    while x or y:
        d = x + y
        diag = acc[d - 2][x - 1] if x and y else inf
        up = acc[d - 1][x - 1] if x else inf
        left = acc[d - 1][x] if y else inf
        if diag <= up and diag <= left:
            x, y = x - 1, y - 1
        elif up <= left:
            x -= 1
        else:
            y -= 1
        path.append((x, y))
    return np.array(path, dtype=np.int64)


def _match(cost: np.ndarray) -> tuple[np.ndarray, int, int]:
    """tstab.match_dijkstra: the path and its cheapest cell (excluding (0, 0); the one
    nearest the end on ties)."""
    path = _best_path(cost)
    on_path = cost[path[:-1, 0], path[:-1, 1]]
    k = int(np.argmin(on_path))
    return path, int(path[k, 0]), int(path[k, 1])


def _bijective_cost(pairs: np.ndarray, cost: np.ndarray) -> float:
    """Mean cost after keeping, per point of contour 1 then per point of contour 2, its
    cheapest pair (t_stability.get_bijective_pairs; ties → earlier in path order)."""
    c = cost[pairs[:, 0], pairs[:, 1]]
    order = np.lexsort((np.arange(len(c)), c, pairs[:, 0]))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pairs[order[1:], 0] != pairs[order[:-1], 0]
    kept = order[first]
    cols, kept_cost = pairs[kept, 1], c[kept]
    best = np.full(cost.shape[1], np.inf)
    np.minimum.at(best, cols, kept_cost)
    return float(np.mean(best[np.isfinite(best)]))


def contour_cost(hist1: np.ndarray, hist2: np.ndarray) -> float:
    """Mean matched χ² cost of two contours' shape contexts (db_eval_t_stab, before ×5).

    Match once from the 0–0 alignment, roll both contours so that the path's cheapest cell
    becomes the last one, match again, and keep bijective pairs. The compiled kernel finds the
    same pairs computing the χ² matrix only where the paths can go.
    """
    kernels = _kernels()
    if kernels is not None:
        pairs, cost = kernels.matched_pairs(hist1, hist2)
        return _bijective_cost(pairs, cost)
    cost = chi2_costs(hist1, hist2)
    n1, n2 = cost.shape
    _, sx, sy = _match(cost)
    rolled = np.roll(np.roll(cost, -(sy + 1), axis=1), -(sx + 1), axis=0)
    pairs, _, _ = _match(rolled)
    pairs = np.stack([(pairs[:, 0] + sx + 1) % n1, (pairs[:, 1] + sy + 1) % n2], axis=1)
    return _bijective_cost(pairs, cost)


# --- public API -----------------------------------------------------------------------------
def contour_descriptor(mask: np.ndarray) -> np.ndarray | None:
    """Shape contexts of a mask's longest up-sampled contour; None if it has no contour."""
    if _descriptor_kernels() is not None:
        contours, hist = _compiled_contours(mask, 2)
        return hist if contours else None
    contour = mask_longest_contour(mask)
    if contour is None:
        return None
    return shape_contexts(upsample_contour(contour))


def stability_pair(previous: np.ndarray, current: np.ndarray) -> float:
    """T of one pair of consecutive binary masks (non-zero = object): 5 × the mean matched
    shape-context cost; NaN when either mask has no contour (empty, or only blobs that
    simplify to ≤ 3 points).

    Descriptors of the last few masks are kept (keyed by the masks' pixels), so that scoring
    frame after frame computes each mask's contour and shape contexts once. (The evaluator's
    T keeps each frame's :func:`contour_descriptor` in its ``FrameContext.memo`` instead and
    calls :func:`descriptor_stability`.)
    """
    return descriptor_stability(_cached_descriptor(previous), _cached_descriptor(current))


def descriptor_stability(previous: np.ndarray | None, current: np.ndarray | None) -> float:
    """T of one pair from the masks' :func:`contour_descriptor` values: 5 × the mean matched
    shape-context cost; NaN when either is None (no contour)."""
    if previous is None or current is None:
        return math.nan
    return T_SCALE * contour_cost(previous, current)


_CACHE: OrderedDict[tuple[tuple[int, ...], bytes], np.ndarray | None] = OrderedDict()
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()


def _cached_descriptor(mask: np.ndarray) -> np.ndarray | None:
    mask = np.asarray(mask) != 0
    key = (mask.shape, np.packbits(mask).tobytes())
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = contour_descriptor(mask)
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def sequence_stability(masks: Sequence[np.ndarray]) -> np.ndarray:
    """Per-frame T of the evaluated frames of a sequence, in the toolkit's indexing.

    ``masks`` are the evaluated (inner) frames ``f_1 … f_{T−2}`` in order. The toolkit
    (loader.py ``_eval``) scores the pairs (f_t, f_{t+1}) for t = 1 … T−3 and stores
    ``[NaN, T(f_1, f_2), …, T(f_{T−3}, f_{T−2}), NaN]``: T − 1 values for T frames. Here the
    same T − 3 values come back one per evaluated frame, value ``k`` being the pair
    (masks[k−1], masks[k]), i.e. ``[NaN, T(f_1, f_2), …, T(f_{T−3}, f_{T−2})]``, of length
    T − 2; the toolkit's vector is this one with a NaN appended. The sequence's T-Mean is the
    nanmean of either.
    """
    out = np.full(len(masks), np.nan)
    descriptors = [contour_descriptor(m) for m in masks]
    for k in range(1, len(masks)):
        out[k] = descriptor_stability(descriptors[k - 1], descriptors[k])
    return out
