"""Tests of the information measures (plug-in I(Z;Y), variational I(X;Z), capacity, report)."""

from __future__ import annotations

import math

import pytest
import torch

from neuroplastic.errors import ParameterError, ShapeError
from neuroplastic.metrics import (
    InformationReport,
    VIBResult,
    VIBSettings,
    discretise,
    information_report,
    label_information,
    plugin_entropy,
    plugin_mutual_information,
    synaptic_capacity,
    variational_information,
)

# Small, fast VIB settings for the tests (the defaults are for 10,000 x 1000 codes). A higher
# learning rate and small batches give enough Adam steps on a few hundred samples.
FAST = VIBSettings(latent_dim=8, hidden=32, epochs=10, batch_size=32, lr=1e-2)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------------
# plug-in entropy and mutual information
# ------------------------------------------------------------------------------------------


def test_entropy_of_uniform_and_constant_symbols() -> None:
    s = torch.arange(8).repeat(1000)
    assert plugin_entropy(s, bias_correction="none") == pytest.approx(3.0, abs=1e-12)
    # Miller-Madow adds (m - 1) / (2 N ln 2)
    assert plugin_entropy(s) == pytest.approx(3.0 + 7 / (2 * 8000 * math.log(2)), abs=1e-12)
    assert plugin_entropy(torch.zeros(10, dtype=torch.int64)) == 0.0


def test_mi_of_deterministic_code_is_two_bits() -> None:
    codes = torch.randint(0, 16, (20000,), generator=gen(1))
    labels = codes % 4
    mi = plugin_mutual_information(codes, labels)
    assert mi == pytest.approx(2.0, abs=0.02)
    assert mi <= plugin_entropy(labels) + 1e-12  # clipped to min(H(Y), H(Z))


def test_mi_of_independent_variables_is_near_zero() -> None:
    codes = torch.randint(0, 16, (20000,), generator=gen(2))
    labels = torch.randint(0, 4, (20000,), generator=gen(3))
    assert 0.0 <= plugin_mutual_information(codes, labels) < 0.01


def test_miller_madow_reduces_upward_bias_on_small_samples() -> None:
    # 200 samples, 50 code symbols independent of 4 labels: the plug-in MI is biased up by
    # about 49 * 3 / (2 * 200 * ln 2) ~ 0.5 bits; the correction removes most of it.
    codes = torch.randint(0, 50, (200,), generator=gen(4))
    labels = torch.randint(0, 4, (200,), generator=gen(5))
    raw = plugin_mutual_information(codes, labels, bias_correction="none")
    corrected = plugin_mutual_information(codes, labels)
    assert raw > 0.3
    assert corrected < raw


def test_mi_is_symmetric_and_ignores_symbol_values() -> None:
    a = torch.randint(0, 6, (500,), generator=gen(6))
    b = (a + torch.randint(0, 2, (500,), generator=gen(7))) % 6
    assert plugin_mutual_information(a, b) == pytest.approx(plugin_mutual_information(b, a))
    assert plugin_mutual_information(a * 7 - 100, b) == pytest.approx(
        plugin_mutual_information(a, b)
    )


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_binned_correlated_gaussians_match_closed_form(rho: float) -> None:
    # x, y jointly Gaussian with correlation rho: I(X;Y) = -1/2 log2(1 - rho^2) bits.
    # Each is binned into 20 equal-frequency bins. Binning can only lose information (data
    # processing inequality): with 20 bins it loses ~0.006 bits at rho = 0.5 and ~0.035 bits at
    # rho = 0.8; the remaining finite-sample error at N = 100,000 is ~0.003 bits. Tolerance:
    # true - 0.05 <= estimate <= true + 0.01.
    n = 100_000
    g = gen(8)
    x = torch.randn(n, generator=g)
    y = rho * x + math.sqrt(1 - rho**2) * torch.randn(n, generator=g)
    cx = discretise(x[:, None], method="quantile", bins=20)
    cy = discretise(y[:, None], method="quantile", bins=20)
    assert int(cx.max()) + 1 == 20 and int(cy.max()) + 1 == 20
    true = -0.5 * math.log2(1 - rho**2)
    est = plugin_mutual_information(cx, cy)
    assert true - 0.05 <= est <= true + 0.01


def test_mi_input_errors() -> None:
    c = torch.zeros(10, dtype=torch.int64)
    with pytest.raises(ShapeError, match="same length"):
        plugin_mutual_information(c, torch.zeros(9, dtype=torch.int64))
    with pytest.raises(ShapeError, match="1-d"):
        plugin_mutual_information(c[:, None], c[:, None])
    with pytest.raises(ShapeError, match="integer"):
        plugin_mutual_information(c.float(), c)
    with pytest.raises(ParameterError, match="at least 2"):
        plugin_mutual_information(c[:1], c[:1])
    with pytest.raises(ParameterError, match="bias_correction"):
        plugin_mutual_information(c, c, bias_correction="panzeri")


