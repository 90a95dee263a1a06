"""Resolve a device name (``auto``, ``cpu``, ``cuda``, ``cuda:1``) to a checked torch device."""

from __future__ import annotations

import torch

from neuroplastic.errors import ParameterError


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA if available, else CPU; otherwise the named device (checked)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ParameterError(f"unknown device {name!r} ({exc})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device {name!r} requested but CUDA is not available")
    return device
