"""MNIST pixels to input spikes: binarise, optionally flip, one spike per bright pixel.

A pixel with intensity >= 128 (of 255; >= 128/255 for pixels scaled to [0, 1]) emits one spike at
``t_in = T · ln(1/0.99)`` (about 0.02 for T = 2); darker pixels emit none. During training each
binarised pixel is flipped with probability ``p_flip`` (0.02 in the paper).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from neuroplastic.errors import ParameterError

BRIGHT = 128 / 255


def input_spike_time(t_end: float) -> float:
    """t_in = T · ln(1/0.99) (time)."""
    return t_end * math.log(1 / 0.99)


def binarise(x: Tensor, threshold: float = BRIGHT) -> Tensor:
    """1.0 where ``x >= threshold`` else 0.0 (same shape and dtype as ``x``)."""
    return (x >= threshold - 1e-6).to(x.dtype)


def flip(bits: Tensor, p_flip: float, generator: torch.Generator | None = None) -> Tensor:
    """Flip each bit independently with probability ``p_flip``."""
    if not 0 <= p_flip <= 1:
        raise ParameterError(f"flip probability must be in [0, 1] (got {p_flip})")
    if p_flip == 0:
        return bits
    device = generator.device if generator is not None else bits.device
    flips = (torch.rand(bits.shape, generator=generator, device=device) < p_flip).to(bits.device)
    return torch.where(flips, 1 - bits, bits)
