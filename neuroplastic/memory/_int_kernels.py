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
    if code == WILLSHAW:
        return 1.0 if c > 0 else 0.0
    if code == COVARIANCE:
        return c
    if code == BAYES:
        a11, a01, a10, a00 = _bayes_a(c, ui, uj, total, rp[0], p01, p10)
        z11, z01, z10, z00 = _bayes_a(0.0, ui, uj, total, rp[0], p01, p10)
        return math.log((a11 * a00 * z10 * z01) / (a10 * a01 * z11 * z00))
    norm = total + rp[2]
    prior = rp[2] * ((ui + rp[1]) / norm) * ((uj + rp[1]) / norm)
    return math.log1p(c / prior)


@numba.njit(nogil=True, cache=True)
def store_auto(tri: Any, n: int, idx: Any, sign: int, maxval: int) -> int:  # pragma: no cover
    """Add (sign=+1) / remove (−1) patterns idx (P, k) (negative = padding) to the triangle.

    A count that would pass ``maxval`` (or go below 0) stops the store: the increments of
    that pattern already made are undone, so the state is always a whole number of patterns.
    Returns the number of patterns applied (P unless pattern p failed: then p).
    """
    npat, k = idx.shape
    for p in range(npat):
        fail_s = -1
        fail_t = -1
        for s in range(k):
            a = idx[p, s]
            if a < 0:
                continue
            for t in range(s + 1, k):
                b = idx[p, t]
                if b < 0 or b == a:
                    continue
                i, j = (a, b) if a < b else (b, a)
                e = tri_offset(i, n) + j - i - 1
                v = tri[e]
                if (sign > 0 and v >= maxval) or (sign < 0 and v == 0):
                    fail_s = s
                    fail_t = t
                    break
                tri[e] = v + sign
            if fail_s >= 0:
                break
        if fail_s >= 0:  # undo the pairs before (fail_s, fail_t), in the same order
            for s in range(fail_s + 1):
                a = idx[p, s]
                if a < 0:
                    continue
                stop = fail_t if s == fail_s else k
                for t in range(s + 1, stop):
                    b = idx[p, t]
                    if b < 0 or b == a:
                        continue
                    i, j = (a, b) if a < b else (b, a)
                    e = tri_offset(i, n) + j - i - 1
                    tri[e] = tri[e] - sign
            return p
    return npat


@numba.njit(nogil=True, cache=True)
def store_hetero(
    mat: Any, n: int, iu: Any, iv: Any, sign: int, maxval: int
) -> int:  # pragma: no cover - compiled
    """As :func:`store_auto` for the full (m, n) matrix: pairs (iu[p, a], iv[p, b])."""
    npat, k = iu.shape
    ell = iv.shape[1]
    for p in range(npat):
        fail_s = -1
        fail_t = -1
        for s in range(k):
            i = iu[p, s]
            if i < 0:
                continue
            for t in range(ell):
                j = iv[p, t]
                if j < 0:
                    continue
                v = mat[i * n + j]
                if (sign > 0 and v >= maxval) or (sign < 0 and v == 0):
                    fail_s = s
                    fail_t = t
                    break
                mat[i * n + j] = v + sign
            if fail_s >= 0:
                break
        if fail_s >= 0:
            for s in range(fail_s + 1):
                i = iu[p, s]
                if i < 0:
                    continue
                stop = fail_t if s == fail_s else ell
                for t in range(stop):
                    j = iv[p, t]
                    if j < 0:
                        continue
                    mat[i * n + j] = mat[i * n + j] - sign
            return p
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


@numba.njit(nogil=True, cache=True)
def zero_count_potentials(
    mu: Any,
    vidx: Any,
    values: Any,
    total: float,
    code: int,
    rp: Any,
    act: Any,
    cnt: Any,
    group: Any,
    p01: Any,
    p10: Any,
    auto: bool,
    x: Any,
) -> None:  # pragma: no cover - compiled
    """x[b, j] += Σ_{i ∈ act[b], i ≠ j} W(0, mu_i, mv_j): the potentials as if every count
    were 0. W(0, ·) depends on j only through mv_j, so it is summed once per distinct value
    ``values[v]`` (``vidx[j]`` = index of mv_j in ``values``) and looked up per unit."""
    nv = values.shape[0]
    tab = np.empty(nv)
    for b in range(act.shape[0]):
        g = group[b]
        pa, pb = p01[g], p10[g]
        for v in range(nv):
            acc = 0.0
            for s in range(cnt[b]):
                acc += weight(code, 0.0, mu[act[b, s]], values[v], total, rp, pa, pb)
            tab[v] = acc
        for j in range(x.shape[1]):
            x[b, j] += tab[vidx[j]]
        if auto:  # no i = j term
            for s in range(cnt[b]):
                j = act[b, s]
                x[b, j] -= weight(code, 0.0, mu[j], mu[j], total, rp, pa, pb)


