"""Associative-memory retrieval: store random patterns, query with noise, watch completion.

An auto-associative memory of n = side² units (:class:`~neuroplastic.memory.MemoryCore`, any
of its rules) stores ``patterns`` random patterns of ``k`` active units at Init. Each step takes
the next stored pattern, makes a query by deleting each active unit with probability
``query_p10`` and adding each silent one with ``query_p01``, and retrieves it with the
retrieval parameters (one-step or iterative, k-WTA or threshold). The image shows
stored | query | retrieved; the plot shows the output noise ε = (misses + false units) / k of
every retrieval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from neuroplastic.memory import MemoryCore, RetrievalParams, RuleParams, retrieve
from neuroplastic.memory.patterns import add_query_noise, constant_activity
from neuroplastic.simulator.core import ImageDisplay, PlotDisplay, Simulation, TextDisplay
from neuroplastic.simulator.registry import register_simulation

__all__ = ["MemoryParams", "MemorySimulation"]


class MemoryParams(BaseModel):
    """Size and load of the memory, and the query noise."""

    model_config = ConfigDict(extra="forbid")
    side: int = Field(16, ge=4, le=64, description="the n = side² units shown as a square")
    k: int = Field(12, ge=1, le=1000, description="active units per pattern")
    patterns: int = Field(60, ge=1, le=100_000, description="stored patterns M")
    query_p10: float = Field(0.3, ge=0, le=1, description="query: P(active unit deleted)")
    query_p01: float = Field(0.0, ge=0, le=0.2, description="query: P(silent unit added)")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of patterns and queries")

    @model_validator(mode="after")
    def _k_fits(self) -> MemoryParams:
        if self.k > self.side * self.side:
            raise ValueError(f"k ({self.k}) must be at most side² ({self.side**2})")
        return self


def _tiles(*images: np.ndarray) -> np.ndarray:
    """Images side by side with a NaN column between them (rows flipped for display)."""
    h = images[0].shape[0]
    gap = np.full((h, 1), np.nan)
    parts: list[np.ndarray] = []
    for img in images:
        parts += [img, gap]
    return np.hstack(parts[:-1])[::-1]


@register_simulation
class MemorySimulation(Simulation):
    """Auto-associative memory: query, iterations, retrieved pattern, output noise."""

    name = "memory"
    title = "Associative memory retrieval"
    summary = "stored | noisy query | retrieved pattern, and the output noise of each retrieval"
    displays = (
        ImageDisplay(
            "patterns", "stored | query | retrieved", vmin=0, vmax=1, palette="Greys256", height=260
        ),
        PlotDisplay(
            "noise",
            x="retrieval",
            y=("output_noise", "query_noise"),
            title="output noise ε per retrieval",
            x_label="retrieval",
            y_label="ε = errors / k",
            markers=True,
        ),
        TextDisplay("status"),
    )
    widget_hints: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "rule.pseudo_count": {"scale": "log"},
        "memory.patterns": {"soft_max": 1000},
        "memory.seed": {"widget": "number"},
    }
    initial_values: ClassVar[Mapping[str, Mapping[str, Any]]] = {"retrieval": {"iterations": 3}}

    @classmethod
    def parameter_models(cls) -> dict[str, type[BaseModel]]:
        return {"memory": MemoryParams, "rule": RuleParams, "retrieval": RetrievalParams}

    @classmethod
    def shows_run(cls, method: str, params: Mapping[str, Any]) -> int:
        """Auto-associative ``memory-capacity`` runs whose n is a square up to 64²."""
        if method != "memory-capacity":
            return 0
        config = params.get("experiment")
        if not isinstance(config, Mapping) or not config.get("auto", True):
            return 0
        n = int(config.get("n", 0))
        side = math.isqrt(n)
        return 1 if side * side == n and 4 <= side <= 64 else 0

    @classmethod
    def values_from_run(cls, params: Mapping[str, Any], seed: int) -> dict[str, dict[str, Any]]:
        """The run's memory, rule, query noise and retrieval (at this simulation's load M)."""
        c = dict(params["experiment"])
        n = int(c["n"])
        k = c.get("k") or max(1, round(math.log2(n)))
        rule = {f: c[f] for f in RuleParams.model_fields if f in c}
        retrieval = {f: c[f] for f in RetrievalParams.model_fields if f in c}
        return {
            "memory": {
                "side": math.isqrt(n),
                "k": int(k),
                "query_p10": c.get("p10", 0.5),
                "query_p01": c.get("p01", 0.0),
                "seed": int(seed),
            },
            "rule": rule,
            "retrieval": retrieval,
        }

    def init(self) -> None:
        p: MemoryParams = self.group("memory")
        n = p.side * p.side
        self.gen = torch.Generator().manual_seed(p.seed)
        self.stored = constant_activity(p.patterns, n, p.k, self.gen)
        self.core = MemoryCore(n, n, self.group("rule"), auto=True)
        self.core.store(self.stored)
        self.index = 0

    def step(self) -> None:
        p: MemoryParams = self.group("memory")
        if self.is_modified("rule.rule") or any(
            self.is_modified(f"rule.{f}") for f in RuleParams.model_fields
        ):
            self.core.rule = self.group("rule")  # a new rule applies at once (same counters)
        target = self.stored[self.index % p.patterns][None]
        self.index += 1
        query = add_query_noise(target, p.query_p01, p.query_p10, self.gen)
        result = retrieve(self.core, query, self.group("retrieval"))
        out = result.output
        errors = float((out != target).sum())
        query_errors = float((query != target).sum())
        side = p.side
        self.show(
            "patterns",
            _tiles(*(t.reshape(side, side).numpy() for t in (target[0], query[0], out[0]))),
        )
        self.append(
            "noise",
            retrieval=self.index,
            output_noise=errors / p.k,
            query_noise=query_errors / p.k,
        )
        self.show(
            "status",
            f"pattern {(self.index - 1) % p.patterns + 1}/{p.patterns}  "
            f"query errors {query_errors:.0f}  output errors {errors:.0f}  "
            f"retrieval steps {result.steps}",
        )
