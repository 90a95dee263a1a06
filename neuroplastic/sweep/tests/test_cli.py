"""The sweep commands without a Ray cluster: validation, bad stores, exports and compare."""

from __future__ import annotations

import csv

from neuroplastic.store.sweeps import SweepStore
from neuroplastic.sweep.driver import prepare_entries
from neuroplastic.sweep.spec import grid_sweep
from neuroplastic.sweep.worker import SweepWorker


def test_dry_run_lists_the_configurations_and_schedules_nothing(cli, tmp_path):
    store = tmp_path / "s.sqlite"
    code, out = cli(
        "sweep",
        "--run",
        "memory-capacity",
        "--grid",
        "n=64,128",
        "--seeds",
        "2",
        "--dry-run",
        "--store",
        str(store),
    )
    assert code == 0, out
    assert "memory-capacity n=128 seed=1" in out and "4 configurations (nothing run)" in out
    assert not store.exists()


def test_a_bad_spec_is_one_line_naming_line_and_key(cli, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("run: memory-capacity\ngrid:\n  n: [64, 2]\n")
    code, out = cli("sweep", str(spec), "--store", str(tmp_path / "s.sqlite"))
    assert code == 2
    assert out.strip().startswith(f"error: {spec}:3: key 'n'")
    assert out.strip().count("\n") == 0
    assert not (tmp_path / "s.sqlite").exists()  # rejected before anything was recorded


def test_an_unreachable_database_is_one_line_and_a_non_zero_exit(cli):
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    code, out = cli("sweep", "--run", "memory-capacity", "--grid", "n=64", "--store", url)
    assert code == 2
    assert out.strip().startswith("error: cannot open run store postgresql+psycopg://")
    assert out.strip().count("\n") == 0


def test_export_and_compare_from_the_command_line(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'done.sqlite'}"
    sweep = grid_sweep("memory-capacity", ["n=64,128"], 2, ["queries=20"], name="c")
    worker = SweepWorker(url)
    with SweepStore(url) as store:
        todo, _ = prepare_entries(sweep, store)
    for entry in todo:
        assert worker.run(entry.id, entry.config)["status"] == "finished"
    worker.close()
    code, out = cli(
        "runs", "export", "--sweep", "c", "--out", str(tmp_path / "c.csv"), "--store", url
    )
    assert code == 0, out
    with (tmp_path / "c.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 4
    code, out = cli(
        "runs",
        "export",
        "--sweep",
        "c",
        "--format",
        "tensorboard",
        "--out",
        str(tmp_path / "tb"),
        "--store",
        url,
    )
    assert code == 0 and "4 runs written" in out
    code, out = cli(
        "runs",
        "compare",
        "--sweep",
        "c",
        "--by",
        "n",
        "--store",
        url,
        "--plot",
        str(tmp_path / "c.png"),
        "--markdown",
        str(tmp_path / "c.md"),
    )
    assert code == 0, out
    table = (tmp_path / "c.md").read_text().splitlines()
    assert table[0] == "| n | result.capacity_patterns | result.capacity_bits_per_synapse | seeds |"
    assert [row.split(" | ")[0] for row in table[2:]] == ["| 64", "| 128"]
    assert (tmp_path / "c.png").stat().st_size > 1000
    code, out = cli("runs", "export", "--sweep", "c", "--format", "xls", "--store", url)
    assert code == 2 and "--format must be csv, parquet or tensorboard" in out
