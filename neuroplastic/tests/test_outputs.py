"""--json and --plot destinations are checked before training; a late failure says where the
results are kept and leaves no temporary file."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from neuroplastic.errors import OutputError
from neuroplastic.outputs import Destination, check_output_file, export_records, kept_in_store
from neuroplastic.results import ResultRecord, write_records

FIXTURE_JSON = Path(__file__).parents[1] / "store" / "tests" / "fixtures" / "records_v0.1.0.json"


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Path:
    """A folder no file can be created in (root ignores permission bits: /sys then)."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    folder = Path("/sys")
    try:
        (folder / ".np-probe").touch()
    except OSError:
        return folder
    pytest.skip("no read-only folder available to root here")


def test_an_existing_directory_is_refused(tmp_path):
    with pytest.raises(OutputError, match="is a directory; give a file name") as caught:
        check_output_file(tmp_path, "--json")
    assert str(caught.value).startswith(f"--json {tmp_path} ")


def test_a_read_only_folder_is_refused(read_only_dir):
    with pytest.raises(OutputError, match="cannot write in") as caught:
        check_output_file(read_only_dir / "out.json", "--json")
    assert "\n" not in str(caught.value) and "--json" in str(caught.value)


def test_a_parent_that_is_a_file_and_a_device_are_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is not a directory"):
        check_output_file(tmp_path / "file" / "out.json", "--json")
    with pytest.raises(OutputError, match="not a regular file"):
        check_output_file(Path(os.devnull), "--json")


def test_a_missing_parent_is_fine_and_nothing_is_created(tmp_path):
    target = tmp_path / "new" / "deeper" / "out.json"
    check_output_file(target, "--json")
    check_output_file(tmp_path / "existing.json", "--json")
    assert list(tmp_path.iterdir()) == []  # the probe file is gone, no folder made


def test_a_plot_format_matplotlib_cannot_write_is_refused(tmp_path):
    check_output_file(tmp_path / "plot.png", "--plot", plot=True)
    check_output_file(tmp_path / "plot.PDF", "--plot", plot=True)
    with pytest.raises(OutputError, match=r"cannot write a plot as 'xyz'.*png"):
        check_output_file(tmp_path / "plot.xyz", "--plot", plot=True)


def test_a_late_failure_names_the_store_and_runs_and_leaves_no_tmp(tmp_path):
    records = [ResultRecord.model_validate(r) for r in json.loads(FIXTURE_JSON.read_text())]
    for i, rec in enumerate(records, start=4):
        rec.run_id = i
    target = tmp_path / "out.json"
    check_output_file(target, "--json")
    target.mkdir()  # it became a directory while the runs trained
    said: list[str] = []
    good = tmp_path / "good.json"
    with pytest.raises(OutputError) as caught:
        export_records(
            [
                Destination("--json", target, "records", lambda p: write_records(p, records)),
                Destination("--plot", good, "copy", lambda p: write_records(p, records)),
            ],
            kept_in_store("sqlite:///s.sqlite", [r.run_id for r in records]),
            said.append,
        )
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"cannot write --json {target} (")
    assert "kept in the store sqlite:///s.sqlite as runs 4, 5, 6" in message
    assert "neuroplastic runs show 4" in message
    assert said == [f"copy written to {good}"]  # the other destination was still written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.json", "out.json"]
    assert list(target.iterdir()) == []


def test_cli_refuses_bad_destinations_before_training(cli, tmp_path):
    home_store = tmp_path / "home" / "runs.sqlite"
    for args in (
        ["run", "backprop", "--quick", "--json", str(tmp_path)],
        ["compare", "--quick", "--methods", "backprop", "--plot", str(tmp_path / "p.xyz")],
        ["continual", "--quick", "--json", str(tmp_path)],
        ["run", "memory-capacity", "--quick", "--json", str(tmp_path)],
    ):
        code, out = cli(*args)
        assert code == 2, out
        assert out.startswith("error: --") and out.count("\n") == 1, out
    assert not home_store.exists()  # nothing was trained or recorded


@pytest.mark.mnist
def test_a_json_that_fails_after_training_keeps_the_run_in_the_store(
    run_main, tmp_path, monkeypatch
):
    def disk_full(path: Path, records: list[ResultRecord]) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("neuroplastic.results.write_records", disk_full)
    out = tmp_path / "out.json"
    code, _, stderr = run_main(
        "run", "backprop", "--quick", "--hidden", "20", "--no-progress", "--json", str(out)
    )
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and "No space left on device" in stderr
    assert "kept in the store" in stderr and "as run 1" in stderr
    code, shown, _ = run_main("runs", "show", "1")
    assert code == 0 and '"status": "finished"' in shown
