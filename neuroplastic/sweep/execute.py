"""One sweep configuration: validated (:func:`prepare`) and run into the store (:func:`execute`).

A method runs as ``neuroplastic run METHOD`` does (:func:`neuroplastic.runs.run_method`: the
store records the run, its metrics and its result). A named experiment runs as ``neuroplastic
run NAME`` does, and its JSON payload (with any result records) is stored as the run's result.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuroplastic.errors import ParameterError
from neuroplastic.store import RunStore
from neuroplastic.sweep.spec import SweepConfig

__all__ = [
    "CACHE_KEYS",
    "EXPERIMENT_OPTION_KEYS",
    "METHOD_OPTION_KEYS",
    "RESTRICT_KEYS",
    "Prepared",
    "execute",
    "prepare",
]

METHOD_OPTION_KEYS = (
    "quick",
    "hidden",
    "classes",
    "device",
    "eval_every",
    "target_accuracy",
    "info",
    "nonsilent_eps",
)
"""Shared ``neuroplastic run`` options a method configuration may set."""

RESTRICT_KEYS = {"restrict": "policy", "p": "p", "k": "k", "restrict_seed": "seed"}
CACHE_KEYS = {"cache_tau": "tau", "cache_c": "c", "cache_theta": "theta", "cache_mode": "mode"}
EXPERIMENT_OPTION_KEYS = ("quick", "device")
"""Shared options a named-experiment configuration may set (the rest are its parameters)."""


@dataclass
class Prepared:
    """A validated configuration, ready to run."""

    config: SweepConfig
    kind: str  # "method" or "experiment"
    options: dict[str, Any] = field(default_factory=dict)
    params: Any = None  # the method overrides (dict) or the experiment's parameter model
    experiment: Any = None  # neuroplastic.runs.Experiment for a method


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def prepare(config: SweepConfig) -> Prepared:
    """Validate ``config`` as ``neuroplastic run`` would; ParameterError names the bad key."""
    from neuroplastic.experiments.registry import find_experiment
    from neuroplastic.params import build_params

    if config.seed < 0:
        raise ParameterError(f"seed must be >= 0 (got {config.seed})")
    named = find_experiment(config.run)
    if named is not None:
        options = {k: v for k, v in config.params.items() if k in EXPERIMENT_OPTION_KEYS}
        values = {k: _text(v) for k, v in config.params.items() if k not in EXPERIMENT_OPTION_KEYS}
        params = build_params(named.params_model, values, named.name)
        _check_options(options)
        for key in options:
            if key not in named.options:
                raise ParameterError(f"{named.name} does not take the option {key!r}")
        return Prepared(config, "experiment", options, params)
    from neuroplastic.methods import available_methods

    if config.run not in available_methods():
        known = ", ".join(available_methods())
        raise ParameterError(
            f"unknown method or experiment {config.run!r} (methods: {known}; "
            "experiments: see `neuroplastic methods`)"
        )
    return _prepare_method(config)


def _check_options(options: dict[str, Any]) -> None:
    if "quick" in options and not isinstance(options["quick"], bool):
        raise ParameterError(f"'quick' must be true or false (got {options['quick']!r})")
    if "device" in options:
        device = str(options["device"])
        if not (device in ("auto", "cpu") or device.startswith("cuda")):
            raise ParameterError(f"'device' must be auto, cpu or cuda[:N] (got {device!r})")


def _prepare_method(config: SweepConfig) -> Prepared:
    from neuroplastic.data import parse_classes
    from neuroplastic.params import build_params
    from neuroplastic.restrict import CacheParams, RestrictParams
    from neuroplastic.runs import Experiment, method_params

    options: dict[str, Any] = {}
    r_set: dict[str, str] = {}
    c_set: dict[str, str] = {}
    cache = False
    overrides: dict[str, str] = {}
    for key, value in config.params.items():
        if key in METHOD_OPTION_KEYS:
            options[key] = value
        elif key in RESTRICT_KEYS:
            r_set[RESTRICT_KEYS[key]] = _text(value)
        elif key == "cache":
            if not isinstance(value, bool):
                raise ParameterError(f"'cache' must be true or false (got {value!r})")
            cache = value
        elif key in CACHE_KEYS:
            c_set[CACHE_KEYS[key]] = _text(value)
        else:
            overrides[key] = _text(value)
    _check_options(options)
    hidden = options.get("hidden", 1000)
    try:
        widths = (
            [int(hidden)]
            if isinstance(hidden, int)
            else [int(part) for part in str(hidden).split(",") if part.strip()]
        )
    except ValueError:
        raise ParameterError(
            f"'hidden' expects integers like 1000 or 500,100 (got {hidden!r})"
        ) from None
    classes = options.get("classes")
    exp = Experiment(
        classes=parse_classes(str(classes)) if classes is not None else None,
        hidden=widths,
        seed=config.seed,
        device=str(options.get("device", "auto")),
        quick=bool(options.get("quick", False)),
        target_accuracy=_opt_float(options, "target_accuracy"),
        eval_every=int(options.get("eval_every", 0)),
        nonsilent_eps=_opt_float(options, "nonsilent_eps") or 0.0,
        info=bool(options.get("info", False)),
        progress=False,
    )
    exp.validate()
    if r_set:
        if "policy" not in r_set:
            raise ParameterError("'p', 'k' and 'restrict_seed' need 'restrict' (a policy)")
        exp.restrict = build_params(RestrictParams, r_set, "restrict")
    if c_set and not cache:
        raise ParameterError("'cache_tau', 'cache_c', 'cache_theta', 'cache_mode' need 'cache'")
    if cache:
        if c_set.get("tau") in ("0", "0.0"):
            c_set["tau"] = "none"
        exp.cache = build_params(CacheParams, c_set, "cache")
    method_params(config.run, overrides, exp.quick)  # validates the method's parameters
    return Prepared(config, "method", options, overrides, exp)


def _opt_float(options: dict[str, Any], key: str) -> float | None:
    if key not in options or options[key] is None:
        return None
    try:
        return float(options[key])
    except (TypeError, ValueError):
        raise ParameterError(f"{key!r} must be a number (got {options[key]!r})") from None


def execute(config: SweepConfig, store: RunStore, output_dir: Path | None = None) -> int:
    """Run ``config`` and record it in ``store``; return the run id.

    A failure is recorded in the store (the run ``failed``) and raised.
    """
    prepared = prepare(config)
    if prepared.kind == "method":
        from neuroplastic.runs import run_method

        record = run_method(config.run, prepared.params, prepared.experiment, store)
        assert record.run_id is not None
        return int(record.run_id)
    return _execute_experiment(prepared, store, output_dir)


def _execute_experiment(prepared: Prepared, store: RunStore, output_dir: Path | None) -> int:
    from neuroplastic.experiments.registry import ExperimentContext, find_experiment
    from neuroplastic.runs import run_experiment

    config = prepared.config
    named = find_experiment(config.run)
    assert named is not None
    with tempfile.TemporaryDirectory(prefix="neuroplastic-sweep-") as tmp:
        ctx = ExperimentContext(
            seed=config.seed,
            device=str(prepared.options.get("device", "auto")),
            quick=bool(prepared.options.get("quick", False)),
            output_dir=output_dir or Path(tmp),
        )
        output = run_experiment(named, prepared.params, ctx, store)
    assert output.run_id is not None
    return int(output.run_id)
