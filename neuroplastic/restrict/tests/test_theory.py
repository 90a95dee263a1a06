"""Theory checks (Li & van Rossum 2020) run through Synapses, the cache and the ledger.

1. Perceptron inefficiency ``M1/M1_min = sqrt(pi P) / (2 − P/N)`` for P random ±1 patterns on
   N synapses (w(0) = 0, perceptron rule ``Δw = y x`` on errors until all are stored). The
   formula is an approximation: the paper quotes ~900× by simulation where it gives 773× (P =
   1,900, N = 1,000), i.e. simulation ~16 % above it. We measure 1.15–1.30× the formula at
   P/N = 0.1 and 0.5 (N = 1,000, three seeds) and accept [1.0, 1.4].
2. Caching without decay: K updates of ±eta per synapse over T samples, cost
   ``E(theta) ≈ K eta²/theta + (1 + c T) theta / 3``, optimum ``theta*² = 3 eta² K / (1 + c T)``.
   The measured minimum of E over a theta scan must lie within 20 % of theta*, and E(theta*)
   within 15 % of the formula.
"""

import math

import numpy as np
import pytest
import torch

from neuroplastic import Ledger, Synapses
from neuroplastic.restrict import CacheParams, attach_cache


def perceptron_inefficiency(n: int, p: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.choice([-1.0, 1.0], (p, n)))
    y = torch.from_numpy(rng.choice([-1.0, 1.0], p))
    ledger = Ledger()
    syn = Synapses("w", torch.zeros(n, dtype=torch.float64), ledger=ledger)
    for _ in range(500):
        errors = 0
        for i in range(p):
            if float(y[i] * (syn.w @ x[i])) <= 0:
                syn.apply(y[i] * x[i])
                errors += 1
        if errors == 0:
            break
    assert bool((torch.sign(x @ syn.w.detach()) == y).all()), "perceptron did not converge"
    summary = ledger.summary()
    return float(summary["m1_inefficiency"])


@pytest.mark.parametrize("p", [100, 500])
def test_perceptron_inefficiency_matches_theory(p):
    n = 1000
    measured = np.mean([perceptron_inefficiency(n, p, seed) for seed in range(3)])
    theory = math.sqrt(math.pi * p) / (2 - p / n)
    assert 1.0 <= measured / theory <= 1.4, (measured, theory)


def caching_energy(theta: float, eta: float, k: int, c: float, n_syn: int = 500) -> float:
    g = torch.Generator().manual_seed(0)
    ledger = Ledger()
    syn = Synapses("w", torch.zeros(n_syn, dtype=torch.float64), ledger=ledger)
    attach_cache([syn], CacheParams(tau=None, c=c, theta=theta))
    steps = (torch.randint(0, 2, (k, n_syn), generator=g) * 2 - 1).to(torch.float64) * eta
    for t in range(k):
        syn.apply(steps[t])
    syn.end_of_training()
    return float(ledger.summary()["energy_total"]) / n_syn


def test_caching_optimal_threshold():
    eta, k, c = 0.01, 1000, 0.02  # T = K samples, one update per sample
    theta_star = math.sqrt(3 * eta**2 * k / (1 + c * k))
    # consolidation fires when |s| > theta, i.e. at the next multiple of eta: scan half-steps
    thetas = [(m + 0.5) * eta for m in range(5, 21, 2)]
    energies = [caching_energy(th, eta, k, c) for th in thetas]
    best = thetas[int(np.argmin(energies))] + eta / 2  # effective threshold of the best scan
    assert abs(best - theta_star) / theta_star < 0.2, (best, theta_star)
    predicted = k * eta**2 / theta_star + (1 + c * k) * theta_star / 3
    measured = caching_energy(round(theta_star / eta - 0.5) * eta - eta / 2, eta, k, c)
    assert measured == pytest.approx(predicted, rel=0.15)
