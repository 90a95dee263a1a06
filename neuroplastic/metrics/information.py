"""Information measures of a hidden representation: I(Z;Y), I(X;Z) and bits per synapse.

Everything here is in **bits** (base-2 logarithms). Three quantities, as in the specification
(``structural-plasticity.md`` §2):

* **Label information I(Z;Y)** (:func:`plugin_mutual_information`, :func:`label_information`):
  the plug-in ("maximum-likelihood") estimate from the empirical joint histogram of a discrete
  code Z and the labels Y, with the Miller–Madow bias correction on every entropy. A continuous
  hidden representation is first turned into one discrete symbol per sample by
  :func:`discretise`.
* **Input information I(X;Z)** (:func:`variational_information`): the rate of a variational
  information bottleneck fitted on Z, with settings (:class:`VIBSettings`) that are fixed and the
  same for every model compared, and recorded with every result.
* **Synaptic capacity** C_S = I(X;Z) / n_nonsilent (:func:`synaptic_capacity`), in bits per
  non-silent synapse; :func:`information_report` puts the three together.

Each estimator has a known bias, stated in its docstring: these are *measurements under stated
settings*, comparable across models measured the same way, not the true information.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import Tensor

from neuroplastic.errors import ParameterError, ShapeError

_LN2 = math.log(2.0)
_BIAS_CORRECTIONS = ("miller-madow", "none")
_DISCRETISE_METHODS = ("binary", "quantile")

#: Fewest samples :func:`variational_information` accepts (a train and a held-out split of a few).
MIN_VIB_SAMPLES = 20


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------


def _check_discrete(x: Tensor, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise ShapeError(f"{name} must be a torch.Tensor (got {type(x).__name__})")
    if x.dim() != 1:
        raise ShapeError(f"{name} must be 1-d (N,), one symbol per sample (got {tuple(x.shape)})")
    if x.dtype.is_floating_point or x.dtype.is_complex:
        raise ShapeError(
            f"{name} must hold integer symbols (got dtype {x.dtype}); "
            "use discretise() to turn a continuous representation into symbols"
        )
    return x.detach().to("cpu", torch.int64)


def _check_real_2d(z: Tensor, name: str) -> Tensor:
    if not isinstance(z, Tensor):
        raise ShapeError(f"{name} must be a torch.Tensor (got {type(z).__name__})")
    if z.dim() != 2:
        raise ShapeError(f"{name} must be 2-d (N, d), one row per sample (got {tuple(z.shape)})")
    if z.dtype.is_complex:
        raise ShapeError(f"{name} must be real (got dtype {z.dtype})")
    if z.shape[0] == 0 or z.shape[1] == 0:
        raise ParameterError(f"{name} is empty (shape {tuple(z.shape)})")
    out = z.detach().to("cpu")
    if out.dtype.is_floating_point and not bool(torch.isfinite(out).all()):
        bad = int((~torch.isfinite(out)).sum())
        raise ShapeError(f"{name} contains {bad} NaN or infinite value(s)")
    return out


def _check_choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ParameterError(
            f"{name} must be one of {', '.join(repr(a) for a in allowed)} (got {value!r})"
        )
    return value


# --------------------------------------------------------------------------------------------
# plug-in entropy and mutual information
# --------------------------------------------------------------------------------------------


def _entropy_from_counts(counts: Tensor, n: int, bias_correction: str) -> float:
    """Plug-in entropy in bits of a histogram, plus the Miller–Madow term if asked."""
    p = counts.to(torch.float64) / n
    h = float(-(p * torch.log2(p)).sum())
    if bias_correction == "miller-madow":
        h += (int(counts.numel()) - 1) / (2.0 * n * _LN2)
    return max(h, 0.0)


def plugin_entropy(symbols: Tensor, *, bias_correction: str = "miller-madow") -> float:
    """Entropy H(S) in bits of a discrete variable from N samples, by the plug-in estimator.

    ``H_plugin = −Σ_s p̂(s) log2 p̂(s)`` with ``p̂(s) = n_s / N`` the empirical frequencies.
    With ``bias_correction="miller-madow"`` (default), the first-order bias of the plug-in
    estimator is added back: ``H_MM = H_plugin + (m − 1) / (2 N ln 2)``, m = number of non-empty
    bins. ``"none"`` returns ``H_plugin``.

    Bias: the plug-in estimate is biased *down* (on average by about ``(K − 1)/(2 N ln 2)`` for K
    possible symbols when N ≫ K); Miller–Madow removes the first-order term, but both still
    under-estimate badly when N is not much larger than the number of symbols.

    Args:
        symbols: (N,) integer tensor, one symbol per sample (any integer values).
        bias_correction: ``"miller-madow"`` or ``"none"``.
    """
    _check_choice(bias_correction, _BIAS_CORRECTIONS, "bias_correction")
    s = _check_discrete(symbols, "symbols")
    if s.numel() < 1:
        raise ParameterError("symbols: need at least 1 sample (got 0)")
    _, counts = torch.unique(s, return_counts=True)
    return _entropy_from_counts(counts, int(s.numel()), bias_correction)


def plugin_mutual_information(
    codes: Tensor, labels: Tensor, *, bias_correction: str = "miller-madow"
) -> float:
    """Mutual information I(Z;Y) in bits between two discrete variables, by the plug-in estimator.

    Definition: ``I(Z;Y) = H(Y) − H(Y|Z) = H(Y) + H(Z) − H(Z,Y)``, every entropy computed from the
    empirical (joint) histogram of the N pairs ``(codes[i], labels[i])`` as in
    :func:`plugin_entropy`. The function is symmetric: both arguments may be any discrete
    variables (e.g. two quantile-binned scalars), not only a code and class labels.

    With ``bias_correction="miller-madow"`` (default) each of the three entropies gets its
    Miller–Madow term ``(m − 1) / (2 N ln 2)`` (m = non-empty bins of that histogram), i.e. the
    estimate moves by ``(m_Y + m_Z − m_ZY − 1) / (2 N ln 2)``, which is ≤ 0 whenever the joint
    histogram has at least ``m_Y + m_Z − 1`` occupied cells. (Correcting H(Y|Z) as the
    p(z)-weighted sum of per-code corrected entropies gives exactly the same value.) ``"none"``
    gives the raw plug-in estimate. The result is finally clipped to
    ``[0, min(H(Y), H(Z))]`` (the corrected entropies), the range the true value lies in.

    Bias: the plug-in MI is biased *up*, by about ``(K_Z − 1)(K_Y − 1) / (2 N ln 2)`` bits for
    independent variables with K_Z, K_Y symbols, when every cell is visited many times.
    Miller–Madow removes that first-order term. It does **not** help when the code is (nearly)
    injective (each symbol seen about once, m_Z ≈ m_ZY ≈ N): then H(Z) = H(Z,Y), the correction
    is ``+(m_Y − 1)/(2 N ln 2)`` and the result is clipped to H(Y), i.e. the estimate reads
    H(Y) whatever the code encodes. Report the number of distinct symbols with the estimate and
    compare with the value for shuffled labels.

    Args:
        codes: (N,) integer tensor, one discrete symbol per sample.
        labels: (N,) integer tensor, the other variable (e.g. class labels).
        bias_correction: ``"miller-madow"`` or ``"none"``.

    Returns:
        The estimate in bits, a Python float in ``[0, min(H(Y), H(Z))]``.

    Raises:
        ShapeError: if either is not a 1-d integer tensor or their lengths differ.
        ParameterError: if there are fewer than 2 samples or ``bias_correction`` is unknown.
    """
    _check_choice(bias_correction, _BIAS_CORRECTIONS, "bias_correction")
    z = _check_discrete(codes, "codes")
    y = _check_discrete(labels, "labels")
    if z.shape[0] != y.shape[0]:
        raise ShapeError(
            f"codes and labels must have the same length (got {z.shape[0]} and {y.shape[0]})"
        )
    n = int(z.shape[0])
    if n < 2:
        raise ParameterError(f"mutual information needs at least 2 samples (got {n})")
    _, z_idx, z_counts = torch.unique(z, return_inverse=True, return_counts=True)
    _, y_idx, y_counts = torch.unique(y, return_inverse=True, return_counts=True)
    # Joint symbol id; both indices are < N, so the product fits easily in int64.
    joint = z_idx * int(y_counts.numel()) + y_idx
    _, zy_counts = torch.unique(joint, return_counts=True)
    h_z = _entropy_from_counts(z_counts, n, bias_correction)
    h_y = _entropy_from_counts(y_counts, n, bias_correction)
    h_zy = _entropy_from_counts(zy_counts, n, bias_correction)
    mi = h_y + h_z - h_zy
    return float(min(max(mi, 0.0), min(h_y, h_z)))


# --------------------------------------------------------------------------------------------
# discretisation of a hidden representation
# --------------------------------------------------------------------------------------------


def discretise(
    z: Tensor, *, method: str = "binary", threshold: float = 0.0, bins: int = 2
) -> Tensor:
    """One discrete symbol per sample from a hidden representation z (N, d).

    * ``method="binary"`` (default): the binary activity pattern ``z[i] > threshold`` (which
      units are on) is the symbol; for a ReLU layer with threshold 0 it is the set of active
      neurons.
    * ``method="quantile"``: each unit is binned separately into ``bins`` levels at its own
      empirical quantiles ``1/bins, 2/bins, …`` (level = number of quantile edges strictly below
      the value, so ties, e.g. the zeros of a ReLU, share the lowest level they reach); the row
      of d levels is the symbol. With d = 1 this is ordinary equal-frequency binning of a
      scalar.

    Rows are mapped to symbol ids ``0 … K−1`` with ``torch.unique(dim=0, return_inverse=True)``;
    ids are in lexicographic order of the patterns and carry no other meaning.

    Caution: the number of distinct symbols K is at most N. A wide layer usually gives an almost
    injective code (K ≈ N, each sample its own symbol), and then the plug-in I(Z;Y) approaches
    H(Y) whether or not the code is related to the labels. The Miller–Madow correction of
    :func:`plugin_mutual_information` removes the upward bias while symbols repeat (K ≪ N) but
    not in the injective limit, so K (``int(codes.max()) + 1``) must be reported next to the
    estimate, and a shuffled-label value is the honest baseline. Fewer symbols (a higher
    ``threshold``, or quantile bins of fewer units) trade resolution for a usable estimate.

    Args:
        z: (N, d) real tensor (any device; the result is on the CPU).
        method: ``"binary"`` or ``"quantile"``.
        threshold: the on/off threshold of ``"binary"`` (ignored by ``"quantile"``).
        bins: number of levels per unit for ``"quantile"``, 2 … 65536 (ignored by ``"binary"``).

    Returns:
        (N,) int64 tensor of symbol ids.

    Raises:
        ShapeError: z is not 2-d, or contains NaN or infinity.
        ParameterError: unknown method, bins out of range, non-finite threshold, empty z.
    """
    _check_choice(method, _DISCRETISE_METHODS, "method")
    x = _check_real_2d(z, "z")
    if method == "binary":
        if not math.isfinite(threshold):
            raise ParameterError(f"threshold must be finite (got {threshold!r})")
        pattern = (x > threshold).to(torch.uint8)
    else:
        if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= 65536:
            raise ParameterError(f"bins must be an integer in 2 … 65536 (got {bins!r})")
        pattern = _quantile_levels(x.to(torch.float64), bins)
    _, inverse = torch.unique(pattern, dim=0, return_inverse=True)
    return inverse.to(torch.int64)


def _quantile_levels(x: Tensor, bins: int) -> Tensor:
    """Per-column level 0 … bins−1 of each value, by the column's empirical quantiles."""
    n = x.shape[0]
    ordered = torch.sort(x, dim=0).values  # (N, d)
    q = torch.arange(1, bins, dtype=torch.float64) / bins
    pos = torch.clamp((q * n).ceil().to(torch.int64) - 1, 0, n - 1)  # lower empirical quantile
    edges = ordered[pos].T.contiguous()  # (d, bins − 1), non-decreasing along dim 1
    levels = torch.searchsorted(edges, x.T.contiguous(), right=False)  # edges strictly below
    dtype = torch.int16 if bins <= 32768 else torch.int32
    return levels.T.to(dtype)


