"""Named parameter sets of the simulator, kept in the run store (table ``parameter_sets``).

A parameter set is one simulation's parameter values with a name, a comment, a grade
(0–5, optional), creation and modification times, and the run it came from if any. Sets are
saved, listed, loaded, cloned and deleted, and exported to / imported from JSON files::

    {"format": "neuroplastic-parameter-sets", "version": 1,
     "sets": [{"simulation": ..., "name": ..., "comment": ..., "grade": ...,
               "created": ISO time, "modified": ISO time, "params": {group: {name: value}}}]}

Names and comments are data: they are bound as SQL parameters and never become a path or a
statement. An import checks the whole file first (format, every set's values against the
simulation's parameter models where the simulation is known, no name taken) and writes all
sets in one transaction: a corrupt or foreign file is refused with one clear message and changes
nothing.
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from neuroplastic.errors import NeuroplasticError, ParameterError, StoreError
from neuroplastic.store import RunStore
from neuroplastic.store.schema import parameter_sets as table

__all__ = ["FILE_FORMAT", "ParameterSet", "ParameterSetError", "ParameterSets"]

FILE_FORMAT = "neuroplastic-parameter-sets"
FILE_VERSION = 1
MAX_NAME = 255
MAX_COMMENT = 10_000
MAX_FILE_BYTES = 10 * 1024 * 1024


class ParameterSetError(NeuroplasticError):
    """A parameter set is missing, misnamed, or a parameter file is corrupt or foreign."""


@dataclass(frozen=True)
class ParameterSet:
    """One stored parameter set."""

    id: int
    simulation: str
    name: str
    comment: str
    grade: int | None
    params: dict[str, Any]
    created_at: datetime
    modified_at: datetime
    source_run_id: int | None


Checker = Callable[[str, Mapping[str, Any]], None]
"""``check(simulation, params)`` raises NeuroplasticError if the values do not fit."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ParameterSetError("a parameter set needs a non-empty name")
    name = name.strip()
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise ParameterSetError(
            f"parameter set name must be at most {MAX_NAME} printable characters"
        )
    return name


def _check_comment(comment: Any) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise ParameterSetError(f"a comment must be text of at most {MAX_COMMENT} characters")
    return comment


def _check_grade(grade: Any) -> int | None:
    if grade is None:
        return None
    if isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= 5:
        raise ParameterSetError(f"grade must be an integer from 0 to 5 or empty (got {grade!r})")
    return grade


def _row(row: Any) -> ParameterSet:
    return ParameterSet(**dict(row._mapping))


