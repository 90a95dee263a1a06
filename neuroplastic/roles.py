"""Declared synapse roles: which group of a network is which.

A learner (or any network of :class:`~neuroplastic.synapses.Synapses`) declares, for every
group, what it is, as Brian2's ``Synapses(source, target)`` and Nengo's ``modifies`` do::

    SynapseRole("fc1.weight", role="weight", position="input", pre="input", post="hidden1")
    SynapseRole("fc1.bias",   role="bias",   position="input", pre="input", post="hidden1")

- ``role``: ``weight`` (a pre × post matrix, shape (n_post, n_pre)), ``bias`` or ``phase``
  (one value per post-synaptic neuron, shape (n_post,)), or ``other``.
- ``pre`` / ``post``: the populations it connects. ``"input"`` and ``"output"`` are the
  network's input and output; hidden populations are named freely (``hidden1``, ...). A bias
  or a phase has the population it belongs to as ``post`` and ``pre`` = the ``pre`` of the
  weights that feed that population.
- ``position``: the layer it belongs to: ``input`` (the input→first hidden layer, its biases
  and the phases of those neurons), ``hidden`` (hidden→hidden), ``output`` (→ output).

Nothing is inferred from the order or the shapes of the groups: policies
(:mod:`neuroplastic.restrict`) look the roles up here, and a policy that needs a role a
network does not declare says so (:meth:`Roles.require`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from neuroplastic.errors import ParameterError
from neuroplastic.synapses import Synapses

Role = Literal["weight", "bias", "phase", "other"]
Position = Literal["input", "hidden", "output"]
ROLES: tuple[str, ...] = ("weight", "bias", "phase", "other")
POSITIONS: tuple[str, ...] = ("input", "hidden", "output")
PER_NEURON: tuple[str, ...] = ("bias", "phase")
"""Roles that hold one value per post-synaptic neuron."""


@dataclass(frozen=True)
class SynapseRole:
    """What one synapse group is: its role, its layer and the populations it connects."""

    group: str
    role: Role
    position: Position
    pre: str
    post: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ParameterError(f"synapse group {self.group!r}: role must be one of {ROLES}")
        if self.position not in POSITIONS:
            raise ParameterError(
                f"synapse group {self.group!r}: position must be one of {POSITIONS}"
            )


def dense_layer_roles(
    weight: str,
    bias: str | None,
    position: Position,
    pre: str,
    post: str,
) -> list[SynapseRole]:
    """The roles of one dense layer: its weights and, if it has one, its bias."""
    roles = [SynapseRole(weight, "weight", position, pre, post)]
    if bias is not None:
        roles.append(SynapseRole(bias, "bias", position, pre, post))
    return roles


def feedforward_populations(n_layers: int) -> list[tuple[str, str, Position]]:
    """(pre, post, position) of each layer of a feed-forward chain of ``n_layers`` layers:
    ``input → hidden1 → ... → output``. A single layer is ``input → output`` (position
    ``output``: it is the readout)."""
    names = ["input", *(f"hidden{i}" for i in range(1, n_layers)), "output"]
    out: list[tuple[str, str, Position]] = []
    for i in range(n_layers):
        position: Position = "output" if i == n_layers - 1 else "input" if i == 0 else "hidden"
        out.append((names[i], names[i + 1], position))
    return out


class Roles:
    """The declared roles of a list of groups, checked: every group has exactly one."""

    def __init__(
        self, groups: Sequence[Synapses], declared: Sequence[SynapseRole], owner: str
    ) -> None:
        self.owner = owner
        by_name = {r.group: r for r in declared}
        if len(by_name) != len(declared):
            raise ParameterError(f"{owner}: a synapse group's role is declared twice")
        names = [g.name for g in groups]
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ParameterError(
                f"{owner} declares no role for synapse group(s) {', '.join(missing)}"
            )
        extra = sorted(set(by_name) - set(names))
        if extra:
            raise ParameterError(f"{owner} declares roles of unknown group(s) {', '.join(extra)}")
        self.groups = list(groups)
        self.of = [by_name[n] for n in names]

    def find(
        self,
        role: Role | tuple[str, ...],
        *,
        position: Position | None = None,
        pre: str | None = None,
        post: str | None = None,
    ) -> list[int]:
        """Indices of the groups with this role (one role or a tuple of them) that match."""
        wanted = (role,) if isinstance(role, str) else role
        return [
            i
            for i, r in enumerate(self.of)
            if r.role in wanted
            and (position is None or r.position == position)
            and (pre is None or r.pre == pre)
            and (post is None or r.post == post)
        ]

    def require(self, what: str, role: Role, position: Position) -> int:
        """The one group with this role and position; a one-line error naming the owner and
        the missing role where there is none (or several)."""
        found = self.find(role, position=position)
        if len(found) != 1:
            many = "several" if found else "no"
            raise ParameterError(
                f"{what} cannot apply to {self.owner}: it declares {many} {position}-layer "
                f"{role} group{'s' if found else ''}"
            )
        return found[0]
