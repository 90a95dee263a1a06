"""Trainable methods. The built-in ones register on the first registry lookup
(:func:`get_method`, :func:`available_methods`), so importing :class:`Learner` does not
import every method."""

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
