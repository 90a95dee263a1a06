"""Magnitude-pruned backprop to a synapse budget (``pruned-backprop``).

The usual sparse baseline ("train, prune, fine-tune", Han et al. 2015; iterative magnitude
pruning): an MLP is trained densely by backprop (the :class:`BackpropParams` fields), its
weights are then pruned by *global* magnitude until exactly ``budget`` remain, and it is
fine-tuned with that mask fixed (``Synapses.apply`` never writes a pruned synapse, so nothing
regrows). Every removal goes through ``Synapses.prune``, so the ledger's ``pruned`` count is the
number of synapses removed and the record's ``synapses_nonsilent`` is ``budget`` plus the biases.

- *What is pruned*: the weight matrices of all layers (input→hidden, hidden→hidden,
  hidden→output), ranked together by ``|w|`` (ties: the earlier layer and position is kept).
  Biases are never pruned and do not count towards ``budget`` (there are only
  ``sum(hidden) + n_classes`` of them). If ``budget`` is at least the number of existing
  weights, nothing is pruned and the method is plain backprop.
- *Schedule*: ``epochs`` is the whole run. The first ``epochs − finetune_epochs`` epochs are
  dense training; the last pruning round happens at the first step of epoch
  ``epochs − finetune_epochs + 1`` (1-based), and the remaining ``finetune_epochs`` epochs
  fine-tune. With ``prune_steps = k > 1`` the rounds happen at the starts of the last ``k``
  epochs before fine-tuning, one epoch of training between rounds, and the number of weights
  kept falls geometrically from its current value to ``budget``
  (``keep ← round(existing · (budget / existing)^(1 / rounds_left))``). Needs
  ``epochs >= finetune_epochs + prune_steps``.
- *Where the epochs are*: ``BuildContext`` does not carry the training-set size, so the
  learner learns the epoch length once, during the first epoch, from whichever signal comes
  first. (1) Where the training loop calls ``Learner.on_epoch_end`` after each epoch, that call
  fixes it. (2) Otherwise it is read off the data stream: the loop
  (:mod:`neuroplastic.train`) presents each epoch as a permutation of the training split, so
  the first batch whose samples have *all* been seen before is the first batch of epoch 2, and
  the samples seen until then are the epoch length. For (2) the learner keeps a 64-bit
  fingerprint (BLAKE2b of the row's bytes) per training sample during the first epoch and drops
  them once the length is known; it assumes no batch of the first epoch consists only of exact
  duplicates of earlier samples (MNIST's 55,000 training images are pairwise distinct). Both
  need no parameter and are exact for any training-set size, class subset, ``--quick`` and
  batch size (a short last batch included), and both put the pruning at the same step. The
  sample count, the epoch length and the fingerprints are part of the learner state, so a
  resumed run prunes at the same step as an uninterrupted one. A run stopped early by
  ``--target-accuracy`` before the pruning epoch is never pruned.
- *Ledger phases*: pruning rounds are charged to phase ``prune``; after the last round the
  ledger's phase becomes ``finetune`` so the fine-tuning writes are reported apart from the
  dense training (phase ``train``). Adam's moments are kept across the pruning (those of
  pruned weights are never used again, the mask blocks them).
- *Energy*: a removal is not a write: it is counted in ``pruned`` (its ``|w|`` in the
  ledger's ``pruned_abs``), not in ``M0``/``M1``, which count the optimizer's writes only.
- It is not in the default comparison: select it with ``--methods pruned-backprop``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import torch
from pydantic import Field, ValidationInfo, field_validator
from torch import Tensor

from neuroplastic.errors import ParameterError
from neuroplastic.methods.backprop import BackpropLearner, BackpropParams
from neuroplastic.methods.base import BuildContext, Learner
from neuroplastic.methods.registry import register_method
from neuroplastic.models.layers import DenseLayer
from neuroplastic.synapses import Synapses


class PrunedBackpropParams(BackpropParams):
    """Dense backprop, global magnitude pruning of the weights to ``budget``, fine-tuning."""

    budget: int = Field(
        25_000,
        gt=0,
        le=10**10,
        description="weights (all layers, biases excluded) left after pruning",
    )
    finetune_epochs: int = Field(
        1, ge=1, le=10_000, description="last epochs of `epochs`, trained with the mask fixed"
    )
    prune_steps: int = Field(
        1,
        ge=1,
        le=1_000,
        description="pruning rounds, one per epoch, the last just before fine-tuning",
    )

    @field_validator("finetune_epochs")
    @classmethod
    def _leaves_dense_epochs(cls, v: int, info: ValidationInfo) -> int:
        epochs = info.data.get("epochs")
        if epochs is not None and v >= epochs:
            raise ValueError(f"must be smaller than epochs ({epochs})")
        return v

    @field_validator("prune_steps")
    @classmethod
    def _fits_dense_epochs(cls, v: int, info: ValidationInfo) -> int:
        epochs, finetune = info.data.get("epochs"), info.data.get("finetune_epochs")
        if epochs is not None and finetune is not None and v > epochs - finetune:
            raise ValueError(
                f"must be at most epochs − finetune_epochs ({epochs} − {finetune} = "
                f"{epochs - finetune})"
            )
        return v


def magnitude_prune(groups: Sequence[Synapses], keep: int) -> int:
    """Prune the smallest-``|w|`` existing synapses of ``groups`` (ranked together) so that
    exactly ``keep`` remain; returns how many were removed (0 if ``keep`` >= existing).

    Ties are broken by position: the earlier group, then the earlier element, is kept.
    """
    if keep < 0:
        raise ParameterError(f"cannot keep a negative number of synapses (got {keep})")
    existing = sum(g.n_existing for g in groups)
    if keep >= existing:
        return 0
    scores = torch.cat([torch.where(g.mask, g.w.detach().abs(), -1.0).reshape(-1) for g in groups])
    order = torch.sort(scores, descending=True, stable=True).indices
    kept = torch.zeros_like(scores, dtype=torch.bool)
    kept[order[:keep]] = True
    removed, offset = 0, 0
    for g in groups:
        n = g.n_total
        removed += g.prune(~kept[offset : offset + n].reshape(g.w.shape))
        offset += n
    return removed


def row_fingerprints(x: Tensor) -> list[int]:
    """A 64-bit fingerprint (BLAKE2b of the bytes) of each row of ``x``, as signed ints."""
    rows = x.detach().reshape(x.shape[0], -1).contiguous().cpu().view(torch.uint8).numpy()
    return [
        int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8).digest(), "little", signed=True)
        for r in rows
    ]


class PrunedBackpropLearner(BackpropLearner):
    """Backprop learner that prunes its weights to a budget on schedule, then fine-tunes."""

    def __init__(self, ctx: BuildContext, p: PrunedBackpropParams) -> None:
        super().__init__(ctx, p)
        dense_epochs = p.epochs - p.finetune_epochs
        if dense_epochs < p.prune_steps:
            raise ParameterError(
                f"pruned-backprop needs epochs >= finetune_epochs + prune_steps (got "
                f"epochs={p.epochs}, finetune_epochs={p.finetune_epochs}, "
                f"prune_steps={p.prune_steps})"
            )
        self.budget = p.budget
        self.prune_steps = p.prune_steps
        self.first_prune_epoch = dense_epochs - p.prune_steps + 1  # epochs done before round 1
        self.weight_groups: list[Synapses] = [
            layer.weight for layer in self.model.layers if isinstance(layer, DenseLayer)
        ]
        self.samples_seen = 0
        self.epoch_length: int | None = None
        self.rounds_done = 0
        self._seen: set[int] = set()
        if self.budget >= sum(g.n_existing for g in self.weight_groups):
            self.rounds_done = self.prune_steps  # nothing to prune: plain backprop

    # -------------------------------------------------------------- schedule
    def _watch_epoch(self, x: Tensor) -> None:
        """Learn the epoch length: the first batch made only of seen samples opens epoch 2."""
        prints = row_fingerprints(x)
        if self.samples_seen > 0 and all(f in self._seen for f in prints):
            self.epoch_length = self.samples_seen
            self._seen = set()
        else:
            self._seen.update(prints)

    def on_epoch_end(self, epoch: int) -> None:
        """The loop's epoch signal, where it sends one: fixes the epoch length at once."""
        if self.rounds_done >= self.prune_steps:
            return
        if self.epoch_length is None and self.samples_seen > 0:
            self.epoch_length = self.samples_seen // (epoch + 1)
            self._seen = set()

    def _next_round_at(self) -> int | None:
        """Samples seen at which the next pruning round is due (None: unknown or no more)."""
        if self.epoch_length is None or self.rounds_done >= self.prune_steps:
            return None
        return (self.first_prune_epoch + self.rounds_done) * self.epoch_length

    def prune_round(self) -> int:
        """One round of global magnitude pruning; the last one leaves exactly ``budget``."""
        existing = sum(g.n_existing for g in self.weight_groups)
        rounds_left = self.prune_steps - self.rounds_done
        keep = self.budget
        if rounds_left > 1 and existing > self.budget:
            keep = round(existing * (self.budget / existing) ** (1 / rounds_left))
        with self.ledger.phase("prune"):
            removed = magnitude_prune(self.weight_groups, keep)
        self.rounds_done += 1
        if self.rounds_done == self.prune_steps:
            self.ledger.set_phase("finetune")
        return removed

    def train_step(self, x: Tensor, y: Tensor) -> None:
        if self.rounds_done < self.prune_steps:
            if self.epoch_length is None:
                self._watch_epoch(x)
            due = self._next_round_at()
            while due is not None and self.samples_seen >= due:
                self.prune_round()
                due = self._next_round_at()
        super().train_step(x, y)
        self.samples_seen += int(x.shape[0])

    # ----------------------------------------------------------------- state
    def learner_state(self) -> dict[str, Any]:
        return {
            "optimizer": super().learner_state(),
            "samples_seen": self.samples_seen,
            "epoch_length": self.epoch_length,
            "rounds_done": self.rounds_done,
            "seen": torch.tensor(sorted(self._seen), dtype=torch.int64),
        }

    def load_learner_state(self, state: dict[str, Any]) -> None:
        super().load_learner_state(state["optimizer"])
        self.samples_seen = int(state["samples_seen"])
        length = state["epoch_length"]
        self.epoch_length = None if length is None else int(length)
        self.rounds_done = int(state["rounds_done"])
        self._seen = {int(v) for v in state["seen"].tolist()}


@register_method(
    "pruned-backprop",
    PrunedBackpropParams,
    "backprop, global magnitude pruning of the weights to a budget, fine-tuning",
    in_default_comparison=False,
)
def build_pruned_backprop(ctx: BuildContext, p: PrunedBackpropParams) -> Learner:
    """Build magnitude-pruned backprop."""
    return PrunedBackpropLearner(ctx, p)
