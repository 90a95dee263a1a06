"""The batch-1 energy protocol: hand-checked step, ledger = weight diffs, CLI end to end."""

from __future__ import annotations

import json
import math

import pytest
import torch

from neuroplastic.experiments.energy_protocol import (
    EnergyParams,
    ProtocolNet,
    prepare_inputs,
    run_protocol,
)


def tiny_data(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.randn(n, 784, generator=g) * 0.05
    x[torch.arange(n), y * 70] += 1.0  # one informative pixel per class
    return {"x": x, "y": y, "x_eval": x[:100], "y_eval": y[:100]}


def test_step_matches_autograd_and_ledger_counts_diffs():
    p = EnergyParams(n_hid=7)
    net = ProtocolNet(p, 784, 10, torch.Generator().manual_seed(0))
    x = torch.randn(784) * 0.1
    t = torch.zeros(10)
    t[3] = 1.0
    ws = [s.w.detach().clone().requires_grad_(True) for s in net.groups]
    h = torch.nn.functional.leaky_relu(ws[0] @ x + ws[1], 0.1)
    loss = 0.5 * ((ws[2] @ h + ws[3] - t) ** 2).sum()
    grads = torch.autograd.grad(loss, ws)
    before = [s.w.detach().clone() for s in net.groups]
    net.step(x, t)
    m0 = m1 = 0.0
    for s, w0, g in zip(net.groups, before, grads, strict=True):
        assert torch.allclose(s.w.detach(), w0 - 0.01 * g, atol=1e-7)
        d = (s.w.detach() - w0).double()
        m0 += int(torch.count_nonzero(d))
        m1 += float(d.abs().sum())
    c = net.ledger.counts()
    # apply_outer counts the proposed rank-1 update from its factors: an upper bound on the
    # entries float32 actually changed (a product below half an ulp of w is swallowed)
    assert m0 <= c.m0 <= m0 * 1.005
    assert c.m1 == pytest.approx(m1, rel=1e-4)


def test_prepare_inputs_scaling():
    img = torch.tensor([[[0, 255]]], dtype=torch.uint8)
    x = prepare_inputs(img, 0.1, 0.0, torch.Generator())
    assert x.flatten().tolist() == pytest.approx([-0.1, 0.88])


@pytest.mark.parametrize(
    "extra",
    [{}, {"restrict": "top", "p": 0.1}, {"restrict": "path", "k": 10}, {"cache": True, "c": 0.01}],
)
def test_protocol_runs_and_stops_at_target(extra):
    p = EnergyParams(n_hid=20, test_every=100, target=0.8, lr=0.05, **extra)
    out = run_protocol(p, tiny_data(), seed=1, max_samples=1500)
    assert out["reached"], out["curve"][-1]
    assert out["samples_to_target"] % 100 == 0
    assert out["m0"] >= out["m0_min"] > 0
    assert out["m1_inefficiency"] >= 1.0 - 1e-9
    layers = out["per_layer"]
    assert layers["fc1"]["m0"] + layers["fc2"]["m0"] == out["m0"]
    if extra.get("restrict") == "path":
        assert layers["fc1"]["m0_min"] <= 10 * 785
    if extra.get("cache"):
        assert out["maintenance"] > 0
        assert out["energy_total"] == pytest.approx(out["m1"] + out["maintenance"])


@pytest.mark.mnist
def test_cli_energy_quick_and_restricted_method(run_main, tmp_path):
    code, out, err = run_main(
        "run",
        "energy",
        "--n-hid",
        "10",
        "--quick",
        "--restrict",
        "path",
        "--k",
        "5",
        "--json",
        str(tmp_path / "e.json"),
    )
    assert code == 0, err
    payload = json.loads((tmp_path / "e.json").read_text())
    assert payload["restriction"] == "path k=5" and payload["samples_seen"] == 4000
    code, out, err = run_main(
        "run",
        "backprop",
        "--quick",
        "--hidden",
        "20",
        "--restrict",
        "path",
        "--k",
        "5",
        "--cache",
        "--cache-theta",
        "0.05",
        "--set",
        "epochs=1",
        "--json",
        str(tmp_path / "r.json"),
    )
    assert code == 0, err
    rec = json.loads((tmp_path / "r.json").read_text())[0]
    assert rec["restriction"] == "path k=5" and rec["ledger"]["maintenance"] > 0
    assert "path k=5" in out
    code, out, err = run_main("run", "backprop", "--quick", "--cache-c", "0.1")
    assert code == 2 and "need --cache" in err


def test_divergence_is_an_outcome_not_a_crash():
    p = EnergyParams(n_hid=20, test_every=100, target=0.99, lr=5.0, init_std=1.0)
    out = run_protocol(p, tiny_data(), seed=1, max_samples=1500)
    assert not out["reached"]
    assert out["diverged"] is not None and "NaN or infinity" in out["diverged"]
    assert out["samples_seen"] < 1500
    assert math.isfinite(out["m1"])  # nothing non-finite was written or counted


@pytest.fixture(params=["kernel", "torch"])
def writer_kind(request, monkeypatch):
    """OuterBatch with the Numba kernel (neuroplastic.fused) and with its torch ops."""
    from neuroplastic import fused

    if request.param == "kernel" and fused.outer_batch_kernel() is None:
        pytest.skip("numba is not installed")
    if request.param == "torch":
        monkeypatch.setitem(fused._state, "ok", False)
    return request.param


@pytest.mark.parametrize("n_hid", [7, 100])
def test_fused_writer_equals_generic_path_step_by_step(n_hid, writer_kind):
    """OuterBatch vs apply_outer/apply: same weights bit for bit, same M0, M1/M2 to 1e-5."""
    p = EnergyParams(n_hid=n_hid)
    fast = ProtocolNet(p, 784, 10, torch.Generator().manual_seed(0))
    slow = ProtocolNet(p, 784, 10, torch.Generator().manual_seed(0))
    slow.fast = False
    writer = fast.fast_writer()
    assert writer is not None and slow.fast_writer() is None
    assert (writer._kernel is not None) == (writer_kind == "kernel")
    data = tiny_data(60)
    targets = torch.nn.functional.one_hot(data["y"], 10).float()
    for i in range(60):
        fast.step(data["x"][i], targets[i])
        slow.step(data["x"][i], targets[i])
        for a, b in zip(fast.groups, slow.groups, strict=True):
            assert torch.equal(a.w, b.w), a.name
            ca, cb = fast.ledger.counts(group=a.name), slow.ledger.counts(group=b.name)
            assert ca.m0 == cb.m0 and ca.applies == cb.applies == i + 1
            assert ca.m1 == pytest.approx(cb.m1, rel=1e-5)
            assert ca.m2 == pytest.approx(cb.m2, rel=1e-5)


@pytest.mark.parametrize("bad", ["input", "target"])
def test_fused_writer_rejects_non_finite_and_writes_nothing(writer_kind, bad):
    from neuroplastic.errors import NonFiniteUpdateError

    net = ProtocolNet(EnergyParams(n_hid=5), 784, 10, torch.Generator().manual_seed(0))
    before = [s.w.detach().clone() for s in net.groups]
    x, t = torch.zeros(784), torch.zeros(10)
    if bad == "input":
        x[0] = float("inf")
    else:  # only the output error (and so the output bias) is non-finite
        t[3] = float("nan")
    with pytest.raises(NonFiniteUpdateError):
        net.step(x, t)
    for s, w0 in zip(net.groups, before, strict=True):
        assert torch.equal(s.w.detach(), w0)
    assert net.ledger.counts().applies == 0


def test_fused_writer_not_used_with_a_policy():
    net = ProtocolNet(EnergyParams(n_hid=5, restrict="top", p=0.1), 784, 10, torch.Generator())
    assert net.fast_writer() is None
