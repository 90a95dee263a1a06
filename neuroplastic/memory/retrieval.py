"""One-step and iterative retrieval, batched: many queries as one matrix product per step.

For queries ũ (B, m) and weights (W, b) of a :class:`~neuroplastic.memory.core.MemoryCore`:

    x = ũ W + b                                   (B, n) dendritic potentials
    threshold:  v̂_j = [x_j ≥ Θ]                    k-WTA: v̂ = the K largest x_j set to 1

Default thresholds: Willshaw Θ = number of active query units (optimal for miss-only queries),
Bayesian Θ = 0 (log-odds); covariance and BCPNN have no natural threshold (give ``threshold`` or
use k-WTA). **Iterative** retrieval (auto-association only) feeds the output back,
``ũ(t+1) = v̂(t)``, until a fixed point (for every query of the batch) or ``iterations`` steps.
Without self-connections the diagonal of W is removed. **Clamping** keeps the query's active
units on in every output ("core" retrieval). **ANE** (adaptive noise estimation, as
reconstructed in :mod:`neuroplastic.memory.ane`) re-estimates the state's noise at each step.

Sparse states (at most m/16 active units per row) are projected by gathering and summing the
active rows of W (:func:`project`, cost B·a·n) instead of a dense product (B·m·n); dense states
use one matrix product per step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.memory.ane import ane_threshold, estimate_correct_units, quantised_noise
from neuroplastic.memory.core import MemoryCore

__all__ = [
    "RetrievalParams",
    "RetrievalResult",
    "feedback_loop",
    "kwta",
    "project",
    "retrieve",
    "threshold_for",
]


class RetrievalParams(BaseModel):
    """How a query is completed."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["kwta", "threshold"] = Field("kwta", description="k-WTA or fixed threshold")
    winners: int | None = Field(
        None, ge=1, description="k-WTA winners (units); None = mean activity of stored outputs"
    )
    threshold: float | None = Field(
        None, description="threshold Θ on x (potential units); None = the rule's default"
    )
    iterations: int = Field(
        1, ge=1, le=100, description="retrieval steps (1 = one-step; >1 auto-association only)"
    )
    self_connections: bool = Field(False, description="keep W_ii (auto-association)")
    clamp: bool = Field(False, description="keep the query's active units on (auto only)")
    ane: bool = Field(False, description="adaptive noise estimation at every step")
    ane_levels: int = Field(8, ge=1, le=1000, description="ANE grid size for p10 (Bayes)")
    ane_noise: Literal["both", "p10"] = Field(
        "both",
        description="Bayesian ANE re-estimates both p01 and p10, or only p10 (p01 stays the "
        "rule's assumed add noise, which keeps the veto of unpotentiated synapses)",
    )


@dataclass
class RetrievalResult:
    """Retrieved patterns (B, n) 0/1, steps taken, and the ANE estimates ĉ of the last step."""

    output: Tensor
    steps: int
    c_hat: Tensor | None = None


def kwta(x: Tensor, winners: int) -> Tensor:
    """0/1 tensor with ones at the ``winners`` largest entries of each row of x (B, n)."""
    if not 1 <= winners <= x.shape[1]:
        raise ParameterError(f"winners must be in [1, {x.shape[1]}] (got {winners})")
    out = torch.zeros_like(x)
    out.scatter_(1, torch.topk(x, winners, dim=1).indices, 1.0)
    return out


def _default_threshold(rule: str, state: Tensor) -> Tensor:
    if rule == "willshaw":
        return state.sum(1, keepdim=True)
    if rule == "bayes":
        return torch.zeros((state.shape[0], 1), device=state.device)
    raise ParameterError(
        f"rule {rule!r} has no natural threshold: use mode='kwta' or give 'threshold'"
    )


def threshold_for(params: RetrievalParams, rule: str, state: Tensor) -> Tensor:
    """Θ (B, 1) of threshold mode: 0 with ANE (its potentials are centred), else the fixed
    ``params.threshold``, else the rule's natural one (Willshaw: active state units)."""
    if params.ane:
        return torch.zeros((state.shape[0], 1), device=state.device)
    if params.threshold is not None:
        return torch.full((state.shape[0], 1), params.threshold, device=state.device)
    return _default_threshold(rule, state)


