"""``neuroplastic personalise``: fine-prune one base model for one user, read-only on the model.

Two kinds of input:

- ``arch="auto"``: a base model file written by :mod:`neuroplastic.finepruning.models` (MLP or
  CNN) and a user spec (:mod:`neuroplastic.finepruning.users`): the user's unlabelled
  adaptation images personalise it, the user's labelled test images score it before and after;
- ``arch="resnet50"``: a torchvision ResNet-50 weights file supplied by the user and a tensor
  file of the user's images (``torch.save`` of a float tensor ``(N, 3, H, W)``, normalised as the
  weights expect, or of ``{"x": images, "y": labels}``; with labels, the last ``test_fraction``
  of the images are held out and scored).

The model file is only read (``torch.load(weights_only=True)``); the personalised model is
written only where ``out`` says, and never over the input file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from neuroplastic.atomic import atomic_write
from neuroplastic.errors import DataError, ParameterError
from neuroplastic.finepruning.models import accuracy, load_model, read_model_file, save_model
from neuroplastic.finepruning.prune import FinePruneParams, fine_prune
from neuroplastic.finepruning.users import load_user, parse_user


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _read_images(path: Path) -> tuple[Tensor, Tensor | None]:
    blob: Any
    if not path.is_file():
        raise DataError(f"image file {path} does not exist (or is not a file)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataError(f"{path} is not a readable tensor file ({type(exc).__name__})") from None
    x, y = (blob.get("x"), blob.get("y")) if isinstance(blob, dict) else (blob, None)
    if not isinstance(x, Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise DataError(f"{path}: expected float images of shape (N, 3, H, W)")
    if y is not None and (not isinstance(y, Tensor) or y.shape != (x.shape[0],)):
        raise DataError(f"{path}: labels 'y' must be a tensor of shape ({x.shape[0]},)")
    return x, y


def personalise(
    model_path: str | os.PathLike[str],
    user: str = "",
    params: FinePruneParams | None = None,
    *,
    arch: str = "auto",
    images: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    data_dir: str | None = None,
    test_fraction: float = 0.5,
) -> dict[str, Any]:
    """Personalise the model in ``model_path`` for one user; returns the result as a dict."""
    torch.set_num_threads(1)
    p = params if params is not None else FinePruneParams()
    mpath = Path(model_path)
    if out is not None and _same_file(mpath, Path(out)):
        raise ParameterError(
            f"--out {out} is the base model file; the base model is never overwritten"
        )
    t0 = time.perf_counter()
    model: nn.Module
    if arch == "auto":
        model, arch_name, meta = load_model(mpath)
        spec = parse_user(user)
        data = load_user(spec, data_dir)
        x_adapt, x_test, y_test = data.x_adapt, data.x_test, data.y_test
        user_desc: dict[str, Any] = {"spec": spec.to_spec(), **spec.model_dump()}
    elif arch == "resnet50":
        from neuroplastic.finepruning.resnet import load_resnet50

        if images is None:
            raise ParameterError("--arch resnet50 needs --images FILE (the user's images)")
        model, arch_name, meta = load_resnet50(mpath), "resnet50", {}
        x, y = _read_images(Path(images))
        if y is None:
            x_adapt, x_test, y_test = x, None, None
        else:
            n_test = round(test_fraction * x.shape[0])
            x_adapt, x_test, y_test = x[: x.shape[0] - n_test], x[-n_test:], y[-n_test:]
        user_desc = {"images": str(images), "n": int(x.shape[0])}
    else:
        raise ParameterError(f"--arch must be auto or resnet50 (got {arch!r})")
    load_seconds = time.perf_counter() - t0
    before = accuracy(model, x_test, y_test) if x_test is not None and y_test is not None else None
    result = fine_prune(model, x_adapt, p)
    after = (
        accuracy(result.model, x_test, y_test)
        if x_test is not None and y_test is not None
        else None
    )
    rec = result.record
    written = None
    if out is not None:
        exported = result.model.export()
        if arch_name == "resnet50":  # torchvision layout: loads again with load_resnet50
            with atomic_write(out, "wb") as handle:
                torch.save(exported.state_dict(), handle)
        else:
            meta_out = {
                "personalised_from": str(mpath),
                "user": user_desc,
                "sparsity": rec.sparsity,
            }
            save_model(exported, arch_name, Path(out), meta_out)
        written = str(out)
    return {
        "model": str(mpath),
        "arch": arch_name,
        "base_meta": meta,
        "user": user_desc,
        "accuracy_before": before,
        "accuracy_after": after,
        "record": rec.model_dump(mode="json"),
        "ledger_personalise": result.model.ledger.counts(phase="personalise").to_dict(),
        "load_seconds": load_seconds,
        "personalise_seconds": rec.wall_seconds,
        "written": written,
    }


def check_model_file(path: str | os.PathLike[str]) -> None:
    """Raise :class:`DataError` if ``path`` is not a readable model file (used before work)."""
    read_model_file(path)
