"""Estimated energy: named per-operation tables that turn counted operations into joules.

An estimate is ``counted operations × picojoules per operation`` and nothing more; it carries
the table's name, source and per-operation values, so it never passes for a measurement.

Learning (what the ledger counts, for the whole run):

    E_learn = M0 · e_write  [+ M1 · e_|Δw|, where the table defines a cost per unit |Δw|]

Inference (per test sample, NeuroBench's definitions, see :mod:`neuroplastic.energy.synops`):

    E_infer = MACs · e_MAC + ACs · e_AC

with MACs the operations of layers whose input is real-valued and ACs those of layers whose
input is spikes (all values in {−1, 0, 1}); "effective" counts only operations with a non-zero
input and weight, "dense" every connection.

What an estimate leaves out, on purpose: the learning estimate covers the synaptic writes the
ledger counts, not the computation of Δw (backprop's forward and backward passes, a local
rule's products), which no ledger counts; the maintenance cost of a synaptic cache has no
per-operation cost in any table. Measured energy (:mod:`neuroplastic.energy.meter`) covers
everything the machine did.

Built-in tables (pJ per operation):

==================  ======  =====  =======  ==================================================
name                MAC     AC     write    basis
==================  ======  =====  =======  ==================================================
``cmos45``          4.6     0.9    0.9      45 nm, 0.9 V, 32-bit float arithmetic only
``cmos45-sram``     9.6     5.9    10.9     + each operand weight read from an 8 KB SRAM (5 pJ)
``cmos45-dram``     644.6   640.9  1280.9   + each weight read from DRAM (640 pJ)
``loihi``           —       23.6   120      Intel Loihi, per synaptic spike op / update
==================  ======  =====  =======  ==================================================

Horowitz (ISSCC 2014, "Computing's energy problem (and what we can do about it)", 45 nm,
0.9 V): 32-bit float add 0.9 pJ, 32-bit float multiply 3.7 pJ, 32-bit int add 0.1 pJ, 32-bit
int multiply 3.1 pJ, 64-bit read from an 8 KB cache 10 pJ (5 pJ per 32-bit word), 32-bit DRAM
read 640 pJ (as tabulated by Han et al., NeurIPS 2015, from Horowitz). A MAC is a multiply
and an add (3.7 + 0.9 = 4.6 pJ), an AC an add (0.9 pJ), a synaptic write ``w ← w + Δw`` an
add; the memory tables add a weight read per operation and a read and a write per synaptic
write (a write taken to cost as much as a read: an assumption, labelled as such). Loihi (Davies
et al., IEEE Micro 2018, Table 2, 14 nm): 23.6 pJ minimum energy per synaptic spike operation
and 120 pJ per synaptic update (learning), as quoted throughout the literature; the primary
table could not be checked from this project's sources, and each value's note says so. Loihi
has no multiply for real-valued inputs: a MAC has no cost there and the estimate of a layer
that needs MACs is absent (with the reason), never zero.

A user table is a YAML or JSON file with the fields of :class:`EnergyTable`;
``--energy-model path/to/table.yaml`` loads and validates it (a malformed table fails at once,
naming the file and the field).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from neuroplastic.errors import ParameterError

PJ = 1e-12  # joules per picojoule

HOROWITZ_2014 = (
    'M. Horowitz, "Computing\'s energy problem (and what we can do about it)", '
    "ISSCC 2014, 45 nm, 0.9 V"
)
DAVIES_2018 = (
    'M. Davies et al., "Loihi: a neuromorphic manycore processor with on-chip learning", '
    "IEEE Micro 38(1), 2018, Table 2 (14 nm)"
)


class EnergyTable(BaseModel):
    """Energy per operation, in picojoules, with its name and source.

    ``mac_pj``: one synaptic operation on a real-valued input (multiply-accumulate).
    ``ac_pj``: one synaptic operation on a spike (accumulate).
    ``write_pj``: one synaptic write (a non-zero Δw written, counted as M0).
    ``abs_dw_pj``: cost per unit of Σ|Δw| (M1), for a table that defines one.
    ``None`` means the table has no cost for that operation: an estimate that needs it is
    absent, never taken as zero.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="short name, as given to --energy-model")
    description: str = Field("", description="what the table models")
    source: str = Field(min_length=1, description="where the values come from")
    mac_pj: float | None = Field(ge=0, description="pJ per multiply-accumulate")
    ac_pj: float | None = Field(ge=0, description="pJ per accumulate (spike input)")
    write_pj: float | None = Field(ge=0, description="pJ per synaptic write (M0)")
    abs_dw_pj: float | None = Field(None, ge=0, description="pJ per unit of Σ|Δw| (M1)")
    notes: dict[str, str] = Field(
        default_factory=dict, description="per value: its derivation and whether it was checked"
    )

    @field_validator("mac_pj", "ac_pj", "write_pj", "abs_dw_pj")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"must be a finite number (got {value})")
        return value

    def costs_pj(self) -> dict[str, float | None]:
        """The per-operation values, as stored beside every estimate."""
        return {
            "mac": self.mac_pj,
            "ac": self.ac_pj,
            "write": self.write_pj,
            "abs_dw": self.abs_dw_pj,
        }


