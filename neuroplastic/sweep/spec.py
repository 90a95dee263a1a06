"""Sweep specs: a YAML file (or ``--grid key=v1,v2 --seeds N``) expanded into configurations.

A spec is one group, or a list of groups under ``runs:``; each group names what to run (a
method or a named experiment), the seeds, fixed parameters and a grid whose product is taken::

    name: capacity-demo        # the sweep id (default: the file's stem)
    retries: 1                 # extra attempts of a failed configuration (default 1)
    runs:
      - run: memory-capacity
        seeds: 2               # 0, 1 (or a list: [0, 5])
        set: {queries: 50}     # the same for every configuration of the group
        grid:                  # every combination
          n: [64, 128]
          rule: [willshaw, bayes]

Parameter keys are those of ``neuroplastic run``: a method's or experiment's parameters
(``neuroplastic methods``), and for a method also ``quick``, ``hidden``, ``classes``,
``device``, ``eval_every``, ``target_accuracy``, ``info``, ``nonsilent_eps``, the restriction
(``restrict``, ``p``, ``k``, ``restrict_seed``) and cache options (``cache``, ``cache_tau``,
``cache_c``, ``cache_theta``, ``cache_mode``); an experiment also takes ``quick`` and ``device``.
Every configuration is validated before anything is scheduled; an error names the file, the
line and the key (:class:`SpecError`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuroplastic.errors import ParameterError

__all__ = [
    "GROUP_KEYS",
    "TOP_KEYS",
    "SpecError",
    "Sweep",
    "SweepConfig",
    "config_key",
    "grid_sweep",
    "load_spec",
]

TOP_KEYS = ("name", "retries", "runs")
GROUP_KEYS = ("run", "seeds", "set", "grid")
MAX_CONFIGS = 100_000


class SpecError(ParameterError):
    """A sweep spec is malformed or one of its configurations is invalid (file:line: key)."""


@dataclass(frozen=True)
class SweepConfig:
    """One configuration: what to run, its seed and its parameters (``neuroplastic run`` keys)."""

    run: str
    seed: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (parameters in sorted order)."""
        return {"run": self.run, "seed": self.seed, "params": dict(sorted(self.params.items()))}

    def label(self) -> str:
        """Short text for progress and errors: ``memory-capacity n=64 rule=bayes seed=1``."""
        parts = [f"{k}={v}" for k, v in sorted(self.params.items())]
        return " ".join([self.run, *parts, f"seed={self.seed}"])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepConfig:
        """Inverse of :meth:`as_dict`."""
        return cls(str(data["run"]), int(data["seed"]), dict(data.get("params", {})))


def config_key(config: SweepConfig, code_version: str) -> str:
    """SHA-256 (hex) of the configuration's canonical JSON and the code version.

    The key of idempotent re-runs: the same configuration on the same code is done once.
    """
    text = json.dumps(
        {"config": config.as_dict(), "code_version": code_version},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Sweep:
    """An expanded, validated sweep: its id, retries, configurations and the spec it came from."""

    id: str
    retries: int
    configs: list[SweepConfig]
    spec: dict[str, Any]


# --------------------------------------------------------------------------- YAML with lines


@dataclass
class _Node:
    """A YAML value with the line it starts on (1-based)."""

    value: Any
    line: int


def _plain(node: Any) -> Any:
    """Python value of a composed YAML node, with every mapping value and list item a _Node."""
    import yaml

    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, _Node] = {}
        for key_node, value_node in node.value:
            key = str(_scalar(key_node))
            out[key] = _Node(_plain(value_node).value, key_node.start_mark.line + 1)
        return _Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_plain(item) for item in node.value], line)
    return _Node(_scalar(node), line)


