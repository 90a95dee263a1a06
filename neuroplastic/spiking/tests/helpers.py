"""A slow, obviously-correct reference simulation (one sample, one global event queue)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from neuroplastic.spiking.theta import ThetaParams, transfer


def _h(phi: float, w: float, p: ThetaParams) -> float:
    return float(
        transfer(torch.tensor(phi, dtype=torch.float64), torch.tensor(w, dtype=torch.float64), p)
    )


def reference_trial(
    input_times: list[float],
    weights: list[Tensor],
    phi0: list[Tensor],
    t_end: float,
    p: ThetaParams,
) -> tuple[list[list[list[float]]], list[list[float]]]:
    """The spec's loop: next network spike (largest phase) vs next input spike, the earlier
    wins; beyond T advance to T and stop. Returns spike times per layer and neuron, and φ(T)."""
    period = p.period
    w = [x.detach().double().tolist() for x in weights]
    phases = [x.detach().double().tolist() for x in phi0]
    spikes: list[list[list[float]]] = [[[] for _ in layer] for layer in phases]
    queue = sorted((t, i) for i, t in enumerate(input_times) if t < t_end)
    t = 0.0
    while True:
        best = max(
            ((phi, layer, j) for layer, ph in enumerate(phases) for j, phi in enumerate(ph)),
        )
        dt_net = period - best[0]
        dt_in = queue[0][0] - t if queue else math.inf
        dt = min(dt_net, dt_in)
        if t + dt >= t_end:
            for ph in phases:
                for j in range(len(ph)):
                    ph[j] += t_end - t
            return spikes, phases
        t += dt
        for ph in phases:
            for j in range(len(ph)):
                ph[j] += dt
        if dt_net <= dt_in:
            _, layer, j = best
            phases[layer][j] = 0.0
            spikes[layer][j].append(t)
            if layer + 1 < len(phases):
                target = phases[layer + 1]
                for i in range(len(target)):
                    target[i] = _h(target[i], w[layer + 1][i][j], p)
        else:
            _, i = queue.pop(0)
            for k in range(len(phases[0])):
                phases[0][k] = _h(phases[0][k], w[0][k][i], p)
