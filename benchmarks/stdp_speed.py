"""Benchmark: training speed of Diehl & Cook STDP (``stdp-diehl-cook``), online and batched.

Diehl & Cook at ``--neurons`` (default 400) excitatory neurons, 784 Poisson inputs, 250 steps of
1 ms per sample, on the first MNIST training images. Three loops, one process, same thread count
(default 1):

- ``online``: the method with ``mode=online`` (one sample at a time, one counted write per
  sample; event-driven input currents, lazily decaying traces, STDP sums at events);
- ``batched``: ``mode=batched`` with ``--batch`` samples per write (one counted write per batch);
  both with ``--engine`` (default ``auto``: the Numba kernel on the CPU when installed, else the
  torch tensor path; ``--engine torch`` times the tensor path, the one CUDA uses);
- ``dense_step``: a plain per-step loop in the style of peer simulators (dense input current
  ``W s(t)`` and dense trace/weight updates of all synapses every step, batch 1, no ledger): the
  baseline the speed-ups are ratios against.

Samples per second are training time only (no evaluation, no label assignment readout), from
the first MNIST training images and fresh weights (so rate boosts for quiet samples included).
Targets (issue 15, on the shared 2-core machine): ≥ 480 samples/s batched, ≥ 100 samples/s
online. The machine is shared: the JSON records ``uptime``'s load averages before and after;
``samples_per_cpu_s`` (samples per CPU second of the process, ``time.process_time``) is what
an idle core would give and is robust to the load, as are (less so) the ratios against
``dense_step`` (same process, same run).
With ``--device cuda`` the batched loop also runs on the GPU (torch engine).

    OMP_NUM_THREADS=1 python benchmarks/stdp_speed.py --json results/stdp_speed.json
"""

from __future__ import annotations

import math
import os
import platform
import time
from typing import Any

import torch
from _common import benchmark_parser, build_learner, load_average, mnist_train, write_json

from neuroplastic.methods.stdp_diehl_cook import STDPDiehlCookLearner
from neuroplastic.models.diehl_cook import normalized, poisson_events


def build(neurons: int, device: str, **kw: Any) -> STDPDiehlCookLearner:
    learner = build_learner("stdp-diehl-cook", neurons, device=device, **kw)
    assert isinstance(learner, STDPDiehlCookLearner)
    return learner


def time_method(
    x: torch.Tensor,
    y: torch.Tensor,
    neurons: int,
    mode: str,
    batch: int,
    device: str,
    engine: str = "auto",
) -> tuple[float, float]:
    """(samples per wall second, samples per CPU second of this process)."""
    learner = build(neurons, device, mode=mode, batch_size=batch, engine=engine)
    x, y = x.to(device), y.to(device)
    learner.train_step(x[:batch], y[:batch])  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(batch, x.shape[0], batch):
        learner.train_step(x[k : k + batch], y[k : k + batch])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    n = x.shape[0] - batch
    return n / (time.perf_counter() - start), n / (time.process_time() - cpu)


def time_dense_step(x: torch.Tensor, neurons: int) -> tuple[float, float]:
    """Per-step dense simulation and STDP (peer-simulator style), batch 1."""
    learner = build(neurons, "cpu")
    net, rule = learner.net, learner.rule
    w = learner.fc1.w.detach().clone()
    decay = math.exp(-net.dt / net.tau_m)
    a_pre, a_post = math.exp(-1 / rule.tau_pre), math.exp(-1 / rule.tau_post)
    gen = torch.Generator().manual_seed(1)
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(x.shape[0]):
        ev = poisson_events(x[k : k + 1], net.max_rate_hz, net.steps, net.dt, gen)
        s_in = torch.zeros(net.steps, 784)
        s_in[ev.t, ev.i] = 1.0
        v = torch.full((neurons,), net.v_rest)
        thr = net.v_thresh + learner.theta
        inh = torch.zeros(neurons)
        x_pre, x_post = torch.zeros(784), torch.zeros(neurons)
        for t in range(net.steps):
            v = v * decay + net.v_rest * (1 - decay) + w @ s_in[t] - inh
            u = v - thr
            z = (u >= u.max().clamp(min=0)).float()
            v = torch.where(z > 0, torch.tensor(net.v_reset), v)
            inh = net.w_inh * (z.sum() - z)
            x_post = x_post * a_post
            x_pre = x_pre * a_pre + s_in[t]
            w += rule.eta_post * torch.outer(z, x_pre) - rule.eta_pre * torch.outer(x_post, s_in[t])
            x_post = x_post + z
        w = normalized(w.clamp(0, 1), learner.total)
    return x.shape[0] / (time.perf_counter() - start), x.shape[0] / (time.process_time() - cpu)


def main() -> None:
    ap = benchmark_parser(__doc__)
    ap.add_argument("--neurons", type=int, default=400)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--samples", type=int, default=1000, help="batched samples timed")
    ap.add_argument("--online-samples", type=int, default=500)
    ap.add_argument("--dense-samples", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="also time batched on this device")
    ap.add_argument("--engine", default="auto", choices=["auto", "numba", "torch"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x, y = mnist_train()
    load_before = load_average()
    dense = time_dense_step(x[: args.dense_samples], args.neurons)
    eng = args.engine
    online = time_method(x[: args.online_samples + 1], y, args.neurons, "online", 1, "cpu", eng)
    n_b = args.samples + args.batch
    batched = time_method(x[:n_b], y[:n_b], args.neurons, "batched", args.batch, "cpu", eng)
    used = "numba" if build(args.neurons, "cpu", engine=eng).kernel is not None else "torch"
    out: dict[str, Any] = {
        "benchmark": "stdp_speed",
        "neurons": args.neurons,
        "steps_per_sample": 250,
        "threads": args.threads,
        "batch": args.batch,
        "engine": used,
        "samples_timed": {"online": args.online_samples, "batched": args.samples},
        "samples_per_s": {"online": online[0], "batched": batched[0], "dense_step": dense[0]},
        "samples_per_cpu_s": {"online": online[1], "batched": batched[1], "dense_step": dense[1]},
        "speedup_vs_dense_step": {
            "online": online[0] / dense[0],
            "batched": batched[0] / dense[0],
        },
        "targets": {"batched": 480, "online": 100},
        "load_avg_before": load_before,
        "load_avg_after": load_average(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "torch": torch.__version__,
    }
    if args.device != "cpu":
        out["samples_per_s"][f"batched_{args.device}"] = time_method(
            x[:n_b], y[:n_b], args.neurons, "batched", args.batch, args.device, "torch"
        )[0]
    write_json(out, args.json)


if __name__ == "__main__":
    main()
