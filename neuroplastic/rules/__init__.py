"""Learning rules: parameter models and pure functions that propose weight changes."""

from neuroplastic.rules.delta import DeltaRuleParams, delta_rule
from neuroplastic.rules.optimizers import (
    AdamParams,
    Optimizer,
    SGDParams,
    adam_direction,
    sgd_direction,
)

__all__ = [
    "AdamParams",
    "DeltaRuleParams",
    "Optimizer",
    "SGDParams",
    "adam_direction",
    "delta_rule",
    "sgd_direction",
]
