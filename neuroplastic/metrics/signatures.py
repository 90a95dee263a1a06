"""Biological signatures of a trained network: sparsity, Dale's law, lognormal weights.

The protocols of ``structural-plasticity.md`` §4 (Inoue, Röhrbein & Knoblauch 2026 claim that a
bio-inspired rule yields them *without enforcing them*), stated here so that every method is
measured the same way. Weights are the declared ``weight`` groups of a learner
(:mod:`neuroplastic.roles`); biases and phases are not synapses between neurons and are left out.

**Weight sparsity** at a stated ε (weight units): ``silent_fraction`` = sites that do not exist
or have ``|w| <= ε``, over all potential sites; ``silent_fraction_relative`` uses ε_g = 1 % of
each group's largest ``|w|`` (comparable across methods whose weight scales differ).

**Activity sparsity** of the hidden code h (B inputs × N units, magnitudes ``|h|``):

- ``fraction_active``: mean over inputs of the fraction of units with ``|h| > θ``, θ = 1 % of the
  largest ``|h|`` in the batch (a relative threshold: sigmoid codes are never exactly 0);
- Treves–Rolls sparseness ``a = (Σ r / n)² / (Σ r² / n)`` in its Vinje–Gallant form
  ``S = (1 − a) / (1 − 1/n)`` in [0, 1] (0: every entry equal, 1: one entry carries everything):
  *population* sparseness over the N units for each input (mean over inputs), *lifetime*
  sparseness over the B inputs for each unit (mean over units that respond at all).

**Dale conformity**: a pre-synaptic neuron conforms when all its non-silent outgoing weights
(column ``W[:, i]`` of a ``(n_post, n_pre)`` group) share one sign; neurons with no non-silent
outgoing weight are not counted. ``chance_fraction`` is what independent signs would give at the
group's fraction p of positive weights: mean over neurons of ``pⁿ + (1 − p)ⁿ`` (n = the neuron's
non-silent outgoing weights). ``enforced`` is the method's declaration (the group has Dale signs
in :class:`~neuroplastic.synapses.Synapses`); conformity without enforcement has *emerged*.

**Lognormality** of the non-silent weights w (|w| > ε) of the declared input layer (the learned
features; layers of different scale are not pooled into one mixture): fit ``log|w| ~ N(μ, σ²)``
(maximum likelihood); the D'Agostino–Pearson K² statistic of log|w| and its p-value (on at most
``NORMALITY_SAMPLE`` weights drawn with a fixed seed: on 10⁵+ weights any deviation is
"significant"), the Kolmogorov–Smirnov distance of log|w| from the fitted normal (all weights),
and a likelihood comparison of two models of the signed w: the signed lognormal ``f(w) = p_s ·
LN(|w|; μ, σ)`` (p_s the fraction of weights of w's sign) against the normal ``N(m, s²)`` fitted
to w. ``loglik_ratio_per_weight`` is the mean pointwise log-likelihood difference (nats per
weight, > 0 favours the lognormal) and ``vuong_z`` = √n · mean / sd of the pointwise differences
(Vuong's test; |z| > 1.96 is a difference at the 5 % level).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

if TYPE_CHECKING:
    from neuroplastic.methods.base import Learner
    from neuroplastic.synapses import Synapses

RELATIVE_EPS = 0.01
"""Relative silence / activity threshold: 1 % of the largest magnitude."""
NORMALITY_SAMPLE = 5000
"""Weights the normality test sees at most (seeded subsample)."""
MIN_LOGNORMAL_WEIGHTS = 8
"""D'Agostino–Pearson needs at least 8 values."""
ACTIVITY_SAMPLES = 2000
"""Test inputs on which the activity of the hidden code is measured at most."""


