"""The command line's shared options, declared once and added to each command that takes them.

``@with_options(COMMON, TRAINING)`` appends the options of those groups to a command's
signature (typer reads the signature) and hands their values to the command as one dict,
``opts``. The restriction and cache options (:data:`PLASTICITY`) are generated from the fields
of :class:`~neuroplastic.restrict.RestrictParams` and :class:`~neuroplastic.restrict.CacheParams`
(``--restrict`` is the policy, every other field ``--restrict-<field>`` / ``--cache-<field>``,
help text = the field's description), so a new field is a new option without touching the CLI.
Their values come back as dotted assignments (``restrict.p``, ``cache.theta``), the spelling of
``--set restrict.p=0.1``.

A method also takes the short spellings ``--p`` and ``--k`` (:data:`METHOD_SHORTHANDS`). They
are not options of the command: they arrive as extra arguments, so that a named experiment's own
``--k`` (memory-capacity's active units) or ``--p`` (the energy protocol's fraction) is never
taken for the restriction's. A named experiment declares which shared options it takes
(:attr:`~neuroplastic.experiments.registry.NamedExperiment.options`); any other shared option
given on the command line is an error naming it, unless the experiment has a parameter of that
name (then it is that parameter: ``--hidden`` of ``continual``).

This module imports no torch (``neuroplastic --help`` stays fast).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel

from neuroplastic.errors import ParameterError
from neuroplastic.params import options_to_assignments, parse_assignments
from neuroplastic.restrict.params import POLICIES, CacheParams, RestrictParams

F = TypeVar("F", bound=Callable[..., Any])
OptionGroup = Sequence[inspect.Parameter]


_SPELLINGS: dict[str, str] = {}


def option(name: str, kind: Any, default: Any, *decls: str, **info: Any) -> inspect.Parameter:
    """One keyword option ``name`` of type ``kind`` spelled ``decls`` on the command line."""
    _SPELLINGS[name] = decls[0]
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[kind, typer.Option(*decls, **info)],
    )


def with_options(*groups: OptionGroup) -> Callable[[F], F]:
    """Add the options of ``groups`` to a command; the command receives them as ``opts``."""
    extra = [p for group in groups for p in group]

    def decorate(command: F) -> F:
        own = inspect.signature(command, eval_str=True)
        params = [p for p in own.parameters.values() if p.name != "opts"]

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            opts = {p.name: kwargs.pop(p.name) for p in extra}
            return command(*args, opts=opts, **kwargs)

        wrapper.__signature__ = own.replace(parameters=params + extra)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params + extra}
        return wrapper  # type: ignore[return-value]

    return decorate


def spelling(param: inspect.Parameter) -> str:
    """The command-line spelling of a shared option (``--target-accuracy``)."""
    return _SPELLINGS[param.name]


SET = option(
    "set_",
    list[str] | None,
    None,
    "--set",
    "-s",
    help="parameter override key=value (method.key=value; restrict.p=0.1, cache.theta=0.01)",
)
QUICK = option("quick", bool, False, "--quick", help="small subset, at most 3 epochs: seconds")
JSON = option("json_path", Path | None, None, "--json", help="write the result(s) here")
SEED = option("seed", int, 0, "--seed", min=0, help="seed of weights and data order")
DEVICE = option("device", str, "auto", "--device", help="auto, cpu, cuda, cuda:1")
#: ``--data-dir`` and ``--store`` as type aliases too, for commands that take only them
DataDirOption = Annotated[
    str | None, typer.Option("--data-dir", help="dataset directory (default $NEUROPLASTIC_DATA)")
]
StoreOption = Annotated[
    str | None, typer.Option("--store", help="store path or URL (default $NEUROPLASTIC_STORE)")
]
DATA_DIR = inspect.Parameter(
    "data_dir", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=DataDirOption
)
NO_PROGRESS = option(
    "no_progress",
    bool,
    False,
    "--no-progress",
    help="no progress bar (or, in logs, progress lines)",
)
STORE = inspect.Parameter(
    "store", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=StoreOption
)
_SPELLINGS.update(data_dir="--data-dir", store="--store")
RESUME = option("resume", bool, False, "--resume", help="continue the last unfinished run")
HIDDEN = option("hidden", str, "1000", "--hidden", help="hidden widths, e.g. 1000 or 500,100")

#: Options of every command that runs something (and records it in the store).
COMMON: OptionGroup = (SET, QUICK, JSON, SEED, DEVICE, DATA_DIR, NO_PROGRESS, STORE)

CLASSES = option("classes", str | None, None, "--classes", help="class subset, e.g. 1,2,6")
NONSILENT = option(
    "nonsilent_eps",
    float,
    0.0,
    "--nonsilent-eps",
    min=0,
    help="|w| above which a synapse is non-silent",
)

ENERGY_MODEL = option(
    "energy_model",
    str,
    "cmos45-sram",
    "--energy-model",
    help=(
        "energy table(s) of the estimate, comma-separated: cmos45, cmos45-sram, cmos45-dram, "
        "loihi, or a .yaml/.json table file"
    ),
)

#: Options of the commands that train methods (run, compare).
TRAINING: OptionGroup = (
    CLASSES,
    HIDDEN,
    option(
        "target_accuracy",
        float | None,
        None,
        "--target-accuracy",
        help="stop at this validation accuracy",
    ),
    option("eval_every", int, 0, "--eval-every", min=0, help="evaluate every N samples"),
    RESUME,
    option(
        "keep_checkpoints",
        bool,
        False,
        "--keep-checkpoints",
        help="keep a finished run's checkpoint (default: delete)",
    ),
    option(
        "m_alpha",
        list[float] | None,
        None,
        "--m-alpha",
        help="also count M_alpha = Σ|Δw|^alpha (repeatable)",
    ),
    NONSILENT,
    option("info", bool, False, "--info", help="add I(X;Z), I(Z;Y) and bits per synapse"),
    ENERGY_MODEL,
    option(
        "meter",
        str,
        "auto",
        "--meter",
        help="hardware energy meter: auto (Zeus: NVML GPU / RAPL CPU, where present) or off",
    ),
)

# Set by the runner from the batch size, not by the user.
_INTERNAL = {"cache.samples_per_apply"}

#: Short spellings a method takes as extra arguments: ``--p 0.1`` is ``--restrict-p 0.1``.
METHOD_SHORTHANDS = {"p": "restrict.p", "k": "restrict.k"}


def _model_options(
    prefix: str, model: type[BaseModel], main: str | None
) -> list[inspect.Parameter]:
    """``--<prefix>-<field>`` for every field of ``model``; the field ``main`` is ``--<prefix>``."""
    out = []
    for field, info in model.model_fields.items():
        if f"{prefix}.{field}" in _INTERNAL:
            continue
        flag = f"--{prefix}" if field == main else f"--{prefix}-{field.replace('_', '-')}"
        text = f"{prefix}: {info.description or field} (default {info.default!r})"
        short = [k for k, dotted in METHOD_SHORTHANDS.items() if dotted == f"{prefix}.{field}"]
        if short:
            text += f"; a method also takes --{short[0]}"
        if field == "policy":
            text = f"restriction policy of every synapse group: {', '.join(POLICIES)}"
        out.append(option(f"{prefix}_{field}", str | None, None, flag, help=text))
    return out


#: Restriction and synaptic-cache options, generated from their parameter models.
PLASTICITY: OptionGroup = (
    *_model_options("restrict", RestrictParams, main="policy"),
    option("cache", bool, False, "--cache", help="synaptic caching (w = s + l)"),
    *_model_options("cache", CacheParams, main=None),
)

#: Every shared option of ``run``, by name.
SHARED: dict[str, inspect.Parameter] = {p.name: p for p in (*COMMON, *TRAINING, *PLASTICITY)}

#: Options every named experiment takes: it is recorded in the store and writes its JSON.
EXPERIMENT_ALWAYS = frozenset({"set_", "json_path", "store", "no_progress"})


def plasticity_assignments(opts: Mapping[str, Any]) -> dict[str, str]:
    """The restriction / cache options given, as dotted assignments (``restrict.p``: ``0.1``);
    ``cache.enabled`` is ``true`` with ``--cache``. Unset options are left out."""
    out: dict[str, str] = {}
    for prefix in ("restrict", "cache"):
        for key, value in opts.items():
            if key.startswith(prefix + "_") and value is not None:
                out[f"{prefix}.{key[len(prefix) + 1 :]}"] = str(value)
    if out.get("cache.tau") in ("0", "0.0"):
        out["cache.tau"] = "none"
    if any(k.startswith("cache.") for k in out) and not opts.get("cache"):
        raise ParameterError("--cache-tau/--cache-c/--cache-theta/--cache-mode need --cache")
    if opts.get("cache"):
        out["cache.enabled"] = "true"
    return out


def method_extra_assignments(args: Sequence[str], owner: str) -> dict[str, str]:
    """Extra arguments of a method command: only the shorthands ``--p`` / ``--k``."""
    given = options_to_assignments(args)
    unknown = [key for key in given if key not in METHOD_SHORTHANDS]
    if unknown:
        raise ParameterError(
            f"unknown option(s) for {owner}: {' '.join(args)} "
            "(method parameters go through --set key=value)"
        )
    return {METHOD_SHORTHANDS[key]: value for key, value in given.items()}


def given_on_command_line(ctx: typer.Context, names: Iterable[str]) -> list[str]:
    """Which of the options ``names`` the user typed (not left at their defaults)."""
    sources = {name: ctx.get_parameter_source(name) for name in names}
    return [
        name for name, source in sources.items() if getattr(source, "name", "") == "COMMANDLINE"
    ]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def experiment_assignments(
    name: str,
    accepted: Iterable[str],
    fields: Iterable[str],
    given: Iterable[str],
    opts: Mapping[str, Any],
    extra_args: Sequence[str],
) -> dict[str, str]:
    """The parameter assignments of named experiment ``name`` from a ``run`` command line.

    ``accepted``: the shared options it takes (``plasticity`` stands for the restriction and
    cache options); ``fields``: its own parameter names; ``given``: the shared options typed.
    A shared option it does not take becomes its own parameter of that name if it has one,
    and is an error naming the option otherwise. Its own ``--key value`` options (the extra
    arguments) come last and win.
    """
    accepted = set(accepted) | EXPERIMENT_ALWAYS
    plastic = {p.name for p in PLASTICITY}
    if "plasticity" in accepted:
        accepted |= plastic
    fields = set(fields)
    own: dict[str, str] = {}
    refused = []
    for key in given:
        if key in accepted:
            continue
        if key in fields:
            own[key] = _as_text(opts[key])
        else:
            refused.append(spelling(SHARED[key]))
    if refused:
        takes = sorted(spelling(SHARED[k]) for k in accepted if k in SHARED and k not in plastic)
        if "plasticity" in accepted:
            takes.append("--restrict*/--cache*")
        raise ParameterError(
            f"{name} does not take {', '.join(refused)}; it takes {', '.join(takes)} and its "
            "own parameters (see `neuroplastic methods`)"
        )
    assignments = parse_assignments(opts.get("set_") or [])
    if "plasticity" in accepted:
        assignments.update(plasticity_assignments(opts))
    assignments.update(own)
    assignments.update(options_to_assignments(extra_args))
    return assignments
