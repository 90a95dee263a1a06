"""The simulation abstraction: parameters, data to display, ``init()`` and ``step()``.

A simulation (after IVISIT, Knoblauch 2024) is three things:

- **parameters**: one or more pydantic models (groups), the same models the toolkit validates
  ``--set`` overrides with; the browser's widgets are generated from them;
- **data**: what the page shows, declared as :class:`ImageDisplay`, :class:`PlotDisplay` and
  :class:`TextDisplay` and filled by :meth:`Simulation.show` / :meth:`Simulation.append`;
- **behaviour**: :meth:`Simulation.init` (each restart) and :meth:`Simulation.step` (one step).

Every value that arrives from the page goes through :meth:`Simulation.set_value`, which validates
it with the parameter model (the whole model, so cross-field checks run too). A refused value
raises :class:`~neuroplastic.errors.ParameterError` and the last valid value stays. In ``sync``
mode accepted values wait until just before the next step; in ``async`` mode they are written at
once. :meth:`Simulation.is_modified` tells ``step()`` which values changed since the last step.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from neuroplastic.errors import ParameterError
from neuroplastic.params import describe_error

__all__ = [
    "Display",
    "ImageDisplay",
    "PlotDisplay",
    "RunControl",
    "Simulation",
    "TextDisplay",
]

UpdateMode = Literal["sync", "async"]

RUN_GROUP = "run"
"""The parameter group every simulation has: how the Run loop paces itself."""


class RunControl(BaseModel):
    """How Run paces a simulation: steps per display refresh and a pause between refreshes."""

    model_config = ConfigDict(extra="forbid")
    steps_per_frame: int = Field(
        1, ge=1, le=10_000, description="simulation steps between two display refreshes"
    )
    frame_delay: float = Field(
        0.0,
        ge=0.0,
        le=5.0,
        description="pause after each refresh while running",
        json_schema_extra={"unit": "s"},
    )


@dataclass(frozen=True)
class ImageDisplay:
    """A 2-D array shown as an image; ``vmin``/``vmax`` fix the colour range (else min/max)."""

    name: str
    title: str = ""
    vmin: float | None = None
    vmax: float | None = None
    palette: str = "Viridis256"
    height: int = 320


@dataclass(frozen=True)
class PlotDisplay:
    """Lines of columns against column ``x``; ``y_right`` columns use a second y axis."""

    name: str
    x: str
    y: tuple[str, ...]
    title: str = ""
    x_label: str = ""
    y_label: str = ""
    y_right: tuple[str, ...] = ()
    y_right_label: str = ""
    markers: bool = False
    lines: bool = True
    height: int = 300


@dataclass(frozen=True)
class TextDisplay:
    """Text (a status line, a table in plain text)."""

    name: str
    title: str = ""


Display = ImageDisplay | PlotDisplay | TextDisplay


@dataclass
class _Pending:
    values: dict[tuple[str, str], Any] = field(default_factory=dict)


class Simulation:
    """Base class of every simulation; subclass it and write :meth:`init` and :meth:`step`.

    Class attributes a subclass sets: ``name`` (the chooser's key), ``title``, ``summary``,
    ``Params`` (one pydantic model; or override :meth:`parameter_models` for several groups),
    ``displays`` and ``update_mode``. ``widget_hints`` adds widget declarations to fields the
    simulation does not own, e.g. ``{"method.lr": {"scale": "log"}}``.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel] | None] = None
    displays: ClassVar[tuple[Display, ...]] = ()
    update_mode: ClassVar[UpdateMode] = "sync"
    widget_hints: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    initial_values: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def __init__(self, values: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._models = dict(self.parameter_models())
        self._models.setdefault(RUN_GROUP, RunControl)
        self._values: dict[str, BaseModel] = {
            g: m.model_validate(dict(self.initial_values.get(g, {})))
            for g, m in self._models.items()
        }
        self._pending = _Pending()
        self._modified: set[str] = set()
        self._lock = threading.RLock()  # held while stepping and while values are written
        self._data_lock = threading.Lock()
        self._data: dict[str, Any] = {}
        self._version = 0
        self.steps = 0
        self.initialised = False
        if values is not None:
            self.load_values(values)

    # ------------------------------------------------------------------ declaration

    @classmethod
    def parameter_models(cls) -> dict[str, type[BaseModel]]:
        """The parameter groups, ``{group: model}``; default ``{"params": Params}``."""
        return {"params": cls.Params} if cls.Params is not None else {}

    @classmethod
    def display_names(cls) -> list[str]:
        return [d.name for d in cls.displays]

    # ------------------------------------------------------------------ parameters

    @property
    def p(self) -> Any:
        """The ``params`` group (single-model simulations)."""
        return self._values["params"]

    def group(self, name: str) -> Any:
        """The current (applied) values of one parameter group."""
        try:
            return self._values[name]
        except KeyError:
            raise ParameterError(
                f"{self.name}: no parameter group {name!r}; groups: {', '.join(self._values)}"
            ) from None

    @property
    def models(self) -> dict[str, type[BaseModel]]:
        return dict(self._models)

    def _split_key(self, key: str) -> tuple[str, str]:
        group, dot, field_name = key.partition(".")
        if not dot:
            owners = [g for g, m in self._models.items() if key in m.model_fields]
            if not owners:
                raise ParameterError(f"{self.name}: unknown parameter {key!r}")
            if len(owners) > 1:
                raise ParameterError(
                    f"{self.name}: parameter {key!r} is in groups {owners}; write group.name"
                )
            return owners[0], key
        if group not in self._models:
            raise ParameterError(f"{self.name}: no parameter group {group!r}")
        if field_name not in self._models[group].model_fields:
            known = ", ".join(self._models[group].model_fields)
            raise ParameterError(f"{self.name}: unknown parameter {key!r}; {group} has: {known}")
        return group, field_name

    def value(self, key: str) -> Any:
        """The value the page should show for ``group.name`` (pending if not yet applied)."""
        group, name = self._split_key(key)
        with self._lock if self.update_mode == "async" else _nolock():
            pending = self._pending.values
            if (group, name) in pending:
                return pending[(group, name)]
            return getattr(self._values[group], name)

    def validate_value(self, key: str, raw: Any) -> tuple[str, str, Any]:
        """Check ``raw`` for ``group.name`` against the whole model; return the coerced value."""
        group, name = self._split_key(key)
        model = self._models[group]
        current = self._values[group].model_dump()
        for (g, n), v in list(self._pending.values.items()):
            if g == group:
                current[n] = v
        current[name] = raw
        try:
            checked = model.model_validate(current)
        except ValidationError as exc:
            lines = [describe_error(f"{self.name}.{group}", e) for e in exc.errors()]
            raise ParameterError("; ".join(lines)) from None
        return group, name, getattr(checked, name)

    def set_value(self, key: str, raw: Any) -> Any:
        """Validate and accept one value from the page; returns the value kept.

        ParameterError (the simulation keeps its last valid value) if the model refuses it.
        """
        group, name, value = self.validate_value(key, raw)
        if self.update_mode == "async":
            with self._lock:
                self._apply(group, {name: value})
        else:
            self._pending.values[(group, name)] = value
        return value

    def _apply(self, group: str, changes: Mapping[str, Any]) -> None:
        old = self._values[group]
        data = old.model_dump()
        data.update(changes)
        self._values[group] = self._models[group].model_validate(data)
        for name, v in changes.items():
            if getattr(old, name) != v:
                self._modified.add(f"{group}.{name}")
                self._modified.add(name)

    def apply_pending(self) -> None:
        """Write the values accepted since the last step (sync mode)."""
        if not self._pending.values:
            return
        pending, self._pending.values = self._pending.values, {}
        by_group: dict[str, dict[str, Any]] = {}
        for (g, n), v in pending.items():
            by_group.setdefault(g, {})[n] = v
        for g, changes in by_group.items():
            self._apply(g, changes)

    def is_modified(self, name: str) -> bool:
        """Whether parameter ``name`` (or ``group.name``) changed since the last step."""
        return name in self._modified

    def parameter_values(self) -> dict[str, dict[str, Any]]:
        """Every group's values as plain JSON data (what a parameter set stores)."""
        out = {g: v.model_dump(mode="json") for g, v in self._values.items()}
        for (g, n), v in self._pending.values.items():
            out[g][n] = v.model_dump(mode="json") if isinstance(v, BaseModel) else v
        return out

    def shown(self, group: str) -> Any:
        """One group's values as the page shows them (waiting values included), validated."""
        return self._models[group].model_validate(self.parameter_values()[group])

    def check_values(self, values: Mapping[str, Any]) -> dict[str, BaseModel]:
        """Validate a whole set of values (a parameter set); ParameterError names the fault."""
        if not isinstance(values, Mapping):
            raise ParameterError(f"{self.name}: parameter values must be a mapping of groups")
        unknown = [g for g in values if g not in self._models]
        if unknown:
            raise ParameterError(
                f"{self.name}: unknown parameter group(s) {unknown}; "
                f"groups: {', '.join(self._models)}"
            )
        checked: dict[str, BaseModel] = {}
        for g, model in self._models.items():
            given = values.get(g, {})
            if not isinstance(given, Mapping):
                raise ParameterError(f"{self.name}: group {g!r} must be a mapping")
            try:
                checked[g] = model.model_validate(dict(given))
            except ValidationError as exc:
                lines = [describe_error(f"{self.name}.{g}", e) for e in exc.errors()]
                raise ParameterError("; ".join(lines)) from None
        return checked

    def load_values(self, values: Mapping[str, Any]) -> None:
        """Replace every parameter by ``values`` (all checked first: nothing changes on error)."""
        checked = self.check_values(values)
        with self._lock:
            self._pending.values.clear()
            for g, model in checked.items():
                old = self._values[g]
                self._values[g] = model
                for name in type(model).model_fields:
                    if getattr(old, name) != getattr(model, name):
                        self._modified.update((f"{g}.{name}", name))

    # ------------------------------------------------------------------ data

    def show(self, name: str, value: Any) -> None:
        """Set display ``name`` to an image (2-D array), a text, or a whole plot table
        (a dict of columns)."""
        if isinstance(value, Mapping):
            value = {k: [float(v) for v in np.asarray(col).ravel()] for k, col in value.items()}
        elif isinstance(value, np.ndarray | list):
            value = np.asarray(value, dtype=np.float32)  # display precision; half the bytes
        elif hasattr(value, "detach"):  # a torch tensor
            value = value.detach().cpu().float().numpy()
        with self._data_lock:
            self._data[name] = value
            self._version += 1

    def append(self, name: str, **columns: float) -> None:
        """Append one point to plot ``name`` (one value per declared column)."""
        with self._data_lock:
            table = self._data.setdefault(name, {})
            for column, v in columns.items():
                table.setdefault(column, []).append(float(v))
            self._version += 1

    def clear_data(self) -> None:
        with self._data_lock:
            self._data = {}
            self._version += 1

    def snapshot(self) -> tuple[int, dict[str, Any]]:
        """A consistent copy of the display data and its version number."""
        with self._data_lock:
            return self._version, copy.deepcopy(self._data)

    @property
    def data_version(self) -> int:
        return self._version

    # ------------------------------------------------------------------ behaviour

    def init(self) -> None:
        """(Re)start the simulation from its parameters."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance the simulation by one step and update the displayed data."""
        raise NotImplementedError

    def frame(self) -> None:
        """Update displays that are costly to compute, once per display refresh (after the
        ``steps_per_frame`` steps of a frame, and after a single Step). Default: nothing."""

    def do_frame(self) -> None:
        """Call :meth:`frame` (the Run loop and the Step button do)."""
        with self._lock:
            if self.initialised:
                self.frame()

    def do_init(self) -> None:
        """Apply waiting values, clear the data and call :meth:`init`."""
        with self._lock:
            self.apply_pending()
            self.clear_data()
            self.steps = 0
            self.init()
            self.initialised = True
            self._modified.clear()
            self.frame()

    def do_step(self) -> None:
        """One step as the toolbar does it: init if needed, apply waiting values, step."""
        with self._lock:
            if not self.initialised:
                self.do_init()
            self.apply_pending()
            self.step()
            self.steps += 1
            self._modified.clear()
            self._reset_buttons()

    def _reset_buttons(self) -> None:
        from neuroplastic.simulator.widgets import field_hints

        for g, model in self._models.items():
            for name, info in model.model_fields.items():
                hints = field_hints(info, self.widget_hints.get(f"{g}.{name}"))
                if hints.get("widget") == "button" and getattr(self._values[g], name):
                    self._apply(g, {name: False})

    # ------------------------------------------------------------------ runs

    @classmethod
    def shows_run(cls, method: str, params: Mapping[str, Any]) -> int:
        """How well this simulation shows a stored run of ``method`` (0: not at all; the
        app opens a run in the simulation with the highest score)."""
        return 0

    @classmethod
    def values_from_run(cls, params: Mapping[str, Any], seed: int) -> dict[str, dict[str, Any]]:
        """Parameter values that reproduce a stored run (``runs.params``) here."""
        raise ParameterError(f"{cls.name} cannot show stored runs")

    def run_command(self) -> list[str] | None:
        """``neuroplastic`` arguments that run these parameters as a full run, or None."""
        return None


class _nolock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
