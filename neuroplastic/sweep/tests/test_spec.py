"""Sweep specs: expansion, and malformed specs rejected with file, line and key."""

from __future__ import annotations

import textwrap

import pytest

from neuroplastic.sweep.spec import SpecError, SweepConfig, config_key, grid_sweep, load_spec


def write(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_groups_expand_to_the_product_of_the_grid_times_the_seeds(tmp_path):
    spec = write(
        tmp_path,
        """
        name: demo
        retries: 2
        runs:
          - run: memory-capacity
            seeds: 2
            set: {queries: 20}
            grid:
              n: [64, 128]
              rule: [willshaw, bayes]
          - run: backprop
            seeds: [5]
            set: {quick: true, hidden: 50}
            grid: {lr: [0.1, 0.01]}
        """,
    )
    sweep = load_spec(spec)
    assert (sweep.id, sweep.retries) == ("demo", 2)
    labels = [c.label() for c in sweep.configs]
    assert len(labels) == 2 * 2 * 2 + 2 == len(set(labels))
    assert "memory-capacity n=128 queries=20 rule=bayes seed=1" in labels
    assert "backprop hidden=50 lr=0.01 quick=True seed=5" in labels


def test_the_sweep_id_defaults_to_the_file_name(tmp_path):
    path = tmp_path / "capacity.yaml"
    path.write_text("run: memory-capacity\ngrid: {n: [64]}\n")
    sweep = load_spec(path)
    assert sweep.id == "capacity" and sweep.configs == [
        SweepConfig("memory-capacity", 0, {"n": 64})
    ]


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("run: memory-capacity\nseeds: 2\nbogus: 1\n", ":3:", "unknown key 'bogus'"),
        ("run: no-such-method\nseeds: 1\n", ":1:", "unknown method or experiment 'no-such-method'"),
        ("run: memory-capacity\ngrid:\n  n: [64, 128]\n  rulez: [bayes]\n", ":4:", "'rulez'"),
        ("run: memory-capacity\ngrid:\n  n:\n    - 64\n    - 3\n", ":5:", "key 'n'"),
        ("run: memory-capacity\ngrid:\n  n: []\n", ":3:", "no values (empty grid)"),
        ("run: memory-capacity\ngrid: {}\n", ":2:", "the grid is empty"),
        ("run: backprop\nset: {lr: -1, quick: true}\n", ":2:", "'lr' must be greater than 0"),
        ("run: memory-capacity\nseeds: 0\n", ":2:", "'seeds' must be at least 1"),
        ("runs: []\n", ":1:", "'runs' must be a non-empty list"),
        ("run: memory-capacity\ngrid:\n  n: [64,\n", ":", "not valid YAML"),
        ("", "", "the sweep spec is empty"),
    ],
)
def test_a_malformed_spec_names_the_line_and_the_key(tmp_path, text, where, what):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"{path}{where}"), message
    assert what in message
    assert "\n" not in message


def test_grid_from_the_command_line():
    sweep = grid_sweep("memory-capacity", ["n=64,128", "rule=bayes"], 3, ["queries=20"])
    assert len(sweep.configs) == 6
    assert sweep.configs[0].params == {"queries": 20, "n": 64, "rule": "bayes"}
    assert sweep.id.startswith("grid-")
    assert (
        grid_sweep("memory-capacity", ["n=64,128", "rule=bayes"], 3, ["queries=20"]).id == sweep.id
    )
    with pytest.raises(SpecError, match="--grid n: no values"):
        grid_sweep("memory-capacity", ["n="], 1)
    with pytest.raises(SpecError, match="key 'lr': backprop: parameter 'lr'"):
        grid_sweep("backprop", ["lr=-1,0.1"], 1)


def test_the_key_depends_on_configuration_and_code_version_only():
    a = SweepConfig("backprop", 0, {"lr": 0.1, "quick": True})
    b = SweepConfig("backprop", 0, {"quick": True, "lr": 0.1})
    assert config_key(a, "v1") == config_key(b, "v1")
    assert config_key(a, "v1") != config_key(a, "v2")
    assert config_key(a, "v1") != config_key(SweepConfig("backprop", 1, a.params), "v1")


@pytest.mark.parametrize(
    ("name", "sweep_id", "count"),
    [
        ("energy_savings.yaml", "energy-savings", 174),
        ("equal_budget_structural.yaml", "equal-budget-structural", 36),
    ],
)
def test_the_shipped_specs_validate(name, sweep_id, count):
    """The savings table (58 configurations x 3 seeds) and the equal-budget contest (12 x 3)."""
    from pathlib import Path

    sweep = load_spec(Path(__file__).parents[3] / "sweeps" / name)
    assert (sweep.id, len(sweep.configs)) == (sweep_id, count)
