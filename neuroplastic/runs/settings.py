"""The settings shared by every method of a run or comparison, and a method's parameters.

Quick mode (``--quick``) trains on :data:`QUICK_TRAIN` samples, validates on :data:`QUICK_VAL`,
tests on :data:`QUICK_TEST` and caps the epochs at :data:`QUICK_MAX_EPOCHS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from neuroplastic.energy.models import DEFAULT_MODEL, EnergyTable, resolve_models
from neuroplastic.errors import ParameterError
from neuroplastic.methods import TrainingParams, get_method
from neuroplastic.params import build_params
from neuroplastic.restrict import CacheParams, RestrictParams

QUICK_TRAIN = 2000
QUICK_VAL = 500
QUICK_TEST = 1000
QUICK_MAX_EPOCHS = 3


@dataclass
class Experiment:
    """Settings shared by every method in a run or comparison (the 'same data and budget')."""

    classes: list[int] | None = None
    hidden: list[int] = field(default_factory=lambda: [1000])
    seed: int = 0
    device: str = "auto"
    quick: bool = False
    val_size: int = 5000
    eval_every: int = 0
    target_accuracy: float | None = None
    nonsilent_eps: float = 0.0
    info: bool = False
    alphas: list[float] = field(default_factory=list)
    data_dir: str | None = None
    progress: bool = True
    restrict: RestrictParams | None = None  # restriction policy applied to every method
    cache: CacheParams | None = None  # synaptic caching applied to every method
    energy_model: str = DEFAULT_MODEL  # energy tables of the estimate, comma-separated
    meter: str = "auto"  # hardware energy meter: auto (Zeus where a counter answers) or off

    def energy_tables(self) -> list[EnergyTable]:
        """The energy tables of ``energy_model`` (ParameterError naming an unknown one)."""
        return resolve_models(self.energy_model)

    def validate(self) -> None:
        """Raise ParameterError for out-of-range settings."""
        for name, value in (
            ("target accuracy", self.target_accuracy),
            ("nonsilent eps", self.nonsilent_eps),
            *(("M_alpha exponent", a) for a in self.alphas),
        ):
            if value is not None and math.isnan(value):
                raise ParameterError(f"{name} is not a number (got {value})")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ParameterError(f"hidden widths must be >= 1 (got {self.hidden})")
        if self.seed < 0:
            raise ParameterError(f"seed must be >= 0 (got {self.seed})")
        if self.target_accuracy is not None and not 0 < self.target_accuracy <= 1:
            raise ParameterError(f"target accuracy must be in (0, 1] (got {self.target_accuracy})")
        if self.nonsilent_eps < 0:
            raise ParameterError(f"nonsilent eps must be >= 0 (got {self.nonsilent_eps})")
        if any(not a > 0 for a in self.alphas):
            raise ParameterError(f"M_alpha exponents must be > 0 (got {self.alphas})")
        if self.eval_every < 0:
            raise ParameterError(f"eval-every must be >= 0 (got {self.eval_every})")
        if self.meter not in ("auto", "off"):
            raise ParameterError(f"--meter must be auto or off (got {self.meter!r})")
        self.energy_tables()


def method_params(name: str, overrides: dict[str, Any], quick: bool) -> TrainingParams:
    """Validated parameters of method ``name``; quick mode caps the epochs."""
    method = get_method(name)
    params = build_params(method.params_model, overrides, owner=name)
    if quick and "epochs" not in overrides:
        params = params.quick(QUICK_MAX_EPOCHS)
    return params