def label_information(
    z: Tensor,
    labels: Tensor,
    *,
    method: str = "binary",
    threshold: float = 0.0,
    bins: int = 2,
    bias_correction: str = "miller-madow",
) -> float:
    """I(Z;Y) in bits of a hidden representation z (N, d) about labels (N,).

    ``plugin_mutual_information(discretise(z, method=…, threshold=…, bins=…), labels,
    bias_correction=…)``: see those two functions for the definition and the bias (in short: the
    discretised code has at most N symbols, and a near-injective code reads close to H(Y) bits,
    with or without the Miller–Madow correction).
    """
    if not isinstance(labels, Tensor) or labels.dim() != 1:
        shape = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
        raise ShapeError(f"labels must be a 1-d (N,) tensor (got {shape})")
    if isinstance(z, Tensor) and z.dim() >= 1 and z.shape[0] != labels.shape[0]:
        raise ShapeError(
            f"z and labels must have the same number of samples "
            f"(got {z.shape[0]} and {labels.shape[0]})"
        )
    codes = discretise(z, method=method, threshold=threshold, bins=bins)
    return plugin_mutual_information(codes, labels, bias_correction=bias_correction)


# --------------------------------------------------------------------------------------------
# variational (information-bottleneck) estimate of I(X;Z)
# --------------------------------------------------------------------------------------------


