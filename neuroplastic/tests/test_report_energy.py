"""Tables and plots show counted, estimated and measured energy, each labelled with its method."""

from __future__ import annotations

import pytest
from rich.console import Console

from neuroplastic.energy.joules import energy_report
from neuroplastic.energy.meter import MeasuredEnergy, WindowEnergy
from neuroplastic.energy.models import resolve_models
from neuroplastic.energy.synops import SynOps
from neuroplastic.report import comparison_figure, results_table
from neuroplastic.results import ResultRecord

UNAVAILABLE = MeasuredEnergy(status="unavailable", method="none", reason="no RAPL here")
MEASURED = MeasuredEnergy(
    status="measured",
    method="fake",
    windows={"train": WindowEnergy(seconds=3.0, joules=42.5, parts={"gpu:0": 42.5})},
)


def record(method: str, m0: float, measured: MeasuredEnergy) -> ResultRecord:
    synops = SynOps(dense=1000.0, effective=400.0, samples=10)
    energy = energy_report(m0, 5.0, synops, resolve_models("cmos45,loihi"), measured)
    return ResultRecord.model_validate(
        {
            "method": method,
            "dataset": "mnist",
            "classes": list(range(10)),
            "architecture": "784-10",
            "seed": 0,
            "device": "cpu",
            "test_accuracy": 0.9,
            "synapses_dense": 7850,
            "synapses_total": 7850,
            "synapses_nonsilent": 7850,
            "ledger": {"m0": m0, "m1": 5.0},
            "synops_per_sample": 400.0,
            "wall_s": 1.0,
            "samples_seen": 100,
            "energy": energy.model_dump(),
        }
    )


def render(table: object, width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_wide_table_labels_every_energy_column_with_its_method():
    recs = [record("backprop", 1e6, MEASURED), record("hebb", 1e3, UNAVAILABLE)]
    text = render(results_table(recs, width=400), 400)
    for header in (
        "learn J est. cmos45",
        "infer J/sample est. cmos45",
        "learn J est. loihi",
        "train J measured",
        "M0 writes",  # counted
    ):
        assert header in text
    assert "9e-07" in text  # 1e6 writes × 0.9 pJ = 9e-7 J (cmos45)
    assert "0.00012" in text  # 1e6 × 120 pJ (loihi)
    assert "42.5" in text and "unavailable" in text  # measured, and the one without a meter


@pytest.mark.parametrize("width", [80, 120])
def test_narrow_table_keeps_the_labels_and_fits(width):
    recs = [record("backprop", 1e6, UNAVAILABLE), record("hebb", 1e3, UNAVAILABLE)]
    text = render(results_table(recs, width=width), width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "unavailable" in text  # an all-unavailable column moves to the title, still said
    assert "est." in text


def test_loihi_inference_of_real_valued_inputs_is_absent_not_zero():
    rec = record("backprop", 1e6, UNAVAILABLE)
    loihi = rec.energy.estimate_named("loihi")
    assert loihi.inference_j_per_sample is None and loihi.missing


def test_plot_has_a_joules_panel_with_estimated_and_measured_points():
    recs = [record("backprop", 1e6, MEASURED), record("hebb", 1e3, UNAVAILABLE)]
    fig = comparison_figure(recs)
    assert len(fig.axes) == 3
    ax = fig.axes[2]
    assert "estimated, cmos45" in ax.get_xlabel() and "measured" in ax.get_xlabel()
    offsets = [tuple(c.get_offsets()[0]) for c in ax.collections]
    assert (pytest.approx(9e-7), 90.0) in offsets  # estimated, backprop
    assert (42.5, 90.0) in offsets  # measured, backprop
    fig_none = comparison_figure([record("hebb", 1e3, UNAVAILABLE)])
    assert "unavailable" in fig_none.axes[2].get_title()
