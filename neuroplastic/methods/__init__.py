"""Trainable methods. Importing this package registers the built-in ones."""

from neuroplastic.methods import (  # noqa: F401  (registration)
    backprop,
    feedback_alignment,
    local_rules,
    pruned_backprop,
    random_projection,
    spiking_exact,
    stdp_diehl_cook,
    structural,
)
from neuroplastic.methods.base import BuildContext, Learner, TrainingParams
from neuroplastic.methods.registry import (
    Method,
    available_methods,
    default_comparison,
    get_method,
    register_method,
)

__all__ = [
    "BuildContext",
    "Learner",
    "Method",
    "TrainingParams",
    "available_methods",
    "default_comparison",
    "get_method",
    "register_method",
]