@numba.njit(nogil=True, cache=True)
def potentials_auto(
    tri: Any,
    n: int,
    mu: Any,
    total: float,
    code: int,
    rp: Any,
    act: Any,
    cnt: Any,
    group: Any,
    p01: Any,
    p10: Any,
    x: Any,
) -> None:  # pragma: no cover - compiled
    """x[b, j] += Σ_{i ∈ act[b], i ≠ j, M11_ij > 0} [W_ij − W(0, mu_i, mu_j)] (triangle).

    Together with :func:`zero_count_potentials` this is x = Σ_{i active} W_ij. ``act`` (B, A)
    holds each state's active units in ascending order (``cnt[b]`` valid); query b uses the
    noise (p01[group[b]], p10[group[b]]) (Bayesian rule). Row r of the triangle serves (a) the
    queries with r active (W_rj for every j > r: the row is read once) and (b) the queries with
    an active unit u > r (W_ur: the row is read at the sorted union of active units, so the
    sweep streams through memory instead of jumping).
    """
    nb = act.shape[0]
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
        ur = mu[r]
        q0, q1 = start[r], start[r + 1]
        if q1 > q0:
            for j in range(r + 1, n):
                c = tri[off + j]
                if c == 0:
                    continue
                for q in range(q0, q1):
                    b = who[q]
                    g = group[b]
                    x[b, j] += weight_delta(code, c, ur, mu[j], total, rp, p01[g], p10[g])
        while first < nu and union[first] <= r:
            first += 1
        for t in range(first, nu):
            u = union[t]
            c = tri[off + u]
            if c == 0:
                continue
            for q in range(start[u], start[u + 1]):
                b = who[q]
                g = group[b]
                x[b, r] += weight_delta(code, c, mu[u], ur, total, rp, p01[g], p10[g])


@numba.njit(nogil=True, cache=True)
def potentials_hetero(
    mat: Any,
    n: int,
    mu: Any,
    mv: Any,
    total: float,
    code: int,
    rp: Any,
    act: Any,
    cnt: Any,
    group: Any,
    p01: Any,
    p10: Any,
    x: Any,
) -> None:  # pragma: no cover - compiled
    """x[b, j] += Σ_{i ∈ act[b], M11_ij > 0} [W_ij − W(0, mu_i, mv_j)] (rows read in order)."""
    for b in range(act.shape[0]):
        g = group[b]
        pa, pb = p01[g], p10[g]
        for s in range(cnt[b]):
            i = act[b, s]
            off = i * n
            ui = mu[i]
            for j in range(n):
                c = mat[off + j]
                if c == 0:
                    continue
                x[b, j] += weight_delta(code, c, ui, mv[j], total, rp, pa, pb)


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
    want_w: bool,
    values: Any,
    counts: Any,
    uidx: Any,
    vidx: Any,
    w0tab: Any,
    out: Any,
) -> None:  # pragma: no cover - compiled
    """Per output unit j, sums over the inputs i that feed it (i ≠ j unless self-connections):

    out[j, 0] = Σ_i ln a01_ij, out[j, 1] = Σ_i ln a00_ij (Bayesian terms, 0 for other rules),
    out[j, 2] = Σ_i W_ij, out[j, 3] = Σ_i M11_ij·W_ij, out[j, 4] = Σ_i M11_ij (columns 2-3
    only with ``want_w``: the Bayesian bias needs just 0-1).

    The many zero counts are summed once per distinct (mu_i, mv_j) value pair from the
    histogram ``values``/``counts`` of the input counts mu; the non-zero counts then correct
    the sums entry by entry (one sweep over the stored counts). ``w0tab[a, b]`` =
    W(0, values_in[a], values_out[b]) with ``uidx``/``vidx`` the value index of each mu_i /
    mv_j (auto: the same). Exact up to float64 rounding.
    """
    alpha = rp[0]
    bayes = code == BAYES
    nv = values.shape[0]
    # zero-count part: every input i with M11_ij = 0
    for j in range(n):
        uj = mv[j]
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for v in range(nv):
            ui = values[v]
            w = counts[v]
            if bayes:
                l01, l00 = _bayes_terms(0.0, ui, uj, total, alpha, p01, p10)
                s0 += w * l01
                s1 += w * l00
            s2 += w * weight(code, 0.0, ui, uj, total, rp, p01, p10)
        out[j, 0] = s0
        out[j, 1] = s1
        out[j, 2] = s2
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
            out[j, 2] -= weight(code, 0.0, uj, uj, total, rp, p01, p10)
            if self_connections:
                c = mu[j]
                w = weight(code, c, uj, uj, total, rp, p01, p10)
                if bayes:
                    l01, l00 = _bayes_terms(c, uj, uj, total, alpha, p01, p10)
                    out[j, 0] += l01
                    out[j, 1] += l00
                out[j, 2] += w
                out[j, 3] += c * w
                out[j, 4] += c
        for r in range(n):
            off = tri_offset(r, n) - r - 1
            ur = mu[r]
            for j in range(r + 1, n):
                c = tri_value(store, off + j)
                if c == 0:
                    continue
                uj = mu[j]
                # pair (r, j) feeds column j from input r and column r from input j
                for side in range(2):
                    ui, uo, col = (ur, uj, j) if side == 0 else (uj, ur, r)
                    i_of = r if side == 0 else j
                    if bayes:
                        l01, l00 = _bayes_terms(c, ui, uo, total, alpha, p01, p10)
                        z01, z00 = _bayes_terms(0.0, ui, uo, total, alpha, p01, p10)
                        out[col, 0] += l01 - z01
                        out[col, 1] += l00 - z00
                    if want_w:
                        dw = weight_delta(code, c, ui, uo, total, rp, p01, p10)
                        out[col, 2] += dw
                        out[col, 3] += c * (w0tab[vidx[i_of], vidx[col]] + dw)
                    out[col, 4] += c
    else:
        for i in range(m):
            off = i * n
            ui = mu[i]
            for j in range(n):
                c = tri_value(store, off + j)
                if c == 0:
                    continue
                uj = mv[j]
                if bayes:
                    l01, l00 = _bayes_terms(c, ui, uj, total, alpha, p01, p10)
                    z01, z00 = _bayes_terms(0.0, ui, uj, total, alpha, p01, p10)
                    out[j, 0] += l01 - z01
                    out[j, 1] += l00 - z00
                if want_w:
                    dw = weight_delta(code, c, ui, uj, total, rp, p01, p10)
                    out[j, 2] += dw
                    out[j, 3] += c * (w0tab[uidx[i], vidx[j]] + dw)
                out[j, 4] += c


