"""Registry of named experiments: ``neuroplastic run NAME`` for work that is not one MNIST method.

A *method* (see :mod:`neuroplastic.methods`) is a learner trained by the shared loop on MNIST. A
*named experiment* is anything else with a published claim behind it: a capacity curve of an
associative memory, the batch-1 energy protocol, a sweep. It has a pydantic parameter model
(validated like ``--set``), a one-line summary and a run function::

    @register_experiment("memory-capacity", MemoryCapacityParams, "pattern capacity of ...")
    def run_capacity(params: MemoryCapacityParams, ctx: ExperimentContext) -> ExperimentOutput:
        ...

On the command line every parameter is reachable both as ``--set key=value`` and as
``--key value`` (``--n 4096 --rule willshaw``). Of the command line's shared options an
experiment takes ``--set``, ``--json``, ``--store`` and ``--no-progress``, plus those it names in
``options`` (``seed``, ``device``, ``quick``, ``data_dir``, ``resume``; ``plasticity`` for the
restriction and cache options); any other is refused with a one-line error naming it. Every run
is recorded in the run store like a method's (:func:`neuroplastic.runs.run_experiment`). The
output's tables are printed; its JSON payload (with the run's provenance) is written to
``--json``; files the experiment writes go under ``ctx.output_dir``.
The modules in :data:`BUILTIN_EXPERIMENT_MODULES` register on the first lookup; other packages
can add experiments through the entry-point group ``neuroplastic.experiments``
(:class:`neuroplastic.registry.Registry`, shared with the methods).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from neuroplastic.atomic import write_json_atomic
from neuroplastic.provenance import Provenance
from neuroplastic.registry import Registry
from neuroplastic.results import ResultRecord

if TYPE_CHECKING:
    from neuroplastic.store import RunStore

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
    #: ``--set`` assignments that are not the experiment's own parameters, for experiments that
    #: train methods (``continual``): routed to the methods by ``split_overrides``
    method_overrides: dict[str, str] = field(default_factory=dict)
    #: where an experiment that checkpoints keeps its checkpoint; ``runs.run_experiment`` sets
    #: it to the store's path for the run (keyed by store and run), None: the experiment's own
    checkpoint_path: Path | None = None
    #: the run store the experiment is recorded in (set by ``runs.run_experiment``), for
    #: experiments that record each of their method runs there too (``equal-budget``)
    store: RunStore | None = None


@dataclass
class ExperimentOutput:
    """What an experiment returns: tables to print, a JSON payload, optional result records."""

    payload: dict[str, Any]
    tables: list[Table] = field(default_factory=list)
    records: list[ResultRecord] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    #: one line for ``neuroplastic runs list`` (e.g. ``M_eps = 1234``)
    headline: str | None = None
    #: set when the run is recorded in the store (:func:`neuroplastic.runs.run_experiment`)
    run_id: int | None = None
    provenance: Provenance | None = None

    def document(self) -> dict[str, Any]:
        """The payload with the records, the run id, the headline and the provenance (code
        version, software, machine, command, UTC times): what ``--json`` and the store hold."""
        body = dict(self.payload)
        if self.records:
            body["records"] = [r.model_dump(mode="json") for r in self.records]
        if self.headline is not None:
            body["headline"] = self.headline
        if self.run_id is not None:
            body["run_id"] = self.run_id
        if self.provenance is not None:
            body["code_version"] = self.provenance.code_version
            body["provenance"] = self.provenance.model_dump(mode="json")
        return body

    def write_json(self, path: Path) -> None:
        """Write :meth:`document` atomically to ``path``."""
        write_json_atomic(path, self.document(), default=str)


@dataclass(frozen=True)
class NamedExperiment(Generic[P]):
    """A registered experiment: name, parameter model, run function and one-line summary.

    ``options``: the shared command-line options it takes besides ``--set``, ``--json``,
    ``--store`` and ``--no-progress`` (see the module docstring); ``dataset``: what it runs on,
    as the run store lists it; ``method_overrides``: whether ``--set`` keys that are not its own
    parameters go to the methods it trains (``ctx.method_overrides``) instead of being errors.
    """

    name: str
    params_model: type[P]
    run: Callable[[P, ExperimentContext], ExperimentOutput]
    summary: str
    options: frozenset[str] = frozenset({"seed", "device", "quick"})
    dataset: str = "-"
    method_overrides: bool = False


# Built-in experiment modules, imported on first lookup (not at CLI start-up: they may be heavy).
# Each module calls register_experiment on import. Add one line per module.
BUILTIN_EXPERIMENT_MODULES: tuple[str, ...] = (
    "neuroplastic.experiments.memory_capacity",
    "neuroplastic.experiments.energy_protocol",
    "neuroplastic.experiments.spiking_reproduce",
    "neuroplastic.experiments.continual",
    "neuroplastic.experiments.equal_budget",
    "neuroplastic.finepruning.experiment",
)
EXPERIMENTS: Registry[NamedExperiment[Any]] = Registry(
    "experiment", "neuroplastic.experiments", BUILTIN_EXPERIMENT_MODULES
)


def register_experiment(
    name: str,
    params_model: type[P],
    summary: str,
    *,
    options: Iterable[str] = ("seed", "device", "quick"),
    dataset: str = "-",
    method_overrides: bool = False,
) -> Callable[
    [Callable[[P, ExperimentContext], ExperimentOutput]],
    Callable[[P, ExperimentContext], ExperimentOutput],
]:
    """Decorator registering ``run(params, ctx) -> ExperimentOutput`` under ``name``."""

    def decorate(
        run: Callable[[P, ExperimentContext], ExperimentOutput],
    ) -> Callable[[P, ExperimentContext], ExperimentOutput]:
        named = NamedExperiment(
            name, params_model, run, summary, frozenset(options), dataset, method_overrides
        )
        EXPERIMENTS.add(name, named)
        return run

    return decorate


def find_experiment(name: str) -> NamedExperiment[Any] | None:
    """The experiment called ``name``, or None when there is none (it may be a method)."""
    return EXPERIMENTS.find(name)


def available_experiments() -> list[str]:
    """Names of every registered experiment, in registration order."""
    return EXPERIMENTS.names()
