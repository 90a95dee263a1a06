"""``--set key=value`` overrides, validated against pydantic parameter models.

A bad value fails at once with the parameter's name, its bound and the value given, e.g.
``backprop: parameter 'lr' must be greater than 0 (got '-1')``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from neuroplastic.errors import ParameterError

M = TypeVar("M", bound=BaseModel)

_NONE_WORDS = {"none", "null"}


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Split ``["a=1", "m.b=x"]`` into ``{"a": "1", "m.b": "x"}``; rejects malformed items."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterError(f"--set expects key=value (got {item!r})")
        out[key] = value.strip()
    return out


def describe_error(owner: str, err: Mapping[str, Any]) -> str:
    """One readable line for one pydantic error."""
    name = ".".join(str(p) for p in err.get("loc", ()))
    if not name:  # a check across several parameters
        msg = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        return f"{owner}: {msg}"
    if err.get("type") == "extra_forbidden":
        return f"{owner}: unknown parameter {name!r}"
    msg = str(err.get("msg", "is invalid"))
    if msg.startswith("Input should be "):
        msg = "must be " + msg[len("Input should be ") :]
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return f"{owner}: parameter {name!r} {msg} (got {err.get('input')!r})"


def _accepts_none(model: type[BaseModel], key: str) -> bool:
    annotation = model.model_fields[key].annotation
    return annotation is type(None) or type(None) in get_args(annotation)


def build_params(model: type[M], overrides: Mapping[str, Any], owner: str) -> M:
    """Instantiate ``model`` with ``overrides`` (strings are coerced); ParameterError on failure."""
    values: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in model.model_fields:
            known = ", ".join(sorted(model.model_fields))
            raise ParameterError(f"{owner}: unknown parameter {key!r}; known: {known}")
        if isinstance(value, str) and value.lower() in _NONE_WORDS and _accepts_none(model, key):
            value = None
        values[key] = value
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        lines = [describe_error(owner, e) for e in exc.errors()]
        raise ParameterError("; ".join(lines)) from None


def split_overrides(
    assignments: Mapping[str, str], models: Mapping[str, type[BaseModel]]
) -> dict[str, dict[str, str]]:
    """Route overrides to methods: ``method.key=v`` to that method, ``key=v`` to every method
    whose model has ``key``. A key that no selected method accepts is an error."""
    routed: dict[str, dict[str, str]] = {name: {} for name in models}
    for key, value in assignments.items():
        prefix, dot, field = key.partition(".")
        if dot and prefix in models:
            routed[prefix][field] = value
            continue
        if dot:
            raise ParameterError(
                f"--set {key}: {prefix!r} is not one of the selected methods ({', '.join(models)})"
            )
        takers = [name for name, model in models.items() if key in model.model_fields]
        if not takers:
            raise ParameterError(
                f"--set {key}: no selected method has a parameter {key!r} "
                f"(methods: {', '.join(models)})"
            )
        for name in takers:
            routed[name][key] = value
    return routed


def describe_model(model: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    """``(name, type, default, description with bounds)`` for each field, for help output."""
    rows = []
    for name, info in model.model_fields.items():
        bounds = [
            f"{op} {getattr(m, attr)}"
            for m in info.metadata
            for attr, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
            if getattr(m, attr, None) is not None
        ]
        desc = info.description or ""
        if bounds:
            desc = f"{desc} [{', '.join(bounds)}]"
        annotation = getattr(info.annotation, "__name__", str(info.annotation))
        rows.append((name, annotation, repr(info.default), desc))
    return rows
