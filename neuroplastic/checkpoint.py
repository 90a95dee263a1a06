"""Atomic checkpoints: a killed run never leaves a half-written file under the final name.

``save_checkpoint`` writes through :func:`neuroplastic.atomic.atomic_write` (a temporary file in
the same directory, flushed to disk, renamed over the target), so the previous checkpoint stays
intact until the new one is complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from neuroplastic.atomic import atomic_write
from neuroplastic.errors import CheckpointError

FORMAT_VERSION = 1


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (tensors and plain data) atomically to ``path``."""
    with atomic_write(path, "wb") as f:
        torch.save({"format": FORMAT_VERSION, **payload}, f)


def load_checkpoint(
    path: Path, expect_signature: str | None = None, expect_owner: str | None = None
) -> dict[str, Any]:
    """Read a checkpoint; a CheckpointError names the file if it is missing, corrupt or foreign.

    ``expect_signature`` is the configuration's hash (another configuration is refused);
    ``expect_owner`` names the run the checkpoint must belong to (``<store key>/run-<id>``,
    see :func:`checkpoint_owner`): a checkpoint of another store's or run's is refused, as is
    one written before checkpoints named their owner.
    """
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path} (missing)")
    try:
        payload: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a corrupt file
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise CheckpointError(f"checkpoint {path} is unreadable ({reason})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} is not a neuroplastic v{FORMAT_VERSION} checkpoint"
        )
    if expect_signature is not None and payload.get("signature") != expect_signature:
        raise CheckpointError(
            f"checkpoint {path} belongs to another configuration "
            f"(signature {payload.get('signature')!r}, expected {expect_signature!r})"
        )
    if expect_owner is not None and payload.get("owner") != expect_owner:
        owner = payload.get("owner")
        raise CheckpointError(
            f"checkpoint {path} belongs to {owner}, not to {expect_owner}"
            if owner
            else f"checkpoint {path} does not say which store and run it belongs to "
            "(written before checkpoints were keyed by store)"
        )
    return payload


def checkpoint_owner(store_key: str, run_id: int) -> str:
    """The owner tag a run's checkpoint carries: ``<store key>/run-<id>``."""
    return f"{store_key}/run-{run_id}"
