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
- *Where the epochs are*: the rounds run in ``on_epoch_end``, which the training loop
  (:mod:`neuroplastic.train`) calls after every epoch, so no training-set size is needed and a
  resumed run (``rounds_done`` is in the learner state) prunes at the same point. A run stopped
  early by ``--target-accuracy`` before the pruning epoch is never pruned.
- *Ledger phases*: pruning rounds are charged to phase ``prune``; after the last round the
  ledger's phase becomes ``finetune`` so the fine-tuning writes are reported apart from the
  dense training (phase ``train``). Adam's moments are kept across the pruning (those of
  pruned weights are never used again, the mask blocks them).
- *Energy*: a removal is not a write: it is counted in ``pruned`` (its ``|w|`` in the
  ledger's ``pruned_abs``), not in ``M0``/``M1``, which count the optimizer's writes only.
- It is not in the default comparison: select it with ``--methods pruned-backprop``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from pydantic import Field, ValidationInfo, field_validator

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
        self.rounds_done = 0
        if self.budget >= sum(g.n_existing for g in self.weight_groups):
            self.rounds_done = self.prune_steps  # nothing to prune: plain backprop

    # -------------------------------------------------------------- schedule
    @torch.no_grad()
    def on_epoch_end(self, epoch: int) -> None:
        """Run the pruning rounds due after epoch ``epoch`` (0-based) has been trained."""
        while self.rounds_done < self.prune_steps and (
            epoch + 1 >= self.first_prune_epoch + self.rounds_done
        ):
            self.prune_round()

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

    # ----------------------------------------------------------------- state
    def learner_state(self) -> dict[str, Any]:
        return {"optimizer": super().learner_state(), "rounds_done": self.rounds_done}

    def load_learner_state(self, state: dict[str, Any]) -> None:
        super().load_learner_state(state["optimizer"])
        self.rounds_done = int(state["rounds_done"])


@register_method(
    "pruned-backprop",
    PrunedBackpropParams,
    "backprop, global magnitude pruning of the weights to a budget, fine-tuning",
    in_default_comparison=False,
)
def build_pruned_backprop(ctx: BuildContext, p: PrunedBackpropParams) -> Learner:
    """Build magnitude-pruned backprop."""
    return PrunedBackpropLearner(ctx, p)