# ------------------------------------------------------------------------------------------
# discretisation and label information
# ------------------------------------------------------------------------------------------


def test_discretise_binary_patterns() -> None:
    z = torch.tensor([[0.5, -1.0], [2.0, -3.0], [-1.0, 1.0], [0.0, 0.0]])
    codes = discretise(z)
    assert codes.dtype == torch.int64 and codes.shape == (4,)
    assert codes[0] == codes[1]  # same on/off pattern (1, 0)
    assert len({int(codes[0]), int(codes[2]), int(codes[3])}) == 3
    assert discretise(z, threshold=10.0).unique().numel() == 1


def test_discretise_quantile_levels() -> None:
    z = torch.arange(100, dtype=torch.float32)[:, None]
    codes = discretise(z, method="quantile", bins=4)
    assert torch.equal(torch.bincount(codes), torch.full((4,), 25))
    assert torch.equal(codes, torch.arange(100) // 25)  # ids follow the level order
    # ties (ReLU zeros) share the lowest level; a dead unit contributes a single level
    relu = torch.cat([torch.zeros(60), torch.arange(1, 41).float()])[:, None]
    dead = torch.zeros(100, 1)
    codes = discretise(torch.cat([relu, dead], 1), method="quantile", bins=4)
    assert int((codes == codes[0]).sum()) == 60


def test_discretise_errors() -> None:
    z = torch.randn(10, 3)
    with pytest.raises(ShapeError, match="2-d"):
        discretise(z[:, 0])
    bad = z.clone()
    bad[2, 1] = float("nan")
    with pytest.raises(ShapeError, match="NaN"):
        discretise(bad)
    with pytest.raises(ParameterError, match="method"):
        discretise(z, method="kmeans")
    with pytest.raises(ParameterError, match="bins"):
        discretise(z, method="quantile", bins=1)
    with pytest.raises(ParameterError, match="threshold"):
        discretise(z, threshold=float("nan"))


def test_label_information_of_informative_and_injective_codes() -> None:
    g = gen(9)
    labels = torch.randint(0, 4, (2000,), generator=g)
    onehot = torch.nn.functional.one_hot(labels, 4).float()
    assert label_information(onehot, labels) == pytest.approx(2.0, abs=0.02)
    # The documented limitation: a wide random code is injective (one symbol per sample), so the
    # estimate reads H(Y) although the code is independent of the labels, and Miller-Madow does
    # not change that (it is clipped to H(Y)); shuffled labels give the same value.
    noise = torch.randn(2000, 64, generator=g)
    assert int(discretise(noise).max()) + 1 == 2000
    h_y = plugin_entropy(labels)
    assert label_information(noise, labels, bias_correction="none") > 1.95
    assert label_information(noise, labels) == pytest.approx(h_y)
    shuffled = labels[torch.randperm(2000, generator=g)]
    assert label_information(noise, shuffled) == pytest.approx(h_y)
    # With few symbols (a 2-unit binary code, 4 patterns) the same independent code reads ~0.
    assert label_information(noise[:, :2], labels) < 0.01
    with pytest.raises(ShapeError, match="same number"):
        label_information(noise, labels[:10])


# ------------------------------------------------------------------------------------------
# variational estimate of I(X;Z)
# ------------------------------------------------------------------------------------------


def test_vib_settings_are_bounded_and_closed() -> None:
    s = VIBSettings()
    assert (s.latent_dim, s.hidden, s.beta, s.epochs, s.batch_size) == (32, 128, 1e-3, 30, 256)
    assert (s.lr, s.holdout_fraction, s.seed, s.max_samples) == (1e-3, 0.2, 0, 10000)
    with pytest.raises(ValueError):
        VIBSettings(beta=0)
    with pytest.raises(ValueError):
        VIBSettings(holdout_fraction=1.0)
    with pytest.raises(ValueError):
        VIBSettings(latnet_dim=8)  # type: ignore[call-arg]


def test_constant_code_gives_zero_bits() -> None:
    r = variational_information(torch.full((300, 8), 3.0), settings=FAST)
    assert isinstance(r, VIBResult)
    assert r.bits < 0.5 and r.bits_train < 0.5
    assert r.n_live_units == 0 and r.n_samples == 300
    assert not math.isnan(r.recon_mse_holdout)


def test_more_informative_dimensions_give_more_bits() -> None:
    g = gen(10)
    n, d = 400, 8
    all_informative = torch.randn(n, d, generator=g)
    one_informative = torch.cat([torch.randn(n, 1, generator=g), torch.full((n, d - 1), 2.0)], 1)
    r_all = variational_information(all_informative, settings=FAST)
    r_one = variational_information(one_informative, settings=FAST)
    assert r_one.n_live_units == 1 and r_all.n_live_units == d
    assert r_one.bits > 1.0  # one Gaussian direction does get through
    assert r_all.bits > 2 * r_one.bits
    for r in (r_all, r_one):
        assert math.isfinite(r.bits) and math.isfinite(r.recon_mse_holdout)
        assert r.recon_mse_holdout < 1.0


def test_dead_units_do_not_produce_nan() -> None:
    g = gen(11)
    z = torch.relu(torch.randn(200, 30, generator=g))
    z[:, :10] = 0.0  # dead units
    r = variational_information(z, settings=FAST)
    assert r.n_live_units == 20
    assert math.isfinite(r.bits) and math.isfinite(r.bits_train) and r.bits > 0


def test_vib_is_deterministic_under_the_seed() -> None:
    z = torch.relu(torch.randn(200, 20, generator=gen(12)))
    a = variational_information(z, settings=FAST)
    b = variational_information(z, settings=FAST)
    assert a == b
    c = variational_information(z, settings=FAST.model_copy(update={"seed": 1}))
    assert c.bits != a.bits
    d = variational_information(z, settings=FAST, generator=gen(123))
    e = variational_information(z, settings=FAST, generator=gen(123))
    assert d == e
    assert a.settings == FAST.model_dump()


def test_vib_caps_samples_and_works_under_no_grad() -> None:
    z = torch.randn(100, 4, generator=gen(13))
    settings = FAST.model_copy(update={"max_samples": 50, "epochs": 2})
    with torch.inference_mode():
        r = variational_information(z, settings=settings)
    assert r.n_samples == 50
    assert math.isfinite(r.bits)


def test_vib_input_errors() -> None:
    z = torch.randn(100, 4)
    bad = z.clone()
    bad[0, 0] = float("nan")
    with pytest.raises((ShapeError, ParameterError), match="NaN"):
        variational_information(bad, settings=FAST)
    bad[0, 0] = float("inf")
    with pytest.raises((ShapeError, ParameterError)):
        variational_information(bad, settings=FAST)
    with pytest.raises(ParameterError, match="at least 20 samples"):
        variational_information(z[:19], settings=FAST)
    with pytest.raises(ShapeError, match="2-d"):
        variational_information(z[:, 0], settings=FAST)
    with pytest.raises(ParameterError, match="VIBSettings"):
        variational_information(z, settings={"epochs": 1})  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="invalid VIBSettings"):
        variational_information(z, settings=VIBSettings.model_construct(epochs=0))


