"""The door for an arbitrary ``torch.nn.Module``: each layer's weight becomes a ``Synapses`` group.

Fine-pruning personalises any module built from ``nn.Linear`` and ``nn.Conv1d/2d/3d`` layers.
:class:`SynapticModel` takes a **deep copy** of it (the caller's module, and any file it came
from, are never modified) and, for every such layer, creates one :class:`~neuroplastic.Synapses`
group for the weight (``"<layer>.weight"``) and one for the bias (``"<layer>.bias"``), registered
in one :class:`~neuroplastic.Ledger`. The layer's parameter *is then* the group's ``w`` (the same
``nn.Parameter`` object), so the layer's own forward computes with exactly what the door holds,
and a pruning mask can only be written by ``Synapses.prune`` (counted by the ledger in the
phase that is current, ``personalise`` for fine-pruning: ``pruned`` = mask entries written,
``pruned_abs`` = Σ|w| removed; a prune is not a weight write, so M0 = M1 = 0 there).

Removed output neurons. A unit whose incoming synapses *and* bias are all pruned does not exist.
For hidden units this is exact by itself (its output is ``act(0)`` and, as the next layer's
input, it is also pruned from there by the neuron and channel granularities). For the output
layer (the last prunable layer, whose outputs are the model's logits) a removed unit would
still emit a logit of 0 and could win the arg-max; :meth:`SynapticModel.forward` therefore sets
the logits of removed output units to −∞ (they cannot fire). Which units are removed is read
from the masks, never stored elsewhere.

Every parameter of the copy has ``requires_grad`` False, so no autograd graph is built through
it (the baselines that need gradients, TENT and fine-tuning, switch it on for their own groups).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError
from neuroplastic.synapses import Synapses

PRUNABLE_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass
class PrunableLayer:
    """One ``nn.Linear`` / ``nn.ConvNd`` of the model and its synapse groups."""

    name: str
    module: nn.Module
    weight: Synapses
    bias: Synapses | None

    @property
    def is_conv(self) -> bool:
        """Whether the layer is a convolution (weights ``(out, in, *kernel)``)."""
        return self.weight.w.ndim > 2

    @property
    def n_in(self) -> int:
        """Input units (features of a linear layer, channels of a convolution)."""
        return int(self.weight.w.shape[1])

    @property
    def n_out(self) -> int:
        """Output units (neurons or channels)."""
        return int(self.weight.w.shape[0])

    def removed_outputs(self) -> Tensor:
        """Boolean ``(n_out,)``: output units with no incoming synapse and no bias left."""
        alive = self.weight.mask.reshape(self.n_out, -1).any(1)
        if self.bias is not None:
            alive = alive | self.bias.mask
        return ~alive


def _bind(module: nn.Module, attr: str, syn: Synapses) -> None:
    """Make ``module.<attr>`` the group's parameter (same object: the door holds the weights)."""
    module._parameters[attr] = syn.w


class SynapticModel(nn.Module):
    """A deep copy of ``model`` whose linear and convolutional weights sit behind the door.

    ``prunable`` (optional) restricts which layers get groups (names as in
    ``model.named_modules()``); by default all of them. The last prunable layer in module
    order is taken as the output layer (its outputs must be the logits; see the module doc).
    """

    def __init__(
        self, model: nn.Module, ledger: Ledger | None = None, prunable: list[str] | None = None
    ) -> None:
        super().__init__()
        self.net = copy.deepcopy(model)
        self.net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.ledger = ledger if ledger is not None else Ledger()
        found = [(n, m) for n, m in self.net.named_modules() if isinstance(m, PRUNABLE_TYPES)]
        if prunable is not None:
            unknown = sorted(set(prunable) - {n for n, _ in found})
            if unknown:
                raise ParameterError(f"no linear or convolutional layer named {unknown}")
            found = [(n, m) for n, m in found if n in prunable]
        if not found:
            raise ParameterError(
                f"{type(model).__name__} has no nn.Linear or nn.Conv layer to personalise"
            )
        self.layers: list[PrunableLayer] = []
        for name, module in found:
            weight, bias = module.weight, getattr(module, "bias", None)
            assert isinstance(weight, Tensor)
            w_syn = Synapses(f"{name}.weight", weight, ledger=self.ledger)
            _bind(module, "weight", w_syn)
            b_syn = None
            if isinstance(bias, Tensor):
                b_syn = Synapses(f"{name}.bias", bias, ledger=self.ledger)
                _bind(module, "bias", b_syn)
            self.layers.append(PrunableLayer(name, module, w_syn, b_syn))

    @property
    def output_layer(self) -> PrunableLayer:
        """The last prunable layer (its outputs are the logits)."""
        return self.layers[-1]

    def groups(self) -> list[Synapses]:
        """Every synapse group (weights and biases) in layer order."""
        out: list[Synapses] = []
        for layer in self.layers:
            out.append(layer.weight)
            if layer.bias is not None:
                out.append(layer.bias)
        return out

    def forward(self, x: Tensor) -> Tensor:
        """The wrapped model's logits, with removed output units set to −∞."""
        logits = self.net(x)
        removed = self.output_layer.removed_outputs()
        if bool(removed.any()):
            logits = logits.masked_fill(removed.to(logits.device), float("-inf"))
        return logits

    # ------------------------------------------------------------------ counts
    def n_weights(self) -> int:
        """Potential weight sites of the prunable layers (biases excluded)."""
        return sum(layer.weight.n_total for layer in self.layers)

    def n_existing_weights(self) -> int:
        """Weights that still exist (mask True)."""
        return sum(layer.weight.n_existing for layer in self.layers)

    def sparsity(self) -> float:
        """Fraction of the prunable layers' weights removed (biases excluded)."""
        return 1.0 - self.n_existing_weights() / self.n_weights()

    def masks(self) -> dict[str, Tensor]:
        """Copies of every group's existence mask, by group name."""
        return {g.name: g.mask.clone() for g in self.groups()}

    def export(self) -> nn.Module:
        """A plain deep copy of the personalised network (pruned weights are zeros).

        Removed output units are not expressible in a plain module; their biases are set to
        −1e9 in the copy so that the arg-max never picks them.
        """
        net = copy.deepcopy(self.net)
        removed = self.output_layer.removed_outputs()
        out = dict(net.named_modules())[self.output_layer.name]
        with torch.no_grad():
            if bool(removed.any()) and getattr(out, "bias", None) is not None:
                out.bias[removed] = -1e9
        return net
