"""Retrieval from integer counters: the rule's weights evaluated from the counts, never stored.

For :class:`~neuroplastic.memory.intcounters.IntCounters` and a rule
(:class:`~neuroplastic.memory.rules.RuleParams`), :class:`IntMemory` computes the dendritic
potentials ``x_j = Σ_{i active} W_ij + b_j`` with W_ij evaluated on the fly from
(M11_ij, mu_i, mv_j, M) by the formulas of :mod:`neuroplastic.memory.rules` (float64), so no
(m, n) float matrix ever exists (at n = 10^5 it would be 40 GB). Auto-association reads the
symmetric triangle in one sweep per batch of queries; queries are processed in chunks whose
potentials (B_chunk, n) float64 stay under ``chunk_bytes``, so peak memory is the counters plus
one chunk.

**Biases.** Willshaw, covariance: 0; BCPNN: ln p_j. The Bayesian bias sums over every input,

    b_j = ln((M1+α)/(M0+α)) + Σ_i [ln(a01_ij/(M1+2α)) − ln(a00_ij/(M0+2α))],

and depends on the assumed noise. Two exact ways (:meth:`IntMemory.bias`):

- *column sums* (:func:`~neuroplastic.memory._int_kernels.column_sums`): the zero counts once per
  distinct (mu_i, mv_j) pair from the histogram of unit counts, then one correction per non-zero
  count (one sweep over the counters per noise setting);
- *moments* (auto-association, used when its error bound is < 1e-9): a01 depends only on
  (M11, mv_j), and a00_ij = A_j − β·(mu_i − M11_ij) with A_j = (M − mv_j)(1 − p01) + α,
  β = 1 − p01 − p10, so with δ_i = mu_i − μ̄ and D_j = A_j − β μ̄

      Σ_{i: M11>0} [ln a00(M11) − ln a00(0)]
          = −Σ_{p≥1} (β/D_j)^p / p · Σ_{i: M11>0} [(δ_i − M11)^p − δ_i^p],

  a power series in β(δ − M11)/D_j (≈ 10⁻⁴ at n = 10⁵ capacity loads). One sweep per load
  collects the per-column histogram of M11 and the power sums (p ≤ 3); every further noise
  setting (ANE asks for several per step) then costs O(n). The truncation error is bounded by
  nnz_j · 2 r^4 / (4 (1 − r)), r = |β| max|δ − M11| / min D_j; above 1e-9 the column sums are used.

**ANE** (as reconstructed, :mod:`neuroplastic.memory.ane`) needs w_in_j = Σ_i M11_ij W_ij /
Σ_i M11_ij and w_bg_j = mean_i W_ij of the nominal weights: column sums once per load.
:func:`retrieve_int` follows :func:`~neuroplastic.memory.retrieval.retrieve` step for step
(same feedback loop, k-WTA, clamping, ANE grouping), so both give the same outputs on the same
counters up to float rounding (tested against the dense float path).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.memory.ane import ane_threshold, estimate_correct_units, quantised_noise
from neuroplastic.memory.intcounters import IntCounters
from neuroplastic.memory.retrieval import (
    RetrievalParams,
    RetrievalResult,
    feedback_loop,
    threshold_for,
)
from neuroplastic.memory.rules import RULES, RuleParams

__all__ = ["IntMemory", "retrieve_int"]

_POWERS = 3
_HIST_WIDTH = 64
_COLUMN_BLOCK = 4096  # columns per block of the triangle sweeps (their sums stay in cache)
_SERIES_TOLERANCE = 1e-9
#: Bytes allowed for one lookup table of per-count terms (weights of small counts, evaluated
#: once per (unit-count pair, count, noise) instead of once per stored count and query).
TABLE_BYTES = 1 << 26


class IntMemory:
    """Integer counters + a rule: potentials, biases and ANE statistics, cached per load."""

    def __init__(
        self,
        counters: IntCounters,
        rule: RuleParams | None = None,
        chunk_bytes: int = 1 << 28,
        table_bytes: int = TABLE_BYTES,
    ) -> None:
        self.c = counters
        self.rule = rule if rule is not None else RuleParams()
        self.code = RULES.index(self.rule.rule)
        self.chunk_bytes = int(chunk_bytes)
        self.table_bytes = int(table_bytes)
        self._bias: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._stats: dict[tuple[int, bool], tuple[Tensor, Tensor]] = {}
        self._moments: tuple[int, Any] | None = None
        self.bias_method: dict[str, int] = {"moments": 0, "column_sums": 0}

    @property
    def auto(self) -> bool:
        """Auto-association."""
        return self.c.auto

    # -------------------------------------------------------------- constants
    def _rp(self) -> np.ndarray:
        c, r = self.c, self.rule
        total = float(c.total)
        p = float(c.mu.sum()) / (total * c.m) if total else 0.0
        q = float(c.mv.sum()) / (total * c.n) if total else 0.0
        return np.array([r.pseudo_count, r.bcpnn_alpha, r.bcpnn_alpha_prime, p, q], np.float64)

    def _noise(self, noise: tuple[float, float] | None) -> tuple[float, float]:
        if self.rule.rule != "bayes":
            return 0.0, 0.0
        p01, p10 = (self.rule.p01, self.rule.p10) if noise is None else noise
        if not (0.0 <= p01 < 1.0 and 0.0 <= p10 < 1.0):
            raise ParameterError(f"query noise must satisfy 0 <= p01, p10 < 1 (got {p01}, {p10})")
        return float(p01), float(p10)

    def _inputs_per_output(self, exclude: bool) -> int:
        return self.c.m - 1 if (self.auto and exclude) else self.c.m

    # -------------------------------------------------------------- column sums
    def _table_width(self, entries: int) -> int:
        """Counts 0 .. width − 1 looked up in a table of ``entries`` float64 per count (the
        largest count stored, capped so the table stays under ``table_bytes``; larger counts
        are evaluated per entry)."""
        fit = self.table_bytes // max(8 * entries, 1)
        return int(max(1, min(self.c.count_bound + 1, fit)))

    def _column_sums(
        self, p01: float, p10: float, exclude: bool, want_w: bool | None, moments: bool = False
    ) -> np.ndarray:
        """``column_sums`` (n, 5): the Bayesian bias sums (``want_w`` False), the weight sums
        of the ANE statistics (True) or only the count mass (None); with ``moments`` (auto)
        the same sweep also collects the moment series' histogram and power sums (cached)."""
        c = self.c
        values, counts = np.unique(c.mu, return_counts=True)
        vin, uidx = values.astype(np.float64), np.searchsorted(values, c.mu)
        vout_i = values if c.auto else np.unique(c.mv)
        vout, vidx = vout_i.astype(np.float64), np.searchsorted(vout_i, c.mv)
        w0tab = np.zeros((len(vin), len(vout)))
        rp, total = self._rp(), float(c.total)
        if want_w:
            c.kern.zero_weight_table(self.code, vin, vout, total, rp, p01, p10, w0tab)
        terms = 0 if want_w is None else (2 if want_w else 1)
        copies = 2 if c.auto else 1
        width = self._table_width(copies * 2 * len(vin) * len(vout)) if terms else 1
        tab = np.zeros((len(vin), len(vout), width, 2))
        c.kern.count_terms_table(self.code, vin, vout, total, rp, p01, p10, terms == 2, w0tab, tab)
        tabt = np.ascontiguousarray(tab.transpose(1, 0, 2, 3)) if c.auto else tab
        moments = moments and c.auto
        center = float(c.mu.mean()) if c.total else 0.0
        # the histogram holds counts up to the largest stored (compact: it is updated for
        # every non-zero count), then is widened to the series' fixed width
        hwidth = min(_HIST_WIDTH, c.count_bound + 1) if moments else 0
        narrow = np.zeros((c.n if moments else 1, hwidth), np.int32)
        mom = np.zeros((_POWERS if moments else 0, c.n), np.float64)
        out = np.zeros((c.n, 5), np.float64)
        cmax = c.kern.column_sums(
            c.store, c.auto, c.m, c.n, c.mu, c.mv, total, self.code, rp, p01, p10,
            not exclude, terms, vin, counts.astype(np.float64), vout, uidx, vidx, w0tab,
            tab, tabt, _COLUMN_BLOCK, center, narrow, mom, out,
        )  # fmt: skip
        if moments:
            hist = np.zeros((c.n, _HIST_WIDTH), np.int64)
            hist[:, :hwidth] = narrow
            self._moments = (c.version, (center, hist, mom, int(cmax)))
        return out

    def _moments_current(self) -> bool:
        return self._moments is not None and self._moments[0] == self.c.version

    def _bayes_sums_moments(self, p01: float, p10: float) -> tuple[np.ndarray, np.ndarray] | None:
        """(Σ ln a01, Σ ln a00) per column by the moment series, or None if not applicable."""
        c = self.c
        if not self.auto or c.total == 0:
            return None
        if not self._moments_current():
            self._column_sums(p01, p10, True, want_w=None, moments=True)
        assert self._moments is not None
        center, hist, mom, cmax = self._moments[1]
        if cmax >= _HIST_WIDTH:
            return None
        total, alpha = float(c.total), self.rule.pseudo_count
        beta = 1.0 - p01 - p10
        uj = c.mu.astype(np.float64)
        a_j = (total - uj) * (1.0 - p01) + alpha
        d_j = a_j - beta * center
        if float(d_j.min()) <= 0:
            return None
        spread = float(np.abs(c.mu - center).max()) + cmax
        r = abs(beta) * spread / float(d_j.min())
        nnz = hist[:, 1:].sum(1)
        if r >= 0.5:
            return None
        bound = float(nnz.max()) * 2 * r ** (_POWERS + 1) / ((_POWERS + 1) * (1 - r))
        if bound > _SERIES_TOLERANCE:
            return None
        # Σ_i ln a01: a01 = (mv_j − c)(1 − p01) + c p10 + α depends on (c, mv_j) only
        cs = np.arange(_HIST_WIDTH, dtype=np.float64)
        a01 = (uj[:, None] - cs[None, :]) * (1 - p01) + cs[None, :] * p10 + alpha
        zeros = (c.n - 1) - nnz
        s01 = zeros * np.log(a01[:, 0]) + (
            hist[:, 1:] * np.log(np.where(hist[:, 1:] > 0, a01[:, 1:], 1.0))
        ).sum(1)
        # Σ_i ln a00 at M11 = 0 over all i ≠ j (histogram of mu), then the series correction
        values, counts = np.unique(c.mu, return_counts=True)
        vals = values.astype(np.float64)
        s00 = np.empty(c.n)
        for uv in np.unique(c.mu):
            sel = c.mu == uv
            aj = (total - float(uv)) * (1 - p01) + alpha
            s00[sel] = float((counts * np.log(aj - beta * vals)).sum()) - math.log(
                aj - beta * float(uv)
            )
        ratio = beta / d_j
        corr = np.zeros(c.n)
        power = np.ones(c.n)
        for p in range(1, _POWERS + 1):
            power = power * ratio
            corr -= power / p * mom[p - 1]
        return s01, s00 + corr

    def bias(self, noise: tuple[float, float] | None = None, exclude: bool = True) -> np.ndarray:
        """b (n,) float64 of the rule (Bayesian: at ``noise`` or the rule's assumed noise)."""
        c = self.c
        rule = self.rule.rule
        if rule in ("willshaw", "covariance"):
            return np.zeros(c.n)
        total = float(c.total)
        mv = c.mv.astype(np.float64)
        if rule == "bcpnn":
            return np.log((mv + self.rule.bcpnn_alpha) / (total + self.rule.bcpnn_alpha_prime))
        p01, p10 = self._noise(noise)
        key = (c.version, p01, p10, exclude)
        hit = self._bias.get(key)
        if hit is not None:
            self._bias.move_to_end(key)
            return hit
        alpha = self.rule.pseudo_count
        sums = self._bayes_sums_moments(p01, p10) if exclude else None
        if sums is None:
            out = self._column_sums(p01, p10, exclude, want_w=False)
            s01, s00 = out[:, 0], out[:, 1]
            self.bias_method["column_sums"] += 1
        else:
            s01, s00 = sums
            self.bias_method["moments"] += 1
        count = self._inputs_per_output(exclude)
        m1, m0 = mv, total - mv
        b = (
            np.log((m1 + alpha) / (m0 + alpha))
            + s01
            - s00
            - count * np.log(m1 + 2 * alpha)
            + count * np.log(m0 + 2 * alpha)
        )
        self._bias[key] = b
        while len(self._bias) > 64:
            self._bias.popitem(last=False)
        return b

    def ane_stats(self, exclude: bool = True) -> tuple[Tensor, Tensor]:
        """(w_in, w_bg) per output unit for the nominal weights (see ``rules.ane_statistics``)."""
        key = (self.c.version, exclude)
        hit = self._stats.get(key)
        if hit is None:
            p01, p10 = self._noise(None)
            # the Bayesian bias's moment series needs a sweep of its own per load: share it
            both = self.rule.rule == "bayes" and exclude and not self._moments_current()
            out = self._column_sums(p01, p10, exclude, want_w=True, moments=both)
            wbg = out[:, 2] / max(self._inputs_per_output(exclude), 1)
            mass = out[:, 4]
            win = np.where(mass > 0, out[:, 3] / np.maximum(mass, 1.0), wbg)
            hit = (torch.from_numpy(win), torch.from_numpy(wbg))
            self._stats = {key: hit}
        return hit

    # -------------------------------------------------------------- potentials
    def potentials(
        self,
        state: Tensor,
        noise: list[tuple[float, float]] | None = None,
        *,
        exclude: bool = True,
        with_bias: bool = True,
    ) -> Tensor:
        """x (B, n) float64 for 0/1 states (B, m); ``noise`` per row (Bayesian) or nominal."""
        c = self.c
        if state.dim() != 2 or state.shape[1] != c.m:
            raise ShapeError(f"states must have shape (B, {c.m}) (got {tuple(state.shape)})")
        bsz = state.shape[0]
        keys = [self._noise(None)] * bsz if noise is None else [self._noise(k) for k in noise]
        levels = sorted(set(keys))
        index = {k: g for g, k in enumerate(levels)}
        group = np.array([index[k] for k in keys], np.int64)
        p01 = np.array([k[0] for k in levels], np.float64)
        p10 = np.array([k[1] for k in levels], np.float64)
        act, cnt = _active_lists(state)
        x = np.zeros((bsz, c.n), np.float64)
        step = max(1, self.chunk_bytes // (8 * c.n))
        total, rp = float(c.total), self._rp()
        values = np.unique(c.mv)
        vidx = np.searchsorted(values, c.mv)
        vin_i = values if c.auto else np.unique(c.mu)
        uidx = np.searchsorted(vin_i, c.mu)
        vin, vout = vin_i.astype(np.float64), values.astype(np.float64)
        copies = 2 if c.auto else 1
        width = self._table_width(copies * len(levels) * len(vin) * len(vout))
        tab = np.zeros((len(levels), len(vin), len(vout), width))
        c.kern.delta_table(self.code, vin, vout, total, rp, p01, p10, tab)
        tabt = np.ascontiguousarray(tab.transpose(0, 2, 1, 3)) if c.auto else tab
        for s in range(0, bsz, step):
            e = min(bsz, s + step)
            xs = x[s:e]
            c.kern.potentials(
                c.store, c.auto, c.n, c.mu, c.mv, total, self.code, rp, act[s:e], cnt[s:e],
                group[s:e], p01, p10, uidx, vidx, vout, tab, tabt, xs,
            )  # fmt: skip
        st = state.detach().to("cpu", torch.float64).numpy()
        if self.auto and not exclude:
            for g, (a, b) in enumerate(levels):
                diag = np.empty(c.n)
                c.kern.diagonal_weights(self.code, c.mu, total, rp, a, b, diag)
                rows = group == g
                x[rows] += st[rows] * diag[None, :]
        if with_bias:
            for g, k in enumerate(levels):
                rows = group == g
                x[rows] += self.bias(k if self.rule.rule == "bayes" else None, exclude)[None, :]
        return torch.from_numpy(x)


def _active_lists(state: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Ascending active units per row (B, A) int64 (padding n) and their counts (B,)."""
    on = state.detach().to("cpu") > 0
    cnt = on.sum(1)
    width = max(1, int(cnt.max()) if on.shape[0] else 1)
    rows, cols = on.nonzero(as_tuple=True)
    starts = torch.cumsum(cnt, 0) - cnt
    pos = torch.arange(rows.numel()) - starts[rows]
    act = torch.full((on.shape[0], width), on.shape[1], dtype=torch.int64)
    act[rows, pos] = cols
    return np.ascontiguousarray(act.numpy()), np.ascontiguousarray(cnt.to(torch.int64).numpy())


@torch.no_grad()
def retrieve_int(mem: IntMemory, queries: Tensor, params: RetrievalParams) -> RetrievalResult:
    """Complete 0/1 queries (B, m) from integer counters; semantics of ``retrieval.retrieve``."""
    c = mem.c
    if queries.dim() != 2 or queries.shape[1] != c.m:
        raise ShapeError(f"queries must have shape (B, {c.m}) (got {tuple(queries.shape)})")
    if params.iterations > 1 and not c.auto:
        raise ParameterError("iterative retrieval (iterations > 1) needs auto-association")
    if params.clamp and not c.auto:
        raise ParameterError("clamping the query needs auto-association")
    exclude = c.auto and not params.self_connections
    if params.winners is not None:
        winners = params.winners
    else:
        if c.total == 0:
            raise ParameterError("the memory is empty: give the number of winners explicitly")
        winners = max(1, round(float(c.mv.sum()) / c.total))
    if winners > c.n:
        raise ParameterError(f"winners must be <= n = {c.n} (got {winners})")
    query = (queries.to("cpu") > 0).to(torch.float64)
    rule = mem.rule.rule

    def potentials(state: Tensor) -> tuple[Tensor, Tensor | None]:
        if not params.ane:
            return mem.potentials(state, exclude=exclude), None
        x0 = mem.potentials(state, exclude=exclude, with_bias=False)
        w_in, w_bg = mem.ane_stats(exclude)
        active = state.sum(1)
        c_hat = estimate_correct_units(x0, active, w_in, w_bg, winners, exclude)
        if rule != "bayes":
            b = torch.from_numpy(mem.bias(None, exclude))
            return x0 + b - ane_threshold(c_hat, active, w_in, w_bg), c_hat
        noise = quantised_noise(c_hat, active, winners, c.n, params.ane_levels)
        if params.ane_noise == "p10":
            noise = [(mem.rule.p01, p10) for _, p10 in noise]
        return mem.potentials(state, noise, exclude=exclude), c_hat

    return feedback_loop(
        query,
        params,
        winners,
        potentials,
        lambda state: threshold_for(params, rule, state),
    )
