"""Parameter sets in the run store: save, list, load, clone, delete, export and import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuroplastic.errors import NeuroplasticError
from neuroplastic.simulator.paramsets import ParameterSetError, ParameterSets
from neuroplastic.simulator.tests.conftest import Toy
from neuroplastic.store import RunStore


def _check(simulation: str, params: dict) -> None:
    if simulation == "toy":
        Toy().check_values(params)


@pytest.fixture
def sets(tmp_path: Path):
    with RunStore(tmp_path / "store.sqlite") as store:
        yield ParameterSets(store, check=_check)


def test_save_list_get_clone_delete(sets: ParameterSets) -> None:
    values = Toy().parameter_values()
    saved = sets.save("toy", "first", values, "a comment", 4)
    assert saved.grade == 4 and saved.comment == "a comment" and saved.params == values
    assert saved.created_at == saved.modified_at
    values["params"]["rate"] = 0.25
    updated = sets.save("toy", "first", values, "changed")
    assert updated.params["params"]["rate"] == 0.25 and updated.created_at == saved.created_at
    assert updated.modified_at >= saved.modified_at
    sets.clone("toy", "first", "second")
    assert next(s.name for s in sets.list("toy")) in {"first", "second"}
    assert {s.name for s in sets.list("toy")} == {"first", "second"}
    with pytest.raises(ParameterSetError, match="exists already"):
        sets.clone("toy", "first", "second")
    sets.delete("toy", "first")
    with pytest.raises(ParameterSetError, match="no parameter set 'first'"):
        sets.get("toy", "first")
    with pytest.raises(ParameterSetError, match="no parameter set"):
        sets.delete("toy", "first")


def test_names_are_data_not_sql_or_paths(sets: ParameterSets) -> None:
    name = "x'); DROP TABLE runs; -- ../../etc/passwd"
    sets.save("toy", name, Toy().parameter_values())
    assert sets.get("toy", name).name == name
    assert sets.store.count_runs() == 0  # runs table still there


def test_bad_names_grades_and_values_are_refused(sets: ParameterSets) -> None:
    values = Toy().parameter_values()
    with pytest.raises(ParameterSetError, match="non-empty name"):
        sets.save("toy", "  ", values)
    with pytest.raises(ParameterSetError, match="grade"):
        sets.save("toy", "g", values, grade=9)
    bad = json.loads(json.dumps(values))
    bad["params"]["rate"] = 5
    with pytest.raises(NeuroplasticError, match="'rate'"):
        sets.save("toy", "bad", bad)
    assert sets.list() == []


def test_export_then_import_into_another_store(sets: ParameterSets, tmp_path: Path) -> None:
    sets.save("toy", "one", Toy().parameter_values(), "c1", 2)
    sets.save("toy", "two", Toy().parameter_values(), "c2")
    path = tmp_path / "sets.json"
    assert sets.export(path, "toy") == 2
    with RunStore(tmp_path / "other.sqlite") as other:
        target = ParameterSets(other, check=_check)
        assert sorted(target.import_file(path)) == ["one", "two"]
        assert target.get("toy", "one").grade == 2
        with pytest.raises(ParameterSetError, match="exists already"):
            target.import_file(path)
        assert len(target.list()) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\xff not json", "not JSON"),
        (b'{"format": "something-else", "version": 1, "sets": []}', "not a neuroplastic"),
        (b'{"format": "neuroplastic-parameter-sets", "version": 99, "sets": []}', "version"),
        (b'{"format": "neuroplastic-parameter-sets", "version": 1, "sets": {}}', "must be a list"),
    ],
)
def test_corrupt_or_foreign_files_are_refused(
    sets: ParameterSets, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ParameterSetError, match=message):
        sets.import_file(path)
    assert sets.list() == []


def test_import_with_one_bad_set_changes_nothing(sets: ParameterSets) -> None:
    good = Toy().parameter_values()
    bad = json.loads(json.dumps(good))
    bad["params"]["size"] = -1
    doc = {
        "format": "neuroplastic-parameter-sets",
        "version": 1,
        "sets": [
            {"simulation": "toy", "name": "good", "params": good},
            {"simulation": "toy", "name": "bad", "params": bad},
        ],
    }
    with pytest.raises(ParameterSetError, match=r"set 2.*'size'"):
        sets.import_bytes(json.dumps(doc).encode())
    assert sets.list() == []
