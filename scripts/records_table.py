"""Print result records (JSON from `neuroplastic compare --json`) as a markdown table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from neuroplastic.results import ResultRecord


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


COLUMNS = [
    ("hidden", lambda r: r["architecture"].split("-")[1]),
    ("method", lambda r: r["method"]),
    ("test acc", lambda r: f"{100 * r['test_accuracy']:.2f} %"),
    ("input syn.", lambda r: f"{r['synapses_nonsilent_input']:,}"),
    ("all syn.", lambda r: f"{r['synapses_nonsilent']:,}"),
    ("M0", lambda r: f"{r['ledger']['m0']:.3g}"),
    ("M1", lambda r: f"{r['ledger']['m1']:.3g}"),
    ("I(X;Z) bits", lambda r: "-" if r.get("bits_x_z") is None else f"{r['bits_x_z']:.1f}"),
    ("I(Z;Y) bits", lambda r: "-" if r.get("bits_z_y") is None else f"{r['bits_z_y']:.2f}"),
    (
        "C_S bits/syn",
        lambda r: "-" if r.get("bits_per_synapse") is None else f"{r['bits_per_synapse']:.4f}",
    ),
    ("wall s", lambda r: f"{r['wall_s']:.1f}"),
]


def main(paths: list[str]) -> None:
    rows = [
        (Path(p).stem, ResultRecord.model_validate(r).model_dump())  # old flat records too
        for p in paths
        for r in json.loads(Path(p).read_text())
    ]
    print("| run | " + " | ".join(name for name, _ in COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for run, r in rows:
        print(f"| {run} | " + " | ".join(fmt(r) for _, fmt in COLUMNS) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
