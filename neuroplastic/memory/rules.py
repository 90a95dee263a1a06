"""The four learning rules as pure functions of the synaptic counters.

Each rule maps the counters (:class:`~neuroplastic.memory.counters.Counters`) to a weight matrix
``W`` (m, n) and a bias / negative threshold ``b`` (n,); the dendritic potential of output unit j
for a query ũ is ``x_j = Σ_i ũ_i W_ij + b_j`` (dimensionless; for the Bayesian rule it is the
log-odds of v_j = 1 in nats).

1. **Willshaw** (clipped Hebbian): ``W_ij = [M11_ij > 0]``, ``b = 0``.
2. **Covariance** (Hopfield-type): ``W_ij = Σ_μ (u_i − p)(v_j − q)
   = M11 − q·mu_i − p·mv_j + M·p·q`` with p = mean input activity, q = mean output activity
   (measured from the counters), ``b = 0``.
3. **Optimal Bayesian** (naive Bayes) for assumed query noise (p01, p10), with a pseudo-count α
   added to every count term (so zero counts give a large finite weight, not log 0)::

       a11 = M11(1−p10) + M01·p01 + α      (= M1 · P(ũ_i=1 | v_j=1))
       a01 = M01(1−p01) + M11·p10 + α      (= M1 · P(ũ_i=0 | v_j=1))
       a10 = M10(1−p10) + M00·p01 + α      (= M0 · P(ũ_i=1 | v_j=0))
       a00 = M00(1−p01) + M10·p10 + α      (= M0 · P(ũ_i=0 | v_j=0))
       W_ij = ln(a11·a00 / (a10·a01))
       b_j  = ln((M1+α)/(M0+α)) + Σ_i [ln(a01/(M1+2α)) − ln(a00/(M0+2α))]

   with M1 = mv_j, M0 = M − mv_j, so that x_j = ln P(v_j=1|ũ)/P(v_j=0|ũ) under naive Bayes.
4. **BCPNN** (Lansner & Ekeberg): ``p_i = (mu_i+α)/(M+α')``, ``p_j = (mv_j+α)/(M+α')``,
   ``p_ij = (M11 + α'·p_i·p_j)/(M+α')``, ``W_ij = ln(p_ij/(p_i p_j))``, ``b_j = ln p_j``.
   The pair pseudo-count is centred on independence (α'·p_i·p_j), not the spec's literal
   ``(M11+α)/(M+α')``: with the literal form a unit never active in a stored pattern gets
   ``W_ij = −ln p_i > 0`` from every input and wins k-WTA at low load (measured: M_ε = 3 instead
   of ≈ 780 at n = 512, k = 9); with the centred form unseen pairs get ``W_ij ≈ ln(α'/(M+α'))``.

Auto-association without self-connections (``exclude_diagonal``) drops the terms i = j from
both ``W`` (diagonal set to 0) and the Bayesian bias sum.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor

from neuroplastic.errors import ParameterError
from neuroplastic.memory.counters import Counters

__all__ = ["RULES", "RuleParams", "ane_statistics", "derive_weights"]

RuleName = Literal["willshaw", "covariance", "bayes", "bcpnn"]
#: The rule names, in the order tables and plots use.
RULES: tuple[RuleName, ...] = ("willshaw", "covariance", "bayes", "bcpnn")


class RuleParams(BaseModel):
    """Which learning rule turns the counters into weights, and its constants."""

    model_config = ConfigDict(extra="forbid")
    rule: RuleName = Field("willshaw", description="learning rule")
    p01: float = Field(
        0.0, ge=0, lt=1, description="assumed add noise P(query 1 | stored 0) (Bayesian rule)"
    )
    p10: float = Field(
        0.5, ge=0, lt=1, description="assumed miss noise P(query 0 | stored 1) (Bayesian rule)"
    )
    pseudo_count: float = Field(
        1e-3, gt=0, le=10, description="Bayesian pseudo-count α added to each count term (counts)"
    )
    bcpnn_alpha: float = Field(
        0.01, gt=0, le=10, description="BCPNN pseudo-count α in p_i, p_j, p_ij (counts)"
    )
    bcpnn_alpha_prime: float = Field(
        0.02, gt=0, le=20, description="BCPNN normaliser pseudo-count α' (counts, >= α)"
    )

    @model_validator(mode="after")
    def _alpha_order(self) -> RuleParams:
        if self.bcpnn_alpha_prime < self.bcpnn_alpha:
            raise ValueError(
                f"bcpnn_alpha_prime ({self.bcpnn_alpha_prime}) must be >= bcpnn_alpha "
                f"({self.bcpnn_alpha}) so that probabilities stay <= 1"
            )
        return self


def _check_noise(p01: float, p10: float) -> None:
    if not (0.0 <= p01 < 1.0 and 0.0 <= p10 < 1.0):
        raise ParameterError(f"query noise must satisfy 0 <= p01, p10 < 1 (got {p01}, {p10})")


@torch.no_grad()
def derive_weights(
    c: Counters,
    params: RuleParams,
    *,
    noise: tuple[float, float] | None = None,
    exclude_diagonal: bool = False,
) -> tuple[Tensor, Tensor]:
    """Weights W (m, n) and bias b (n,) of ``params.rule`` from counters ``c``.

    ``noise = (p01, p10)`` overrides the assumed query noise of the Bayesian rule (ANE uses it);
    the other rules ignore it. ``exclude_diagonal`` (auto-association, m == n) removes
    self-connections.
    """
    if exclude_diagonal and c.m != c.n:
        raise ParameterError(f"exclude_diagonal needs m == n (got m={c.m}, n={c.n})")
    rule = params.rule
    total = float(c.total)
    if rule == "willshaw":
        w = (c.m11 > 0).to(torch.float32)
        b = torch.zeros(c.n, device=c.device)
    elif rule == "covariance":
        p = float(c.mu.sum()) / (total * c.m) if total else 0.0
        q = float(c.mv.sum()) / (total * c.n) if total else 0.0
        w = c.m11 - q * c.mu[:, None] - p * c.mv[None, :] + total * p * q
        b = torch.zeros(c.n, device=c.device)
    elif rule == "bayes":
        p01, p10 = (params.p01, params.p10) if noise is None else noise
        _check_noise(p01, p10)
        alpha = params.pseudo_count
        m11, m10, m01, m00 = c.m11, c.m10, c.m01, c.m00
        a11 = m11 * (1 - p10) + m01 * p01 + alpha
        a01 = m01 * (1 - p01) + m11 * p10 + alpha
        a10 = m10 * (1 - p10) + m00 * p01 + alpha
        a00 = m00 * (1 - p01) + m10 * p10 + alpha
        w = torch.log(a11) + torch.log(a00) - torch.log(a10) - torch.log(a01)
        m1 = c.mv
        m0 = total - c.mv
        off = torch.log(a01 / (m1 + 2 * alpha)[None, :]) - torch.log(
            a00 / (m0 + 2 * alpha)[None, :]
        )
        if exclude_diagonal:
            off.fill_diagonal_(0.0)
        b = torch.log((m1 + alpha) / (m0 + alpha)) + off.sum(0)
    elif rule == "bcpnn":
        alpha, alpha_p = params.bcpnn_alpha, params.bcpnn_alpha_prime
        norm = total + alpha_p
        pi = (c.mu + alpha) / norm
        pj = (c.mv + alpha) / norm
        pij = (c.m11 + alpha_p * pi[:, None] * pj[None, :]) / norm
        w = torch.log(pij) - torch.log(pi)[:, None] - torch.log(pj)[None, :]
        b = torch.log(pj)
    else:  # pragma: no cover - guarded by the Literal type
        raise ParameterError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    if exclude_diagonal:
        w = w.clone() if w is c.m11 else w
        w.fill_diagonal_(0.0)
    if not (torch.isfinite(w).all() and torch.isfinite(b).all()):
        raise ParameterError(f"rule {rule!r} produced non-finite weights (check pseudo-counts)")
    return w, b


@torch.no_grad()
def ane_statistics(c: Counters, w: Tensor, exclude_diagonal: bool) -> tuple[Tensor, Tensor]:
    """Per output unit: mean weight from co-active inputs ``w_in`` and background mean ``w_bg``.

    ``w_in_j = Σ_i M11_ij W_ij / Σ_i M11_ij`` (the expected weight from a correct query unit),
    ``w_bg_j = mean_i W_ij`` (the expected weight from an unrelated one); where unit j was never
    active, ``w_in_j = w_bg_j``. Used by adaptive noise estimation.
    """
    m11 = c.m11
    if exclude_diagonal:
        m11 = m11.clone()
        m11.fill_diagonal_(0.0)
        count = c.m - 1 if c.m > 1 else 1
    else:
        count = c.m
    wbg = w.sum(0) / count
    mass = m11.sum(0)
    win = torch.where(mass > 0, (m11 * w).sum(0) / mass.clamp_min(1.0), wbg)
    return win, wbg
