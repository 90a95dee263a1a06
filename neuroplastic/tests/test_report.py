"""Result tables fit the terminal; plots tell the methods apart."""

from __future__ import annotations

import pytest
from rich.console import Console

from neuroplastic.report import results_table
from neuroplastic.results import ResultRecord


def record(method: str, acc: float, nonsilent: int, m1: float, **extra: object) -> ResultRecord:
    fields: dict[str, object] = {
        "method": method,
        "dataset": "mnist",
        "classes": list(range(10)),
        "architecture": "784-1000-10",
        "seed": 0,
        "device": "cpu",
        "test_accuracy": acc,
        "synapses_dense": 795_010,
        "synapses_total": 795_010,
        "synapses_nonsilent": nonsilent,
        "ledger": {"m0": 6.37e9, "m1": m1, "m1_min": m1 / 10},
        "synops_per_sample": 1.55e5,
        "wall_s": 70.3,
        "samples_seen": 1_100_000,
    }
    fields.update(extra)
    return ResultRecord.model_validate(fields)


COMPARISON = [
    record("backprop", 0.9835, 795_010, 5.42e5),
    record("random-projection", 0.9273, 795_010, 9.61e3),
    record("structural", 0.9376, 61_000, 2.1e3),
]


def render(table: object, width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


@pytest.mark.parametrize("records", [COMPARISON[:1], COMPARISON[:2], COMPARISON])
@pytest.mark.parametrize("width", [80, 60])
def test_table_fits_the_terminal_without_cutting_a_value(records, width):
    text = render(results_table(records, width=width), width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text  # rich cuts a value it cannot fit with an ellipsis
    for rec in records:
        assert rec.method in text  # names are whole, never wrapped into pieces
        assert f"{rec.test_accuracy:.2%}" in text
        assert f"{rec.synapses_nonsilent:,}" in text


def test_wide_terminal_keeps_the_full_table():
    text = render(results_table(COMPARISON, width=250), 250)
    for header in ("arch", "M0 writes", "M1 Σ|Δw|", "SynOps/sample", "samples", "device"):
        assert header in text


def test_a_long_restricted_method_name_still_fits():
    rec = record("backprop", 0.97, 795_010, 1e4, restriction="top p=0.1", cache="tau=none")
    text = render(results_table([rec, COMPARISON[1]], width=80), 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text


def test_synapse_panel_separates_equal_sized_methods_and_labels_points():
    from neuroplastic.report import comparison_figure

    backprop = record("backprop", 0.9835, 795_010, 5.42e5, ledger={"m1": 5.42e5, "m0_min": 795_010})
    projection = record(
        "random-projection", 0.9273, 795_010, 9.61e3, ledger={"m1": 9.61e3, "m0_min": 10_010}
    )
    fig = comparison_figure([backprop, projection])
    ax_syn = fig.axes[0]
    points = {}
    for collection, label in zip(*ax_syn.get_legend_handles_labels(), strict=True):
        points[label] = (tuple(collection.get_offsets()[0]), collection.get_paths()[0])
    assert points["backprop"][0] != points["random-projection"][0]  # not on one spot
    assert points["backprop"][0][0] == 795_010 and points["random-projection"][0][0] == 10_010
    texts = {t.get_text() for t in ax_syn.texts}
    assert {"backprop", "random-projection"} <= texts  # every point is labelled
    markers = [c.get_paths()[0].vertices.tobytes() for c in ax_syn.get_legend_handles_labels()[0]]
    assert len(set(markers)) == 2  # and has its own marker
