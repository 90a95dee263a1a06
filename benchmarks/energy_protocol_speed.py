"""Benchmark: speed of the batch-1 energy protocol (784-N-10, plain backprop, lr 0.01).

Five loops train the same network on the same samples (drawn with replacement), batch size 1,
from the same N(0, 0.03²) initial weights, on MNIST prepared as the protocol prescribes:

- ``protocol``: neuroplastic's step (``ProtocolNet.step``; without restriction the fused
  writer ``OuterBatch``, every write counted by the ledger: M0, M1, M2 per group);
- ``protocol_generic``: the same step through ``Synapses.apply_outer`` and ``Synapses.apply``
  per group (the path a restriction or a cache takes; the fused writer switched off);
- ``torch_plain``: a plain PyTorch loop: ``nn.Linear`` layers, leaky ReLU, ``0.5·Σ(out−t)²``,
  ``loss.backward()``, ``torch.optim.SGD``;
- ``torch_manual``: the fastest plain loop we could write: hand-written gradients, ``addmv`` and
  in-place ``addr_`` (no ledger, no autograd);
- ``numpy``: a NumPy loop in the style of the authors' code (weights stored input × output,
  ``np.dot``, ``np.outer``), no counting.

Samples per second are the median over ``--repeats`` alternating rounds of ``--samples`` each
(after a warm-up), training time only (no evaluation). Reported: absolute samples/s of every
loop and each loop's speed relative to ``torch_plain`` measured in the same run (the number
that survives a loaded machine; absolute rates depend on the load, so record ``uptime`` with
them). Issue 12 targets, plain backprop, batch 1, one thread: ≥ 10,000 samples/s at N = 100,
≥ 1,800 at N = 1000, ≥ 300 for ``--restrict top --p 0.1`` at N = 1000. torch threads:
``--threads`` (default 1, the protocol's default; all loops use the same setting). Writes JSON
(``--json``).

    python benchmarks/energy_protocol_speed.py --json results/energy_protocol_speed.json
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from _common import benchmark_parser, load_average, write_json
from torch import Tensor, nn

from neuroplastic.experiments.energy_protocol import (
    EnergyParams,
    ProtocolNet,
    load_protocol_data,
)

TARGET_SAMPLES_PER_S = {(100, "none"): 10_000.0, (1000, "none"): 1_800.0, (1000, "top"): 300.0}


def run_protocol_loop(net: ProtocolNet, x: Tensor, t: Tensor, order: list[int]) -> float:
    start = time.perf_counter()
    for i in order:
        net.step(x[i], t[i])
    return time.perf_counter() - start


def make_torch_plain(w: list[Tensor]) -> tuple[nn.Module, torch.optim.Optimizer]:
    model = nn.Sequential(
        nn.Linear(784, w[0].shape[0]), nn.LeakyReLU(0.1), nn.Linear(w[0].shape[0], 10)
    )
    with torch.no_grad():
        model[0].weight.copy_(w[0])
        model[0].bias.copy_(w[1])
        model[2].weight.copy_(w[2])
        model[2].bias.copy_(w[3])
    return model, torch.optim.SGD(model.parameters(), lr=0.01)


def run_torch_plain(
    model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, t: Tensor, order: list[int]
) -> float:
    start = time.perf_counter()
    for i in order:
        opt.zero_grad(set_to_none=True)
        loss = 0.5 * ((model(x[i : i + 1]) - t[i : i + 1]) ** 2).sum()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


@torch.no_grad()
def run_torch_manual(w: list[Tensor], x: Tensor, t: Tensor, order: list[int]) -> float:
    w1, b1, w2, b2 = w
    start = time.perf_counter()
    for i in order:
        xi = x[i]
        pre = torch.addmv(b1, w1, xi)
        h = F.leaky_relu(pre, 0.1)
        e2 = torch.addmv(b2, w2, h) - t[i]
        e1 = torch.mv(w2.t(), e2)
        e1 = torch.where(pre > 0, e1, e1 * 0.1)
        w2.addr_(e2, h, alpha=-0.01)
        b2.add_(e2, alpha=-0.01)
        w1.addr_(e1, xi, alpha=-0.01)
        b1.add_(e1, alpha=-0.01)
    return time.perf_counter() - start


def run_numpy(w: list[np.ndarray], x: np.ndarray, t: np.ndarray, order: list[int]) -> float:
    # authors' layout: weights input × output, bias as an extra input fixed at 1
    w1, w2 = w
    start = time.perf_counter()
    for i in order:
        xi = x[i]
        pre = np.dot(xi, w1)
        h = np.where(pre > 0, pre, 0.1 * pre)
        h1 = np.append(h, 1.0)
        out = np.dot(h1, w2)
        err = (t[i] - out).astype(np.float32)
        back = ((0.1 + 0.9 * (pre > 0)) * np.dot(w2[:-1], err)).astype(np.float32)
        w2 += 0.01 * np.outer(h1, err)
        w1 += 0.01 * np.outer(xi, back)
    return time.perf_counter() - start


def main() -> None:
    parser = benchmark_parser(__doc__, Path("results/energy_protocol_speed.json"))
    parser.add_argument("--n-hid", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--restrict", default="none", help="restriction of the protocol loop")
    parser.add_argument("--p", type=float, default=1.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_protocol_data(None, 0, 0.001, "test", False)
    x = data["x"]
    t = F.one_hot(data["y"], 10).to(torch.float32)
    gen = torch.Generator().manual_seed(0)
    params = EnergyParams(n_hid=args.n_hid, restrict=args.restrict, p=args.p)
    net = ProtocolNet(params, 784, 10, gen)
    generic = ProtocolNet(params, 784, 10, torch.Generator().manual_seed(0))
    generic.fast = False
    w0 = [s.w.detach().clone() for s in net.groups]
    model, opt = make_torch_plain(w0)
    manual = [w.clone() for w in w0]
    x_np, t_np = x.numpy().astype(np.float32), t.numpy()
    x_np1 = np.concatenate([x_np, np.ones((x_np.shape[0], 1), np.float32)], axis=1)
    np_w = [
        np.concatenate([w0[0].numpy().T, w0[1].numpy()[None, :]], axis=0).copy(),
        np.concatenate([w0[2].numpy().T, w0[3].numpy()[None, :]], axis=0).copy(),
    ]
    order_gen = torch.Generator().manual_seed(1)
    times: dict[str, list[float]] = {
        k: [] for k in ("protocol", "protocol_generic", "torch_plain", "torch_manual", "numpy")
    }
    warm = torch.randint(x.shape[0], (200,), generator=order_gen).tolist()
    run_protocol_loop(net, x, t, warm)
    run_protocol_loop(generic, x, t, warm)
    run_torch_plain(model, opt, x, t, warm)
    run_torch_manual(manual, x, t, warm)
    run_numpy(np_w, x_np1, t_np, warm)
    for _ in range(args.repeats):
        order = torch.randint(x.shape[0], (args.samples,), generator=order_gen).tolist()
        times["protocol"].append(run_protocol_loop(net, x, t, order))
        times["protocol_generic"].append(run_protocol_loop(generic, x, t, order))
        times["torch_plain"].append(run_torch_plain(model, opt, x, t, order))
        times["torch_manual"].append(run_torch_manual(manual, x, t, order))
        times["numpy"].append(run_numpy(np_w, x_np1, t_np, order))
    rate = {k: args.samples / statistics.median(v) for k, v in times.items()}
    target = TARGET_SAMPLES_PER_S.get((args.n_hid, args.restrict))
    out: dict[str, Any] = {
        "benchmark": "energy_protocol_speed",
        "architecture": f"784-{args.n_hid}-10",
        "restriction": args.restrict if args.restrict == "none" else f"{args.restrict} p={args.p}",
        "samples_per_round": args.samples,
        "repeats": args.repeats,
        "threads": args.threads,
        "load_average": load_average(),
        "samples_per_s": rate,
        "speed_relative_to_torch_plain": {k: v / rate["torch_plain"] for k, v in rate.items()},
        "target_samples_per_s": target,
        "meets_target": None if target is None else rate["protocol"] >= target,
        "seconds": times,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "note": "absolute rates depend on the machine's load (load_average); the relative "
        "speeds are measured in the same process, alternating",
    }
    write_json(out, args.json, echo=False)
    print(json.dumps({k: out[k] for k in list(out)[:12]}, indent=2))


if __name__ == "__main__":
    main()
