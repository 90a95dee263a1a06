"""Widget declarations generated from pydantic fields (pure: no UI library imported here).

Each field of a parameter model becomes one :class:`WidgetSpec`:

============================================  ===============================================
field                                         widget
============================================  ===============================================
``bool``                                      checkbox (``widget="button"``: a button, set
                                              when clicked and reset after the next step)
``Literal[...]`` with up to 4 choices         radio buttons
``Literal[...]`` with more choices            list selection
``int`` / ``float`` with both bounds          slider (``scale="log"``: log-scaled slider)
``int`` / ``float`` otherwise                 number input (bounds checked on the server)
``dict[str, float | int]``                    dictionary slider (one key chosen, one slider)
anything else (``str``, lists, optional)      text input (parsed as JSON where not a string)
============================================  ===============================================

A field declares extras with ``Field(..., json_schema_extra={...})``: ``unit`` (shown in the
label), ``scale`` (``"log"``), ``widget`` (``"button"``, ``"radio"``, ``"select"``,
``"text"``), ``soft_min``/``soft_max`` (the slider's range where the bounds are open or
very wide). A simulation may add the same declarations for fields it does not own
(``Simulation.widget_hints``). The description becomes the tooltip.
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

__all__ = ["WidgetSpec", "field_hints", "widget_specs"]

Kind = Literal["checkbox", "button", "radio", "select", "slider", "number", "dict", "text"]

MAX_RADIO = 4
"""Literal fields with at most this many choices get radio buttons, others a list selection."""


@dataclass(frozen=True)
class WidgetSpec:
    """What the page shows for one parameter ``group.name``."""

    key: str
    kind: Kind
    label: str
    tooltip: str
    value_type: type | None = None
    options: tuple[Any, ...] = ()
    start: float | None = None
    end: float | None = None
    step: float | None = None
    log: bool = False
    integer: bool = False
    unit: str = ""


def field_hints(info: FieldInfo, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The widget declarations of a field: its ``json_schema_extra`` plus ``extra``."""
    hints: dict[str, Any] = {}
    if isinstance(info.json_schema_extra, Mapping):
        hints.update(info.json_schema_extra)
    if extra:
        hints.update(extra)
    return hints


def bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    """The (lower, upper) bound a field declares (``gt``/``ge``, ``lt``/``le``)."""
    low = high = None
    for m in info.metadata:
        for attr in ("ge", "gt"):
            v = getattr(m, attr, None)
            if v is not None:
                low = float(v)
        for attr in ("le", "lt"):
            v = getattr(m, attr, None)
            if v is not None:
                high = float(v)
    return low, high


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(args) != len(get_args(annotation)):
            return args[0], True
    return annotation, False


def _label(name: str, unit: str) -> str:
    text = name.replace("_", " ")
    return f"{text} [{unit}]" if unit else text


def spec_for_field(key: str, info: FieldInfo, extra: Mapping[str, Any] | None = None) -> WidgetSpec:
    """The widget of one field (see the module docstring for the rules)."""
    hints = field_hints(info, extra)
    unit = str(hints.get("unit", ""))
    name = key.rpartition(".")[2]
    label = _label(name, unit)
    tooltip = info.description or ""
    annotation, optional = _strip_optional(info.annotation)
    wanted = hints.get("widget")
    common: dict[str, Any] = {"key": key, "label": label, "tooltip": tooltip, "unit": unit}

    if wanted == "text" or optional:
        return WidgetSpec(kind="text", value_type=None, **common)
    if annotation is bool:
        return WidgetSpec(kind="button" if wanted == "button" else "checkbox", **common)
    if get_origin(annotation) is Literal:
        options = get_args(annotation)
        kind: Kind = "radio" if len(options) <= MAX_RADIO else "select"
        if wanted in ("radio", "select"):
            kind = wanted
        return WidgetSpec(kind=kind, options=tuple(options), **common)
    if annotation in (int, float):
        integer = annotation is int
        low, high = bounds(info)
        soft_min, soft_max = hints.get("soft_min", low), hints.get("soft_max", high)
        low = None if soft_min is None else float(soft_min)
        high = None if soft_max is None else float(soft_max)
        log = hints.get("scale") == "log"
        if log and low is not None and high is not None and low <= 0 < high:
            low = high * 1e-6
        if low is None or high is None or wanted == "number" or (log and low <= 0):
            return WidgetSpec(kind="number", integer=integer, start=low, end=high, **common)
        step = 1.0 if integer else (high - low) / 1000
        if log:
            step = (math.log10(high) - math.log10(low)) / 1000
        return WidgetSpec(
            kind="slider", integer=integer, start=low, end=high, step=step, log=log, **common
        )
    if get_origin(annotation) is dict:
        key_type, value_type = ((*get_args(annotation), str, float))[:2]
        if key_type is str and value_type in (int, float):
            low, high = hints.get("soft_min", 0.0), hints.get("soft_max", 1.0)
            return WidgetSpec(
                kind="dict", value_type=value_type, start=float(low), end=float(high), **common
            )
    if annotation is str:
        return WidgetSpec(kind="text", value_type=str, **common)
    return WidgetSpec(kind="text", value_type=None, **common)


def widget_specs(
    group: str, model: type[BaseModel], hints: Mapping[str, Mapping[str, Any]] | None = None
) -> list[WidgetSpec]:
    """One widget per field of ``model``, keys ``group.name``, in declaration order."""
    hints = hints or {}
    return [
        spec_for_field(f"{group}.{name}", info, hints.get(f"{group}.{name}"))
        for name, info in model.model_fields.items()
    ]
