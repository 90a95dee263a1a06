import torch

from neuroplastic.energy.ledger import Ledger
from neuroplastic.methods import BuildContext, get_method
from neuroplastic.train import LoopSettings, Trainer


def build(hidden=(16,), **over):
    method = get_method("feedback-alignment")
    ctx = BuildContext(
        12, 3, hidden, Ledger(), torch.Generator().manual_seed(0), torch.device("cpu")
    )
    return method.build(ctx, method.params_model(batch_size=8, **over))


def task(n=600):
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.rand(n, 12, generator=g) * 0.2
    x[torch.arange(n), y * 4] += 1.0
    return x, y


def test_learns_without_autograd_and_feedback_stays_fixed():
    learner = build(hidden=(16, 8), lr=0.2)
    fb = learner.feedback2.clone()
    x, y = task()
    Trainer(learner, LoopSettings(epochs=3, batch_size=8)).fit(x, y, x[:100], y[:100])
    assert (learner.predict(x).argmax(1) == y).float().mean() > 0.9
    assert learner.predict(x).grad_fn is None
    assert torch.equal(fb, learner.feedback2)


def test_output_layer_update_is_the_delta_rule_on_softmax_error():
    learner = build(lr=0.1)
    x, y = task(8)
    w_out = learner.layers[1].weight.w.detach().clone()
    h = torch.tanh(learner.layers[0](x))
    e = torch.softmax(learner.layers[1](h), 1) - torch.nn.functional.one_hot(y, 3).float()
    learner.train_step(x, y)
    assert torch.allclose(learner.layers[1].weight.w, w_out - 0.1 * e.T @ h / 8, atol=1e-6)