@numba.njit(inline="always", cache=True)
def tri_value(store: Any, e: int) -> float:  # pragma: no cover - compiled
    """One stored count as float."""
    return float(store[e])


@numba.njit(nogil=True, cache=True)
def diagonal_weights(
    code: int, mu: Any, total: float, rp: Any, p01: float, p10: float, out: Any
) -> None:  # pragma: no cover - compiled
    """out[j] = W_jj with M11_jj = mu_j (auto-association with self-connections)."""
    for j in range(mu.shape[0]):
        out[j] = weight(code, float(mu[j]), float(mu[j]), float(mu[j]), total, rp, p01, p10)


@numba.njit(nogil=True, cache=True)
def column_moments(
    tri: Any, n: int, mu: Any, center: float, powers: int, hist: Any, moments: Any
) -> int:  # pragma: no cover - compiled
    """One sweep over the auto triangle collecting, per column j (input i ≠ j, c = M11_ij > 0):

    hist[j, c] = #{i: M11_ij = c} for 1 <= c < hist.shape[1]; and for p = 1..powers
    moments[p−1, j] = Σ_{i: c>0} [(δ_i − c)^p − δ_i^p] with δ_i = mu_i − ``center``.

    Returns the largest count seen (if it is >= hist.shape[1] the histogram is incomplete).
    """
    cmax = 0
    width = hist.shape[1]
    for r in range(n):
        off = tri_offset(r, n) - r - 1
        dr = mu[r] - center
        for j in range(r + 1, n):
            ci = tri[off + j]
            if ci == 0:
                continue
            if ci > cmax:
                cmax = ci
            c = float(ci)
            dj = mu[j] - center
            if ci < width:
                hist[j, ci] += 1
                hist[r, ci] += 1
            a1 = dr - c
            b1 = dr
            a2 = dj - c
            b2 = dj
            pa1, pb1, pa2, pb2 = a1, b1, a2, b2
            for p in range(powers):
                moments[p, j] += pa1 - pb1  # column j, input r
                moments[p, r] += pa2 - pb2  # column r, input j
                pa1 *= a1
                pb1 *= b1
                pa2 *= a2
                pb2 *= b2
    return cmax


@numba.njit(nogil=True, cache=True)
def zero_weight_table(
    code: int, vin: Any, vout: Any, total: float, rp: Any, p01: float, p10: float, out: Any
) -> None:  # pragma: no cover - compiled
    """out[a, b] = W(0, vin[a], vout[b]): the weight of a zero count per value pair."""
    for a in range(vin.shape[0]):
        for b in range(vout.shape[0]):
            out[a, b] = weight(code, 0.0, vin[a], vout[b], total, rp, p01, p10)
