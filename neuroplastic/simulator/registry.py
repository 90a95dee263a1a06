"""Registry of simulations the app's chooser lists, and loading of user simulation files.

Built-in simulations are the modules in :data:`BUILTIN_SIMULATION_MODULES`, imported on the
first lookup; other packages add theirs through the entry-point group
``neuroplastic.simulations``; a single Python file (``neuroplastic app --file my_sim.py``) adds
every :class:`~neuroplastic.simulator.core.Simulation` subclass it defines.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from neuroplastic.errors import ParameterError
from neuroplastic.registry import Registry
from neuroplastic.simulator.core import Simulation

__all__ = [
    "SIMULATIONS",
    "available_simulations",
    "get_simulation",
    "load_simulation_file",
    "register_simulation",
    "simulation_for_run",
]

S = TypeVar("S", bound=type[Simulation])

BUILTIN_SIMULATION_MODULES: tuple[str, ...] = (
    "neuroplastic.simulator.builtin.methods",
    "neuroplastic.simulator.builtin.memory",
    "neuroplastic.simulator.builtin.spiking",
)

SIMULATIONS: Registry[type[Simulation]] = Registry(
    "simulation", "neuroplastic.simulations", BUILTIN_SIMULATION_MODULES
)


_LOADED_FILES: dict[Path, list[str]] = {}


def register_simulation(cls: S) -> S:
    """Class decorator: list ``cls`` in the app's chooser under ``cls.name``."""
    _check_class(cls)
    SIMULATIONS.add(cls.name, cls)
    return cls


def _check_class(cls: type[Simulation]) -> None:
    if not cls.name:
        raise ParameterError(f"simulation class {cls.__name__} has no name")
    for display in cls.displays:
        if not display.name:
            raise ParameterError(f"simulation {cls.name!r} declares a display without a name")


def get_simulation(name: str) -> type[Simulation]:
    """The simulation class called ``name``; ParameterError lists the known ones otherwise."""
    return SIMULATIONS.get(name)


def available_simulations() -> list[str]:
    """Names of every registered simulation, in registration order."""
    return SIMULATIONS.names()


def load_simulation_file(path: str | os.PathLike[str]) -> list[str]:
    """Import a Python file and register each Simulation subclass it defines; return names.

    Classes already registered (by the file's own ``@register_simulation``) are kept as they
    are. ParameterError if the file is missing, fails to import or defines no simulation.
    """
    file = Path(path)
    if not file.is_file():
        raise ParameterError(f"simulation file {file} not found")
    key = file.resolve()
    if key in _LOADED_FILES:
        return list(_LOADED_FILES[key])
    module_name = f"neuroplastic_user_sim_{abs(hash(file.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ParameterError(f"simulation file {file} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise ParameterError(f"simulation file {file} failed to import: {exc}") from exc
    names = []
    SIMULATIONS.names()  # built-ins first
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if issubclass(cls, Simulation) and cls.__module__ == module_name and cls.name:
            if SIMULATIONS.find(cls.name) is not cls:
                register_simulation(cls)
            names.append(cls.name)
    if not names:
        raise ParameterError(f"simulation file {file} defines no Simulation subclass with a name")
    _LOADED_FILES[key] = names
    return names


def simulation_for_run(
    method: str, params: Mapping[str, Any], seed: int
) -> tuple[str, dict[str, dict[str, Any]]]:
    """The simulation that shows a stored run, and the values that reproduce it."""
    params = params if isinstance(params, Mapping) else {}
    scored = [
        (cls.shows_run(method, params), i, cls) for i, cls in enumerate(SIMULATIONS.entries())
    ]
    best = max(scored, key=lambda t: (t[0], -t[1]))
    if best[0] <= 0:
        raise ParameterError(f"no simulation shows runs of {method!r}")
    cls = best[2]
    return cls.name, cls.values_from_run(dict(params), seed)
