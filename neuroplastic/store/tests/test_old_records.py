"""Records written by the earlier, flat record layout stay readable.

The fixtures were written by neuroplastic 0.1.0+f893e32 (before the typed record):
``neuroplastic run backprop --quick --hidden 100``, ``run spiking-exact --quick`` and
``run backprop --quick --hidden 20 --cache --restrict top --p 0.5`` into a fresh
``NEUROPLASTIC_HOME``; ``records_v0.1.0.json`` holds the same three records as ``--json``
wrote them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from neuroplastic.results import ResultRecord, SpikingFields
from neuroplastic.store import RunStore

FIXTURES = Path(__file__).parent / "fixtures"
OLD_STORE = FIXTURES / "records_v0.1.0.sqlite"
OLD_JSON = FIXTURES / "records_v0.1.0.json"


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A copy of the stored fixture (opening a store may write to it)."""
    path = tmp_path / "runs.sqlite"
    shutil.copy(OLD_STORE, path)
    return path


def old_records() -> list[dict]:
    return json.loads(OLD_JSON.read_text())


@pytest.mark.parametrize("index", range(3))
def test_flat_record_reads_into_the_typed_record_with_the_same_numbers(index):
    flat = old_records()[index]
    rec = ResultRecord.model_validate(flat)
    for key in ("m0", "m1", "m2", "m0_min", "m1_min", "m1_inefficiency", "created", "pruned"):
        assert getattr(rec.ledger, key) == flat[key], key
    assert rec.ledger.m_alpha == flat["m_alpha"]
    assert rec.ledger.per_group.keys() == flat["ledger"]["per_group"].keys()
    for name, group in flat["ledger"]["per_group"].items():
        assert rec.ledger.per_group[name].model_dump() == group
    for name, phase in flat["ledger"]["per_phase"].items():
        assert rec.ledger.per_phase[name].model_dump() == phase
    # the totals the flat form did not store are the sums over its phases
    applies = sum(p["applies"] for p in flat["ledger"]["per_phase"].values())
    assert rec.ledger.applies == applies > 0
    if flat["cache"] is not None:
        assert rec.ledger.maintenance == flat["maintenance"] > 0
        assert rec.ledger.energy_total == flat["energy_total"]
    else:
        assert rec.ledger.maintenance == 0.0
        assert rec.ledger.energy_total == flat["m1"]
    if flat["spikes_per_hidden_neuron"] is None:
        assert rec.method_fields is None
    else:
        assert isinstance(rec.method_fields, SpikingFields)
        assert rec.method_fields.spikes_per_hidden_neuron == flat["spikes_per_hidden_neuron"]
        assert rec.method_fields.accuracy_no_pseudospikes == flat["accuracy_no_pseudospikes"]
    for key in ("test_accuracy", "synops_per_sample", "wall_s", "restriction", "cache"):
        assert getattr(rec, key) == flat[key]
    # and the typed record survives its own JSON round trip unchanged
    assert ResultRecord.model_validate_json(rec.model_dump_json()) == rec


def test_old_store_results_match_the_json_the_old_version_wrote(old_store):
    with RunStore(f"sqlite:///{old_store}") as store:
        runs = sorted(store.list_runs(limit=10), key=lambda r: r.id)
        assert [r.status for r in runs] == ["finished"] * 3
        for run, flat in zip(runs, old_records(), strict=True):
            stored = store.get_result(run.id)
            assert stored is not None
            rec = ResultRecord.model_validate(stored)
            assert rec.method == flat["method"] and rec.ledger.m1 == flat["m1"]
            assert rec.test_accuracy == flat["test_accuracy"]


def test_runs_show_and_list_read_the_old_store(cli, old_store):
    url = f"sqlite:///{old_store}"
    code, listing = cli("runs", "list", "--store", url)
    assert code == 0, listing
    assert listing.count("finished") == 3 and "spiking-exact" in listing
    for run_id, flat in enumerate(old_records(), start=1):
        code, shown = cli("runs", "show", str(run_id), "--store", url)
        assert code == 0, shown
        assert f"{100 * flat['test_accuracy']:.2f}%" in shown
        assert f"{flat['m1_min']:,.1f}" in shown  # the M1 min column
        assert flat["architecture"] in shown


def test_the_published_spiking_reproduction_record_reads():
    """The 100-epoch record kept under docs/ was written in the flat layout too."""
    path = Path(__file__).parents[3] / "docs" / "reproducing" / "data" / "spiking-seed0-e100.json"
    flat = json.loads(path.read_text())["record"]
    rec = ResultRecord.model_validate(flat)
    assert rec.ledger.m1 == flat["m1"] and rec.ledger.m0_min == flat["m0_min"]
    assert isinstance(rec.method_fields, SpikingFields)
    assert rec.method_fields.accuracy_no_pseudospikes == flat["accuracy_no_pseudospikes"]