class WeightSparsity(BaseModel):
    """Silent synapses of the weight groups."""

    model_config = ConfigDict(extra="forbid")

    eps: float = Field(description="|w| <= eps counts as silent (weight units)")
    sites: int = Field(description="potential synapse sites of the weight groups")
    silent_fraction: float = Field(description="absent or |w| <= eps, over all sites")
    silent_fraction_relative: float = Field(
        description="absent or |w| <= 1 % of the group's max |w|, over all sites"
    )


class ActivitySparsity(BaseModel):
    """Sparsity of the hidden code on test inputs."""

    model_config = ConfigDict(extra="forbid")

    inputs: int = Field(description="test inputs measured")
    units: int = Field(description="hidden units")
    fraction_active: float = Field(description="mean fraction of units with |h| > 1 % of max |h|")
    population_sparseness: float | None = Field(
        description="Vinje–Gallant S over units, mean over inputs (None: every input silent)"
    )
    lifetime_sparseness: float | None = Field(
        description="Vinje–Gallant S over inputs, mean over units (None: every unit silent)"
    )


class DaleGroup(BaseModel):
    """Dale conformity of the pre-synaptic neurons of one weight group."""

    model_config = ConfigDict(extra="forbid")

    group: str
    neurons: int = Field(description="pre-synaptic neurons with >= 1 non-silent outgoing weight")
    fraction_conforming: float | None = Field(description="share one sign (None: no neuron)")
    chance_fraction: float | None = Field(description="expected under independent signs")
    enforced: bool = Field(description="the method constrains these signs (Synapses.sign)")


class DaleConformity(BaseModel):
    """Dale's law per weight group and over all of them."""

    model_config = ConfigDict(extra="forbid")

    groups: list[DaleGroup]
    fraction_conforming: float | None = Field(description="over the neurons of every group")
    enforced: str = Field(description="'all', 'some' or 'none' of the groups have Dale signs")


class Lognormality(BaseModel):
    """Fit of log|w| for the non-silent weights; signed lognormal vs normal by likelihood."""

    model_config = ConfigDict(extra="forbid")

    group: str = Field("", description="the weight group fitted (the input layer's)")
    n: int = Field(description="non-silent weights fitted")
    eps: float = Field(description="|w| > eps is non-silent")
    log_mean: float = Field(description="μ of log|w| (log weight units)")
    log_sd: float = Field(description="σ of log|w|")
    log_skew: float = Field(description="skewness of log|w| (0 for a lognormal)")
    log_excess_kurtosis: float = Field(description="excess kurtosis of log|w| (0 for a lognormal)")
    normality_statistic: float = Field(description="D'Agostino–Pearson K² of log|w|")
    normality_p: float = Field(description="its p-value (small: log|w| not normal)")
    normality_n: int = Field(description="weights the test saw (seeded subsample)")
    ks_distance: float = Field(description="KS distance of log|w| from N(μ, σ²)")
    loglik_ratio_per_weight: float = Field(
        description="mean log f_lognormal(w) − log f_normal(w) (nats; > 0 favours lognormal)"
    )
    vuong_z: float = Field(description="√n · mean / sd of the pointwise log-likelihood ratio")
    positive_fraction: float = Field(description="fraction of the fitted weights that are > 0")


class Signatures(BaseModel):
    """The biological signatures of one trained network (part of every result record)."""

    model_config = ConfigDict(extra="forbid")

    weight_sparsity: WeightSparsity
    activity: ActivitySparsity | None = Field(None, description="None: no single hidden code")
    dale: DaleConformity
    lognormal: Lognormality | None = Field(
        None, description=f"None: fewer than {MIN_LOGNORMAL_WEIGHTS} non-silent weights"
    )


