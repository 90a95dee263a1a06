"""Energy tables turn counts into joules exactly as computed by hand; bad tables fail at once."""

from __future__ import annotations

import json

import pytest
import torch

from neuroplastic.energy.models import (
    BUILTIN_TABLES,
    DEFAULT_MODEL,
    EnergyTable,
    InferenceOps,
    estimate,
    resolve_model,
    resolve_models,
)
from neuroplastic.energy.synops import measure_synops
from neuroplastic.errors import ParameterError
from neuroplastic.models import MLP


def test_builtin_values_are_the_cited_ones():
    cmos = BUILTIN_TABLES["cmos45"]
    assert (cmos.mac_pj, cmos.ac_pj, cmos.write_pj) == (4.6, 0.9, 0.9)  # 3.7 + 0.9; 0.9; 0.9
    sram = BUILTIN_TABLES["cmos45-sram"]
    assert (sram.mac_pj, sram.ac_pj, sram.write_pj) == (9.6, 5.9, 10.9)  # + 5; + 5; + 2 × 5
    dram = BUILTIN_TABLES["cmos45-dram"]
    assert (dram.mac_pj, dram.ac_pj, dram.write_pj) == (644.6, 640.9, 1280.9)
    loihi = BUILTIN_TABLES["loihi"]
    assert (loihi.mac_pj, loihi.ac_pj, loihi.write_pj) == (None, 23.6, 120.0)
    for table in BUILTIN_TABLES.values():
        assert table.source and table.notes  # every table says where its values come from
    assert DEFAULT_MODEL in BUILTIN_TABLES


def test_estimate_reproduces_a_hand_computed_example():
    # 1,000 writes, Σ|Δw| = 2.5; per sample 100 effective MACs + 40 effective ACs,
    # 300 dense MACs + 60 dense ACs.
    ops = InferenceOps(dense_mac=300, dense_ac=60, effective_mac=100, effective_ac=40)
    table = EnergyTable(
        name="hand", source="test", mac_pj=2.0, ac_pj=0.5, write_pj=10.0, abs_dw_pj=4.0
    )
    est = estimate(table, m0=1000, m1=2.5, ops=ops)
    # learning: 1000 × 10 pJ + 2.5 × 4 pJ = 10,010 pJ
    assert est.learning_j == pytest.approx(10_010e-12, rel=1e-15)
    # inference (effective): 100 × 2 + 40 × 0.5 = 220 pJ; dense: 300 × 2 + 60 × 0.5 = 630 pJ
    assert est.inference_j_per_sample == pytest.approx(220e-12, rel=1e-15)
    assert est.inference_dense_j_per_sample == pytest.approx(630e-12, rel=1e-15)
    assert est.model == "hand" and est.source == "test" and est.method == "estimated"
    assert est.costs_pj == {"mac": 2.0, "ac": 0.5, "write": 10.0, "abs_dw": 4.0}
    assert est.missing == []


def test_estimate_of_a_real_network_by_hand():
    """A 3-2-1 MLP whose SynOps are known (test_synops), estimated with cmos45-sram."""
    model = MLP([3, 2, 1], ledger=None, generator=torch.Generator().manual_seed(0))
    model.layers[0].weight.w.data = torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    model.layers[0].bias.w.data = torch.tensor([0.0, 1.0])
    model.layers[1].weight.w.data = torch.tensor([[1.0, 1.0]])
    model.layers[1].bias.w.data = torch.tensor([0.5])
    # binary inputs: layer 1 is a spiking layer (ACs); its output relu([1,1]) / relu([3,4])
    # is not all in {0, 1}, so layer 2 is MACs... except sample 1 gives h = [1, 1].
    x = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    syn = measure_synops(model, x)
    # layer 1 (input binary -> AC): dense 8 per sample; effective (1 + 1) and (3 + 1) -> 6 / 2
    # layer 2 (h = [[1, 1], [3, 4]] not binary -> MAC): dense 3, effective (2 + 1) + (2 + 1)
    assert syn.dense_ac == 8 and syn.dense_mac == 3
    assert syn.effective_ac == 3 and syn.effective_mac == 3
    ops = InferenceOps(
        dense_mac=syn.dense_mac,
        dense_ac=syn.dense_ac,
        effective_mac=syn.effective_mac,
        effective_ac=syn.effective_ac,
    )
    est = estimate(BUILTIN_TABLES["cmos45-sram"], m0=7, m1=0.1, ops=ops)
    assert est.learning_j == pytest.approx(7 * 10.9e-12, rel=1e-12)
    assert est.inference_j_per_sample == pytest.approx((3 * 9.6 + 3 * 5.9) * 1e-12, rel=1e-12)
    assert est.inference_dense_j_per_sample == pytest.approx((3 * 9.6 + 8 * 5.9) * 1e-12)


