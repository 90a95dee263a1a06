"""What every trainable method provides: a parameter model, a builder and a :class:`Learner`.

A learner owns its model (built from ``Synapses``), proposes updates in :meth:`Learner.train_step`
and writes them only through ``Synapses.apply`` / ``prune`` / ``grow``. The training loop
(:mod:`neuroplastic.train`) is the same for every learner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, TypedDict

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from neuroplastic.energy.ledger import Ledger
from neuroplastic.results import MethodFields
from neuroplastic.roles import Roles, SynapseRole
from neuroplastic.synapses import Synapses


class TrainingParams(BaseModel):
    """Parameters every method has: how long and in what batches it trains."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    epochs: int = Field(10, ge=1, le=10_000, description="passes over the training set")
    batch_size: int = Field(100, ge=1, le=100_000, description="samples per update")

    def quick(self, max_epochs: int) -> TrainingParams:
        """The variant ``--quick`` runs: at most ``max_epochs`` epochs (methods may adapt more)."""
        return self.model_copy(update={"epochs": min(self.epochs, max_epochs)})


@dataclass
class BuildContext:
    """What a builder needs to know about the task; the same for every method in a comparison."""

    n_features: int
    n_classes: int
    hidden: tuple[int, ...]
    ledger: Ledger
    generator: torch.Generator
    device: torch.device


class LearnerTags(TypedDict, total=False):
    """Capabilities a learner declares (checked by :func:`neuroplastic.testing.check_learner`).

    ``local``: the rule is local (each update uses only pre- and post-synaptic quantities);
    its training step builds no autograd graph and no weight requires grad.
    ``no_autograd``: the training step builds no autograd graph, though the rule need not be
    local (e.g. feedback alignment broadcasts the output error). Implied by ``local``.
    """

    local: bool
    no_autograd: bool


class Learner(nn.Module, ABC):
    """A model plus the rule that trains it."""

    ledger: Ledger
    tags: ClassVar[LearnerTags] = {}
    objective_name: ClassVar[str] = "train_loss"
    """Metric name under which the training loop logs what :meth:`report_objective` reports."""
    _objective_total: Tensor | None = None  # sum of the reported objectives since the last take
    _objective_batches: int = 0

    @abstractmethod
    def train_step(self, x: Tensor, y: Tensor) -> None:
        """Learn from one batch: x (B, n_features) float, y (B,) int64 class indices."""

    @abstractmethod
    def predict(self, x: Tensor) -> Tensor:
        """Class scores (B, n_classes); the argmax is the predicted class."""

    @abstractmethod
    def synapses(self) -> list[Synapses]:
        """Every synapse group of the model (each counted in the result record)."""

    def synapse_roles(self) -> list[SynapseRole]:
        """What each group of :meth:`synapses` is (:mod:`neuroplastic.roles`): its role
        (weight / bias / phase / other), its layer (input / hidden / output) and the pre and
        post populations. Every learner declares one role per group; restriction policies use
        nothing else. Default: none declared (a policy that needs a role then says so)."""
        return []

    def roles(self, owner: str | None = None) -> Roles:
        """The declared roles, checked against :meth:`synapses` (one per group)."""
        return Roles(self.synapses(), self.synapse_roles(), owner or type(self).__name__)

    @property
    @abstractmethod
    def architecture(self) -> str:
        """Human-readable architecture, e.g. ``'784-1000-10'``."""

    def begin_phase(self, name: str) -> None:
        """Called before training on a new phase of a curriculum (e.g. new classes).

        Learners with a plasticity schedule restart it here. Default: nothing.
        """

    @property
    def readout_trained(self) -> bool:
        """Whether the output the learner predicts with has been taught yet.

        False while only an unsupervised stage has learned (e.g. Hebbian hidden epochs before a
        separate readout stage): the training loop does not call validation accuracy "at
        chance" then, since nothing yet maps the code to classes. Default: True.
        """
        return True

    def on_epoch_end(self, epoch: int) -> None:
        """Called by the training loop after epoch ``epoch`` (0-based) has been trained.

        Scheduled structural changes (pruning to a budget, growth, phase switches) go here.
        Default: nothing.
        """

    def end_of_training(self) -> None:
        """Called by the training loop when training stops (target reached, or after the last
        epoch); may be called more than once. Every synapse group settles its state through its
        own door (``Synapses.end_of_training``: a synaptic cache consolidates s, paid for).
        Learners that override it call ``super().end_of_training()``.
        """
        for syn in self.synapses():
            syn.end_of_training()

    def hidden_code(self, x: Tensor) -> Tensor | None:
        """The hidden representation Z (B, n_hidden) that information metrics use.

        Default: None (the method has no single hidden layer to measure).
        """
        return None

    def connected_units(self) -> int | None:
        """Hidden units with at least one input synapse; None where units are never disconnected."""
        return None

    def input_synapses(self) -> Synapses:
        """The input→hidden synapse group (counted apart as 'input synapses'): the declared
        input-layer weights."""
        roles = self.roles()
        return roles.groups[roles.require("counting input synapses", "weight", "input")]

    @property
    def inference_model(self) -> nn.Module:
        """The module whose forward pass is counted for SynOps (default: the learner)."""
        return self

    def forward(self, x: Tensor) -> Tensor:
        return self.predict(x)

    def method_fields(self, x: Tensor, y: Tensor) -> MethodFields | None:
        """The typed method-specific part of the result record, measured on (x, y) (the test
        split), e.g. spikes per neuron for spiking methods. Default: None."""
        return None

    def report_objective(self, value: Tensor) -> None:
        """Add one batch's training objective (a scalar: the loss the rule minimises, e.g.
        cross-entropy for backprop, or the rule's own error) to the running mean that the
        training loop logs at each evaluation (:attr:`objective_name`) and checks for NaN and
        infinity. Kept as a tensor on the device: no host sync per batch."""
        value = value.detach().float().reshape(())
        total = self._objective_total
        self._objective_total = value if total is None else total + value
        self._objective_batches += 1

    def take_objective(self) -> float | None:
        """Mean objective of the batches reported since the last call (None: none reported)."""
        total = self._objective_total
        if total is None:
            return None
        mean = float(total) / self._objective_batches
        self._objective_total = None
        self._objective_batches = 0
        return mean

    def learner_state(self) -> dict[str, Any]:
        """State beyond weights and masks (e.g. optimizer moments) for checkpoints."""
        return {}

    def load_learner_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`learner_state` returned."""

    def get_extra_state(self) -> dict[str, Any]:
        return self.learner_state()

    def set_extra_state(self, state: Any) -> None:
        self.load_learner_state(state)


def one_hot(y: Tensor, n_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """One-hot targets (B, n_classes) from class indices (B,)."""
    return nn.functional.one_hot(y, n_classes).to(dtype)
