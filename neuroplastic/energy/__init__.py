"""Learning energy (the ledger) and inference cost (synaptic operations)."""

from neuroplastic.energy.ledger import Counts, Ledger
from neuroplastic.energy.synops import SynOps, count_synops, measure_synops

__all__ = ["Counts", "Ledger", "SynOps", "count_synops", "measure_synops"]
