"""neuroplastic: brain-inspired, energy-efficient learning, every synaptic update counted.

The one idea: every weight change goes through :class:`Synapses` (the only writer of weights),
and the :class:`Ledger` records each one. See DESIGN.md and CONTRIBUTING.md.
"""

from importlib.metadata import PackageNotFoundError, version

from neuroplastic.energy.ledger import Counts, Ledger
from neuroplastic.synapses import Synapses, UpdateStats

try:
    __version__ = version("neuroplastic")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["Counts", "Ledger", "Synapses", "UpdateStats", "__version__"]
