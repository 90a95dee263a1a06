"""Registry of trainable methods; ``neuroplastic run`` and ``compare`` read it.

Built-in methods register on import of :mod:`neuroplastic.methods`. Other packages can add
methods through the entry-point group ``neuroplastic.methods`` (each entry point is a module
that calls :func:`register_method` on import); they then appear in the CLI unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TypeVar

from neuroplastic.errors import ParameterError
from neuroplastic.methods.base import BuildContext, Learner, TrainingParams

P = TypeVar("P", bound=TrainingParams)
Builder = Callable[[BuildContext, P], Learner]


@dataclass(frozen=True)
class Method:
    """A registered method: its name, parameter model, builder and one-line summary."""

    name: str
    params_model: type[TrainingParams]
    build: Callable[[BuildContext, TrainingParams], Learner]
    summary: str
    in_default_comparison: bool = True


_REGISTRY: dict[str, Method] = {}
_plugins_loaded = False


def register_method(
    name: str,
    params_model: type[P],
    summary: str,
    *,
    in_default_comparison: bool = True,
) -> Callable[[Builder[P]], Builder[P]]:
    """Decorator registering ``build(ctx, params) -> Learner`` under ``name``."""

    def decorate(build: Builder[P]) -> Builder[P]:
        if name in _REGISTRY:
            raise ParameterError(f"a method named {name!r} is already registered")
        _REGISTRY[name] = Method(name, params_model, build, summary, in_default_comparison)  # type: ignore[arg-type]
        return build

    return decorate


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group="neuroplastic.methods"):
        ep.load()


def get_method(name: str) -> Method:
    """The method called ``name``; a ParameterError lists the known ones otherwise."""
    _load_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ParameterError(
            f"unknown method {name!r}; available: {', '.join(available_methods())}"
        ) from None


def available_methods() -> list[str]:
    """Names of every registered method, in registration order."""
    _load_plugins()
    return list(_REGISTRY)


def default_comparison() -> list[str]:
    """Methods that ``neuroplastic compare`` runs when ``--methods`` is not given."""
    _load_plugins()
    return [m.name for m in _REGISTRY.values() if m.in_default_comparison]