def feedback_loop(
    query: Tensor,
    params: RetrievalParams,
    winners: int | None,
    potentials: Callable[[Tensor], tuple[Tensor, Tensor | None]],
    threshold: Callable[[Tensor], Tensor],
) -> RetrievalResult:
    """The retrieval iteration shared by every memory: x = potentials(state); clamp the
    query's units; k-WTA (``winners``) or x ≥ threshold(state); feed back until a fixed point of
    the whole batch or ``params.iterations`` steps.

    ``potentials`` and ``threshold`` must treat rows independently (every memory here does), so
    a row that reached its fixed point stays there: later steps compute only the rows still
    moving (same result, less work: most queries settle in 2-3 steps).
    """
    state = query
    extra: Tensor | None = None
    steps = 0
    live = torch.arange(query.shape[0], device=query.device)
    for _ in range(params.iterations):
        sub = state[live]
        x, ex = potentials(sub)
        if params.clamp:
            x = torch.where(query[live] > 0, torch.full_like(x, torch.inf), x)
        if params.mode == "kwta":
            assert winners is not None
            out = kwta(x, winners)
        else:
            out = (x >= threshold(sub) - 1e-6).to(sub.dtype)
        if ex is not None:
            if extra is None:
                extra = torch.zeros(query.shape[0], dtype=ex.dtype, device=ex.device)
            extra[live] = ex
        steps += 1
        if params.iterations == 1:
            state = out.to(query.dtype)
            break
        moving = (out != sub).any(1)
        if not bool(moving.any()):
            break
        state = state.clone()
        state[live] = out.to(state.dtype)
        live = live[moving]
    return RetrievalResult(state, steps, extra)


@torch.no_grad()
def retrieve(core: MemoryCore, queries: Tensor, params: RetrievalParams) -> RetrievalResult:
    """Complete a batch of queries (B, m) of 0/1; see the module docstring."""
    if queries.dim() != 2 or queries.shape[1] != core.m:
        raise ShapeError(f"queries must have shape (B, {core.m}) (got {tuple(queries.shape)})")
    if params.iterations > 1 and not core.auto:
        raise ParameterError("iterative retrieval (iterations > 1) needs auto-association")
    if params.clamp and not core.auto:
        raise ParameterError("clamping the query needs auto-association")
    exclude = core.auto and not params.self_connections
    winners = params.winners if params.winners is not None else core.default_winners()
    if winners > core.n:
        raise ParameterError(f"winners must be <= n = {core.n} (got {winners})")
    query = (queries.to(core.device) > 0).to(torch.float32)
    return feedback_loop(
        query,
        params,
        winners,
        lambda state: _potentials(core, state, params, winners, exclude),
        lambda state: threshold_for(params, core.rule.rule, state),
    )


def project(state: Tensor, w: Tensor) -> Tensor:
    """x = state @ w for 0/1 states (B, m); sparse states (≤ m/16 active) sum rows of w.

    A state with a active units costs B·a·n additions instead of B·m·n multiply-adds.
    """
    a_max = int(state.sum(1).max()) if state.shape[0] else 0
    if 0 < a_max * 16 <= state.shape[1]:
        values, idx = torch.topk(state, a_max, dim=1)  # 0/1 rows: the active units first
        return F.embedding_bag(idx, w, per_sample_weights=values.to(w.dtype), mode="sum")
    return state @ w


def _potentials(
    core: MemoryCore, state: Tensor, params: RetrievalParams, winners: int, exclude: bool
) -> tuple[Tensor, Tensor | None]:
    w, b = core.weights(None, exclude)
    x0 = project(state, w)
    if not params.ane:
        return x0 + b, None
    w_in, w_bg = core.ane_stats(exclude)
    active = state.sum(1)
    c_hat = estimate_correct_units(x0, active, w_in, w_bg, winners, exclude)
    if core.rule.rule != "bayes":
        return x0 + b - ane_threshold(c_hat, active, w_in, w_bg), c_hat
    noise = quantised_noise(c_hat, active, winners, core.n, params.ane_levels)
    if params.ane_noise == "p10":
        noise = [(core.rule.p01, p10) for _, p10 in noise]
    x = torch.empty_like(x0)
    groups: dict[tuple[float, float], list[int]] = {}
    for i, key in enumerate(noise):
        groups.setdefault(key, []).append(i)
    for key, rows in groups.items():
        wk, bk = core.weights(key, exclude)
        idx = torch.tensor(rows, device=state.device)
        x[idx] = project(state[idx], wk) + bk
    return x, c_hat
