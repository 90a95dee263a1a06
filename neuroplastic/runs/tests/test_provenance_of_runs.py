"""Every method run records its provenance in the record, the stored result and the JSON."""

from __future__ import annotations

import json
import platform
import socket
import sys
from datetime import datetime, timezone

import numpy
import torch

from neuroplastic.results import ResultRecord, write_records
from neuroplastic.runs import run_method
from neuroplastic.version import code_version


def test_record_store_and_json_carry_the_provenance(toy_data, toy_exp, store, tmp_path):
    before = datetime.now(timezone.utc)
    record = run_method("backprop", {"epochs": 2, "batch_size": 20}, toy_exp, store, data=toy_data)
    after = datetime.now(timezone.utc)
    prov = record.provenance
    assert prov is not None
    assert prov.code_version == code_version().label and prov.code_version.startswith("0")
    assert prov.code_dirty in (True, False, None)
    assert prov.python == platform.python_version()
    assert prov.torch == torch.__version__ and prov.numpy == numpy.__version__
    assert prov.device == "cpu" and prov.threads == torch.get_num_threads() >= 1
    assert prov.host == socket.gethostname()
    assert prov.command == sys.argv and prov.seed == toy_exp.seed == record.seed
    assert prov.ended_at is not None
    assert before <= prov.started_at <= prov.ended_at <= after
    assert prov.resumed_at is None

    # the stored result holds it too, with the zone written out, and the run row agrees
    assert record.run_id is not None
    stored = store.get_result(record.run_id)
    assert stored is not None
    assert stored["provenance"]["started_at"].endswith("+00:00")
    assert stored["provenance"]["ended_at"].endswith("+00:00")
    assert ResultRecord.model_validate(stored).provenance == prov
    run = store.get_run(record.run_id)
    assert run.started_at == prov.started_at and run.ended_at == prov.ended_at

    # and so does the --json export
    out = tmp_path / "records.json"
    write_records(out, [record])
    (written,) = json.loads(out.read_text())
    assert written["provenance"]["code_version"] == prov.code_version
    assert written["provenance"]["command"] == sys.argv
    assert datetime.fromisoformat(written["provenance"]["ended_at"]) == prov.ended_at
