"""Fine-pruning: personalise a trained model to one user's unlabelled data by pruning alone.

Our reconstruction of Bingham, Zonouz & Aran, "Fine-Pruning" (Patterns 2025): forward-hook
usage statistics, iterative "use it or lose it" pruning at weight, neuron or channel
granularity, a label-free stopping rule, no gradient at any point; masks are written through
the door (``Synapses.prune``) and counted in the ledger's phase ``personalise``.

- :mod:`.door`: any ``nn.Module`` with linear / conv layers behind ``Synapses`` groups;
- :mod:`.stats`: usage statistics with forward hooks;
- :mod:`.prune`: the algorithm (:func:`fine_prune`, :class:`FinePruneParams`);
- :mod:`.users`: personal data sets from MNIST (class subset, style);
- :mod:`.models`: the MLP and small CNN base models, trained and cached.
"""

from __future__ import annotations

from neuroplastic.finepruning.door import SynapticModel
from neuroplastic.finepruning.prune import (
    FinePruneParams,
    FinePruneRecord,
    FinePruneResult,
    fine_prune,
    reestimate_batchnorm,
)
from neuroplastic.finepruning.users import UserData, UserSpec, load_user, parse_user, random_user

__all__ = [
    "FinePruneParams",
    "FinePruneRecord",
    "FinePruneResult",
    "SynapticModel",
    "UserData",
    "UserSpec",
    "fine_prune",
    "load_user",
    "parse_user",
    "random_user",
    "reestimate_batchnorm",
]