def _scalar(node: Any) -> Any:
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _strip(node: _Node) -> Any:
    """The plain Python value of a _Node tree."""
    if isinstance(node.value, dict):
        return {k: _strip(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_strip(v) for v in node.value]
    return node.value


# --------------------------------------------------------------------------- expansion


class _Where:
    """Formats ``file:line: message`` errors."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, line: int | None, message: str) -> SpecError:
        at = f"{self.source}:{line}" if line else self.source
        return SpecError(f"{at}: {message}")


def _seeds(node: _Node, where: _Where) -> list[int]:
    value = node.value
    if isinstance(value, bool):
        raise where.error(node.line, f"'seeds' must be a count or a list of seeds, not {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise where.error(node.line, f"'seeds' must be at least 1 (got {value})")
        return list(range(value))
    if isinstance(value, list):
        if not value:
            raise where.error(node.line, "'seeds' is an empty list")
        seeds = []
        for item in value:
            if isinstance(item.value, bool) or not isinstance(item.value, int) or item.value < 0:
                raise where.error(item.line, f"a seed must be an integer >= 0 (got {item.value!r})")
            seeds.append(item.value)
        return seeds
    raise where.error(node.line, f"'seeds' must be a count or a list of seeds, not {value!r}")


def _mapping(node: _Node, name: str, where: _Where) -> dict[str, _Node]:
    if node.value is None:
        return {}
    if not isinstance(node.value, dict):
        raise where.error(node.line, f"'{name}' must be a mapping of key: value")
    return dict(node.value)


def _expand_group(group: _Node, index: int, where: _Where) -> list[SweepConfig]:
    from neuroplastic.sweep.execute import prepare

    if not isinstance(group.value, dict):
        raise where.error(group.line, f"runs[{index}] must be a mapping with 'run:'")
    body: dict[str, _Node] = group.value
    for key, node in body.items():
        if key not in GROUP_KEYS:
            raise where.error(
                node.line, f"unknown key {key!r} (a group has: {', '.join(GROUP_KEYS)})"
            )
    if "run" not in body:
        raise where.error(group.line, "a group needs 'run:' (a method or named experiment)")
    run_node = body["run"]
    if not isinstance(run_node.value, str) or not run_node.value:
        raise where.error(run_node.line, "'run' must be a method or experiment name")
    seeds = _seeds(body["seeds"], where) if "seeds" in body else [0]
    fixed = _mapping(body.get("set", _Node(None, group.line)), "set", where)
    grid = _mapping(body.get("grid", _Node(None, group.line)), "grid", where)
    lines: dict[str, int] = {}
    axes: list[tuple[str, list[_Node]]] = []
    for key, node in fixed.items():
        lines[key] = node.line
    for key, node in grid.items():
        if key in fixed:
            raise where.error(node.line, f"grid key {key!r} is also under 'set'")
        values = node.value if isinstance(node.value, list) else [node]
        if not values:
            raise where.error(node.line, f"grid key {key!r} has no values (empty grid)")
        if any(isinstance(v.value, (dict, list)) for v in values):
            raise where.error(node.line, f"grid key {key!r}: values must be plain scalars")
        lines[key] = node.line
        axes.append((key, values))
    if "grid" in body and not grid:
        raise where.error(body["grid"].line, "the grid is empty")
    base = {key: _strip(node) for key, node in fixed.items()}
    configs: list[SweepConfig] = []
    size = len(seeds)
    for _, values in axes:
        size *= len(values)
    if size > MAX_CONFIGS:
        raise where.error(group.line, f"{size} configurations (more than {MAX_CONFIGS})")
    for combo in itertools.product(*(values for _, values in axes)):
        params = dict(base)
        value_lines = {}
        for (key, _), node in zip(axes, combo, strict=True):
            params[key] = node.value
            value_lines[key] = node.line
        for seed in seeds:
            config = SweepConfig(run_node.value, seed, params)
            try:
                prepare(config)
            except ParameterError as exc:
                bad = _key_named(str(exc), params)
                line = (value_lines.get(bad) or lines.get(bad)) if bad else run_node.line
                prefix = f"key {bad!r}: " if bad else ""
                raise where.error(line, f"{prefix}{exc}") from None
            configs.append(config)
    return configs


def _key_named(message: str, params: Mapping[str, Any]) -> str | None:
    """The parameter key an error message names (the longest one found), or None."""
    named = [key for key in params if f"'{key}'" in message or f"--{key}" in message]
    return max(named, key=len) if named else None


def _expand(root: _Node, source: str, default_id: str) -> Sweep:
    where = _Where(source)
    if not isinstance(root.value, dict):
        raise where.error(root.line, "a sweep spec is a mapping (run:/grid: or runs:)")
    top: dict[str, _Node] = root.value
    allowed = TOP_KEYS + GROUP_KEYS
    for key, node in top.items():
        if key not in allowed:
            raise where.error(node.line, f"unknown key {key!r} (allowed: {', '.join(allowed)})")
    if "runs" in top:
        extra = [k for k in GROUP_KEYS if k in top]
        if extra:
            raise where.error(top[extra[0]].line, f"{extra[0]!r} goes inside a group of 'runs:'")
        groups = top["runs"].value
        if not isinstance(groups, list) or not groups:
            raise where.error(top["runs"].line, "'runs' must be a non-empty list of groups")
    else:
        group_body = {k: v for k, v in top.items() if k in GROUP_KEYS}
        groups = [_Node(group_body, root.line)]
    sweep_id = default_id
    if "name" in top:
        name = top["name"].value
        if not isinstance(name, (str, int)) or not str(name).strip() or len(str(name)) > 128:
            raise where.error(top["name"].line, "'name' must be a short text (the sweep id)")
        sweep_id = str(name).strip()
    retries = 1
    if "retries" in top:
        value = top["retries"].value
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise where.error(top["retries"].line, f"'retries' must be 0..100 (got {value!r})")
        retries = value
    configs: list[SweepConfig] = []
    seen: set[str] = set()
    for index, group in enumerate(groups):
        for config in _expand_group(group, index, where):
            ident = json.dumps(config.as_dict(), sort_keys=True, default=str)
            if ident not in seen:  # the same configuration in two groups runs once
                seen.add(ident)
                configs.append(config)
    return Sweep(sweep_id, retries, configs, _strip(root))


def load_spec(path: str | Path) -> Sweep:
    """Read, expand and validate a YAML spec file; :class:`SpecError` names file, line and key."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the sweep spec ({exc.strerror})") from None
    try:
        composed = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{path}{line}: not valid YAML: {problem}") from None
    if composed is None:
        raise SpecError(f"{path}: the sweep spec is empty")
    return _expand(_plain(composed), str(path), path.stem)