# --------------------------------------------------------------------- weight sparsity
def weight_sparsity(
    weights: Sequence[Tensor], masks: Sequence[Tensor] | None = None, eps: float = 0.0
) -> WeightSparsity:
    """Silent fractions of weight tensors (absent sites, where a mask is False, are silent)."""
    sites = silent = silent_rel = 0
    for i, w in enumerate(weights):
        a = w.detach().abs()
        exists = masks[i] if masks is not None else torch.ones_like(a, dtype=torch.bool)
        largest = float(a[exists].max()) if bool(exists.any()) else 0.0
        sites += a.numel()
        silent += int((~exists | (a <= eps)).sum())
        silent_rel += int((~exists | (a <= RELATIVE_EPS * largest)).sum())
    return WeightSparsity(
        eps=eps,
        sites=sites,
        silent_fraction=silent / max(sites, 1),
        silent_fraction_relative=silent_rel / max(sites, 1),
    )


# -------------------------------------------------------------------- activity sparsity
def vinje_gallant(r: Tensor, dim: int) -> Tensor:
    """S = (1 − a) / (1 − 1/n), a = (mean r)² / mean r² along ``dim`` (r ≥ 0); NaN where
    every entry is 0 (the sparseness of silence is undefined) or n = 1."""
    n = r.shape[dim]
    mean, mean_sq = r.mean(dim), (r * r).mean(dim)
    a = mean * mean / mean_sq
    if n < 2:
        return torch.full_like(a, float("nan"))
    return (1 - a) / (1 - 1 / n)


def activity_sparsity(h: Tensor) -> ActivitySparsity:
    """Activity measures of a hidden code h (inputs × units); magnitudes ``|h|`` are used."""
    if h.ndim != 2 or h.shape[0] == 0 or h.shape[1] == 0:
        raise ValueError(f"hidden code must be (inputs, units) and non-empty, got {tuple(h.shape)}")
    r = h.detach().abs().double()
    largest = float(r.max())
    active = (r > RELATIVE_EPS * largest).double().mean(1) if largest > 0 else torch.zeros(1)
    pop = vinje_gallant(r, 1)
    life = vinje_gallant(r, 0)
    return ActivitySparsity(
        inputs=r.shape[0],
        units=r.shape[1],
        fraction_active=float(active.mean()),
        population_sparseness=_nanmean(pop),
        lifetime_sparseness=_nanmean(life),
    )


def _nanmean(t: Tensor) -> float | None:
    ok = t[~torch.isnan(t)]
    return float(ok.mean()) if ok.numel() else None


# ------------------------------------------------------------------------------- Dale
def dale_group(
    name: str, w: Tensor, mask: Tensor | None = None, eps: float = 0.0, enforced: bool = False
) -> DaleGroup:
    """Dale conformity of the pre-synaptic neurons (columns) of ``w`` (n_post, n_pre)."""
    w = w.detach()
    if w.ndim != 2:
        raise ValueError(f"{name}: a weight group is (n_post, n_pre), got {tuple(w.shape)}")
    live = w.abs() > eps
    if mask is not None:
        live &= mask
    pos = (live & (w > 0)).sum(0)
    neg = (live & (w < 0)).sum(0)
    n = pos + neg
    counted = n > 0
    neurons = int(counted.sum())
    if neurons == 0:
        return DaleGroup(
            group=name, neurons=0, fraction_conforming=None, chance_fraction=None, enforced=enforced
        )
    conforming = ((pos == 0) | (neg == 0)) & counted
    p = float(pos.sum()) / float(n.sum())
    nn_ = n[counted].double()
    chance = (torch.tensor(p).double().pow(nn_) + torch.tensor(1 - p).double().pow(nn_)).mean()
    return DaleGroup(
        group=name,
        neurons=neurons,
        fraction_conforming=int(conforming.sum()) / neurons,
        chance_fraction=float(chance),
        enforced=enforced,
    )


