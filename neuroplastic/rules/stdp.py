"""Pair-based spike-timing-dependent plasticity (STDP) with traces, as in Diehl & Cook (2015).

Each input synapse i → j keeps a presynaptic trace x_pre,i and each neuron a postsynaptic trace
x_post,j (dimensionless). With a time step dt (ms), per step t::

    x_pre,i(t)  = e^(−dt/τ_pre)  x_pre,i(t−1)  + s_i(t)        (s_i(t) ∈ {0, 1}: input spike)
    x_post,j(t) = e^(−dt/τ_post) x_post,j(t−1) + z_j(t)        (z_j(t) ∈ {0, 1}: output spike)

(the trace is *increased by 1* at each spike, as the paper states, so traces are linear in the
spikes). The weight change, summed over a presentation, is

    on each postsynaptic spike of j at t:  Δw_ji += η_post (x_pre,i(t) − x_tar) (w_max − w_ji)^μ
    on each presynaptic spike of i at t:   Δw_ji −= η_pre  x_post,j(t−1) e^(−dt/τ_post)

i.e. potentiation pairs each output spike with input spikes at the same step or earlier,
depression pairs each input spike with output spikes strictly earlier. ``x_tar = 0, μ = 0`` is the
plain pair rule (BindsNET's ``PostPre``); ``x_tar > 0`` and ``μ > 0`` give the paper's
weight-dependent variant ("Δw = η_post (x_pre − x_tar)(w_max − w)^μ", Diehl & Cook 2015, Eq. 3),
where x_tar is the target presynaptic trace at an output spike and depresses inputs that did not
fire. Diehl & Cook use η_pre = 0.0001, η_post = 0.01, τ_pre = τ_post = 20 ms, w_max = 1.

Because the traces are linear in the spikes, the sums have a closed form over spike *events*:
with K_pot(d) = e^(−d dt/τ_pre) for d = t_post − t_pre ≥ 0 and K_dep(d) = e^(−d dt/τ_post) for
d = t_pre − t_post > 0,

    A_ji = Σ_{post spikes (t, j)} Σ_{pre spikes (s, i), s ≤ t} K_pot(t − s)     (= Σ x_pre,i(t))
    D_ji = Σ_{pre spikes (s, i)} Σ_{post spikes (t, j), t < s} K_dep(s − t)
    ΔW = η_post (A − x_tar n_j) ⊙ (w_max − W)^μ − η_pre D        (n_j: spikes of neuron j)

:func:`stdp_event_sums` computes A and D read at the output spikes only (the fast path of
the tensor engine); :func:`stdp_trace_sums` computes
them from the step-by-step trace recurrences over dense rasters (the reference it is tested
against). Weights W are (n_post, n_in), as every layer here.

**The rule of Diehl & Cook's published code** (Brian, ``Diehl&Cook_spiking_MNIST.py``) differs
from the text in two ways, both available here: traces are *set* to 1 at a spike
(``trace="nearest"``, also BindsNET's default), and potentiation is gated by a second, slower
postsynaptic trace read just before the spike (``tau_post2=40`` ms; ``w += η_post x_pre
x_post2,before``: a triplet rule under which a neuron's first spike does not potentiate).
These sums are not linear in the spikes; :func:`stdp_step_sums` steps them (reference), the
method's Numba kernel updates them at events with lazily decaying traces.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError


class STDPParams(BaseModel):
    """Pair-based STDP with traces (Diehl & Cook 2015)."""

    model_config = ConfigDict(extra="forbid")
    eta_pre: float = Field(1e-4, ge=0, le=1, description="depression rate η_pre per pre spike")
    eta_post: float = Field(1e-2, ge=0, le=1, description="potentiation rate η_post per post spike")
    tau_pre: float = Field(20.0, gt=0, le=1e6, description="presynaptic trace time constant (ms)")
    tau_post: float = Field(20.0, gt=0, le=1e6, description="postsynaptic trace time constant (ms)")
    w_max: float = Field(1.0, gt=0, le=1e6, description="upper weight bound w_max (mV)")
    x_tar: float = Field(0.0, ge=0, le=100, description="target presynaptic trace x_tar")
    mu: float = Field(0.0, ge=0, le=10, description="weight-dependence exponent μ")
    dt: float = Field(1.0, gt=0, le=100, description="time step (ms)")
    trace: Literal["additive", "nearest"] = Field(
        "additive", description="a spike adds 1 to its trace, or sets it to 1 (nearest spike)"
    )
    tau_post2: float = Field(
        0.0, ge=0, le=1e6, description="slow post trace (ms) gating potentiation; 0: pair rule"
    )

    @property
    def linear(self) -> bool:
        """Whether the sums have the closed form over spike pairs (additive pair rule)."""
        return self.trace == "additive" and self.tau_post2 == 0.0


def _check_events(times: Tensor, index: Tensor, what: str) -> None:
    if times.dim() != 1 or times.shape != index.shape:
        raise ShapeError(
            f"STDP: {what} times {tuple(times.shape)} and indices {tuple(index.shape)} "
            "must be equal-length vectors"
        )


def stdp_event_sums(
    spikes: Tensor,
    col_b: Tensor,
    col_i: Tensor,
    post: tuple[Tensor, Tensor, Tensor],
    n_in: int,
    n_post: int,
    p: STDPParams,
) -> tuple[Tensor, Tensor]:
    """Pair sums ``(A, D)`` (each (n_post, n_in)), summed over a batch, driven by output events.

    ``spikes`` (T, K) bool holds only the K input columns that can spike (sample ``col_b[k]``,
    input ``col_i[k]``; ``col_b`` sorted), ``post = (t, b, j)`` the output spikes. With
    a = e^(−dt/τ_pre) and c = e^(−dt/τ_post), the presynaptic trace an output spike at t meets is
    ``x_pre(t) = a^t Σ_{s ≤ t} s(s) a^(−s)`` and the depression it receives from later input
    spikes is ``c^(−t) Σ_{s > t} s(s) c^s``: two cumulative sums over time (float64), read at
    the output spikes only, so the cost is T·K + (output spikes × columns of their sample) —
    never a per-step trace update of all synapses.
    """
    if not p.linear:
        raise ParameterError(
            "STDP: the event sums need trace='additive' and tau_post2=0 "
            f"(got trace={p.trace!r}, tau_post2={p.tau_post2}); use stdp_step_sums"
        )
    post_t, post_b, post_j = post
    _check_events(post_t, post_j, "post")
    if spikes.dim() != 2 or col_b.shape != (spikes.shape[1],) or col_i.shape != col_b.shape:
        raise ShapeError(
            f"STDP: spikes {tuple(spikes.shape)}, col_b {tuple(col_b.shape)}, "
            f"col_i {tuple(col_i.shape)} must be (T, K), (K,), (K,)"
        )
    dev = spikes.device
    a_flat = torch.zeros(n_post * n_in, device=dev)
    d_flat = torch.zeros(n_post * n_in, device=dev)
    steps, n_cols = spikes.shape
    if post_t.numel() == 0 or n_cols == 0:
        return a_flat.view(n_post, n_in), d_flat.view(n_post, n_in)
    if steps * p.dt / min(p.tau_pre, p.tau_post) > 600:  # e^(±t dt/τ) would leave float64
        raise ShapeError(f"STDP: {steps} steps of {p.dt} ms are too long for the event path")
    t = torch.arange(steps, device=dev, dtype=torch.float64)[:, None]
    s64 = spikes.to(torch.float64)
    rate_pre, rate_post = p.dt / p.tau_pre, p.dt / p.tau_post
    trace_pre = (s64 * torch.exp(t * rate_pre)).cumsum(0) * torch.exp(-t * rate_pre)
    later = s64 * torch.exp(-t * rate_post)
    if steps * rate_post <= 20:  # total − cumsum loses ≤ 1e-15 · e^(T dt/τ_post) ≤ 1e-6
        after = later.sum(0, keepdim=True) - later.cumsum(0)  # Σ_{s > t} s(s) c^s
    else:  # reverse cumulative sum, no cancellation
        after = torch.zeros_like(later)
        after[:-1] = later.flip(0).cumsum(0).flip(0)[1:]
    tail = after * torch.exp(t * rate_post)
    # pair every output spike with the columns of its own sample
    n_b = int(torch.maximum(col_b.max(), post_b.max())) + 1
    cols_per_b = torch.bincount(col_b, minlength=n_b)
    col_start = cols_per_b.cumsum(0) - cols_per_b
    reps = cols_per_b[post_b]
    q = torch.repeat_interleave(torch.arange(post_t.numel(), device=dev), reps)
    first = reps.cumsum(0) - reps
    k = col_start[post_b[q]] + torch.arange(q.numel(), device=dev) - first[q]
    at = post_t[q] * n_cols + k
    flat = post_j[q] * n_in + col_i[k]
    a_flat.index_add_(0, flat, trace_pre.view(-1)[at].to(torch.float32))
    d_flat.index_add_(0, flat, tail.view(-1)[at].to(torch.float32))
    return a_flat.view(n_post, n_in), d_flat.view(n_post, n_in)


def stdp_step_sums(pre: Tensor, post: Tensor, p: STDPParams) -> tuple[Tensor, Tensor]:
    """Pair sums ``(A, D)`` (each (n_post, n_in), summed over the batch) by stepping the traces
    through dense rasters ``pre`` (T, B, n_in) and ``post`` (T, B, n_post); every variant.

    Per step t: the traces decay (x ← e^(−dt/τ) x), then input spikes update x_pre (+1, or set
    to 1 with ``trace="nearest"``) and meet the postsynaptic trace of *earlier* output spikes,
    ``D_ji += x_post,j``; output spikes meet the presynaptic trace including this step's
    inputs, ``A_ji += x_pre,i · g_j``, with ``g_j = 1`` (pair rule) or, with ``tau_post2 > 0``,
    the slow postsynaptic trace x_post2,j *before* this spike (Diehl & Cook's published code:
    ``post2before``, τ = 40 ms, nearest-spike traces; a neuron's first spike in a presentation
    does not potentiate); then x_post and x_post2 take the output spikes. Slow (T dense steps):
    the reference of the event-driven paths, and the tensor engine's path for the non-linear
    variants.
    """
    if pre.dim() != 3 or post.dim() != 3 or pre.shape[:2] != post.shape[:2]:
        raise ShapeError(
            f"STDP: rasters {tuple(pre.shape)} and {tuple(post.shape)} must be (T, B, n_in) and "
            "(T, B, n_post)"
        )
    steps, batch, n_in = pre.shape
    n_post = post.shape[2]
    dev = pre.device
    a_pre = math.exp(-p.dt / p.tau_pre)
    a_post = math.exp(-p.dt / p.tau_post)
    a_post2 = math.exp(-p.dt / p.tau_post2) if p.tau_post2 > 0 else 0.0
    x_pre = torch.zeros(batch, n_in, dtype=torch.float64, device=dev)
    x_post = torch.zeros(batch, n_post, dtype=torch.float64, device=dev)
    x_post2 = torch.zeros_like(x_post)
    a_sum = torch.zeros(n_post, n_in, dtype=torch.float64, device=dev)
    d_sum = torch.zeros_like(a_sum)
    for t in range(steps):
        s = pre[t].to(torch.float64)
        z = post[t].to(torch.float64)
        x_pre.mul_(a_pre)
        x_post.mul_(a_post)
        x_post2.mul_(a_post2)
        x_pre = torch.where(s > 0, 1.0, x_pre) if p.trace == "nearest" else x_pre + s
        d_sum += x_post.T @ s
        gate = z * x_post2 if p.tau_post2 > 0 else z
        a_sum += gate.T @ x_pre
        if p.trace == "nearest":
            x_post = torch.where(z > 0, 1.0, x_post)
            x_post2 = torch.where(z > 0, 1.0, x_post2)
        else:
            x_post = x_post + z
            x_post2 = x_post2 + z
    return a_sum.to(torch.float32), d_sum.to(torch.float32)


def post_traces(post: Tensor, p: STDPParams) -> tuple[Tensor, Tensor]:
    """Traces a pre spike at each step meets: ``(future, past)`` each (T, B, n_post).

    ``future[s] = Σ_{t ≥ s} e^(−(t−s)dt/τ_pre) z(t)`` (potentiation: the pre spike at s is seen by
    every later-or-equal output spike) and ``past[s] = Σ_{t < s} e^(−(s−t)dt/τ_post) z(t)``
    (depression), from a spike raster ``post`` (T, B, n_post) by two recurrences.
    """
    steps = post.shape[0]
    z = post.to(torch.float32)
    a_pre = math.exp(-p.dt / p.tau_pre)
    a_post = math.exp(-p.dt / p.tau_post)
    future = torch.empty_like(z)
    past = torch.empty_like(z)
    acc = torch.zeros_like(z[0])
    for t in range(steps - 1, -1, -1):
        acc.mul_(a_pre).add_(z[t])
        future[t] = acc
    acc = torch.zeros_like(z[0])
    for t in range(steps):
        past[t] = acc
        acc.add_(z[t]).mul_(a_post)
    return future, past


def stdp_trace_sums(
    pre_rows: Tensor, pre_index: Tensor, post: Tensor, n_in: int, p: STDPParams
) -> tuple[Tensor, Tensor]:
    """Pair sums ``(A, D)`` summed over a batch, from input events and an output raster.

    ``post``: (T, B, n_post) output spikes; input spike k is at row ``pre_rows[k] = t·B + b`` of
    the flattened (T·B) raster and input ``pre_index[k]``. Each input event adds the output
    traces of its sample at its step (:func:`post_traces`) to its input's column.
    """
    if post.dim() != 3:
        raise ShapeError(f"STDP: post raster {tuple(post.shape)} must be (T, B, n_post)")
    _check_events(pre_rows, pre_index, "pre")
    steps, batch, n_post = post.shape
    future, past = post_traces(post, p)
    both = torch.cat([future, past], 2).reshape(steps * batch, 2 * n_post)
    sums = torch.zeros(n_in, 2 * n_post, device=post.device)
    sums.index_add_(0, pre_index, both.index_select(0, pre_rows))
    return sums[:, :n_post].T.contiguous(), sums[:, n_post:].T.contiguous()


def stdp_delta(
    a_sum: Tensor, d_sum: Tensor, n_post_spikes: Tensor, w: Tensor, p: STDPParams
) -> Tensor:
    """ΔW = η_post (A − x_tar n) ⊙ (w_max − W)^μ − η_pre D (before clipping to [0, w_max]).

    ``n_post_spikes``: (n_post,) spikes of each neuron in the presentation(s) summed into A.
    """
    if a_sum.shape != w.shape or d_sum.shape != w.shape or n_post_spikes.shape != w.shape[:1]:
        raise ShapeError(
            f"STDP: A {tuple(a_sum.shape)}, D {tuple(d_sum.shape)}, n {tuple(n_post_spikes.shape)}"
            f" do not match weights {tuple(w.shape)}"
        )
    pot = a_sum - p.x_tar * n_post_spikes.to(a_sum.dtype)[:, None]
    if p.mu != 0.0:
        pot = pot * (p.w_max - w).clamp(min=0) ** p.mu
    return p.eta_post * pot - p.eta_pre * d_sum
