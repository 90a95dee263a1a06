"""The paper's loss on output spike times and the earliest-spike prediction.

    L = −log softmax(−t_out)[label] + α · (exp(t_out[label] / T) − 1),   α = 0.01

averaged over the batch; ``t_out`` (time) are first output spike times with pseudospikes for
silent outputs. The second term pulls the correct spike early. The predicted class is the
output neuron that spikes first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def spike_time_loss(t_out: Tensor, y: Tensor, t_end: float, alpha: float = 0.01) -> Tensor:
    """Mean over the batch of ``−log softmax(−t_out)[y] + α (exp(t_out[y]/T) − 1)``."""
    t_label = t_out.gather(1, y.unsqueeze(1)).squeeze(1)
    return F.cross_entropy(-t_out, y) + alpha * torch.expm1(t_label / t_end).mean()


def earliest_spike_correct(t_out: Tensor, y: Tensor) -> Tensor:
    """Whether the label's neuron spikes first (B,) bool; a sample with no finite time is wrong."""
    first = t_out.argmin(1)
    return (first == y) & torch.isfinite(t_out.amin(1))
