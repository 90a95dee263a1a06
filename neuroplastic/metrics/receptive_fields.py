"""Receptive fields: the input weights of hidden units drawn as images, one PNG grid per method.

Unit j's receptive field is row ``W[j, :]`` of the declared input-layer weight group, reshaped
to the image (28 × 28 for MNIST). Each tile has its own symmetric colour scale ±max|W[j]|
(red positive, blue negative, white 0), so that a unit's shape is visible whatever its norm;
absent synapses are 0. Units are the first ``n`` connected ones (at least one existing synapse),
in their stored order: no selection that could flatter a method.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor

from neuroplastic.errors import ParameterError


def receptive_field_grid(
    w: Tensor,
    path: Path,
    *,
    mask: Tensor | None = None,
    n: int = 64,
    title: str = "",
) -> Path:
    """Write a grid of the first ``n`` connected units' input weights ``w`` (units, pixels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = w.detach().cpu().float()
    if w.ndim != 2:
        raise ParameterError(
            f"receptive fields need a (units, pixels) matrix, got {tuple(w.shape)}"
        )
    side = math.isqrt(w.shape[1])
    if side * side != w.shape[1]:
        raise ParameterError(f"receptive fields need square images ({w.shape[1]} pixels is not)")
    connected = mask.cpu().any(1) if mask is not None else torch.ones(w.shape[0], dtype=torch.bool)
    units = torch.nonzero(connected).flatten()[:n]
    cols = max(1, math.ceil(math.sqrt(len(units))))
    rows = max(1, math.ceil(len(units) / cols))
    # one image of tiles (each scaled by its own max|w|, 1-pixel white gaps): one imshow is
    # ~50x faster to draw than one axes per unit
    step = side + 1
    canvas = torch.full((rows * step + 1, cols * step + 1), float("nan"))
    for k, j in enumerate(units.tolist()):
        img = w[j].reshape(side, side)
        lim = float(img.abs().max()) or 1.0
        r, c = divmod(k, cols)
        canvas[1 + r * step : 1 + r * step + side, 1 + c * step : 1 + c * step + side] = img / lim
    cmap = plt.get_cmap("bwr").with_extremes(bad="white")
    fig, ax = plt.subplots(figsize=(cols * 0.9, rows * 0.9 + 0.4))
    ax.axis("off")
    ax.imshow(canvas.numpy(), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    if title:
        fig.suptitle(title, fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