def _grid_value(text: str) -> Any:
    """A ``--grid`` value as YAML would read it (``64`` → 64, ``true`` → True, else text)."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, str, bool)) or value is None else text


def grid_sweep(
    run: str,
    grid: Sequence[str],
    seeds: int,
    fixed: Sequence[str] = (),
    name: str | None = None,
    retries: int = 1,
) -> Sweep:
    """A sweep from the command line: ``--grid key=v1,v2`` (repeatable), ``--seeds``, ``--set``."""
    spec: dict[str, Any] = {"run": run, "seeds": seeds, "retries": retries}
    axes: dict[str, list[Any]] = {}
    for item in grid:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SpecError(f"--grid expects key=v1,v2 (got {item!r})")
        parts = [v.strip() for v in values.split(",") if v.strip()]
        if not parts:
            raise SpecError(f"--grid {key}: no values (empty grid)")
        axes[key] = [_grid_value(v) for v in parts]
    sets: dict[str, Any] = {}
    for item in fixed:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"--set expects key=value (got {item!r})")
        sets[key.strip()] = _grid_value(value.strip())
    if axes:
        spec["grid"] = axes
    if sets:
        spec["set"] = sets
    default_id = (
        name
        or "grid-"
        + hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:10]
    )
    if name:
        spec["name"] = name
    return _expand(_to_nodes(spec), "--grid", default_id)


def _to_nodes(value: Any) -> _Node:
    """A plain value as a _Node tree without line numbers (command-line specs)."""
    if isinstance(value, dict):
        return _Node({k: _to_nodes(v) for k, v in value.items()}, 0)
    if isinstance(value, list):
        return _Node([_to_nodes(v) for v in value], 0)
    return _Node(value, 0)
