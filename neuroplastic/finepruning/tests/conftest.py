"""Small synthetic models and data for the fine-pruning tests (no MNIST)."""

from __future__ import annotations

import pytest
import torch
from torch import nn


class TinyCNN(nn.Module):
    """conv 1→4 (3×3) - BN - ReLU - conv 4→6 (3×3) - ReLU - pool - linear 24→8 - ReLU -
    linear 8→5, on 8×8 images."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3)
        self.fc1 = nn.Linear(24, 8)
        self.fc2 = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn(self.conv(x)))
        h = torch.max_pool2d(torch.relu(self.conv2(h)), 2)
        return self.fc2(torch.relu(self.fc1(h.flatten(1))))


class TinyMLP(nn.Module):
    """12-16-4 ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


@pytest.fixture
def tiny_cnn() -> nn.Module:
    torch.manual_seed(0)
    model = TinyCNN()
    with torch.no_grad():  # non-trivial running statistics, as after training
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.fixture
def tiny_mlp() -> nn.Module:
    torch.manual_seed(0)
    return TinyMLP().eval()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(200, 1, 8, 8, generator=torch.Generator().manual_seed(1))


@pytest.fixture
def features() -> torch.Tensor:
    return torch.rand(200, 12, generator=torch.Generator().manual_seed(2))
