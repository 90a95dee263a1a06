"""Numba kernels of ``stdp-diehl-cook`` (imported only when Numba is installed; ``fast`` extra).

:func:`present` runs whole presentations of a batch of samples (weights and θ frozen), one
sample after the other, event-driven:

* the sample's input weights are gathered once into a compact input-major block (K × n, K the
  inputs with non-zero intensity); each step sums the rows of the inputs that spiked
  (≈ 2–3 of 784 per step at 63.75 Hz and 1 ms): no dense 784 × n product;
* the LIF / inhibition / θ update is the float32 arithmetic of
  :func:`neuroplastic.models.diehl_cook.simulate`, operation for operation (no fast-math), so the
  spike rasters are the same on the same input spikes (tested);
* the STDP pair sums are updated only at events, with traces that decay lazily: each trace
  keeps the step of its last update and is multiplied by ``e^(−Δt dt/τ)`` (a table) when read.
  An input spike of i at s adds ``x_post,j(s−1) e^(−dt/τ_post)`` to ``D[j, i]`` for the neurons
  j that have spiked in this presentation; an output spike of j at t adds ``x_pre,i(t)`` (input
  spikes at t included) to ``A[j, i]`` for the K inputs of the sample. These are the sums of
  :mod:`neuroplastic.rules.stdp` (float64 accumulators).

:func:`propose` turns the sums into the proposed change of the rows that can change (neurons
that spiked): ``ΔW = normalise(clip(W + η_post (A − x_tar n)(w_max − W)^μ − η_pre D)) − W``,
and zeroes the accumulators it read. Rows of neurons that did not spike are left as they are
(their proposal is 0, so the door writes nothing there).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def present(  # pragma: no cover - compiled
    w: Any,
    theta: Any,
    raster: Any,
    col_start: Any,
    col_i: Any,
    consts: Any,
    ref_steps: int,
    one_spike: bool,
    learn: bool,
    nearest: bool,
    pre_decay: Any,
    post_decay: Any,
    post2_decay: Any,
    counts: Any,
    a_acc: Any,
    d_acc: Any,
) -> None:
    """Presentations of ``B = col_start.size − 1`` samples; spike counts into ``counts`` (B, n).

    ``w`` (n, n_in) float32; ``theta`` (n,) float32; ``raster`` (T, K_total) bool input spikes,
    columns ``col_start[b]:col_start[b+1]`` belong to sample b (input ``col_i``);
    ``consts`` float32 ``[decay, drift, v_reset, v_thresh, theta_plus, w_inh, v_rest]``;
    ``pre_decay[d] = e^(−d dt/τ_pre)``, ``post_decay[d] = e^(−d dt/τ_post)`` (float64, d ≤ T);
    ``post2_decay`` the same for τ_post2, or empty for the pair rule. ``nearest``: a spike sets
    its trace to 1 instead of adding 1. With ``learn`` the sums of
    :func:`neuroplastic.rules.stdp.stdp_step_sums` are added to ``a_acc``/``d_acc`` (n, n_in)
    float64.
    """
    n = w.shape[0]
    steps = raster.shape[0]
    decay, drift, v_reset, v_thresh = consts[0], consts[1], consts[2], consts[3]
    theta_plus, w_inh, v_rest = consts[4], consts[5], consts[6]
    zero = np.float32(0.0)
    v = np.empty(n, np.float32)
    thr = np.empty(n, np.float32)
    cur = np.empty(n, np.float32)
    z_prev = np.zeros(n, np.bool_)
    free_at = np.zeros(n, np.int64)
    x_post = np.zeros(n, np.float64)
    x_post2 = np.zeros(n, np.float64)
    t_post = np.zeros(n, np.int64)
    triplet = post2_decay.size > 0
    spiked = np.empty(n, np.int64)
    for b in range(col_start.size - 1):
        c0, c1 = col_start[b], col_start[b + 1]
        n_cols = c1 - c0
        block = np.empty((n_cols, n), np.float32)
        for j in range(n):
            for k in range(n_cols):
                block[k, j] = w[j, col_i[c0 + k]]
        x_pre = np.zeros(n_cols, np.float64)
        t_pre = np.zeros(n_cols, np.int64)
        for j in range(n):
            v[j] = v_rest
            thr[j] = v_thresh + theta[j]
            free_at[j] = 0
            z_prev[j] = False
        n_spiked = 0
        n_prev = 0  # spikes at the previous step (0: no inhibition)
        for t in range(steps):
            cur[:] = zero
            for k in range(n_cols):
                if raster[t, c0 + k]:
                    for j in range(n):
                        cur[j] += block[k, j]
                    if learn:
                        i = col_i[c0 + k]
                        for s in range(n_spiked):
                            j = spiked[s]
                            d_acc[j, i] += x_post[j] * post_decay[t - t_post[j]]
                        if nearest:
                            x_pre[k] = 1.0
                        else:
                            x_pre[k] = x_pre[k] * pre_decay[t - t_pre[k]] + 1.0
                        t_pre[k] = t
            n_now = np.float32(n_prev)
            for j in range(n):
                v[j] = v[j] * decay
                v[j] = v[j] + drift
                inp = cur[j]
                if n_prev > 0:
                    inp = inp - (n_now - (np.float32(1.0) if z_prev[j] else zero)) * w_inh
                if free_at[j] <= t:
                    v[j] = v[j] + inp
            top = v[0] - thr[0]
            for j in range(1, n):
                u = v[j] - thr[j]
                if u > top:
                    top = u
            if one_spike:
                level = top
                fire = top >= zero
            else:
                level = zero
                fire = top >= zero
            n_prev = 0
            if not fire:
                for j in range(n):
                    z_prev[j] = False
                continue
            for j in range(n):
                spike = (v[j] - thr[j]) >= level
                z_prev[j] = spike
                if spike:
                    n_prev += 1
                    v[j] = v_reset
                    free_at[j] = t + 1 + ref_steps
                    thr[j] = thr[j] + theta_plus
                    counts[b, j] += 1.0
                    if learn:
                        first = x_post[j] == 0.0
                        gate = 1.0
                        if triplet:
                            gate = 0.0 if first else x_post2[j] * post2_decay[t - t_post[j]]
                        if gate != 0.0:
                            for k in range(n_cols):
                                a_acc[j, col_i[c0 + k]] += gate * x_pre[k] * pre_decay[t - t_pre[k]]
                        if first:
                            spiked[n_spiked] = j
                            n_spiked += 1
                            x_post[j] = 1.0
                            x_post2[j] = 1.0
                        elif nearest:
                            x_post[j] = 1.0
                            x_post2[j] = 1.0
                        else:
                            x_post[j] = x_post[j] * post_decay[t - t_post[j]] + 1.0
                            if triplet:
                                x_post2[j] = x_post2[j] * post2_decay[t - t_post[j]] + 1.0
                        t_post[j] = t
        for s in range(n_spiked):
            x_post[spiked[s]] = 0.0
            x_post2[spiked[s]] = 0.0


@numba.njit(nogil=True, cache=True)
def propose(  # pragma: no cover - compiled
    w: Any,
    a_acc: Any,
    d_acc: Any,
    n_spikes: Any,
    rule: Any,
    total: float,
    dw: Any,
) -> bool:
    """Write the proposed change of every row j with ``n_spikes[j] > 0`` into ``dw`` (float32,
    zero elsewhere) and zero those rows of the accumulators; False if a value is not finite.

    ``rule`` float64 ``[η_post, η_pre, x_tar, μ, w_max]``.
    """
    eta_post, eta_pre, x_tar, mu, w_max = rule[0], rule[1], rule[2], rule[3], rule[4]
    n, n_in = w.shape
    row = np.empty(n_in, np.float64)
    finite = True
    for j in range(n):
        if n_spikes[j] <= 0.0:
            continue
        lost = x_tar * n_spikes[j]
        s = 0.0
        for i in range(n_in):
            wji = np.float64(w[j, i])
            pot = a_acc[j, i] - lost
            if mu != 0.0:
                pot *= max(w_max - wji, 0.0) ** mu
            val = wji + eta_post * pot - eta_pre * d_acc[j, i]
            if not np.isfinite(val):
                finite = False
            val = min(max(val, 0.0), w_max)
            row[i] = val
            s += val
            a_acc[j, i] = 0.0
            d_acc[j, i] = 0.0
        scale = total / s if s > 0.0 else 1.0
        for i in range(n_in):
            dw[j, i] = np.float32(row[i] * scale) - w[j, i]
    return finite
