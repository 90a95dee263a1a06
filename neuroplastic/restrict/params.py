"""The parameter models of restriction and caching (pydantic only: importing them loads no torch).

The command line builds its ``--restrict*`` and ``--cache*`` options from these models
(:mod:`neuroplastic.cli_options`); :mod:`~neuroplastic.restrict.policies` and
:mod:`~neuroplastic.restrict.caching` implement them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["POLICIES", "CacheMode", "CacheParams", "Policy", "RestrictParams"]

Policy = Literal[
    "none", "top", "balanced", "per-neuron", "path", "path-top", "random", "weight", "frozen-hidden"
]
POLICIES: tuple[str, ...] = (
    "none",
    "top",
    "balanced",
    "per-neuron",
    "path",
    "path-top",
    "random",
    "weight",
    "frozen-hidden",
)


class RestrictParams(BaseModel):
    """Which proposed updates are written (van Rossum & Pache 2024, algorithms 1 and 2)."""

    model_config = ConfigDict(extra="forbid")
    policy: Policy = Field("none", description="restriction policy (see neuroplastic.restrict)")
    p: float = Field(
        1.0, gt=0, le=1, description="fraction of entries written per group and update"
    )
    k: int = Field(100, ge=1, le=1_000_000, description="plastic hidden units (path policies)")
    seed: int = Field(0, ge=0, description="seed of the random mask and of the path's units")
    bias: Literal["joint", "own"] = Field(
        "joint",
        description="biases selected with their weight matrix by one threshold (joint, as the "
        "papers' input 785) or as a group of their own (own; e.g. for homeostatic biases)",
    )


CacheMode = Literal["synapse", "neuron-any", "neuron-sum"]


class CacheParams(BaseModel):
    """Synaptic caching: decay, maintenance cost and consolidation threshold."""

    model_config = ConfigDict(extra="forbid")
    tau: float | None = Field(
        1000.0, gt=0, description="decay time constant of s (samples); None = no decay"
    )
    c: float = Field(0.001, ge=0, le=1e3, description="maintenance cost per unit |s| per sample")
    theta: float = Field(0.1, gt=0, le=1e6, description="consolidation threshold (weight units)")
    mode: CacheMode = Field("synapse", description="synapse, neuron-any or neuron-sum")
    samples_per_apply: int = Field(
        1, ge=1, le=100_000, description="samples one applied update stands for (batch size)"
    )
