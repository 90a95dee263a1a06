"""Numba kernels of :mod:`neuroplastic.memory.intcounters` (imported only when Numba is there).

Layouts (shared with ``intcounters.py``):

- **auto** (m = n, symmetric): M11_ij for i < j in one flat array, row r holding the pairs
  (r, r+1), ..., (r, n−1) at offset ``r·(2n − r − 1)/2``; the diagonal M11_ii = mu_i is not
  stored (it is the unit count).
- **hetero**: M11 as a flat row-major (m, n) array (row i = input unit i, contiguous).

Rule codes: 0 Willshaw, 1 covariance, 2 Bayesian, 3 BCPNN. ``rp`` holds the rule's constants:
``rp[0]`` = Bayesian pseudo-count α, ``rp[1]``/``rp[2]`` = BCPNN α, α', ``rp[3]``/``rp[4]`` =
covariance input/output activities p, q. Weights are evaluated in float64 from the integer
counts (c = M11_ij, ui = mu_i, uj = mv_j, M = stored patterns), exactly the formulas of
:mod:`neuroplastic.memory.rules`.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

WILLSHAW, COVARIANCE, BAYES, BCPNN = 0, 1, 2, 3


@numba.njit(inline="always", cache=True)
def tri_offset(i: int, n: int) -> int:  # pragma: no cover - compiled
    """Offset of row i of the strict upper triangle of an n × n matrix."""
    return i * (2 * n - i - 1) // 2


@numba.njit(inline="always", cache=True)
def _bayes_a(
    c: float, ui: float, uj: float, total: float, alpha: float, p01: float, p10: float
) -> tuple[float, float, float, float]:  # pragma: no cover - compiled
    """(a11, a01, a10, a00) of the Bayesian rule (see ``rules.py``)."""
    m01 = uj - c
    m10 = ui - c
    m00 = total - ui - uj + c
    a11 = c * (1 - p10) + m01 * p01 + alpha
    a01 = m01 * (1 - p01) + c * p10 + alpha
    a10 = m10 * (1 - p10) + m00 * p01 + alpha
    a00 = m00 * (1 - p01) + m10 * p10 + alpha
    return a11, a01, a10, a00


@numba.njit(inline="always", cache=True)
def weight(
    code: int, c: float, ui: float, uj: float, total: float, rp: Any, p01: float, p10: float
) -> float:  # pragma: no cover - compiled
    """W_ij of rule ``code`` for counts c = M11_ij, ui = mu_i, uj = mv_j, M = total."""
    if code == WILLSHAW:
        return 1.0 if c > 0 else 0.0
    if code == COVARIANCE:
        return c - rp[4] * ui - rp[3] * uj + total * rp[3] * rp[4]
    if code == BAYES:
        a11, a01, a10, a00 = _bayes_a(c, ui, uj, total, rp[0], p01, p10)
        return math.log((a11 * a00) / (a10 * a01))
    # BCPNN: p_ij = (M11 + α' p_i p_j)/(M + α'), W = ln p_ij − ln p_i − ln p_j
    norm = total + rp[2]
    pi = (ui + rp[1]) / norm
    pj = (uj + rp[1]) / norm
    return math.log((c + rp[2] * pi * pj) * norm / ((ui + rp[1]) * (uj + rp[1])))


@numba.njit(inline="always", cache=True)
def weight_delta(
    code: int, c: float, ui: float, uj: float, total: float, rp: Any, p01: float, p10: float
) -> float:  # pragma: no cover - compiled
    """W(c) − W(0) for the same (mu_i, mv_j): what a non-zero count adds (one log at most)."""
    if code == BAYES:
        a11, a01, a10, a00 = _bayes_a(c, ui, uj, total, rp[0], p01, p10)
        z11, z01, z10, z00 = _bayes_a(0.0, ui, uj, total, rp[0], p01, p10)
        return math.log((a11 * a00 * z10 * z01) / (a10 * a01 * z11 * z00))
    if code == BCPNN:  # ln p_ij(c) − ln p_ij(0) = ln(1 + c / (α' p_i p_j))
        norm = total + rp[2]
        prior = rp[2] * ((ui + rp[1]) / norm) * ((uj + rp[1]) / norm)
        return math.log1p(c / prior)
    if code == COVARIANCE:
        return c
    return 1.0 if c > 0 else 0.0  # Willshaw


@numba.njit(inline="always", cache=True)
def _pair_entry(a: int, b: int, n: int, auto: bool) -> int:  # pragma: no cover - compiled
    """Flat index of the pair (input a, output b): the triangle entry (auto, a != b) or a·n + b."""
    if not auto:
        return a * n + b
    i, j = (a, b) if a < b else (b, a)
    return tri_offset(i, n) + j - i - 1


@numba.njit(inline="always", cache=True)
def _pair_skipped(a: int, b: int, auto: bool) -> bool:  # pragma: no cover - compiled
    """Padding (negative index) or, for auto-association, the diagonal (not stored)."""
    return a < 0 or b < 0 or (auto and a == b)


@numba.njit(nogil=True, cache=True)
def store_auto(
    store: Any, n: int, iu: Any, sign: int, maxval: int, peak: Any
) -> int:  # pragma: no cover - compiled
    """:func:`store_pairs` for auto-association (compiled with ``auto`` a constant)."""
    return store_pairs(store, n, iu, iu, True, sign, maxval, peak)


@numba.njit(nogil=True, cache=True)
def store_hetero(
    store: Any, n: int, iu: Any, iv: Any, sign: int, maxval: int, peak: Any
) -> int:  # pragma: no cover - compiled
    """:func:`store_pairs` for hetero-association (compiled with ``auto`` a constant)."""
    return store_pairs(store, n, iu, iv, False, sign, maxval, peak)


@numba.njit(inline="always", cache=True)
def store_pairs(
    store: Any, n: int, iu: Any, iv: Any, auto: bool, sign: int, maxval: int, peak: Any
) -> int:  # pragma: no cover - compiled
    """Add (sign=+1) / remove (−1) patterns: every pair (iu[p, s], iv[p, t]) (negative = padding).

    Auto-association (``iv`` is ``iu``): the pairs s < t of one pattern, each once, in the
    triangle; hetero: all (s, t) in the flat (m, n) matrix. A count that would pass ``maxval``
    (or go below 0) stops the store: the increments of that pattern already made are undone,
    so the state is always a whole number of patterns. ``peak[0]`` is raised to the largest
    count written (an upper bound of every stored count, used to size lookup tables).
    Returns the number of patterns applied (P unless pattern p failed: then p).
    """
    npat, k = iu.shape
    ell = iv.shape[1]
    top = peak[0]
    for p in range(npat):
        fail_s = -1
        fail_t = -1
        for s in range(k):
            a = iu[p, s]
            for t in range(s + 1 if auto else 0, ell):
                b = iv[p, t]
                if _pair_skipped(a, b, auto):
                    continue
                e = _pair_entry(a, b, n, auto)
                v = store[e]
                if sign > 0 and v >= top:  # a new largest count (rare once loaded), or too large
                    if v >= maxval:
                        fail_s = s
                        fail_t = t
                        break
                    top = v + 1
                elif sign < 0 and v == 0:
                    fail_s = s
                    fail_t = t
                    break
                store[e] = v + sign
            if fail_s >= 0:
                break
        if fail_s >= 0:  # undo the pairs before (fail_s, fail_t), in the same order
            for s in range(fail_s + 1):
                a = iu[p, s]
                stop = fail_t if s == fail_s else ell
                for t in range(s + 1 if auto else 0, stop):
                    b = iv[p, t]
                    if _pair_skipped(a, b, auto):
                        continue
                    e = _pair_entry(a, b, n, auto)
                    store[e] = store[e] - sign
            peak[0] = top
            return p
    peak[0] = top
    return npat


@numba.njit(nogil=True, cache=True)
def max_count(arr: Any) -> int:  # pragma: no cover - compiled
    """Largest entry (0 for an empty array)."""
    best = 0
    for e in range(arr.size):
        v = arr[e]
        if v > best:
            best = v
    return best


@numba.njit(inline="always", cache=True)
def _nonzero(store: Any, off: int, lo: int, hi: int, pos: Any) -> int:  # pragma: no cover
    """pos[:k] = the j in [lo, hi) with store[off + j] != 0, ascending; returns k.

    Branch-free (the zero test is added, not branched on): at ~27 % non-zero counts in
    random order a branch per entry is mispredicted about every third entry."""
    k = 0
    for j in range(lo, hi):
        pos[k] = j
        k += store[off + j] != 0
    return k


@numba.njit(inline="always", cache=True)
def _nonzero_at(
    store: Any, off: int, units: Any, lo: int, hi: int, pos: Any
) -> int:  # pragma: no cover - compiled
    """pos[:k] = the units[t], lo <= t < hi, with store[off + units[t]] != 0, in order."""
    k = 0
    for t in range(lo, hi):
        u = units[t]
        pos[k] = u
        k += store[off + u] != 0
    return k


@numba.njit(nogil=True, cache=True)
def delta_table(
    code: int, vin: Any, vout: Any, total: float, rp: Any, p01: Any, p10: Any, out: Any
) -> None:  # pragma: no cover - compiled
    """out[g, a, b, c] = W(c) − W(0) for mu_i = vin[a], mv_j = vout[b] at noise (p01[g], p10[g]).

    The same :func:`weight_delta` as the kernels would evaluate per entry (so a lookup gives
    the identical float64); counts 1 .. out.shape[3] − 1 (entry c = 0 is 0, never read).
    """
    for g in range(out.shape[0]):
        pa, pb = p01[g], p10[g]
        for a in range(vin.shape[0]):
            for b in range(vout.shape[0]):
                out[g, a, b, 0] = 0.0
                for c in range(1, out.shape[3]):
                    out[g, a, b, c] = weight_delta(
                        code, float(c), vin[a], vout[b], total, rp, pa, pb
                    )


@numba.njit(inline="always", cache=True)
def _delta(
    tab: Any, g: int, a: int, b: int, ci: int,
    code: int, ui: float, uo: float, total: float, rp: Any, p01: Any, p10: Any,
) -> float:  # pragma: no cover - compiled  # fmt: skip
    """W(c) − W(0) of count ci from the table (ci < its width) or evaluated (larger counts)."""
    if ci < tab.shape[3]:
        return tab[g, a, b, ci]
    return weight_delta(code, float(ci), ui, uo, total, rp, p01[g], p10[g])


@numba.njit(inline="always", cache=True)
def _zero_count_part(
    mu: Any, vidx: Any, vout: Any, total: float, code: int, rp: Any,
    act: Any, cnt: Any, group: Any, p01: Any, p10: Any, auto: bool, x: Any,
) -> None:  # pragma: no cover - compiled  # fmt: skip
    """x[b, j] += Σ_{i ∈ act[b], i ≠ j} W(0, mu_i, mv_j): the potentials as if every count
    were 0. W(0, ·) depends on j only through mv_j, so it is summed once per distinct value
    ``vout[v]`` (``vidx[j]`` = index of mv_j in ``vout``) and looked up per unit."""
    nv = vout.shape[0]
    tab = np.empty(nv)
    for b in range(act.shape[0]):
        g = group[b]
        pa, pb = p01[g], p10[g]
        for v in range(nv):
            acc = 0.0
            for s in range(cnt[b]):
                acc += weight(code, 0.0, mu[act[b, s]], vout[v], total, rp, pa, pb)
            tab[v] = acc
        for j in range(x.shape[1]):
            x[b, j] += tab[vidx[j]]
        if auto:  # no i = j term
            for s in range(cnt[b]):
                j = act[b, s]
                x[b, j] -= weight(code, 0.0, mu[j], mu[j], total, rp, pa, pb)


@numba.njit(nogil=True, cache=True)
def potentials(
    store: Any, auto: bool, n: int, mu: Any, mv: Any, total: float, code: int, rp: Any,
    act: Any, cnt: Any, group: Any, p01: Any, p10: Any,
    uidx: Any, vidx: Any, vout: Any, tab: Any, tabt: Any, x: Any,
) -> None:  # pragma: no cover - compiled  # fmt: skip
    """x[b, j] += Σ_{i ∈ act[b], i ≠ j (auto)} W_ij: first as if every count were 0
    (:func:`_zero_count_part`, ``vout`` = the distinct mv_j), then for each M11_ij > 0 the
    difference W_ij − W(0, mu_i, mv_j). ``act`` (B, A) holds each state's active units in
    ascending order (``cnt[b]`` valid); query b uses the noise (p01[group[b]], p10[group[b]])
    (Bayesian rule). W(c) − W(0) comes from ``tab[g, uidx[i], vidx[j], c]``
    (:func:`delta_table`; ``tabt`` = the same with the value axes swapped, auto only) for
    counts below the table's width, else it is evaluated. For every (b, j) the terms are
    added in ascending i; the non-zero counts of a row are found branch-free first.

    Auto (triangle): row r serves (a) the queries with r active (W_rj for every j > r: the row
    is read once) and (b) the queries with an active unit u > r (W_ur: the row is read at the
    sorted union of active units, so the sweep streams through memory instead of jumping).
    Hetero: the rows of the active inputs, in order.
    """
    _zero_count_part(mu, vidx, vout, total, code, rp, act, cnt, group, p01, p10, auto, x)
    nb = act.shape[0]
    pos = np.empty(n, dtype=np.int64)  # the non-zero counts of one row
    if not auto:
        for b in range(nb):
            g = group[b]
            for s in range(cnt[b]):
                i = act[b, s]
                for t in range(_nonzero(store, i * n, 0, n, pos)):
                    j = pos[t]
                    x[b, j] += _delta(
                        tab, g, uidx[i], vidx[j], store[i * n + j], code, mu[i], mv[j], total,
                        rp, p01, p10,
                    )  # fmt: skip
        return
    start = np.zeros(n + 1, dtype=np.int64)  # inverted index: unit -> queries with it active
    for b in range(nb):
        for s in range(cnt[b]):
            start[act[b, s] + 1] += 1
    for r in range(n):
        start[r + 1] += start[r]
    fill = start[:-1].copy()
    who = np.empty(start[n], dtype=np.int64)
    for b in range(nb):
        for s in range(cnt[b]):
            u = act[b, s]
            who[fill[u]] = b
            fill[u] += 1
    union = np.empty(n, dtype=np.int64)
    nu = 0
    for u in range(n):
        if start[u + 1] > start[u]:
            union[nu] = u
            nu += 1
    first = 0  # union[first] is the smallest active unit > r
    for r in range(n):
        off = tri_offset(r, n) - r - 1  # entry (r, j) at off + j
        ur, vr = mu[r], vidx[r]
        q0, q1 = start[r], start[r + 1]
        if q1 > q0:
            for t in range(_nonzero(store, off, r + 1, n, pos)):
                j = pos[t]
                ci = store[off + j]
                for q in range(q0, q1):
                    b = who[q]
                    x[b, j] += _delta(
                        tab, group[b], vr, vidx[j], ci, code, ur, mu[j], total, rp, p01, p10
                    )
        while first < nu and union[first] <= r:
            first += 1
        for t in range(_nonzero_at(store, off, union, first, nu, pos)):
            u = pos[t]
            ci = store[off + u]
            for q in range(start[u], start[u + 1]):
                b = who[q]
                x[b, r] += _delta(
                    tabt, group[b], vr, vidx[u], ci, code, mu[u], ur, total, rp, p01, p10
                )


@numba.njit(inline="always", cache=True)
def _bayes_terms(
    c: float, ui: float, uj: float, total: float, alpha: float, p01: float, p10: float
) -> tuple[float, float]:  # pragma: no cover - compiled
    """(ln a01, ln a00) of the Bayesian rule."""
    m01 = uj - c
    m10 = ui - c
    m00 = total - ui - uj + c
    a01 = m01 * (1 - p01) + c * p10 + alpha
    a00 = m00 * (1 - p01) + m10 * p10 + alpha
    return math.log(a01), math.log(a00)


@numba.njit(inline="always", cache=True)
def _terms(
    tab: Any, a: int, b: int, ci: int,
    code: int, ui: float, uo: float, total: float, rp: Any, p01: float, p10: float,
    w0: float, want_w: bool,
) -> tuple[float, float]:  # pragma: no cover - compiled  # fmt: skip
    """What one non-zero count ci (input mu_i = ui, output mv_j = uo) adds to the column sums:

    with ``want_w``: (W(c) − W(0), c·(W(0) + W(c) − W(0))) with W(0) = ``w0``; else (Bayesian
    rule) (ln a01(c) − ln a01(0), ln a00(c) − ln a00(0)). Read from ``tab[a, b, ci]``
    (:func:`count_terms_table`) for counts below the table's width, else evaluated.
    """
    if ci < tab.shape[2]:
        return tab[a, b, ci, 0], tab[a, b, ci, 1]
    c = float(ci)
    if want_w:
        dw = weight_delta(code, c, ui, uo, total, rp, p01, p10)
        return dw, c * (w0 + dw)
    l01, l00 = _bayes_terms(c, ui, uo, total, rp[0], p01, p10)
    z01, z00 = _bayes_terms(0.0, ui, uo, total, rp[0], p01, p10)
    return l01 - z01, l00 - z00


@numba.njit(nogil=True, cache=True)
def count_terms_table(
    code: int,
    vin: Any,
    vout: Any,
    total: float,
    rp: Any,
    p01: float,
    p10: float,
    want_w: bool,
    w0tab: Any,
    out: Any,
) -> None:  # pragma: no cover - compiled
    """out[a, b, c, :] = :func:`_terms` of count c for mu_i = vin[a], mv_j = vout[b], evaluated
    (counts 1 .. out.shape[2] − 1: the float64 the sweep would evaluate per entry)."""
    none = np.zeros((1, 1, 0, 2))
    for a in range(vin.shape[0]):
        for b in range(vout.shape[0]):
            out[a, b, 0, 0] = 0.0
            out[a, b, 0, 1] = 0.0
            for c in range(1, out.shape[2]):
                t0, t1 = _terms(
                    none, 0, 0, c, code, vin[a], vout[b], total, rp, p01, p10, w0tab[a, b],
                    want_w,
                )  # fmt: skip
                out[a, b, c, 0] = t0
                out[a, b, c, 1] = t1


@numba.njit(inline="always", cache=True)
def _moment_terms(d: float, c: float) -> tuple[float, float, float]:  # pragma: no cover
    """(δ − c)^p − δ^p for p = 1, 2, 3 (powers by repeated multiplication)."""
    a = d - c
    a2 = a * a
    d2 = d * d
    return a - d, a2 - d2, a2 * a - d2 * d


@numba.njit(nogil=True, cache=True)
def column_sums(
    store: Any,
    auto: bool,
    m: int,
    n: int,
    mu: Any,
    mv: Any,
    total: float,
    code: int,
    rp: Any,
    p01: float,
    p10: float,
    self_connections: bool,
    terms: int,
    values: Any,
    counts: Any,
    vout: Any,
    uidx: Any,
    vidx: Any,
    w0tab: Any,
    tab: Any,
    tabt: Any,
    block: int,
    center: float,
    hist: Any,
    moments: Any,
    out: Any,
) -> int:  # pragma: no cover - compiled
    """Per output unit j, sums over the inputs i that feed it (i ≠ j unless self-connections):

    ``terms`` = 1 (Bayesian bias): out[j, 0] = Σ_i ln a01_ij, out[j, 1] = Σ_i ln a00_ij;
    ``terms`` = 2 (ANE statistics): out[j, 2] = Σ_i W_ij, out[j, 3] = Σ_i M11_ij·W_ij;
    always out[j, 4] = Σ_i M11_ij (the columns not asked for stay 0; ``terms`` = 0: only that).

    The many zero counts are summed once per distinct (mu_i, mv_j) value pair from the
    histogram ``values``/``counts`` of the input counts mu (``vout`` = the distinct output
    counts); the non-zero counts then correct the sums entry by entry (one sweep over the
    stored counts). ``w0tab[a, b]`` = W(0, values[a], vout[b]) with ``uidx``/``vidx`` the value
    index of each mu_i / mv_j (auto: the same); ``tab`` (:func:`count_terms_table`, and
    ``tabt`` its transpose in the value axes, auto) holds each count's terms for the counts
    below its width (larger counts are evaluated). Auto: the triangle is read in blocks of
    ``block`` columns (every row's segment in the block), so the sums being updated stay in
    cache. Exact up to float64 rounding; every column adds its inputs' terms in ascending i.

    Auto-association, in the same sweep when ``moments`` has rows (p = 1..P, P <= 3; the
    moment series of the Bayesian bias): hist[j, c] = #{i: M11_ij = c} for 1 <= c <
    hist.shape[1], moments[p−1, j] = Σ_{i: c>0} [(δ_i − c)^p − δ_i^p] with δ_i = mu_i −
    ``center``. Returns the largest count seen (if it is >= hist.shape[1] the histogram is
    incomplete).
    """
    powers = moments.shape[0]
    width = hist.shape[1]
    cmax = 0
    alpha = rp[0]
    want_w = terms == 2
    bayes = code == BAYES and terms == 1
    lo, hi = (2, 3) if want_w else (0, 1)
    nv = values.shape[0]
    # zero-count part: every input i with M11_ij = 0, once per distinct output count
    zero = np.zeros((vout.shape[0], 3))
    for b in range(vout.shape[0]):
        uj = vout[b]
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for v in range(nv):
            w = counts[v]
            if bayes:
                l01, l00 = _bayes_terms(0.0, values[v], uj, total, alpha, p01, p10)
                s0 += w * l01
                s1 += w * l00
            if want_w:
                s2 += w * w0tab[v, b]
        zero[b, 0] = s0
        zero[b, 1] = s1
        zero[b, 2] = s2
    for j in range(n):
        out[j, 0] = zero[vidx[j], 0]
        out[j, 1] = zero[vidx[j], 1]
        out[j, 2] = zero[vidx[j], 2]
        out[j, 3] = 0.0
        out[j, 4] = 0.0
    if auto:
        # remove the i = j term counted with M11 = 0; add it back with M11_jj = mu_j if kept
        for j in range(n):
            uj = mv[j]
            if bayes:
                l01, l00 = _bayes_terms(0.0, uj, uj, total, alpha, p01, p10)
                out[j, 0] -= l01
                out[j, 1] -= l00
            if want_w:
                out[j, 2] -= weight(code, 0.0, uj, uj, total, rp, p01, p10)
            if self_connections:
                c = mu[j]
                if bayes:
                    l01, l00 = _bayes_terms(c, uj, uj, total, alpha, p01, p10)
                    out[j, 0] += l01
                    out[j, 1] += l00
                if want_w:
                    w = weight(code, c, uj, uj, total, rp, p01, p10)
                    out[j, 2] += w
                    out[j, 3] += c * w
                out[j, 4] += c
        pos = np.empty(block, dtype=np.int64)
        for j0 in range(0, n, block):  # blocks of columns: their sums stay in cache
            j1 = min(n, j0 + block)
            for r in range(j1 - 1):
                off = tri_offset(r, n) - r - 1
                ur, vr = mu[r], vidx[r]
                dr = ur - center
                # column r gets its inputs j > r only in row r: its sums are kept in registers
                acc_lo, acc_hi, acc_c = out[r, lo], out[r, hi], out[r, 4]
                m1 = moments[0, r] if powers > 0 else 0.0
                m2 = moments[1, r] if powers > 1 else 0.0
                m3 = moments[2, r] if powers > 2 else 0.0
                for t in range(_nonzero(store, off, max(r + 1, j0), j1, pos)):
                    j = pos[t]
                    ci = store[off + j]
                    c = float(ci)
                    if powers > 0:
                        if ci > cmax:
                            cmax = ci
                        if ci < width:
                            hist[j, ci] += 1
                            hist[r, ci] += 1
                        d1, d2, d3 = _moment_terms(dr, c)  # column j, input r
                        e1, e2, e3 = _moment_terms(mu[j] - center, c)  # column r, input j
                        moments[0, j] += d1
                        m1 += e1
                        if powers > 1:
                            moments[1, j] += d2
                            m2 += e2
                        if powers > 2:
                            moments[2, j] += d3
                            m3 += e3
                    if bayes or want_w:
                        vj, uj = vidx[j], mu[j]
                        # pair (r, j) feeds column j from input r and column r from input j
                        t0, t1 = _terms(
                            tab,
                            vr,
                            vj,
                            ci,
                            code,
                            ur,
                            uj,
                            total,
                            rp,
                            p01,
                            p10,
                            w0tab[vr, vj],
                            want_w,
                        )
                        out[j, lo] += t0
                        out[j, hi] += t1
                        t0, t1 = _terms(
                            tabt,
                            vr,
                            vj,
                            ci,
                            code,
                            uj,
                            ur,
                            total,
                            rp,
                            p01,
                            p10,
                            w0tab[vj, vr],
                            want_w,
                        )
                        acc_lo += t0
                        acc_hi += t1
                    out[j, 4] += c
                    acc_c += c
                out[r, lo] = acc_lo
                out[r, hi] = acc_hi
                out[r, 4] = acc_c
                if powers > 0:
                    moments[0, r] = m1
                if powers > 1:
                    moments[1, r] = m2
                if powers > 2:
                    moments[2, r] = m3
    else:
        pos = np.empty(n, dtype=np.int64)
        for i in range(m):
            off = i * n
            ui, vi = mu[i], uidx[i]
            for t in range(_nonzero(store, off, 0, n, pos)):
                j = pos[t]
                ci = store[off + j]
                if bayes or want_w:
                    t0, t1 = _terms(
                        tab, vi, vidx[j], ci, code, ui, mv[j], total, rp, p01, p10,
                        w0tab[vi, vidx[j]], want_w,
                    )  # fmt: skip
                    out[j, lo] += t0
                    out[j, hi] += t1
                out[j, 4] += float(ci)
    return cmax


@numba.njit(nogil=True, cache=True)
def diagonal_weights(
    code: int, mu: Any, total: float, rp: Any, p01: float, p10: float, out: Any
) -> None:  # pragma: no cover - compiled
    """out[j] = W_jj with M11_jj = mu_j (auto-association with self-connections)."""
    for j in range(mu.shape[0]):
        out[j] = weight(code, float(mu[j]), float(mu[j]), float(mu[j]), total, rp, p01, p10)


@numba.njit(nogil=True, cache=True)
def zero_weight_table(
    code: int, vin: Any, vout: Any, total: float, rp: Any, p01: float, p10: float, out: Any
) -> None:  # pragma: no cover - compiled
    """out[a, b] = W(0, vin[a], vout[b]): the weight of a zero count per value pair."""
    for a in range(vin.shape[0]):
        for b in range(vout.shape[0]):
            out[a, b] = weight(code, 0.0, vin[a], vout[b], total, rp, p01, p10)