def test_a_missing_cost_gives_no_figure_never_zero():
    ops = InferenceOps(dense_mac=10, effective_mac=5, dense_ac=4, effective_ac=2)
    est = estimate(BUILTIN_TABLES["loihi"], m0=3, m1=1.0, ops=ops)
    assert est.learning_j == pytest.approx(3 * 120e-12)
    assert est.inference_j_per_sample is None and est.inference_dense_j_per_sample is None
    assert any("MAC" in m for m in est.missing)
    # spikes only: Loihi has a cost for every operation
    spikes = InferenceOps(dense_ac=4, effective_ac=2)
    est = estimate(BUILTIN_TABLES["loihi"], m0=0, m1=0.0, ops=spikes)
    assert est.inference_j_per_sample == pytest.approx(2 * 23.6e-12)
    assert est.learning_j == 0.0  # nothing written: zero writes cost nothing, by count
    assert estimate(BUILTIN_TABLES["loihi"], m0=1, m1=1, ops=None).inference_j_per_sample is None


def test_unknown_model_fails_naming_it():
    with pytest.raises(ParameterError, match=r"unknown energy model 'tpu9'.*cmos45-sram"):
        resolve_model("tpu9")
    with pytest.raises(ParameterError, match="no model given"):
        resolve_models(" , ")
    assert [t.name for t in resolve_models("cmos45,loihi")] == ["cmos45", "loihi"]


def test_user_table_from_yaml_and_json(tmp_path):
    path = tmp_path / "chip.yaml"
    path.write_text("source: datasheet p. 3\nmac_pj: 1.5\nac_pj: 0.25\nwrite_pj: 2\n")
    table = resolve_model(str(path))
    assert table.name == "chip" and table.mac_pj == 1.5 and table.abs_dw_pj is None
    jpath = tmp_path / "chip2.json"
    jpath.write_text(
        json.dumps(
            {"name": "x", "source": "s", "mac_pj": 1, "ac_pj": 1, "write_pj": 1, "abs_dw_pj": 0.5}
        )
    )
    assert resolve_model(str(jpath)).abs_dw_pj == 0.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "source: s\nmac_pj: -1\nac_pj: 1\nwrite_pj: 1\n",
            "field 'mac_pj'.*greater than or equal to 0.*-1",
        ),
        ("source: s\nac_pj: 1\nwrite_pj: 1\n", "field 'mac_pj': Field required"),
        ("source: s\nmac_pj: 1\nac_pj: 1\nwrite_pj: 1\nwatts: 3\n", "field 'watts'"),
        ("source: s\nmac_pj: .nan\nac_pj: 1\nwrite_pj: 1\n", "field 'mac_pj'.*got nan"),
        ("source: s\nmac_pj: .inf\nac_pj: 1\nwrite_pj: 1\n", "field 'mac_pj'.*finite"),
        ("source: s\nmac_pj: abc\nac_pj: 1\nwrite_pj: 1\n", "field 'mac_pj'.*number"),
        ("- 1\n- 2\n", "expected a mapping"),
        ("mac_pj: [1\n", "not valid .yaml"),
    ],
)
def test_malformed_table_fails_in_one_line_naming_file_and_field(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ParameterError, match=message) as info:
        resolve_model(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_table_file_is_named(tmp_path):
    with pytest.raises(ParameterError, match="cannot read the table"):
        resolve_model(str(tmp_path / "nope.json"))


def test_the_readme_table_example_loads(tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    example = re.search(r"```yaml\n(# my-chip\.yaml.*?)```", readme, re.S)
    assert example is not None
    path = tmp_path / "my-chip.yaml"
    path.write_text(example.group(1))
    table = resolve_model(str(path))
    assert (table.name, table.mac_pj, table.ac_pj, table.write_pj) == ("my-chip", 1.5, 0.25, 2.0)
