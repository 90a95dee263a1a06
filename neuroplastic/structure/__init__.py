"""Structural policies: which synapses to eliminate and where to grow new ones.

Policies only decide; ``Synapses.prune`` / ``Synapses.grow`` carry the change out and count it.
"""

from neuroplastic.structure.policies import (
    SilentTracker,
    grow_from_coincidence,
    prune_to_budget,
    prune_unconnected_units,
)

__all__ = ["SilentTracker", "grow_from_coincidence", "prune_to_budget", "prune_unconnected_units"]
