"""Restriction policies read declared roles: same masks as before on the MLPs, the spiking
network's layers found by role (not by order), and a clear error where a role is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from neuroplastic import Ledger, Synapses
from neuroplastic.errors import ParameterError
from neuroplastic.methods import BuildContext, available_methods, get_method
from neuroplastic.restrict import RestrictParams, attach_restriction
from neuroplastic.roles import Roles, SynapseRole

MASKS = Path(__file__).parent / "fixtures" / "mlp_masks_before_roles.json"
"""What every policy wrote on each MLP learner, dumped by the code *before* roles were declared
(layers then guessed from the order and shapes of the groups); see ``_written`` for the
procedure (seed 0 learner, 10 inputs, 4 classes; dw ~ N(0, 1) from seed 7, groups in order)."""


def build(name, hidden=(12,)):
    method = get_method(name)
    ctx = BuildContext(
        10, 4, hidden, Ledger(), torch.Generator().manual_seed(0), torch.device("cpu")
    )
    return method.build(ctx, method.params_model(batch_size=8))


def _written(learner, params: dict) -> dict[str, str]:
    attach_restriction(learner.roles(), RestrictParams(**params))
    g = torch.Generator().manual_seed(7)
    out = {}
    for syn in learner.synapses():
        dw = torch.randn(syn.w.shape, generator=g)
        filt = syn.restriction
        kept = dw if filt is None else filt.dense(syn, dw)
        out[syn.name] = "".join("1" if v else "0" for v in (kept != 0).flatten().tolist())
    return out


CASES = json.loads(MASKS.read_text())


@pytest.mark.parametrize("case", sorted(CASES))
def test_policies_write_the_same_entries_as_before_on_the_mlps(case):
    name, rest = case.split(" ", 1)
    hidden_text, params_text = rest.split("] ", 1)
    hidden = tuple(json.loads(hidden_text + "]"))
    written = _written(build(name, hidden), json.loads(params_text))
    assert written == CASES[case]


@pytest.mark.parametrize("name", available_methods())
def test_every_method_declares_one_role_per_group(name):
    learner = build(name)
    roles = learner.roles()  # raises if a group has no role, or a role no group
    assert [r.group for r in roles.of] == [s.name for s in learner.synapses()]
    first = roles.require("test", "weight", "input")
    assert roles.groups[first].w.shape[1] == 10
    for readout in roles.find("weight", position="output"):  # (a vote readout has none)
        assert roles.groups[readout].w.shape[0] == 4 and roles.of[readout].post == "output"
    for r, syn in zip(roles.of, roles.groups, strict=True):
        if r.role in ("bias", "phase"):  # one value per post neuron of a declared layer
            (weights,) = roles.find("weight", position=r.position, pre=r.pre, post=r.post)
            assert syn.w.shape == (roles.groups[weights].w.shape[0],)
    assert learner.input_synapses() is roles.groups[first]


def test_spiking_layers_are_found_by_role_not_by_order():
    """The hidden→hidden matrix is not the 'output' layer; the phases of the path's neurons
    are restricted with their input rows (they were filtered by ``top`` before)."""
    learner = build("spiking-exact", hidden=(6, 5))
    roles = learner.roles()
    by_name = {r.group: r for r in roles.of}
    assert by_name["fc2.weight"].position == "hidden"
    assert by_name["fc3.weight"].position == "output"
    assert (by_name["phase1"].role, by_name["phase1"].position) == ("phase", "input")
    attach_restriction(roles, RestrictParams(policy="path-top", k=3, p=0.5, seed=0))
    groups = {s.name: s for s in learner.synapses()}
    units = groups["fc1.weight"].restriction.rows
    assert int(units.sum()) == 3
    assert torch.equal(groups["phase1"].restriction.rows, units)  # the path's own neurons
    assert torch.equal(groups["fc2.weight"].restriction.cols, units)  # their outgoing synapses
    assert groups["fc3.weight"].restriction.cols is None  # hidden2 → output: not the path's
    attach_restriction(roles, RestrictParams(policy="balanced", p=0.01))
    # n_in / n_out of the network = 10 / 4 (the readout's rows, not the last 2-D group by order)
    assert groups["fc3.weight"].restriction.fraction == pytest.approx(0.025)
    assert groups["fc1.weight"].restriction.fraction == groups["phase1"].restriction.fraction


def test_a_policy_that_needs_a_missing_role_names_the_learner_and_the_role():
    w = Synapses("readout.weight", torch.zeros(4, 10))
    roles = Roles([w], [SynapseRole("readout.weight", "weight", "output", "input", "output")], "x")
    attach_restriction(roles, RestrictParams(policy="top", p=0.5))  # needs no role
    with pytest.raises(
        ParameterError,
        match="restriction 'path' cannot apply to x: it declares no input-layer weight group",
    ):
        attach_restriction(roles, RestrictParams(policy="path", k=2))
    roles = Roles([w], [SynapseRole("readout.weight", "weight", "input", "input", "h")], "y")
    with pytest.raises(
        ParameterError, match=r"'balanced' cannot apply to y: .*output-layer weight"
    ):
        attach_restriction(roles, RestrictParams(policy="balanced", p=0.1))


def test_undeclared_or_unknown_groups_are_one_line_errors():
    w, b = Synapses("fc.weight", torch.zeros(2, 3)), Synapses("fc.bias", torch.zeros(2))
    declared = [SynapseRole("fc.weight", "weight", "input", "input", "h")]
    with pytest.raises(ParameterError, match=r"net declares no role for synapse group.*fc\.bias"):
        Roles([w, b], declared, "net")
    extra = [*declared, SynapseRole("fc.gain", "other", "input", "input", "h")]
    with pytest.raises(ParameterError, match=r"unknown group.*fc\.gain"):
        Roles([w], extra, "net")
    with pytest.raises(ParameterError, match="role must be one of"):
        SynapseRole("fc.weight", "gain", "input", "input", "h")  # type: ignore[arg-type]
