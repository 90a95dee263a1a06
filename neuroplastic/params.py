"""``--set key=value`` overrides, validated against pydantic parameter models.

A bad value fails at once with the parameter's name, its bound and the value given, e.g.
``backprop: parameter 'lr' must be greater than 0 (got '-1')``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar, get_args, get_origin

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


def validate_settings(model: type[M], values: Mapping[str, Any], owner: str) -> M:
    """``model`` validated from ``values`` (already typed, e.g. from CLI options); the first
    error fails as one line ``owner: field: message`` (:class:`ParameterError`), e.g.
    ``few-shot: shots: shot counts must be >= 1 (got [0, 5])``."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ParameterError(f"{owner}: {where}: {message}") from None


def _accepts_none(model: type[BaseModel], key: str) -> bool:
    annotation = model.model_fields[key].annotation
    return annotation is type(None) or type(None) in get_args(annotation)


def _is_numeric(model: type[BaseModel], key: str) -> bool:
    annotation = model.model_fields[key].annotation
    return annotation in (float, int) or any(a in (float, int) for a in get_args(annotation))


def _is_nan(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower().lstrip("+-") == "nan"
    return isinstance(value, float) and math.isnan(value)


def _nested_model(model: type[BaseModel], key: str) -> type[BaseModel] | None:
    annotation = model.model_fields[key].annotation
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def nest_assignments(model: type[BaseModel], flat: Mapping[str, Any]) -> dict[str, Any]:
    """Turn dotted keys into the nested values ``model`` takes: ``restrict.p=0.1`` becomes
    ``{"restrict": {"p": "0.1"}}`` when the field ``restrict`` is a parameter model.

    A model that keeps a nested setting as flat fields declares the spelling in a class
    attribute ``dotted_names`` (e.g. ``{"restrict.p": "p"}``); a dotted key is renamed by it.
    """
    aliases: Mapping[str, str] = getattr(model, "dotted_names", {})
    out: dict[str, Any] = {}
    for key, value in flat.items():
        key = aliases.get(key, key)
        head, dot, rest = key.partition(".")
        if not dot:
            out[key] = value
            continue
        sub = _nested_model(model, head) if head in model.model_fields else None
        if sub is None:
            raise ParameterError(f"--set {key}: {head!r} is not a nested parameter set")
        current = out.setdefault(head, {})
        if not isinstance(current, dict):
            raise ParameterError(f"--set {key}: {head!r} is also set as a whole")
        current.update(nest_assignments(sub, {rest: value}))
    return out


def build_params(model: type[M], overrides: Mapping[str, Any], owner: str) -> M:
    """Instantiate ``model`` with ``overrides`` (strings are coerced, ``a.b`` keys nested);
    ParameterError on failure."""
    values: dict[str, Any] = {}
    for key, value in nest_assignments(model, overrides).items():
        if key not in model.model_fields:
            known = ", ".join(sorted(model.model_fields))
            raise ParameterError(f"{owner}: unknown parameter {key!r}; known: {known}")
        if isinstance(value, str) and value.lower() in _NONE_WORDS and _accepts_none(model, key):
            value = None
        if _is_nan(value) and _is_numeric(model, key):
            raise ParameterError(f"{owner}: parameter {key!r} is not a number (got {value!r})")
        sub = _nested_model(model, key)
        if isinstance(value, dict) and sub is not None:
            value = build_params(sub, value, f"{owner}: {key}")
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


def choices(annotation: Any) -> list[str] | None:
    """The allowed values of a choice type (``Literal`` or ``Enum``, optionally ``| None``)."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    if get_origin(annotation) is Literal:
        return [str(arg) for arg in get_args(annotation)]
    args = get_args(annotation)
    if type(None) in args:
        inner = [choices(a) for a in args if a is not type(None)]
        if len(inner) == 1 and inner[0] is not None:
            return [*inner[0], "none"]
    return None


def type_name(annotation: Any) -> str:
    """A type as a user types it: ``float``, ``int | None``, ``sgd | adam`` for a choice."""
    allowed = choices(annotation)
    if allowed is not None:
        return " | ".join(allowed)
    if get_args(annotation):  # a union such as int | None
        return str(annotation).replace("NoneType", "None")
    return getattr(annotation, "__name__", str(annotation))


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
        rows.append((name, type_name(info.annotation), repr(info.default), desc))
    return rows


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


def parse_hidden(text: str, option: str = "--hidden") -> list[int]:
    """Hidden widths ``"500,100"`` -> ``[500, 100]``; a ParameterError names ``option``."""
    try:
        widths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ParameterError(f"{option} expects comma-separated integers (got {text!r})") from None
    if not widths or any(w < 1 for w in widths):
        raise ParameterError(f"{option} widths must be >= 1 (got {text!r})")
    return widths