def dale_conformity(groups: Sequence[DaleGroup]) -> DaleConformity:
    """Pool the groups: conforming neurons over counted neurons, and which are enforced."""
    counted = sum(g.neurons for g in groups)
    conforming = sum((g.fraction_conforming or 0.0) * g.neurons for g in groups)
    n_enforced = sum(g.enforced for g in groups)
    enforced = "all" if groups and n_enforced == len(groups) else "some" if n_enforced else "none"
    return DaleConformity(
        groups=list(groups),
        fraction_conforming=round(conforming) / counted if counted else None,
        enforced=enforced,
    )


# ------------------------------------------------------------------------ lognormality
def lognormality(weights: Tensor, eps: float = 0.0, seed: int = 0) -> Lognormality | None:
    """Lognormal fit of the non-silent weights (|w| > eps); None with fewer than 8 of them."""
    from scipy import stats

    w = weights.detach().flatten().double()
    w = w[w.abs() > eps]
    n = w.numel()
    if n < MIN_LOGNORMAL_WEIGHTS:
        return None
    logs = w.abs().log()
    mu, sigma = float(logs.mean()), float(logs.std(unbiased=False))
    sigma = max(sigma, 1e-300)
    z = (logs - mu) / sigma
    skew = float((z**3).mean())
    kurt = float((z**4).mean()) - 3.0
    gen = torch.Generator().manual_seed(seed)
    sample = (
        logs if n <= NORMALITY_SAMPLE else logs[torch.randperm(n, generator=gen)[:NORMALITY_SAMPLE]]
    )
    k2, p_value = stats.normaltest(sample.numpy())
    ks = float(stats.kstest(logs.numpy(), "norm", args=(mu, sigma)).statistic)
    # signed lognormal vs normal of w, pointwise log-likelihoods (nats)
    positive = float((w > 0).double().mean())
    p_sign = torch.where(w > 0, positive, 1 - positive)
    ll_lognormal = (
        torch.log(p_sign) - logs - math.log(sigma) - 0.5 * math.log(2 * math.pi) - 0.5 * z * z
    )
    m, s = float(w.mean()), max(float(w.std(unbiased=False)), 1e-300)
    ll_normal = -math.log(s) - 0.5 * math.log(2 * math.pi) - 0.5 * ((w - m) / s) ** 2
    diff = ll_lognormal - ll_normal
    sd = float(diff.std(unbiased=False))
    return Lognormality(
        n=n,
        eps=eps,
        log_mean=mu,
        log_sd=sigma,
        log_skew=skew,
        log_excess_kurtosis=kurt,
        normality_statistic=float(k2),
        normality_p=float(p_value),
        normality_n=sample.numel(),
        ks_distance=ks,
        loglik_ratio_per_weight=float(diff.mean()),
        vuong_z=float(diff.mean()) * math.sqrt(n) / sd if sd > 0 else 0.0,
        positive_fraction=positive,
    )


# --------------------------------------------------------------------------- learners
def weight_groups(learner: Learner) -> list[Synapses]:
    """The declared weight groups of a learner (biases and phases left out)."""
    roles = learner.roles()
    return [roles.groups[i] for i in roles.find("weight")]


@torch.no_grad()
def learner_signatures(learner: Learner, x: Tensor, eps: float = 0.0) -> Signatures:
    """The signatures of a trained learner; activity on at most ``ACTIVITY_SAMPLES`` rows of x."""
    groups = weight_groups(learner)
    sparsity = weight_sparsity([g.w for g in groups], [g.mask for g in groups], eps)
    dale = dale_conformity(
        [
            dale_group(g.name, g.w, g.mask, eps, enforced=g.sign is not None)
            for g in groups
            if g.w.ndim == 2
        ]
    )
    first = learner.input_synapses()
    lognormal = lognormality(first.w.detach()[first.mask], eps)
    if lognormal is not None:
        lognormal.group = first.name
    code = learner.hidden_code(x[:ACTIVITY_SAMPLES])
    activity = activity_sparsity(code.flatten(1)) if code is not None and code.numel() else None
    return Signatures(weight_sparsity=sparsity, activity=activity, dale=dale, lognormal=lognormal)
