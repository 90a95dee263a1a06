"""Attacks raise the loss of a small model; the masking check flags vanishing gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuroplastic.energy.ledger import Ledger
from neuroplastic.errors import ParameterError
from neuroplastic.methods import BuildContext, Learner, available_methods, get_method
from neuroplastic.metrics.adversarial import (
    accuracy_on,
    as_images,
    attack_settings,
    evaluate_robustness,
    fgsm_examples,
    gradient_masking,
    pgd_examples,
    robustness_claim,
    transfer_set,
)
from neuroplastic.metrics.attack_forward import NotAttackableError, attack_forward

pytest.importorskip("torchattacks")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def blobs(n: int = 400, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Two classes of 4x4 images in [0, 1]: bright left half vs bright right half, noisy."""
    g = gen(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.rand(n, 4, 4, generator=g) * 0.5
    x[y == 0, :, :2] += 0.25
    x[y == 1, :, 2:] += 0.25
    return x.clamp(0, 1).reshape(n, 16), y


def trained(name: str, steps: int = 200, **params: object) -> Learner:
    spec = get_method(name)
    ctx = BuildContext(16, 2, (12,), Ledger(), gen(), torch.device("cpu"))
    learner = spec.build(ctx, spec.params_model(**params))
    x, y = blobs()
    for i in range(steps):
        sl = slice((i * 40) % 400, (i * 40) % 400 + 40)
        learner.train_step(x[sl], y[sl])
    return learner


@pytest.fixture(scope="module")
def backprop() -> Learner:
    return trained("backprop", lr=0.01, activation="tanh")


def test_attacks_increase_the_loss_of_a_small_model(backprop: Learner) -> None:
    x, y = blobs(200, seed=1)
    model = attack_forward(backprop, x, "backprop")
    s = attack_settings(eps=[0.1], steps=10, square_queries=0)
    clean = F.cross_entropy(model(x), y).item()
    assert accuracy_on(model, x, y) > 0.9
    fgsm = F.cross_entropy(model(fgsm_examples(model, as_images(x), y, 0.1, s)), y).item()
    pgd_x = pgd_examples(model, as_images(x), y, 0.1, s)
    pgd = F.cross_entropy(model(pgd_x), y).item()
    assert fgsm > clean and pgd > clean
    assert pgd >= fgsm - 1e-3
    assert float((pgd_x.flatten(1) - x).abs().max()) <= 0.1 + 1e-6  # stays in the ε-ball
    assert float(pgd_x.min()) >= 0 and float(pgd_x.max()) <= 1


class ZeroGradient(nn.Module):
    """Scores through a hard threshold: the input gradient is zero almost everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(16, 2, generator=gen()))

    def forward(self, x: Tensor) -> Tensor:
        return (x.flatten(1) > 0.5).float() @ self.w


def test_masking_check_flags_a_model_whose_gradients_are_zero(backprop: Learner) -> None:
    x, y = blobs(100, seed=2)
    flagged = gradient_masking(ZeroGradient(), x, y, surrogate=False)
    assert flagged.masked and flagged.zero_gradient_fraction == 1.0
    fine = gradient_masking(attack_forward(backprop, x), x, y, surrogate=False)
    assert not fine.masked and fine.zero_gradient_fraction == 0.0


def test_epsilon_outside_the_unit_interval_is_refused() -> None:
    with pytest.raises(ParameterError, match=r"ε must be in \[0, 1\].*1\.5"):
        attack_settings(eps=[0.1, 1.5])
    with pytest.raises(ParameterError, match="ε"):
        attack_settings(eps=[-0.1])


def test_a_method_without_a_differentiable_forward_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from neuroplastic.metrics import attack_forward as module

    spec = get_method("stdp-diehl-cook")
    ctx = BuildContext(16, 2, (4,), Ledger(), gen(), torch.device("cpu"))
    learner = spec.build(ctx, spec.params_model())
    monkeypatch.delitem(module._FORWARDS, "STDPDiehlCookLearner")  # as a method with none
    with pytest.raises(NotAttackableError, match="stdp-diehl-cook cannot be attacked"):
        attack_forward(learner, blobs(10)[0], "stdp-diehl-cook")


@pytest.mark.parametrize("name", sorted(set(available_methods())))
def test_every_registered_method_has_a_forward_matching_predict(name: str) -> None:
    """Each method can be attacked, and its attack forward gives predict's scores (÷ T)."""
    spec = get_method(name)
    ctx = BuildContext(16, 2, (12,), Ledger(), gen(), torch.device("cpu"))
    params = {"hidden": "12"} if name == "spiking-exact" else {}
    learner = spec.build(ctx, spec.params_model(**params))
    x, y = blobs(40, seed=5)
    learner.train_step(x, y)
    model = attack_forward(learner, x, name)
    with torch.no_grad():
        scores = model(x) * model.temperature
    assert torch.allclose(scores, learner.predict(x).to(scores), atol=1e-5, rtol=1e-4)


def test_stdp_spike_counts_are_masked_and_the_surrogate_defeats_it() -> None:
    """The STDP network's true forward (Poisson spike-count vote) has no input gradient; the
    BPDA surrogate gives one, keeps the forward values, and PGD through it lowers accuracy."""
    spec = get_method("stdp-diehl-cook")
    ctx = BuildContext(16, 2, (6,), Ledger(), gen(), torch.device("cpu"))
    learner = spec.build(ctx, spec.params_model(mode="batched", steps=200, norm_per_input=0.5))
    g = gen(6)  # two clean prototypes (left / right half bright): STDP learns them
    y = torch.randint(0, 2, (200,), generator=g)
    x = torch.rand(200, 16, generator=g) * 0.2
    x[y == 0, :8] += 0.6
    x[y == 1, 8:] += 0.6
    for i in range(0, 200, 20):
        learner.train_step(x[i : i + 20], y[i : i + 20])
    model = attack_forward(learner, x, "stdp-diehl-cook")
    assert model.exactness == "surrogate"
    raw = gradient_masking(model.true_forward(), x, y, surrogate=True)
    assert raw.masked and raw.zero_gradient_fraction == 1.0
    through = gradient_masking(model, x, y, surrogate=True)
    assert through.zero_gradient_fraction < 0.5
    assert torch.equal(model(x), model.true_forward()(x))  # same forward values
    s = attack_settings(eps=[0.3], steps=10, square_queries=0)
    clean = accuracy_on(model, x, y)
    attacked = accuracy_on(model, pgd_examples(model, as_images(x), y, 0.3, s), y)
    assert clean > 0.9 and attacked < clean - 0.2


def test_full_evaluation_with_transfer_and_square(backprop: Learner) -> None:
    x, y = blobs(120, seed=3)
    images = as_images(x)
    s = attack_settings(eps=[0.05, 0.3], steps=10, square_queries=20, unbounded_steps=30)
    bp = attack_forward(backprop, x)
    source = transfer_set(bp, images, y, s)
    report = evaluate_robustness("backprop", bp, images, y, s, transfer=source, is_backprop=True)
    assert [r.eps for r in report.per_eps] == [0.05, 0.3]
    for r in report.per_eps:
        assert r.worst == min(v for v in (r.fgsm, r.pgd, r.transfer, r.square) if v is not None)
    assert report.unbounded_pgd is not None and report.unbounded_pgd <= 0.02
    names = {c.name: c for c in report.checks}
    assert names["backprop ε=0.3 → 0"].passed
    assert names["PGD ≤ FGSM"].passed
    rp = trained("random-projection", steps=100)
    other = evaluate_robustness(
        "random-projection",
        attack_forward(rp, x),
        images,
        y,
        s,
        transfer=source,
        backprop_unbounded=report.unbounded_pgd,
    )
    ok, why = robustness_claim(other, report, s.tolerance(len(x)))
    assert "worst case − backprop" in why or "checks failed" in why
    assert isinstance(ok, bool)


def test_spiking_binarisation_is_masked_and_the_surrogate_defeats_it() -> None:
    from neuroplastic.methods.spiking_exact import SpikingExactParams

    spec = get_method("spiking-exact")
    ctx = BuildContext(16, 2, (1000,), Ledger(), gen(), torch.device("cpu"))
    learner = spec.build(ctx, SpikingExactParams(hidden="12-8", batch_size=20))
    x, y = blobs(40, seed=4)
    model = attack_forward(learner, x, "spiking-exact")
    assert model.exactness == "surrogate"
    raw = gradient_masking(model.true_forward(), x, y, surrogate=True)
    assert raw.masked and raw.zero_gradient_fraction == 1.0  # binarise(x) has no gradient
    through = gradient_masking(model, x, y, surrogate=True)
    assert through.zero_gradient_fraction < 0.5  # straight-through reaches the pixels
    assert torch.equal(model(x), model.true_forward()(x))  # same forward values
