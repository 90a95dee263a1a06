"""Registry of named experiments: ``neuroplastic run NAME`` for work that is not one MNIST method.

A *method* (see :mod:`neuroplastic.methods`) is a learner trained by the shared loop on MNIST. A
*named experiment* is anything else with a published claim behind it: a capacity curve of an
associative memory, the batch-1 energy protocol, a sweep. It has a pydantic parameter model
(validated like ``--set``), a one-line summary and a run function::

    @register_experiment("memory-capacity", MemoryCapacityParams, "pattern capacity of ...")
    def run_capacity(params: MemoryCapacityParams, ctx: ExperimentContext) -> ExperimentOutput:
        ...

On the command line every parameter is reachable both as ``--set key=value`` and as
``--key value`` (``--n 4096 --rule willshaw``). The output's tables are printed; its JSON
payload is written to ``--json``; files the experiment writes go under ``ctx.output_dir``.
The modules in :data:`BUILTIN_EXPERIMENT_MODULES` register on the first lookup; other packages
can add experiments through the entry-point group ``neuroplastic.experiments``
(:class:`neuroplastic.registry.Registry`, shared with the methods).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from neuroplastic.atomic import write_json_atomic
from neuroplastic.errors import ParameterError
from neuroplastic.registry import Registry
from neuroplastic.results import ResultRecord

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class ExperimentContext:
    """What the caller decides, not the experiment: seed, device, size, where output goes."""

    seed: int = 0
    device: str = "auto"
    quick: bool = False
    resume: bool = False
    data_dir: str | None = None
    progress: bool = False
    output_dir: Path = field(default_factory=lambda: Path("results"))
    console: Console = field(default_factory=lambda: Console(quiet=True))


@dataclass
class ExperimentOutput:
    """What an experiment returns: tables to print, a JSON payload, optional result records."""

    payload: dict[str, Any]
    tables: list[Table] = field(default_factory=list)
    records: list[ResultRecord] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def write_json(self, path: Path) -> None:
        """Write the payload (and the records, if any) atomically to ``path``."""
        body = dict(self.payload)
        if self.records:
            body["records"] = [r.model_dump(mode="json") for r in self.records]
        write_json_atomic(path, body, default=str)


@dataclass(frozen=True)
class NamedExperiment(Generic[P]):
    """A registered experiment: name, parameter model, run function and one-line summary."""

    name: str
    params_model: type[P]
    run: Callable[[P, ExperimentContext], ExperimentOutput]
    summary: str


# Built-in experiment modules, imported on first lookup (not at CLI start-up: they may be heavy).
# Each module calls register_experiment on import. Add one line per module.
BUILTIN_EXPERIMENT_MODULES: tuple[str, ...] = (
    "neuroplastic.experiments.memory_capacity",
    "neuroplastic.experiments.energy_protocol",
    "neuroplastic.experiments.spiking_reproduce",
)
EXPERIMENTS: Registry[NamedExperiment[Any]] = Registry(
    "experiment", "neuroplastic.experiments", BUILTIN_EXPERIMENT_MODULES
)


def register_experiment(
    name: str, params_model: type[P], summary: str
) -> Callable[
    [Callable[[P, ExperimentContext], ExperimentOutput]],
    Callable[[P, ExperimentContext], ExperimentOutput],
]:
    """Decorator registering ``run(params, ctx) -> ExperimentOutput`` under ``name``."""

    def decorate(
        run: Callable[[P, ExperimentContext], ExperimentOutput],
    ) -> Callable[[P, ExperimentContext], ExperimentOutput]:
        EXPERIMENTS.add(name, NamedExperiment(name, params_model, run, summary))
        return run

    return decorate


def find_experiment(name: str) -> NamedExperiment[Any] | None:
    """The experiment called ``name``, or None when there is none (it may be a method)."""
    return EXPERIMENTS.find(name)


def available_experiments() -> list[str]:
    """Names of every registered experiment, in registration order."""
    return EXPERIMENTS.names()


def options_to_assignments(args: Sequence[str]) -> dict[str, str]:
    """Turn ``["--n", "4096", "--rule=willshaw", "--self-connections"]`` into assignments.

    ``--key value`` and ``--key=value`` set ``key`` (dashes become underscores); a ``--flag``
    followed by another option or nothing sets ``flag`` to ``true``. Anything else is an error.
    """
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        item = args[i]
        if not item.startswith("--") or len(item) <= 2:
            raise ParameterError(f"unexpected argument {item!r}; parameters are --name value")
        key, sep, value = item[2:].partition("=")
        key = key.replace("-", "_")
        if not sep:
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                value = args[i + 1]
                i += 1
            else:
                value = "true"
        out[key] = value
        i += 1
    return out