class ParameterSets:
    """Parameter sets in a run store; ``check`` validates values before anything is written."""

    def __init__(self, store: RunStore, check: Checker | None = None) -> None:
        self.store = store
        self.check = check

    def _errors(self, action: str) -> Any:
        return self.store._errors(action)

    def _validate(self, simulation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(params, Mapping):
            raise ParameterSetError("parameter values must be a mapping of groups")
        try:
            json.dumps(params)
        except (TypeError, ValueError) as exc:
            raise ParameterSetError(f"parameter values are not JSON data: {exc}") from exc
        if self.check is not None:
            self.check(simulation, params)
        return dict(params)

    # ------------------------------------------------------------------ writing

    def save(
        self,
        simulation: str,
        name: str,
        params: Mapping[str, Any],
        comment: str = "",
        grade: int | None = None,
        *,
        overwrite: bool = True,
        source_run_id: int | None = None,
    ) -> ParameterSet:
        """Save (or, with ``overwrite``, update) the set ``name`` of ``simulation``."""
        name, comment, grade = _check_name(name), _check_comment(comment), _check_grade(grade)
        values = self._validate(simulation, params)
        now = _now()
        with self._errors(f"cannot save parameter set {name!r}"), self.store.engine.begin() as c:
            existing = c.execute(
                select(table.c.id).where(table.c.simulation == simulation, table.c.name == name)
            ).first()
            if existing is not None:
                if not overwrite:
                    raise ParameterSetError(
                        f"parameter set {name!r} of {simulation} exists already"
                    )
                c.execute(
                    update(table)
                    .where(table.c.id == existing[0])
                    .values(params=values, comment=comment, grade=grade, modified_at=now)
                )
            else:
                c.execute(
                    insert(table).values(
                        simulation=simulation,
                        name=name,
                        comment=comment,
                        grade=grade,
                        params=values,
                        created_at=now,
                        modified_at=now,
                        source_run_id=source_run_id,
                    )
                )
        return self.get(simulation, name)

    def clone(self, simulation: str, name: str, new_name: str) -> ParameterSet:
        """Copy set ``name`` to ``new_name`` (which must not exist)."""
        src = self.get(simulation, name)
        return self.save(
            simulation,
            new_name,
            src.params,
            src.comment,
            src.grade,
            overwrite=False,
            source_run_id=src.source_run_id,
        )

    def delete(self, simulation: str, name: str) -> None:
        """Delete set ``name``; ParameterSetError if there is none."""
        with self._errors(f"cannot delete parameter set {name!r}"), self.store.engine.begin() as c:
            done = c.execute(
                delete(table).where(table.c.simulation == simulation, table.c.name == name)
            )
        if done.rowcount == 0:
            raise ParameterSetError(f"no parameter set {name!r} of {simulation}")

    # ------------------------------------------------------------------ reading

    def get(self, simulation: str, name: str) -> ParameterSet:
        """The set ``name`` of ``simulation``; ParameterSetError if there is none."""
        with self._errors(f"cannot read parameter set {name!r}"), self.store.engine.connect() as c:
            row = c.execute(
                select(table).where(table.c.simulation == simulation, table.c.name == name)
            ).first()
        if row is None:
            raise ParameterSetError(f"no parameter set {name!r} of {simulation}")
        return _row(row)

    def list(self, simulation: str | None = None) -> builtins.list[ParameterSet]:
        """Every set (of one simulation), most recently modified first."""
        query = select(table).order_by(table.c.modified_at.desc(), table.c.id.desc())
        if simulation is not None:
            query = query.where(table.c.simulation == simulation)
        with self._errors("cannot list parameter sets"), self.store.engine.connect() as c:
            return [_row(r) for r in c.execute(query)]

    # ------------------------------------------------------------------ files

    def export(self, path: str | os.PathLike[str], simulation: str | None = None) -> int:
        """Write every set (of one simulation) to a JSON file; returns how many."""
        text = self.export_text(simulation)
        Path(path).write_text(text, encoding="utf-8")
        return len(json.loads(text)["sets"])

    def export_text(
        self, simulation: str | None = None, names: builtins.list[str] | None = None
    ) -> str:
        """The export file's text (every set, of one simulation, or the named ones)."""
        sets = [s for s in self.list(simulation) if names is None or s.name in names]
        doc = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "sets": [
                {
                    "simulation": s.simulation,
                    "name": s.name,
                    "comment": s.comment,
                    "grade": s.grade,
                    "created": s.created_at.isoformat(),
                    "modified": s.modified_at.isoformat(),
                    "params": s.params,
                    "source_run_id": s.source_run_id,
                }
                for s in sets
            ],
        }
        return json.dumps(doc, indent=1, sort_keys=True)

    def import_file(self, path: str | os.PathLike[str]) -> builtins.list[str]:
        """Import a file written by :meth:`export`; all or nothing. Returns the names."""
        file = Path(path)
        try:
            size = file.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ParameterSetError(f"{file}: larger than {MAX_FILE_BYTES} bytes")
            data = file.read_bytes()
        except OSError as exc:
            raise ParameterSetError(f"cannot read parameter file {file}: {exc}") from exc
        return self.import_bytes(data, str(file))

    def import_bytes(self, data: bytes, source: str = "uploaded file") -> builtins.list[str]:
        """Import the text of an export file; all or nothing. Returns the names imported."""
        if len(data) > MAX_FILE_BYTES:
            raise ParameterSetError(f"{source}: larger than {MAX_FILE_BYTES} bytes")
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ParameterSetError(f"{source} is not a parameter file (not JSON: {exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
            raise ParameterSetError(
                f"{source} is not a neuroplastic parameter file (format is not {FILE_FORMAT!r})"
            )
        if doc.get("version") != FILE_VERSION:
            raise ParameterSetError(
                f"{source}: unsupported parameter file version {doc.get('version')!r}"
            )
        sets = doc.get("sets")
        if not isinstance(sets, list):
            raise ParameterSetError(f"{source}: 'sets' must be a list")
        rows = []
        seen: set[tuple[str, str]] = set()
        for i, item in enumerate(sets):
            where = f"{source}, set {i + 1}"
            if not isinstance(item, dict):
                raise ParameterSetError(f"{where}: not an object")
            simulation = item.get("simulation")
            if not isinstance(simulation, str) or not simulation:
                raise ParameterSetError(f"{where}: no simulation name")
            try:
                name = _check_name(item.get("name"))
                row = {
                    "simulation": simulation,
                    "name": name,
                    "comment": _check_comment(item.get("comment")),
                    "grade": _check_grade(item.get("grade")),
                    "params": self._validate(simulation, item.get("params")),  # type: ignore[arg-type]
                    "created_at": _parse_time(item.get("created")),
                    "modified_at": _parse_time(item.get("modified")),
                    "source_run_id": None,
                }
            except NeuroplasticError as exc:
                raise ParameterSetError(f"{where}: {exc}") from None
            if (simulation, name) in seen:
                raise ParameterSetError(f"{where}: name {name!r} appears twice")
            seen.add((simulation, name))
            rows.append(row)
        if not rows:
            raise ParameterSetError(f"{source} holds no parameter sets")
        try:
            with self.store.engine.begin() as c:
                for row in rows:
                    taken = c.execute(
                        select(table.c.id).where(
                            table.c.simulation == row["simulation"], table.c.name == row["name"]
                        )
                    ).first()
                    if taken is not None:
                        raise ParameterSetError(
                            f"{source}: parameter set {row['name']!r} of {row['simulation']} "
                            "exists already (rename or delete it first); nothing imported"
                        )
                    c.execute(insert(table).values(**row))
        except IntegrityError as exc:
            raise ParameterSetError(f"{source}: a name is taken; nothing imported") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot import {source}: {exc}") from exc
        return [str(r["name"]) for r in rows]


def _parse_time(value: Any) -> datetime:
    if value is None:
        return _now()
    if not isinstance(value, str):
        raise ParameterError(f"a time must be ISO text (got {value!r})")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise ParameterError(f"not an ISO time: {value!r}") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)
