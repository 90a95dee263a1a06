"""neuroplastic: brain-inspired, energy-efficient learning, every synaptic update counted.

The one idea: every weight change goes through :class:`Synapses` (the only writer of weights),
and the :class:`Ledger` records each one. See DESIGN.md and CONTRIBUTING.md.

The names below are imported on first use (PEP 562), so ``import neuroplastic.store`` or
``neuroplastic --help`` does not pay for importing torch.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version  # neuroplastic.version: module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neuroplastic.energy.ledger import Counts, Ledger
    from neuroplastic.synapses import Synapses, UpdateStats

try:
    __version__ = _distribution_version("neuroplastic")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

_LAZY = {
    "Counts": "neuroplastic.energy.ledger",
    "Ledger": "neuroplastic.energy.ledger",
    "Synapses": "neuroplastic.synapses",
    "UpdateStats": "neuroplastic.synapses",
}

__all__ = ["Counts", "Ledger", "Synapses", "UpdateStats", "__version__"]


def __getattr__(name: str) -> Any:
    """Import ``Counts``, ``Ledger``, ``Synapses`` and ``UpdateStats`` when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'neuroplastic' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
