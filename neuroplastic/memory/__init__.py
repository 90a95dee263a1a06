"""Neural associative memories: Willshaw, covariance, optimal Bayesian and BCPNN rules.

Modules, one job each:

- :mod:`~neuroplastic.memory.patterns`: random patterns (constant or binomial activity), queries;
- :mod:`~neuroplastic.memory.counters`: synaptic counters M11, M10, M01, M00 (incremental);
- :mod:`~neuroplastic.memory.rules`: the four rules as pure functions of the counters;
- :mod:`~neuroplastic.memory.core`: counters + rule with cached weights (uncounted fast path);
- :mod:`~neuroplastic.memory.retrieval`: one-step / iterative retrieval, threshold or k-WTA;
- :mod:`~neuroplastic.memory.ane`: adaptive noise estimation (our reconstruction);
- :mod:`~neuroplastic.memory.synaptic`: storage counted through ``Synapses.apply`` and the ledger;
- :mod:`~neuroplastic.memory.packed`: bit-packed Willshaw memory for very large n;
- :mod:`~neuroplastic.memory.capacity`: output noise, information, M_ε search, Willshaw theory;

One capacity measurement (the M_ε search over patterns and queries) is an experiment driver:
:mod:`neuroplastic.experiments.capacity_measurement`.
"""

from neuroplastic.memory.core import MemoryCore
from neuroplastic.memory.packed import PackedWillshaw
from neuroplastic.memory.retrieval import RetrievalParams, RetrievalResult, retrieve
from neuroplastic.memory.rules import RULES, RuleParams, derive_weights
from neuroplastic.memory.synaptic import AssociativeMemory

__all__ = [
    "RULES",
    "AssociativeMemory",
    "MemoryCore",
    "PackedWillshaw",
    "RetrievalParams",
    "RetrievalResult",
    "RuleParams",
    "derive_weights",
    "retrieve",
]
