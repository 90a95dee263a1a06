"""Homeostatic bias plasticity: each unit's bias tracks a target activity rate.

With r_j the running rate at which unit j wins (exponential average over batches with time
constant τ batches) and ρ the target rate::

    r_j ← r_j + (1/τ) (ȳ_j − r_j)          (ȳ_j: fraction of the batch that unit j won)
    Δb_j = η_b (ρ − r_j)

A unit that wins too often raises its threshold, one that never wins lowers it until it gets a
chance, so no unit dominates and unused units stay available (cf. DeSieno's "conscience").
"""

from __future__ import annotations

from torch import Tensor


def update_rate(rate: Tensor, won: Tensor, tau: float) -> Tensor:
    """New running rates from the fraction of the batch each unit won, ``won`` (N,)."""
    return rate + (won - rate) / tau


def homeostatic_bias_delta(rate: Tensor, target: float, eta_bias: float) -> Tensor:
    """Δb = η_b (ρ − r) (N,)."""
    return eta_bias * (target - rate)
