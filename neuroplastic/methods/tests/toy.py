"""The small task some method tests share: 10 features in [0, 1], 4 classes, one hidden layer
of 12, built on the CPU with a fresh ledger."""

import torch

from neuroplastic.methods import Learner, get_method
from neuroplastic.testing import N_CLASSES, N_FEATURES, toy_context

HIDDEN = (12,)


def toy_learner(name, seed=0, hidden=HIDDEN, **params) -> Learner:
    """Method ``name`` built for N_FEATURES-``hidden``-N_CLASSES, weights drawn from ``seed``."""
    method = get_method(name)
    return method.build(toy_context(seed, hidden), method.params_model(**params))


def toy_data(n=96, seed=0):
    """``n`` samples around one random centre per class (uniform noise of width 0.2)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, N_CLASSES, (n,), generator=g)
    centers = torch.rand(N_CLASSES, N_FEATURES, generator=g)
    x = (centers[y] + 0.2 * torch.rand(n, N_FEATURES, generator=g)).clamp(0, 1)
    return x, y
