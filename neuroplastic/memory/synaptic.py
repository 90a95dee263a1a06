"""AssociativeMemory: a :class:`MemoryCore` whose weights live in a counted ``Synapses`` group.

Storing is learning, so it goes through the door: :meth:`AssociativeMemory.store` updates the
counters, derives the rule's weights at its assumed noise, and writes the difference to the
synapse group with ``Synapses.apply``. The ledger therefore counts, per store call (one pattern
or one batch), exactly the weights that changed:

- Willshaw: the synapses newly switched 0 → 1 (M0 = M1 = newly potentiated synapses);
- covariance: every synapse whose Σ(u−p)(v−q) changed (the activity means move with M, so this
  is nearly every synapse, each pattern);
- Bayesian and BCPNN: every synapse whose log-ratio changed (again nearly all: M enters every
  weight).

Storing a batch of B patterns at once charges one write per changed synapse, not B: the ledger
counts what a memory that learns in batches would pay. For the Willshaw rule,
:meth:`compress` prunes the silent synapses (w = 0; ``Synapses.prune``, counted as ``pruned``);
later stores grow the synapses they need (``Synapses.grow``, counted as ``created``).

Retrieval reads the weights from the synapse group (what was written), via the core's cache
(kept in sync by ``store``); ANE and other noise settings derive weights from the counters
without writing them (they are a property of the retrieval, not learning).

Path summary (see also :mod:`neuroplastic.memory.packed`): this path counts weight *writes* of
the dense (m, n) matrix and suits moderate n (the matrix and a few scratch copies in memory).
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError
from neuroplastic.memory.core import MemoryCore
from neuroplastic.memory.retrieval import RetrievalParams, RetrievalResult, retrieve
from neuroplastic.memory.rules import RuleParams
from neuroplastic.synapses import Synapses

__all__ = ["AssociativeMemory"]


class AssociativeMemory:
    """Hetero- (``auto=False``) or auto-associative memory with counted storage.

    The synapse group holds W with self-connections removed when ``auto`` and not
    ``self_connections`` (that choice is fixed at construction for the stored weights).
    """

    def __init__(
        self,
        m: int,
        n: int,
        rule: RuleParams | None = None,
        *,
        auto: bool = False,
        self_connections: bool = False,
        ledger: Ledger | None = None,
        name: str | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.core = MemoryCore(m, n, rule, auto=auto, device=device)
        self.exclude_diagonal = auto and not self_connections
        self.ledger = ledger
        self.synapses = Synapses(
            name or f"memory.{self.core.rule.rule}",
            torch.zeros((m, n), device=self.core.device),
            ledger=ledger,
        )
        self.compressed = False

    @property
    def rule(self) -> str:
        """Name of the learning rule."""
        return self.core.rule.rule

    @torch.no_grad()
    def store(self, u: Tensor, v: Tensor | None = None) -> None:
        """Store patterns (B, m) → (B, n) (0/1 rows; v omitted for auto-association), counted."""
        if u.dim() == 1:
            u = u[None, :]
            v = None if v is None else v[None, :]
        self.core.store(u, v)
        target, bias = self.core.weights(None, self.exclude_diagonal)
        syn = self.synapses
        if self.compressed:
            need = (target != 0) & ~syn.mask
            if need.any():
                syn.grow(need, target)
        syn.apply(target - syn.w.detach())
        # retrieval reads what was written (equal to target up to float rounding); a copy,
        # because Synapses reuses its buffers on the next apply
        self.core.set_weights(syn.w.detach().clone(), bias, self.exclude_diagonal)

    def compress(self) -> int:
        """Prune silent synapses (w = 0) of a Willshaw memory; returns how many were pruned."""
        if self.rule != "willshaw":
            raise ParameterError(
                f"compress() is for the Willshaw rule (this memory is {self.rule})"
            )
        self.compressed = True
        return self.synapses.prune(self.synapses.w.detach() == 0)

    def retrieve(self, queries: Tensor, params: RetrievalParams | None = None) -> RetrievalResult:
        """Complete queries (B, m); see :func:`neuroplastic.memory.retrieval.retrieve`."""
        params = params or RetrievalParams()
        if self.core.auto and params.self_connections != (not self.exclude_diagonal):
            raise ParameterError(
                f"retrieval self_connections must match the memory's ({not self.exclude_diagonal})"
            )
        return retrieve(self.core, queries, params)