# ------------------------------------------------------------------------------------------
# capacity and the report
# ------------------------------------------------------------------------------------------


def test_synaptic_capacity() -> None:
    assert synaptic_capacity(150.0, 600) == 0.25
    assert synaptic_capacity(0.0, 10) == 0.0
    with pytest.raises(ParameterError, match="undefined"):
        synaptic_capacity(10.0, 0)
    with pytest.raises(ParameterError, match=">= 0"):
        synaptic_capacity(10.0, -1)
    with pytest.raises(ParameterError, match="finite"):
        synaptic_capacity(float("nan"), 10)


def test_information_report_end_to_end() -> None:
    g = gen(14)
    x = torch.randn(300, 12, generator=g)
    labels = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    w = torch.randn(12, 40, generator=g)
    z = torch.relu(x @ w)
    rep = information_report(z, labels, n_nonsilent=480, settings=FAST)
    assert isinstance(rep, InformationReport)
    assert rep.bits_x_z > 0 and 0 < rep.bits_z_y <= plugin_entropy(labels) + 1e-9
    assert rep.bits_per_synapse == pytest.approx(rep.bits_x_z / 480)
    assert rep.n_nonsilent == 480
    est = rep.estimator
    assert est["bits_x_z"]["settings"] == FAST.model_dump()
    assert est["bits_x_z"]["n_samples"] == 300
    assert est["bits_z_y"]["bias_correction"] == "miller-madow"
    assert est["bits_z_y"]["n_symbols"] == torch.unique(z > 0, dim=0).shape[0]
    assert est["bits_z_y"]["n_classes"] == 4

    silent = information_report(z, labels, n_nonsilent=0, settings=FAST)
    assert silent.bits_per_synapse is None
    assert silent.bits_x_z == rep.bits_x_z  # same settings, same seed
    with pytest.raises(ParameterError, match="n_nonsilent"):
        information_report(z, labels, n_nonsilent=-1, settings=FAST)
    with pytest.raises(ShapeError, match="same number"):
        information_report(z, labels[:-1], n_nonsilent=1, settings=FAST)