_CMOS_FLOAT_ADD = 0.9
_CMOS_FLOAT_MULT = 3.7
_CMOS_SRAM_32 = 5.0  # half of a 64-bit 8 KB cache read (10 pJ)
_CMOS_DRAM_32 = 640.0

_HOROWITZ_NOTE = (
    "Horowitz 2014, 45 nm: float32 add 0.9 pJ, float32 multiply 3.7 pJ; checked against two "
    "secondary tabulations of the same table"
)


def _cmos(name: str, memory_pj: float, memory: str) -> EnergyTable:
    mac = _CMOS_FLOAT_MULT + _CMOS_FLOAT_ADD
    notes = {
        "mac_pj": f"float32 multiply 3.7 + add 0.9 pJ{memory and ' + ' + memory}",
        "ac_pj": f"float32 add 0.9 pJ{memory and ' + ' + memory}",
        "write_pj": (
            "float32 add 0.9 pJ (w + Δw)"
            + (
                f" + read and write of the weight, 2 × {memory_pj:g} pJ (a write assumed to "
                "cost as much as a read: not from the source)"
                if memory
                else ""
            )
        ),
        "source": _HOROWITZ_NOTE,
    }
    return EnergyTable(
        name=name,
        description=(
            "45 nm CMOS, 32-bit floating point, "
            + (f"weights read from {memory}" if memory else "arithmetic only (no memory access)")
        ),
        source=HOROWITZ_2014,
        mac_pj=round(mac + memory_pj, 6),
        ac_pj=round(_CMOS_FLOAT_ADD + memory_pj, 6),
        write_pj=round(_CMOS_FLOAT_ADD + 2 * memory_pj, 6),
        notes=notes,
    )


BUILTIN_TABLES: dict[str, EnergyTable] = {
    t.name: t
    for t in (
        _cmos("cmos45", 0.0, ""),
        _cmos("cmos45-sram", _CMOS_SRAM_32, "an 8 KB SRAM, 5 pJ per 32-bit word"),
        _cmos("cmos45-dram", _CMOS_DRAM_32, "DRAM, 640 pJ per 32-bit word"),
        EnergyTable(
            name="loihi",
            description=(
                "Intel Loihi (14 nm): per synaptic spike operation and per synaptic update; "
                "no multiply-accumulate for real-valued inputs"
            ),
            source=DAVIES_2018,
            mac_pj=None,
            ac_pj=23.6,
            write_pj=120.0,
            notes={
                "ac_pj": (
                    "minimum energy per synaptic spike op, 23.6 pJ, as widely quoted from "
                    "Davies et al. 2018 Table 2; not checked against the primary table"
                ),
                "write_pj": (
                    "energy per synaptic update (learning), 120 pJ, as quoted from Davies et al. "
                    "2018 Table 2; not checked against the primary table"
                ),
                "mac_pj": "none: Loihi's synapses take spikes; a real-valued input has no cost",
            },
        ),
    )
}

DEFAULT_MODEL = "cmos45-sram"


def load_table(path: Path) -> EnergyTable:
    """A user table from a YAML (``.yaml``/``.yml``) or JSON file; one-line errors."""
    label = f"--energy-model {path}"
    try:
        text = path.read_text()
    except OSError as exc:
        raise ParameterError(f"{label}: cannot read the table ({exc.strerror or exc})") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data: Any = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # YAMLError, JSONDecodeError: both say where
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParameterError(f"{label}: not valid {path.suffix or 'JSON'}: {first}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{label}: expected a mapping of fields, got {type(data).__name__}")
    data.setdefault("name", path.stem)
    try:
        return EnergyTable.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "table"
        given = f" (got {err['input']!r})" if "input" in err and err["type"] != "missing" else ""
        raise ParameterError(f"{label}: field '{where}': {err['msg']}{given}") from None