class VIBSettings(BaseModel):
    """Fixed settings of :func:`variational_information`, shared by every model compared.

    β = 1e-3 with the unit-variance decoder sets the resolution of the bottleneck. At the optimum
    of the objective, a Gaussian direction of variance λ (standardised units) costs
    ``½ log2(λ / β)`` bits (≈ 5 bits for λ = 1) and is reconstructed with squared error β, i.e.
    to about 3 % of a standard deviation; directions with λ < β are not transmitted. Such a small
    β puts little pressure on wasted rate, so a finite run usually reads *above* that optimum
    (see "Known bias" in :func:`variational_information`). Results are only comparable between
    runs with the same settings; they are recorded with every result.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    latent_dim: int = Field(32, ge=1, le=1024, description="size of the bottleneck T")
    hidden: int = Field(128, ge=1, le=8192, description="width of the encoder/decoder MLPs")
    beta: float = Field(1e-3, gt=0, le=100, description="weight β of the KL (rate) term")
    epochs: int = Field(30, ge=1, le=10000, description="passes over the training split")
    batch_size: int = Field(256, ge=1, le=1_000_000, description="minibatch size")
    lr: float = Field(1e-3, gt=0, le=1, description="Adam learning rate")
    holdout_fraction: float = Field(
        0.2, gt=0, lt=1, description="fraction of samples held out to measure the rate"
    )
    seed: int = Field(0, ge=0, description="seed of initialisation, split, shuffling and noise")
    max_samples: int = Field(
        10000, ge=MIN_VIB_SAMPLES, description="at most this many samples (random subset) are used"
    )


@dataclass
class VIBResult:
    """What :func:`variational_information` measured.

    Attributes:
        bits: I(X;Z) estimate: mean KL(q(t|z) ‖ N(0, I)) over the held-out samples, in bits.
        bits_train: the same mean over the training samples (a gap to ``bits`` shows
            over-fitting of the encoder).
        recon_mse_holdout: mean squared reconstruction error per live unit of the standardised z
            on the held-out samples, decoding the posterior mean t = μ(z) (1.0 = no better than
            predicting the mean; 0.0 when no unit is live).
        n_samples: samples used (after the ``max_samples`` cap), training + held-out.
        settings: the :class:`VIBSettings` used, as a dict.
        n_live_units: units that vary on the training split (the others were dropped).
    """

    bits: float
    bits_train: float
    recon_mse_holdout: float
    n_samples: int
    settings: dict[str, Any] = field(default_factory=dict)
    n_live_units: int = 0


def _uniform(shape: tuple[int, ...], bound: float, g: torch.Generator) -> Tensor:
    return (torch.rand(shape, generator=g, dtype=torch.float32) * 2.0 - 1.0) * bound


class _Linear(torch.nn.Module):
    """A linear layer initialised from an explicit generator (PyTorch's default bounds)."""

    def __init__(self, n_in: int, n_out: int, g: torch.Generator, *, zero: bool = False) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        w = torch.zeros(n_out, n_in) if zero else _uniform((n_out, n_in), bound, g)
        b = torch.zeros(n_out) if zero else _uniform((n_out,), bound, g)
        self.weight = torch.nn.Parameter(w)
        self.bias = torch.nn.Parameter(b)

    def forward(self, x: Tensor) -> Tensor:
        return torch.nn.functional.linear(x, self.weight, self.bias)


class _VIB(torch.nn.Module):
    """Encoder z → (μ, log σ²) and decoder t → ẑ, one hidden ReLU layer each."""

    def __init__(self, d: int, s: VIBSettings, g: torch.Generator) -> None:
        super().__init__()
        self.enc1 = _Linear(d, s.hidden, g)
        # Zero-initialised head: q(t|z) starts equal to the prior, so the rate starts at 0 and
        # grows only as far as reconstruction pays for it.
        self.enc2 = _Linear(s.hidden, 2 * s.latent_dim, g, zero=True)
        self.dec1 = _Linear(s.latent_dim, s.hidden, g)
        self.dec2 = _Linear(s.hidden, d, g)
        self.latent_dim = s.latent_dim

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        out = self.enc2(torch.relu(self.enc1(x)))
        mu, logvar = out[:, : self.latent_dim], out[:, self.latent_dim :]
        return mu, logvar.clamp(-30.0, 20.0)

    def decode(self, t: Tensor) -> Tensor:
        return self.dec2(torch.relu(self.dec1(t)))


def _kl_nats(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per sample, in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def variational_information(
    z: Tensor,
    *,
    settings: VIBSettings = VIBSettings(),
    generator: torch.Generator | None = None,
) -> VIBResult:
    """Estimate I(X;Z) in bits as the rate of a variational information bottleneck fitted on z.

    Definition. z (N, d) is the hidden representation of N inputs X. Each unit is standardised
    with the training split's mean and standard deviation (units whose standard deviation is
    below ``1e-6 · max(1, largest std)``, e.g. dead ReLUs, are dropped: they carry no information
    and cause no NaN; if no unit is live the result is exactly 0 bits). On the d' live units, a
    stochastic encoder ``q(t|z) = N(μ(z), diag σ²(z))`` (``d' → hidden → 2·latent_dim`` MLP, ReLU)
    and a decoder ``ẑ(t)`` (``latent_dim → hidden → d'``) with a Gaussian likelihood of fixed unit
    variance in standardised units are trained with Adam to minimise, per sample,

        L = ½ ‖z − ẑ(t)‖²  +  β · KL(q(t|z) ‖ N(0, I)),      t = μ + σ ⊙ ε,  ε ~ N(0, I)

    with ``KL = ½ Σ_k (μ_k² + σ_k² − 1 − ln σ_k²)`` (nats). The estimate is the mean KL over the
    held-out samples divided by ln 2 (bits): the *rate* of the bottleneck.

    What it measures. Averaged over the data, the KL term equals ``I(Z;T) + KL(q(t) ‖ N(0, I))``,
    so it is an upper bound on the information I(Z;T) that survives the bottleneck. Because Z is a
    deterministic function of X, every bit of I(Z;T) is information about X carried by Z
    (I(X;T) = I(Z;T)); this is the quantity reported as I(X;Z) by Stricker et al. and used here
    for the synaptic capacity.

    Known bias. For a deterministic continuous Z the true I(X;Z) is not finite, so this is a
    β-regularised, resolution-limited measure, not an unbiased estimate of it. It grows as β
    shrinks and is invariant to the scale of each unit (standardisation). As a bound on I(Z;T)
    it has slack (the mismatch KL(q(t) ‖ N(0, I)) and redundant latent dimensions) that the small
    β removes only slowly, so it depends on training length in both directions: the rate starts
    at 0 (zero-initialised encoder head), rises quickly, then slowly falls towards the optimum.
    It is comparable only between models measured with the same :class:`VIBSettings`, which is
    why they are fixed and returned with the result; ``bits_train`` > ``bits`` shows encoder
    over-fitting.

    Determinism: everything (subset, split, initialisation, shuffling, noise) comes from
    ``generator`` (default: a CPU generator seeded with ``settings.seed``); training runs on the
    CPU in float32, so the result repeats exactly on the same machine and thread count. If N
    exceeds ``settings.max_samples``, a random subset of that size is used.

    Args:
        z: (N, d) real tensor, N ≥ 20 (any device; copied to the CPU).
        settings: the estimator's settings (:class:`VIBSettings`).
        generator: optional CPU ``torch.Generator``; used (and advanced) instead of the seed.

    Returns:
        :class:`VIBResult` (held-out bits, training bits, held-out reconstruction error, samples,
        settings).

    Raises:
        ShapeError: z is not 2-d or contains NaN or infinity.
        ParameterError: fewer than 20 samples, or invalid settings / generator.
    """
    s = _validated_settings(settings)
    x = _check_real_2d(z, "z")
    n_all = int(x.shape[0])
    if n_all < MIN_VIB_SAMPLES:
        raise ParameterError(
            f"variational_information needs at least {MIN_VIB_SAMPLES} samples (got {n_all})"
        )
    if generator is None:
        g = torch.Generator(device="cpu")
        g.manual_seed(s.seed)
    elif not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise ParameterError("generator must be a CPU torch.Generator")
    else:
        g = generator

    with torch.inference_mode(False), torch.enable_grad():
        perm = torch.randperm(n_all, generator=g)
        n = min(n_all, s.max_samples)
        n_hold = min(max(1, round(n * s.holdout_fraction)), n - 1)
        hold_idx, train_idx = perm[:n_hold], perm[n_hold:n]
        x_train, x_hold = _standardise(
            x[train_idx].to(torch.float64), x[hold_idx].to(torch.float64)
        )
        n_live = int(x_train.shape[1])
        if n_live == 0:  # a constant code: T cannot depend on Z, the optimum is q(t|z) = prior
            return VIBResult(0.0, 0.0, 0.0, n, s.model_dump(), n_live_units=0)

        model = _VIB(n_live, s, g)
        opt = torch.optim.Adam(model.parameters(), lr=s.lr)
        n_train = int(x_train.shape[0])
        batch = min(s.batch_size, n_train)
        for _ in range(s.epochs):
            order = torch.randperm(n_train, generator=g)
            for start in range(0, n_train, batch):
                xb = x_train[order[start : start + batch]]
                mu, logvar = model.encode(xb)
                eps = torch.randn(mu.shape, generator=g, dtype=mu.dtype)
                t = mu + torch.exp(0.5 * logvar) * eps
                recon = 0.5 * (model.decode(t) - xb).pow(2).sum(dim=1)
                loss = (recon + s.beta * _kl_nats(mu, logvar)).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

        with torch.no_grad():
            bits_train = _mean_rate_bits(model, x_train, batch)
            bits_hold = _mean_rate_bits(model, x_hold, batch)
            mu_hold, _ = model.encode(x_hold)
            mse = float((model.decode(mu_hold) - x_hold).pow(2).mean())

    return VIBResult(
        bits=bits_hold,
        bits_train=bits_train,
        recon_mse_holdout=mse,
        n_samples=n,
        settings=s.model_dump(),
        n_live_units=n_live,
    )


def _validated_settings(settings: VIBSettings) -> VIBSettings:
    if not isinstance(settings, VIBSettings):
        raise ParameterError(
            f"settings must be a VIBSettings (got {type(settings).__name__}); "
            "build one with VIBSettings(epochs=..., ...)"
        )
    try:  # re-validate: a model built with model_construct() skips the bounds
        return VIBSettings.model_validate(settings.model_dump())
    except ValidationError as exc:
        raise ParameterError(f"invalid VIBSettings: {exc.errors()[0]['msg']}") from None


def _standardise(train: Tensor, hold: Tensor) -> tuple[Tensor, Tensor]:
    """Standardise both splits with the training statistics and keep only the live units.

    A unit is live if its training standard deviation exceeds ``1e-6 · max(1, largest std)``;
    dead units (constant on the training split) are dropped from both splits.
    """
    mean = train.mean(dim=0)
    std = train.std(dim=0, unbiased=False)
    live = std > 1e-6 * max(1.0, float(std.max()))
    mean, std = mean[live], std[live]
    # The clamp only matters for a unit nearly constant in training that varies in the held-out
    # split: it keeps squares finite in float32.
    return (
        ((train[:, live] - mean) / std).clamp(-1e4, 1e4).to(torch.float32),
        ((hold[:, live] - mean) / std).clamp(-1e4, 1e4).to(torch.float32),
    )


def _mean_rate_bits(model: _VIB, x: Tensor, batch: int) -> float:
    total = 0.0
    for start in range(0, int(x.shape[0]), batch):
        mu, logvar = model.encode(x[start : start + batch])
        total += float(_kl_nats(mu, logvar).to(torch.float64).sum())
    return total / int(x.shape[0]) / _LN2


# --------------------------------------------------------------------------------------------
# capacity and the combined report
# --------------------------------------------------------------------------------------------


def synaptic_capacity(bits: float, nonsilent_synapses: int) -> float:
    """Synaptic capacity ``C_S = bits / n_nonsilent`` in bits per non-silent synapse.

    Args:
        bits: an information estimate in bits, usually I(X;Z) from
            :func:`variational_information` (finite, ≥ 0).
        nonsilent_synapses: number of synapses with ``|w| > ε`` that carry it (> 0).

    Raises:
        ParameterError: ``bits`` negative or not finite; ``nonsilent_synapses`` not an integer or
            ≤ 0 (with no synapses, bits per synapse is undefined).
    """
    if isinstance(bits, bool) or not isinstance(bits, int | float) or not math.isfinite(bits):
        raise ParameterError(f"bits must be a finite number (got {bits!r})")
    if bits < 0:
        raise ParameterError(f"bits must be >= 0 (got {bits!r})")
    if isinstance(nonsilent_synapses, bool) or not isinstance(nonsilent_synapses, int):
        raise ParameterError(f"nonsilent_synapses must be an integer (got {nonsilent_synapses!r})")
    if nonsilent_synapses < 0:
        raise ParameterError(f"nonsilent_synapses must be >= 0 (got {nonsilent_synapses})")
    if nonsilent_synapses == 0:
        raise ParameterError("nonsilent_synapses is 0: bits per synapse is undefined")
    return float(bits) / nonsilent_synapses


@dataclass
class InformationReport:
    """I(X;Z), I(Z;Y) and the synaptic capacity of one hidden representation.

    Attributes:
        bits_x_z: I(X;Z) in bits (:func:`variational_information`, held-out rate).
        bits_z_y: I(Z;Y) in bits (:func:`label_information`: binary code z > 0, plug-in,
            Miller–Madow).
        bits_per_synapse: ``bits_x_z / n_nonsilent``, or None when ``n_nonsilent == 0``.
        n_nonsilent: the number of non-silent synapses it was divided by.
        estimator: how each number was measured (methods, settings, samples, symbols).
    """

    bits_x_z: float
    bits_z_y: float
    bits_per_synapse: float | None
    n_nonsilent: int
    estimator: dict[str, Any]


def information_report(
    z: Tensor,
    labels: Tensor,
    n_nonsilent: int,
    *,
    settings: VIBSettings | None = None,
) -> InformationReport:
    """Measure I(X;Z), I(Z;Y) and bits per synapse of a hidden representation.

    * ``bits_x_z`` = :func:`variational_information` ``(z, settings=settings)`` ``.bits``
      (default :class:`VIBSettings` when ``settings`` is None);
    * ``bits_z_y`` = :func:`label_information` ``(z, labels)``: binary code ``z > 0``, plug-in
      estimate with Miller–Madow correction, on all N samples;
    * ``bits_per_synapse`` = ``bits_x_z / n_nonsilent`` (None if ``n_nonsilent == 0``).

    ``estimator`` records the method and settings of both estimates, the samples used and the
    number of distinct symbols of the discretised code (compare it with N: near N, I(Z;Y) is
    close to H(Y) by construction).

    Args:
        z: (N, d) hidden representation of N inputs.
        labels: (N,) integer class labels.
        n_nonsilent: non-silent synapses (≥ 0) the information is divided by; state ε and the
            layers counted alongside the report.
        settings: settings of the variational estimate.

    Raises:
        ShapeError: bad shapes, non-integer labels, NaN/inf in z.
        ParameterError: too few samples, negative ``n_nonsilent``, invalid settings.
    """
    if isinstance(n_nonsilent, bool) or not isinstance(n_nonsilent, int):
        raise ParameterError(f"n_nonsilent must be an integer (got {n_nonsilent!r})")
    if n_nonsilent < 0:
        raise ParameterError(f"n_nonsilent must be >= 0 (got {n_nonsilent})")
    x = _check_real_2d(z, "z")
    y = _check_discrete(labels, "labels")
    if x.shape[0] != y.shape[0]:
        raise ShapeError(
            f"z and labels must have the same number of samples (got {x.shape[0]} and {y.shape[0]})"
        )
    s = settings if settings is not None else VIBSettings()
    vib = variational_information(x, settings=s)
    codes = discretise(x, method="binary", threshold=0.0)
    bits_z_y = plugin_mutual_information(codes, y, bias_correction="miller-madow")
    per_synapse = None if n_nonsilent == 0 else synaptic_capacity(vib.bits, n_nonsilent)
    estimator: dict[str, Any] = {
        "bits_x_z": {
            "method": "variational-information-bottleneck rate (held-out mean KL, bits)",
            "settings": dict(vib.settings),
            "n_samples": vib.n_samples,
            "bits_train": vib.bits_train,
            "recon_mse_holdout": vib.recon_mse_holdout,
        },
        "bits_z_y": {
            "method": "plug-in mutual information (bits)",
            "discretise": {"method": "binary", "threshold": 0.0},
            "bias_correction": "miller-madow",
            "n_samples": int(x.shape[0]),
            "n_symbols": int(codes.max()) + 1,
            "n_classes": int(torch.unique(y).numel()),
        },
        "n_nonsilent": n_nonsilent,
    }
    return InformationReport(
        bits_x_z=vib.bits,
        bits_z_y=bits_z_y,
        bits_per_synapse=per_synapse,
        n_nonsilent=n_nonsilent,
        estimator=estimator,
    )
