"""Registry of trainable methods; ``neuroplastic run`` and ``compare`` read it.

Built-in methods are the modules in :data:`BUILTIN_METHOD_MODULES`, imported on the first lookup.
Other packages can add methods through the entry-point group ``neuroplastic.methods`` (each entry
point is a module that calls :func:`register_method` on import); they then appear in the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from neuroplastic.methods.base import BuildContext, Learner, TrainingParams
from neuroplastic.registry import Registry

P = TypeVar("P", bound=TrainingParams)
Builder = Callable[[BuildContext, P], Learner]

#: Modules of the built-in methods, in the order they are listed and compared.
BUILTIN_METHOD_MODULES: tuple[str, ...] = (
    "neuroplastic.methods.backprop",
    "neuroplastic.methods.feedback_alignment",
    "neuroplastic.methods.local_rules",
    "neuroplastic.methods.pruned_backprop",
    "neuroplastic.methods.random_projection",
    "neuroplastic.methods.set_sparse",
    "neuroplastic.methods.spiking_exact",
    "neuroplastic.methods.stdp_diehl_cook",
    "neuroplastic.methods.structural",
)


@dataclass(frozen=True)
class Method:
    """A registered method: its name, parameter model, builder and one-line summary."""

    name: str
    params_model: type[TrainingParams]
    build: Callable[[BuildContext, TrainingParams], Learner]
    summary: str
    in_default_comparison: bool = True


METHODS: Registry[Method] = Registry("method", "neuroplastic.methods", BUILTIN_METHOD_MODULES)


def register_method(
    name: str,
    params_model: type[P],
    summary: str,
    *,
    in_default_comparison: bool = True,
) -> Callable[[Builder[P]], Builder[P]]:
    """Decorator registering ``build(ctx, params) -> Learner`` under ``name``."""

    def decorate(build: Builder[P]) -> Builder[P]:
        METHODS.add(name, Method(name, params_model, build, summary, in_default_comparison))  # type: ignore[arg-type]
        return build

    return decorate


def get_method(name: str) -> Method:
    """The method called ``name``; a ParameterError lists the known ones otherwise."""
    return METHODS.get(name)


def available_methods() -> list[str]:
    """Names of every registered method, in registration order."""
    return METHODS.names()


def default_comparison() -> list[str]:
    """Methods that ``neuroplastic compare`` runs when ``--methods`` is not given."""
    return [m.name for m in METHODS.entries() if m.in_default_comparison]
