"""Shape checks shared by the unsupervised rules (x pre, y post, w weights)."""

from __future__ import annotations

from torch import Tensor

from neuroplastic.errors import ShapeError


def check_pre_post(rule: str, x: Tensor, y: Tensor, w: Tensor) -> None:
    """x (B, n_in), y (B, N), w (N, n_in); a ShapeError naming ``rule`` otherwise."""
    if (
        x.dim() != 2
        or y.dim() != 2
        or w.dim() != 2
        or x.shape[0] != y.shape[0]
        or y.shape[1] != w.shape[0]
        or x.shape[1] != w.shape[1]
    ):
        raise ShapeError(
            f"{rule}: x {tuple(x.shape)}, y {tuple(y.shape)}, w {tuple(w.shape)} "
            "must be (B, n_in), (B, N), (N, n_in)"
        )
