"""--energy-model and --meter at the command line: bad input fails at once, in one line;
the table labels counted, estimated and measured columns."""

from __future__ import annotations

import json

import pytest

from neuroplastic.cli_options import ENERGY_MODEL


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--energy-model", "tpu9"], "unknown energy model 'tpu9'"),
        (["--energy-model", "cmos45,tpu9"], "unknown energy model 'tpu9'"),
        (["--meter", "rapl"], "--meter must be auto or off (got 'rapl')"),
    ],
)
@pytest.mark.parametrize("command", ["run backprop", "compare"])
def test_bad_energy_options_fail_before_training(cli, command, args, expected):
    code, out = cli(*command.split(), *args)
    assert code == 2
    assert expected in out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1


def test_malformed_table_file_fails_naming_file_and_field(cli, tmp_path):
    table = tmp_path / "chip.json"
    table.write_text(json.dumps({"source": "s", "mac_pj": "lots", "ac_pj": 1, "write_pj": 1}))
    code, out = cli("run", "backprop", "--energy-model", str(table))
    assert code == 2
    assert str(table) in out and "field 'mac_pj'" in out
    assert len(out.strip().splitlines()) == 1


def test_default_energy_model_matches_the_library():
    from neuroplastic.energy.models import DEFAULT_MODEL

    assert ENERGY_MODEL.default == DEFAULT_MODEL


@pytest.mark.mnist
def test_run_prints_labelled_energy_columns_and_records_them(run_main, tmp_path):
    out_json = tmp_path / "r.json"
    code, out, err = run_main(
        "run",
        "random-projection",
        "--quick",
        "--no-progress",
        "--energy-model",
        "cmos45,loihi",
        "--json",
        str(out_json),
    )
    assert code == 0, err
    for model in ("cmos45", "loihi"):  # full or compact headers, each naming its method
        assert f"learn J est. {model}" in out or f"est. J learn {model}" in out
    assert "train J measured" in out or "meas. J train" in out
    (record,) = json.loads(out_json.read_text())
    energy = record["energy"]
    assert [e["model"] for e in energy["estimated"]] == ["cmos45", "loihi"]
    assert energy["counted"]["method"] == "counted"
    assert energy["estimated"][0]["method"] == "estimated"
    assert energy["measured"]["status"] in ("measured", "unavailable")
    if energy["measured"]["status"] == "unavailable":
        assert energy["measured"]["reason"]
        assert "unavailable" in out
