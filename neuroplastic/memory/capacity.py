"""Capacity measures: output noise, information per pattern, M_ε by bisection, bits per synapse.

Definitions (bits; base-2 logarithms):

- **Output noise** ε = E[Hamming(v̂, v)] / l, the mean number of wrong output units per retrieval
  relative to the pattern activity l (:func:`output_noise`).
- **Information per pattern** T: the mutual information of a binary channel per unit, with
  prior q = l/n of a unit being on and error rates q01 = P(v̂=1|v=0), q10 = P(v̂=0|v=1),
  times n units (:func:`transinformation`)::

      I(q, q01, q10) = H(q(1−q10) + (1−q)q01) − q·H(q10) − (1−q)·H(q01),   H = binary entropy

- **Pattern capacity** M_ε: the largest number of stored patterns with ε ≤ ε_target, found by
  galloping (doubling) and bisection of the load on a monotone-in-expectation ε(M)
  (:func:`find_capacity`).
- **Information capacity** (hetero-association): C = M_ε · T_out / (m·n) bits per synapse.
  **Fair** auto-association subtracts what the query already carries:
  C = M_ε · (T_out − T_query) / n² (comparable with the (ln 2)/4 limit); the same figure per
  *distinct* synapse of the symmetric matrix is reported as ``C·n²/(n(n−1)/2)``.
- **Per non-silent synapse** (structurally compressed Willshaw memory, silent synapses pruned):
  C_S = M_ε · T / (#synapses with w = 1) = C / p1.

Willshaw theory (one-step retrieval, z correct query units, no add noise, threshold Θ = z):
the memory load after M pairs of activities k, l is ``p1 = 1 − (1 − kl/(mn))^M`` and each of the
n − l off-units fires falsely with probability ≈ p1^z, so ε ≈ (n − l)·p1^z / l
(:func:`willshaw_load`, :func:`willshaw_output_noise`, :func:`willshaw_capacity`).
The finite-n refinement (:func:`willshaw_output_noise_finite`, :func:`willshaw_capacity_finite`)
averages over the number M_j ~ Binomial(M − 1, l/n) of stored patterns in which an off-unit j
was active (its column load varies from unit to unit, and E[p1_j^z] > E[p1_j]^z):

    ε ≈ (n − l)/l · Σ_{M_j} Bin(M_j; M − 1, l/n) · (1 − (1 − k/m)^{M_j})^z.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError

__all__ = [
    "CapacitySearch",
    "binary_entropy",
    "error_rates",
    "find_capacity",
    "output_noise",
    "transinformation",
    "willshaw_capacity",
    "willshaw_capacity_finite",
    "willshaw_load",
    "willshaw_output_noise",
    "willshaw_output_noise_finite",
]


def output_noise(retrieved: Tensor, target: Tensor) -> float:
    """ε = mean Hamming(v̂, v) / mean l over a batch of 0/1 rows (B, n)."""
    if retrieved.shape != target.shape:
        raise ShapeError(
            f"retrieved {tuple(retrieved.shape)} and target {tuple(target.shape)} differ"
        )
    ell = float(target.sum()) / max(target.shape[0], 1)
    if ell <= 0:
        raise ParameterError("target patterns have no active units: output noise undefined")
    return float((retrieved != target).sum()) / max(target.shape[0], 1) / ell


def error_rates(retrieved: Tensor, target: Tensor) -> tuple[float, float]:
    """(q01, q10): fraction of off-units retrieved on, fraction of on-units retrieved off."""
    on = target > 0
    got = retrieved > 0
    n_on = int(on.sum())
    n_off = on.numel() - n_on
    q01 = float((got & ~on).sum()) / n_off if n_off else 0.0
    q10 = float((~got & on).sum()) / n_on if n_on else 0.0
    return q01, q10


def binary_entropy(p: float) -> float:
    """H(p) = −p log2 p − (1−p) log2(1−p) in bits (0 at p ∈ {0, 1})."""
    if not 0.0 <= p <= 1.0:
        raise ParameterError(f"binary_entropy needs p in [0, 1] (got {p})")
    if p in (0.0, 1.0):
        return 0.0
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def transinformation(n: int, q: float, q01: float, q10: float) -> float:
    """T = n·I(q, q01, q10) bits: information a retrieved pattern carries about the stored one."""
    for name, value in (("q", q), ("q01", q01), ("q10", q10)):
        if not 0.0 <= value <= 1.0:
            raise ParameterError(f"{name} must be in [0, 1] (got {value})")
    out = q * (1 - q10) + (1 - q) * q01
    unit = binary_entropy(out) - q * binary_entropy(q10) - (1 - q) * binary_entropy(q01)
    return n * max(unit, 0.0)


def willshaw_load(patterns: float, k: float, ell: float, m: int, n: int) -> float:
    """p1 = 1 − (1 − k·l/(m·n))^M: expected fraction of potentiated Willshaw synapses."""
    if patterns < 0 or not (0 <= k <= m and 0 <= ell <= n):
        raise ParameterError(f"need M >= 0, 0 <= k <= m, 0 <= l <= n (got {patterns}, {k}, {ell})")
    return 1.0 - (1.0 - k * ell / (m * n)) ** patterns


def willshaw_output_noise(patterns: float, k: float, ell: float, m: int, n: int, z: int) -> float:
    """ε ≈ (n − l)·p1^z / l for one-step retrieval with z correct query units, Θ = z."""
    if z < 1:
        raise ParameterError(f"z (correct query units) must be >= 1 (got {z})")
    return (n - ell) * willshaw_load(patterns, k, ell, m, n) ** z / ell


def willshaw_capacity(eps: float, k: float, ell: float, m: int, n: int, z: int) -> float:
    """M_ε solving (n − l)·p1^z / l = ε: p1 = (ε l/(n − l))^(1/z), M = ln(1−p1)/ln(1−kl/mn)."""
    if not eps > 0:
        raise ParameterError(f"eps must be > 0 (got {eps})")
    p1 = min((eps * ell / (n - ell)) ** (1.0 / z), 1.0 - 1e-12)
    return math.log(1.0 - p1) / math.log(1.0 - k * ell / (m * n))


def willshaw_output_noise_finite(
    patterns: int, k: float, ell: float, m: int, n: int, z: int
) -> float:
    """Finite-n ε for one-step Willshaw retrieval, averaging p1_j^z over column loads M_j."""
    if z < 1 or patterns < 1:
        raise ParameterError(f"need z >= 1 and M >= 1 (got z={z}, M={patterns})")
    # the Binomial mass outside mean ± 15 sd (+ 10) is negligible (< 1e-40): sum only inside it
    mean = (patterns - 1) * ell / n
    sd = math.sqrt(max(mean * (1 - ell / n), 0.0))
    lo = max(0, int(mean - 15 * sd) - 10)
    hi = min(patterns - 1, int(mean + 15 * sd) + 10)
    trials = torch.arange(lo, hi + 1, dtype=torch.float64)
    binom = torch.distributions.Binomial(
        total_count=torch.tensor(float(patterns - 1), dtype=torch.float64),
        probs=torch.tensor(ell / n, dtype=torch.float64),
    )
    weights = binom.log_prob(trials).exp()
    p1j = 1.0 - (1.0 - k / m) ** trials
    return float((n - ell) / ell * (weights * p1j**z).sum())


def willshaw_capacity_finite(eps: float, k: float, ell: float, m: int, n: int, z: int) -> int:
    """Largest M with :func:`willshaw_output_noise_finite` <= eps (bisection on integers)."""
    if not eps > 0:
        raise ParameterError(f"eps must be > 0 (got {eps})")
    lo, hi = 1, max(2, int(2 * willshaw_capacity(eps, k, ell, m, n, z)) + 2)
    if willshaw_output_noise_finite(lo, k, ell, m, n, z) > eps:
        return 0
    while willshaw_output_noise_finite(hi, k, ell, m, n, z) <= eps:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if willshaw_output_noise_finite(mid, k, ell, m, n, z) <= eps:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass
class CapacitySearch:
    """Result of :func:`find_capacity`: M_ε, ε at M_ε, and every (M, ε) evaluated."""

    capacity: int
    noise: float
    evaluations: list[tuple[int, float]] = field(default_factory=list)


def find_capacity(
    evaluate: Callable[[int], float],
    eps: float,
    start: int,
    limit: int,
    rel_tol: float = 0.02,
    growth: float = 2.0,
) -> CapacitySearch:
    """Largest M in [1, limit] with ``evaluate(M) <= eps``: gallop from ``start``, then bisect.

    Galloping multiplies (or, when ``start`` fails, divides) the load by ``growth`` until the
    bracket [lo, hi) is found. Stops when hi − lo <= max(1, rel_tol·lo). Returns capacity 0
    when even M = 1 fails; ``limit`` when it never fails. While galloping up and bisecting, the
    next load is never below the last successful one (a grow-only memory needs only the state
    at ``lo`` to go back to).
    """
    if not eps > 0:
        raise ParameterError(f"eps must be > 0 (got {eps})")
    if not growth > 1:
        raise ParameterError(f"growth must be > 1 (got {growth})")
    if not 1 <= start <= limit:
        raise ParameterError(f"need 1 <= start <= limit (got start={start}, limit={limit})")
    seen: dict[int, float] = {}

    def ok(load: int) -> bool:
        if load not in seen:
            seen[load] = evaluate(load)
        return seen[load] <= eps

    lo, hi = 0, None
    load = start
    if ok(load):
        lo = load
        while hi is None:
            if lo >= limit:
                break
            load = min(limit, max(lo + 1, int(lo * growth)))
            if ok(load):
                lo = load
            else:
                hi = load
    else:
        hi = load
        while hi > 1:
            load = max(1, min(hi - 1, int(hi / growth)))
            if ok(load):
                lo = load
                break
            hi = load
    if hi is not None:
        while hi - lo > max(1, rel_tol * lo):
            mid = (lo + hi) // 2
            if ok(mid):
                lo = mid
            else:
                hi = mid
    evaluations = sorted(seen.items())
    return CapacitySearch(lo, seen.get(lo, math.nan) if lo else math.nan, evaluations)
