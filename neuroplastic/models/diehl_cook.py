"""Diehl & Cook (2015) network dynamics: Poisson input, LIF excitatory layer, lateral inhibition,
adaptive thresholds.

Per presentation of a sample x ∈ [0, 1]^n_in (T steps of dt ms):

* **Input**: input i spikes at each step with probability x_i · r_max · dt (Poisson rate
  x_i · r_max; the paper uses r_max = 63.75 Hz, i.e. intensity / 4, for 350 ms followed by
  150 ms of rest; we present T = 250 steps of 1 ms and reset the state instead of simulating the
  rest). :func:`poisson_events` returns the spikes as sorted events, drawing random numbers only
  for non-zero pixels.
* **Input current**: an input spike adds w_ji (mV) to v_j in the same step. Only the columns of
  the active inputs are summed (:func:`input_currents`, cost ∝ number of input spikes).
* **Excitatory LIF neurons** (membrane potential v in mV), per step::

      v ← v_rest + (v − v_rest) e^(−dt/τ_m) + [not refractory] (I_j(t) − w_inh Σ_{k≠j} z_k(t−1))
      z_j(t) = [v_j ≥ v_thresh + θ_j];   on a spike: v_j ← v_reset, refractory for t_ref ms,
                                          θ_j ← θ_j + θ_plus

  with τ_m = 100 ms, v_rest = −65, v_reset = −60, v_thresh = −52 mV, t_ref = 5 ms,
  θ_plus = 0.05 mV and θ decaying with τ_θ = 10^7 ms (the values of the paper and of
  BindsNET's ``DiehlAndCookNodes``). **Lateral inhibition**: every excitatory spike lowers every
  *other* excitatory neuron by w_inh mV at the next step (the paper's 1:1 inhibitory population,
  collapsed into direct inhibition as in BindsNET's ``DiehlAndCook2015v2``). With
  ``one_spike`` at most one neuron per sample spikes per step (the one furthest above threshold).
* **Weight normalisation**: each neuron's input weights sum to ``norm_per_input · n_in``
  (0.1 · 784 = 78.4; the paper uses 78), applied after every write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.errors import DataError, ShapeError


class DiehlCookParams(BaseModel):
    """Network of Diehl & Cook (2015): LIF excitatory layer, lateral inhibition, adaptive θ."""

    model_config = ConfigDict(extra="forbid")
    steps: int = Field(250, ge=1, le=100_000, description="time steps per presentation")
    dt: float = Field(1.0, gt=0, le=100, description="time step (ms)")
    max_rate_hz: float = Field(63.75, gt=0, le=1000, description="input rate at intensity 1 (Hz)")
    v_rest: float = Field(-65.0, ge=-200, le=0, description="resting potential (mV)")
    v_reset: float = Field(-60.0, ge=-200, le=0, description="reset potential (mV)")
    v_thresh: float = Field(-52.0, ge=-200, le=0, description="base threshold (mV)")
    tau_m: float = Field(100.0, gt=0, le=1e6, description="membrane time constant (ms)")
    refractory: float = Field(5.0, ge=0, le=1000, description="refractory period (ms)")
    theta_plus: float = Field(0.05, ge=0, le=100, description="threshold increase per spike (mV)")
    tau_theta: float = Field(1e7, gt=0, le=1e12, description="threshold decay time constant (ms)")
    rest_ms: float = Field(150.0, ge=0, le=1e6, description="rest between samples (θ decays)")
    w_inh: float = Field(120.0, ge=0, le=1e4, description="lateral inhibition per spike (mV)")
    one_spike: bool = Field(True, description="at most one excitatory spike per step")
    norm_per_input: float = Field(0.1, gt=0, le=100, description="Σ_i w_ji = this · n_in")
    init_max: float = Field(0.3, gt=0, le=100, description="initial weights U(0, init_max)")
    min_spikes: int = Field(5, ge=0, le=10_000, description="re-present below this many spikes")
    boost_hz: float = Field(32.0, ge=0, le=1000, description="rate increase per re-presentation")
    max_boosts: int = Field(
        10, ge=0, le=100, description="re-presentations at most (the paper: until enough)"
    )


@dataclass
class InputEvents:
    """Input spikes of a batch: step, sample and input index of each spike, sorted by step;
    and the same spikes as a dense (T, K) raster over the K columns (sample ``col_b``, input
    ``col_i``) whose intensity is non-zero."""

    t: Tensor
    b: Tensor
    i: Tensor
    raster: Tensor
    col_b: Tensor
    col_i: Tensor
    steps: int
    batch: int

    def rows(self) -> Tensor:
        """Row of each event in a flattened (T·B) raster."""
        return self.t * self.batch + self.b


def poisson_raster(
    x: Tensor, rate_hz: float, steps: int, dt: float, generator: torch.Generator | None
) -> tuple[Tensor, Tensor, Tensor]:
    """Poisson input spikes for intensities x (B, n_in) in [0, 1] at ``rate_hz`` per unit, as a
    (T, K) bool raster over the K (sample, input) pairs with non-zero intensity, and those
    pairs ``(col_b, col_i)`` sorted by sample then input.

    Each column spikes at each step with probability p = min(1, x · rate · dt); the steps
    between its spikes are drawn as geometric gaps, ``1 + ⌊ln(1 − U) / ln(1 − p)⌋`` with U
    uniform in [0, 1) (the same process as one Bernoulli draw per step, with about p·T + 6√(p·T)
    + 8 draws per column instead of T: at 63.75 Hz and 1 ms, 48 instead of 250).
    """
    if x.dim() != 2:
        raise ShapeError(f"Diehl & Cook: input {tuple(x.shape)} must be (B, n_in)")
    if not torch.isfinite(x).all() or float(x.min()) < 0 or float(x.max()) > 1:
        raise DataError("Diehl & Cook: input intensities must be finite and in [0, 1]")
    nz = torch.nonzero(x > 0)  # (K, 2) sorted by (b, i)
    n_cols = nz.shape[0]
    raster = torch.zeros(steps, n_cols, dtype=torch.bool, device=x.device)
    if n_cols == 0:
        return raster, nz[:, 0], nz[:, 1]
    prob = (x[nz[:, 0], nz[:, 1]] * (rate_hz * dt / 1000.0)).clamp(max=1.0)
    log_q = torch.log1p(-prob)  # −inf where p = 1: every gap is 1
    mean = steps * float(prob.max())
    draws = int(mean + 6.0 * math.sqrt(mean) + 8.0)
    last = torch.full((n_cols,), -1.0, device=x.device)  # step of the last spike drawn
    cols = torch.arange(n_cols, device=x.device)
    while cols.numel() > 0:
        u = torch.rand(draws, cols.numel(), generator=generator, device=x.device)
        gaps = (torch.log1p(-u) / log_q[cols]).floor_().clamp_(max=steps).add_(1)
        times = gaps.cumsum(0).add_(last[cols])  # integers, exact in float32 below 2**24
        row, col = torch.nonzero(times < steps, as_tuple=True)
        raster.view(-1)[times[row, col].to(torch.long) * n_cols + cols[col]] = True
        last[cols] = times[-1]
        cols = cols[times[-1] < steps - 1]  # columns whose next spike may still fall inside
    return raster, nz[:, 0], nz[:, 1]


def poisson_events(
    x: Tensor, rate_hz: float, steps: int, dt: float, generator: torch.Generator | None
) -> InputEvents:
    """Poisson spike events for intensities x (B, n_in) in [0, 1] at ``rate_hz`` per unit."""
    raster, col_b, col_i = poisson_raster(x, rate_hz, steps, dt, generator)
    tk = torch.nonzero(raster)  # sorted by t, then k
    return InputEvents(
        tk[:, 0], col_b[tk[:, 1]], col_i[tk[:, 1]], raster, col_b, col_i, steps, x.shape[0]
    )


def input_currents(events: InputEvents, w_in_major: Tensor) -> Tensor:
    """I (T, B, n_post) in mV: I[t, b] = Σ over the inputs i that spiked at (t, b) of
    ``w_in_major[i]`` (event-driven: one bag of weight rows per step and sample, summed by
    ``embedding_bag`` without materialising the gathered rows)."""
    n_post = w_in_major.shape[1]
    n_rows = events.steps * events.batch
    per_row = torch.bincount(events.rows(), minlength=n_rows)
    offsets = torch.zeros(n_rows, dtype=torch.long, device=w_in_major.device)
    offsets[1:] = per_row.cumsum(0)[:-1]
    cur = torch.nn.functional.embedding_bag(events.i, w_in_major, offsets, mode="sum")
    return cur.view(events.steps, events.batch, n_post)


def simulate(currents: Tensor, theta: Tensor, p: DiehlCookParams) -> Tensor:
    """Excitatory spike raster (T, B, n) for input currents (T, B, n) and thresholds θ (n,).

    θ rises by θ_plus at each spike within the presentation (per sample, starting from
    ``theta``); the caller adds the increments to the shared θ. A neuron is refractory (ignores
    input and inhibition) for the ``refractory / dt`` steps after its spike. Steps after a step
    without spikes skip the inhibition/refractory work (it would subtract exact zeros and
    multiply by exact ones, so results do not depend on the skipping). With ``one_spike`` the
    spiking neuron of a sample is the one furthest above threshold (ties all spike).
    """
    steps, batch, n = currents.shape
    dev = currents.device
    decay = math.exp(-p.dt / p.tau_m)
    drift = p.v_rest * (1.0 - decay)
    ref_steps = round(p.refractory / p.dt)
    v = torch.full((batch, n), p.v_rest, device=dev)
    thr = (p.v_thresh + theta).to(dev).expand(batch, n).clone()
    free_at = torch.zeros(batch, n, device=dev)  # first step at which input counts again
    raster = torch.zeros(steps, batch, n, dtype=torch.bool, device=dev)
    inhibition: Tensor | None = None
    last_spike = -(10**9)
    reset = torch.tensor(p.v_reset, device=dev)
    for t in range(steps):
        v.mul_(decay).add_(drift)
        inp = currents[t]
        if inhibition is not None:
            inp = inp - inhibition
        if t - last_spike <= ref_steps:
            v.addcmul_(inp, free_at <= t)
        else:
            v.add_(inp)
        u = v - thr
        if p.one_spike:
            top = u.max(1, keepdim=True).values
            if not bool((top >= 0).any()):
                inhibition = None
                continue
            spikes = u >= top.clamp(min=0.0)
        else:
            spikes = u >= 0
            if not bool(spikes.any()):
                inhibition = None
                continue
        fs = spikes.to(v.dtype)
        v = torch.where(spikes, reset, v)
        free_at = torch.where(spikes, float(t + 1 + ref_steps), free_at)
        thr.add_(fs, alpha=p.theta_plus)
        raster[t] = spikes
        inhibition = (fs.sum(1, keepdim=True) - fs).mul_(p.w_inh)
        last_spike = t
    return raster


def theta_decay(p: DiehlCookParams) -> float:
    """Factor by which θ decays over one presentation plus rest: e^(−(T dt + rest)/τ_θ)."""
    return math.exp(-(p.steps * p.dt + p.rest_ms) / p.tau_theta)


def normalized(w: Tensor, total: float) -> Tensor:
    """Rows of w (n_post, n_in) rescaled to sum to ``total`` (all-zero rows stay zero)."""
    sums = w.sum(1, keepdim=True)
    return torch.where(sums > 0, w * (total / sums.clamp(min=1e-30)), w)