def resolve_model(name: str) -> EnergyTable:
    """A built-in table by name, or a user table from a ``.yaml``/``.yml``/``.json`` file."""
    if name in BUILTIN_TABLES:
        return BUILTIN_TABLES[name]
    if name.lower().endswith((".yaml", ".yml", ".json")):
        return load_table(Path(name).expanduser())
    known = ", ".join(BUILTIN_TABLES)
    raise ParameterError(
        f"--energy-model: unknown energy model {name!r} (known: {known}; "
        "or a .yaml/.json table file)"
    )


def resolve_models(spec: str | list[str]) -> list[EnergyTable]:
    """Tables for a comma-separated list of names (``cmos45-sram,loihi``), in order."""
    names = [n.strip() for n in spec.split(",")] if isinstance(spec, str) else list(spec)
    names = [n for n in names if n]
    if not names:
        raise ParameterError("--energy-model: no model given")
    return [resolve_model(n) for n in names]


# ------------------------------------------------------------------ estimates


class InferenceOps(BaseModel):
    """Synaptic operations per inference sample, split as NeuroBench does (MAC vs AC)."""

    model_config = ConfigDict(extra="forbid")

    dense_mac: float = 0.0
    dense_ac: float = 0.0
    effective_mac: float = 0.0
    effective_ac: float = 0.0


class EnergyEstimate(BaseModel):
    """Joules estimated from counted operations with one table; ``None`` where the table has
    no cost for an operation that was counted (``missing`` says which)."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field("estimated", description="always 'estimated': counts × pJ per op")
    model: str
    source: str
    costs_pj: dict[str, float | None]
    learning_j: float | None = Field(description="M0 · e_write (+ M1 · e_|Δw|), joules")
    learning_covers: str = "synaptic writes counted by the ledger (not the computation of Δw)"
    inference_j_per_sample: float | None = Field(
        description="effective MACs · e_MAC + effective ACs · e_AC, joules per sample"
    )
    inference_dense_j_per_sample: float | None = Field(
        description="dense MACs · e_MAC + dense ACs · e_AC, joules per sample"
    )
    missing: list[str] = Field(default_factory=list)


def _term(count: float, cost: float | None, what: str, missing: list[str]) -> float | None:
    """count × cost in pJ; None (with a note) when a non-zero count has no cost."""
    if count == 0:
        return 0.0
    if cost is None:
        missing.append(what)
        return None
    return count * cost


def _sum_j(*terms: float | None) -> float | None:
    if any(t is None for t in terms):
        return None
    return sum(t for t in terms if t is not None) * PJ


def estimate(
    table: EnergyTable, *, m0: float, m1: float, ops: InferenceOps | None
) -> EnergyEstimate:
    """The estimate of one run: learning from M0 (and M1), inference per sample from ``ops``
    (``None``: the MAC/AC split is unknown, no inference estimate)."""
    missing: list[str] = []
    write = _term(m0, table.write_pj, f"write cost ({m0:.3g} writes)", missing)
    abs_dw = 0.0 if table.abs_dw_pj is None else m1 * table.abs_dw_pj
    learning = _sum_j(write, abs_dw)
    if ops is None:
        missing.append("the MAC/AC split of inference (record older than the estimate)")
        infer = dense = None
    else:
        eff_mac = _term(ops.effective_mac, table.mac_pj, "MAC cost (effective)", missing)
        eff_ac = _term(ops.effective_ac, table.ac_pj, "AC cost (effective)", missing)
        den_mac = _term(ops.dense_mac, table.mac_pj, "MAC cost (dense)", missing)
        den_ac = _term(ops.dense_ac, table.ac_pj, "AC cost (dense)", missing)
        infer, dense = _sum_j(eff_mac, eff_ac), _sum_j(den_mac, den_ac)
    covers = "synaptic writes counted by the ledger (not the computation of Δw)"
    if table.abs_dw_pj is not None:
        covers += ", plus Σ|Δw| at the table's cost per unit"
    return EnergyEstimate(
        model=table.name,
        source=table.source,
        costs_pj=table.costs_pj(),
        learning_j=learning,
        learning_covers=covers,
        inference_j_per_sample=infer,
        inference_dense_j_per_sample=dense,
        missing=missing,
    )
