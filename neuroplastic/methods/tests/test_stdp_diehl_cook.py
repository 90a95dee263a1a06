import math

import numpy as np
import pytest
import torch

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import DivergedError, NonFiniteUpdateError
from neuroplastic.methods import BuildContext, get_method
from neuroplastic.methods import stdp_diehl_cook as sdc
from neuroplastic.models.diehl_cook import (
    DiehlCookParams,
    input_currents,
    normalized,
    poisson_events,
    simulate,
)
from neuroplastic.rules.stdp import STDPParams, stdp_event_sums, stdp_step_sums
from neuroplastic.train import LoopSettings, Trainer


def build(seed=0, n_in=20, n=6, classes=2, **kw):
    method = get_method("stdp-diehl-cook")
    ctx = BuildContext(
        n_in, classes, (n,), Ledger(), torch.Generator().manual_seed(seed), torch.device("cpu")
    )
    return method.build(ctx, method.params_model(**kw))


def patterns(n_samples, seed=0):
    """Two classes: inputs 0–9 or 10–19 lit (with noise)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n_samples,), generator=g)
    x = torch.rand(n_samples, 20, generator=g) * 0.1
    for k in range(n_samples):
        x[k, 10 * int(y[k]) : 10 * int(y[k]) + 10] = 1.0
    return x, y


FAST = {"steps": 100, "max_rate_hz": 255.0, "w_inh": 20.0}
PAPER_CODE = {"trace": "nearest", "tau_post2": 40.0}  # Diehl & Cook's published Brian code
ENGINES = ["torch", pytest.param("numba", marks=pytest.mark.skipif(
    sdc._load_kernel() is None, reason="numba is not installed"))]  # fmt: skip


@pytest.mark.parametrize("engine", ENGINES)
def test_batch_of_one_equals_online(engine):
    x, y = patterns(4)
    online = build(mode="online", batch_size=4, engine=engine, **FAST)
    batched = build(mode="batched", batch_size=1, engine=engine, **FAST)
    online.train_step(x, y)
    for k in range(4):
        batched.train_step(x[k : k + 1], y[k : k + 1])
    assert torch.equal(online.fc1.w, batched.fc1.w)
    assert torch.equal(online.theta, batched.theta)
    assert online.ledger.counts("fc1.weight").m0 == batched.ledger.counts("fc1.weight").m0


def reference_batch(learner, x):
    """Sequential presentation with weights and θ frozen during the batch, step by step."""
    net, rule = learner.net, learner.rule
    w = learner.fc1.w.detach().clone()
    gen = torch.Generator().set_state(learner.gen.get_state())
    ev = poisson_events(x, net.max_rate_hz, net.steps, net.dt, gen)
    decay = math.exp(-net.dt / net.tau_m)
    a_pre, a_post = math.exp(-rule.dt / rule.tau_pre), math.exp(-rule.dt / rule.tau_post)
    a_post2 = math.exp(-rule.dt / rule.tau_post2) if rule.tau_post2 else 0.0
    nearest = rule.trace == "nearest"
    n, n_in = w.shape
    dw_total = torch.zeros_like(w)
    spikes_total = torch.zeros(n)
    for b in range(x.shape[0]):
        s_in = torch.zeros(net.steps, n_in)
        sel = ev.b == b
        s_in[ev.t[sel], ev.i[sel]] = 1.0
        v = torch.full((n,), net.v_rest)
        thr = net.v_thresh + learner.theta.clone()
        ref = torch.zeros(n)
        inh = torch.zeros(n)
        x_pre, x_post, x_post2 = torch.zeros(n_in), torch.zeros(n), torch.zeros(n)
        for t in range(net.steps):
            v = v * decay + net.v_rest * (1 - decay)
            current = w @ s_in[t] - inh
            v = v + torch.where(ref > 0, torch.zeros(n), current)
            ref = (ref - 1).clamp(min=0)
            u = v - thr
            z = (u >= u.max().clamp(min=0)).float() if u.max() >= 0 else torch.zeros(n)
            v = torch.where(z > 0, torch.tensor(net.v_reset), v)
            ref = torch.where(z > 0, torch.tensor(5.0), ref)
            thr = thr + net.theta_plus * z
            inh = net.w_inh * (z.sum() - z)
            # traces and the pair rule, step by step
            x_post_seen = x_post * a_post
            x_post2_seen = x_post2 * a_post2
            if nearest:
                x_pre = torch.where(s_in[t] > 0, 1.0, x_pre * a_pre)
            else:
                x_pre = x_pre * a_pre + s_in[t]
            gate = z * x_post2_seen if rule.tau_post2 else z
            pot = (torch.outer(gate, x_pre) - rule.x_tar * z[:, None]) * (rule.w_max - w).clamp(
                min=0
            ) ** rule.mu
            dw_total += rule.eta_post * pot - rule.eta_pre * torch.outer(x_post_seen, s_in[t])
            if nearest:
                x_post = torch.where(z > 0, 1.0, x_post_seen)
                x_post2 = torch.where(z > 0, 1.0, x_post2_seen)
            else:
                x_post, x_post2 = x_post_seen + z, x_post2_seen + z
            spikes_total += z
    new = normalized((w + dw_total).clamp(0, rule.w_max), learner.total)
    theta = (
        learner.theta * math.exp(-(net.steps * net.dt + net.rest_ms) / net.tau_theta) ** len(x)
        + net.theta_plus * spikes_total
    )
    return new, theta


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("extra", [{}, {"x_tar": 0.4, "mu": 1.0}, PAPER_CODE])
def test_batched_equals_sequential_reference(extra, engine):
    x, y = patterns(5, seed=2)
    learner = build(mode="batched", batch_size=5, min_spikes=0, engine=engine, **FAST, **extra)
    learner.train_step(*patterns(3, seed=9))  # not at the initial weights
    new, theta = reference_batch(learner, x)
    learner.train_step(x, y)
    torch.testing.assert_close(learner.fc1.w.detach(), new, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(learner.theta, theta)


def test_learns_two_patterns_and_labels_come_from_training():
    learner = build(n=6, mode="batched", batch_size=20, **FAST)
    assert (learner.assignments() == -1).all()  # nothing assigned before training
    x, y = patterns(200)
    for k in range(0, 200, 20):
        learner.train_step(x[k : k + 20], y[k : k + 20])
    xt, yt = patterns(100, seed=5)
    acc = (learner.predict(xt).argmax(1) == yt).float().mean().item()
    assert acc > 0.9
    assert set(learner.assignments().tolist()) >= {0, 1}


def test_no_autograd_graph_and_writes_only_through_synapses():
    learner = build(**FAST)
    x, y = patterns(8)
    with torch.autograd.graph.saved_tensors_hooks(
        lambda t: pytest.fail("graph built"), lambda t: t
    ):
        learner.train_step(x, y)
    assert not learner.fc1.w.requires_grad
    counts = learner.ledger.counts("fc1.weight")
    assert counts.m0 > 0


@pytest.mark.parametrize("engine", ENGINES)
def test_divergence_stops_with_step_and_writes_nothing(monkeypatch, engine):
    learner = build(engine=engine, **FAST)
    x, y = patterns(8)
    learner.train_step(x, y)
    before = learner.fc1.w.detach().clone()
    m0 = learner.ledger.counts("fc1.weight").m0

    def poison():  # a non-finite proposal
        if engine == "torch":
            monkeypatch.setattr(
                sdc, "stdp_delta", lambda a, d, n, w, p: torch.full_like(w, math.nan)
            )
        else:
            learner._acc[0][:] = math.nan  # the kernel's pair sums

    poison()
    with pytest.raises(NonFiniteUpdateError, match="at write 2"):
        learner.train_step(x, y)
    assert torch.equal(learner.fc1.w.detach(), before)
    assert learner.ledger.counts("fc1.weight").m0 == m0
    # through the training loop the run stops as 'diverged' with its step
    poison()
    with pytest.raises(DivergedError, match="diverged at step 1") as info:
        Trainer(learner, LoopSettings(epochs=1, batch_size=8)).fit(x, y, x, y)
    assert info.value.step == 1
    assert torch.equal(learner.fc1.w.detach(), before)


@pytest.mark.skipif(sdc._load_kernel() is None, reason="numba is not installed")
@pytest.mark.parametrize(
    ("one_spike", "rule"),
    [
        (True, {}),
        (False, {}),
        (True, {"trace": "nearest", "tau_post2": 40.0}),
        (False, {"trace": "nearest"}),
        (True, {"tau_post2": 30.0}),
    ],
)
def test_kernel_equals_tensor_simulation_on_the_same_spikes(one_spike, rule):
    """The event-driven kernel (lazy traces, gathered weight rows) gives the raster of the dense
    tensor simulation and the sums of the step-by-step trace loop (and, for the additive pair
    rule, of the closed-form event sums), on the same spikes."""
    kernel = sdc._load_kernel()
    g = torch.Generator().manual_seed(3)
    n, n_in, batch = 30, 50, 4
    net = DiehlCookParams(steps=120, max_rate_hz=200.0, w_inh=5.0, one_spike=one_spike)
    rule = STDPParams(**rule)
    w = torch.rand(n, n_in, generator=g) * 0.6
    theta = torch.rand(n, generator=g)
    x = torch.rand(batch, n_in, generator=g) * (torch.rand(batch, n_in, generator=g) < 0.6)
    ev = poisson_events(x, net.max_rate_hz, net.steps, net.dt, g)
    raster = simulate(input_currents(ev, w.T.contiguous()), theta, net)
    pre = torch.zeros(net.steps, batch, n_in)
    pre[ev.t, ev.b, ev.i] = 1.0
    a_ref, d_ref = stdp_step_sums(pre, raster, rule)
    if rule.linear:
        post = torch.nonzero(raster)
        a_ev, d_ev = stdp_event_sums(
            ev.raster, ev.col_b, ev.col_i, (post[:, 0], post[:, 1], post[:, 2]), n_in, n, rule
        )
        torch.testing.assert_close(a_ev, a_ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(d_ev, d_ref, rtol=1e-5, atol=1e-5)
    col_start = torch.zeros(batch + 1, dtype=torch.long)
    col_start[1:] = torch.bincount(ev.col_b, minlength=batch).cumsum(0)
    decay = math.exp(-net.dt / net.tau_m)
    consts = torch.tensor(
        [decay, net.v_rest * (1 - decay), net.v_reset, net.v_thresh, net.theta_plus, net.w_inh,
         net.v_rest]
    ).numpy()  # fmt: skip
    lags = torch.arange(net.steps + 1, dtype=torch.float64)
    counts = torch.zeros(batch, n)
    a_acc = torch.zeros(n, n_in, dtype=torch.float64)
    d_acc = torch.zeros(n, n_in, dtype=torch.float64)
    kernel.present(
        w.numpy(), theta.numpy(), ev.raster.numpy(), col_start.numpy(), ev.col_i.numpy(),
        consts, 5, one_spike, True, rule.trace == "nearest",
        torch.exp(-lags / rule.tau_pre).numpy(), torch.exp(-lags / rule.tau_post).numpy(),
        torch.exp(-lags / rule.tau_post2).numpy() if rule.tau_post2 else np.zeros(0),
        counts.numpy(), a_acc.numpy(), d_acc.numpy(),
    )  # fmt: skip
    assert raster.sum() > 20  # the comparison is not vacuous
    assert torch.equal(counts, raster.sum(0).float())
    torch.testing.assert_close(a_acc.float(), a_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(d_acc.float(), d_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(sdc._load_kernel() is None, reason="numba is not installed")
def test_engines_agree_and_only_spiking_rows_are_written():
    x, y = patterns(6, seed=4)
    fast = build(mode="batched", batch_size=6, engine="numba", min_spikes=0, **FAST)
    ref = build(mode="batched", batch_size=6, engine="torch", min_spikes=0, **FAST)
    w0 = fast.fc1.w.detach().clone()
    fast.train_step(x, y)
    ref.train_step(x, y)
    torch.testing.assert_close(fast.fc1.w.detach(), ref.fc1.w.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fast.theta, ref.theta)
    changed = (fast.fc1.w.detach() != w0).any(1)
    spiked = fast.theta > 0
    assert bool(spiked.any()) and not bool(spiked.all())
    assert torch.equal(changed, spiked)
    assert fast.ledger.counts("fc1.weight").m0 <= int(spiked.sum()) * 20
    torch.testing.assert_close(fast.predict(x), ref.predict(x))


def test_numba_engine_without_numba_is_refused(monkeypatch):
    monkeypatch.setattr(sdc, "_load_kernel", lambda: None)
    with pytest.raises(Exception, match="engine='numba' needs Numba"):
        build(engine="numba")


def test_replay_assignment_uses_the_last_training_samples_without_learning():
    learner = build(n=6, mode="batched", batch_size=20, assign="replay", assign_samples=50, **FAST)
    x, y = patterns(200)
    for k in range(0, 200, 20):
        learner.train_step(x[k : k + 20], y[k : k + 20])
    kept = {tuple(r.tolist()) for r in learner.replay_x}
    assert kept == {tuple(r.tolist()) for r in x[150:]}  # the ring holds the last 50
    w, theta = learner.fc1.w.detach().clone(), learner.theta.clone()
    assign = learner.assignments()
    assert torch.equal(learner.fc1.w.detach(), w) and torch.equal(learner.theta, theta)
    counts = learner.spike_counts(x[150:])
    hot = torch.nn.functional.one_hot(y[150:], 2).float()
    mean = (hot.T @ counts) / hot.sum(0)[:, None]
    expected = torch.where(mean.max(0).values > 0, mean.argmax(0), -1)
    assert torch.equal(assign, expected)
    xt, yt = patterns(100, seed=5)
    assert (learner.predict(xt).argmax(1) == yt).float().mean().item() > 0.9
