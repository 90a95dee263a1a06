"""Base models for personalisation: an MLP and a small CNN with batch norm, trained on MNIST.

Both are plain ``torch.nn`` modules built from ``nn.Linear`` / ``nn.Conv2d`` (fine-pruning
accepts any such module); they take images ``(B, 1, 28, 28)`` in [0, 1] and return logits
``(B, 10)``.

- ``mlp``: 784-300-100-10, ReLU (266,610 weights and biases).
- ``cnn``: conv 1→16 (5×5) - BN - ReLU - max-pool 2 - conv 16→32 (5×5) - BN - ReLU - max-pool 2
  - linear 512→128 - BN - ReLU - linear 128→10 (79,306 weights and biases, 13,194 of them in
  convolutions, plus batch-norm affine parameters and running statistics).

Training (the producer of the model to personalise, not part of fine-pruning, so it uses
plain autograd and ``torch.optim.Adam``): 55,000 training images (the last 5,000 of the
training file are the validation split), Adam lr 1e-3 halved every epoch, batch 64, seeded
order and initialisation. The trained weights are cached under
``<data dir>/finepruning/<arch>-seed<seed>.pt`` (``$NEUROPLASTIC_DATA``, default
``~/.cache/neuroplastic``), so the second request costs a file read.

A model file is ``torch.save`` of ``{"format": MODEL_FORMAT, "arch", "state_dict", "meta"}``
and is read with ``weights_only=True`` (no code runs on load).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from neuroplastic.atomic import atomic_write
from neuroplastic.errors import DataError, ParameterError
from neuroplastic.paths import data_dir

MODEL_FORMAT = "neuroplastic.finepruning.model/1"
ARCHS = ("mlp", "cnn")


class MLP(nn.Module):
    """784-300-100-10 ReLU multilayer perceptron on flattened images."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, 10)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(B, 10)`` of images ``(B, 1, 28, 28)`` (or ``(B, 784)``)."""
        h = torch.relu(self.fc1(x.reshape(x.shape[0], -1)))
        h = torch.relu(self.fc2(h))
        return self.fc3(h)


class SmallCNN(nn.Module):
    """Two 5×5 convolutions with batch norm and max-pooling, then two linear layers."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 5)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(512, 128)
        self.bn3 = nn.BatchNorm1d(128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(B, 10)`` of images ``(B, 1, 28, 28)``."""
        x = x.reshape(x.shape[0], 1, 28, 28)
        h = torch.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        h = torch.max_pool2d(torch.relu(self.bn2(self.conv2(h))), 2)
        h = torch.relu(self.bn3(self.fc1(h.flatten(1))))
        return self.fc2(h)


def build_model(arch: str) -> nn.Module:
    """A fresh, randomly initialised base model (``mlp`` or ``cnn``)."""
    if arch == "mlp":
        return MLP()
    if arch == "cnn":
        return SmallCNN()
    raise ParameterError(f"unknown architecture {arch!r}; expected one of {', '.join(ARCHS)}")


def save_model(model: nn.Module, arch: str, path: Path, meta: dict[str, Any]) -> None:
    """Write a model file atomically (``{"format", "arch", "state_dict", "meta"}``)."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    with atomic_write(path, "wb") as handle:
        torch.save(
            {"format": MODEL_FORMAT, "arch": arch, "state_dict": state, "meta": meta}, handle
        )


def read_model_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw content of a model file; :class:`DataError` naming the path if it is none."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"model file {p} does not exist (or is not a file)")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickles before failing on them
            warnings.simplefilter("ignore")
            blob = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors all mean: not a model file
        raise DataError(
            f"{p} is not a readable PyTorch model file ({type(exc).__name__})"
        ) from None
    if not isinstance(blob, dict):
        raise DataError(f"{p} holds a {type(blob).__name__}, not a model or a state_dict")
    return blob


def load_model(path: str | os.PathLike[str]) -> tuple[nn.Module, str, dict[str, Any]]:
    """Load a base model file written by :func:`save_model`: ``(model, arch, meta)``.

    Read-only: the file is never written. Raises :class:`DataError` naming the path when it
    is missing, unreadable, of another format, or its weights do not fit the architecture.
    """
    blob = read_model_file(path)
    if blob.get("format") != MODEL_FORMAT:
        raise DataError(
            f"{path} is not a neuroplastic fine-pruning model file (no format "
            f"{MODEL_FORMAT!r}); for torchvision ResNet-50 weights use --arch resnet50"
        )
    arch = str(blob.get("arch"))
    if arch not in ARCHS:
        raise DataError(f"{path}: unknown architecture {arch!r}")
    model = build_model(arch)
    try:
        model.load_state_dict(blob["state_dict"])
    except (RuntimeError, KeyError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataError(f"{path}: weights do not fit the {arch} architecture ({first})") from None
    model.eval()
    return model, arch, dict(blob.get("meta", {}))


def images_tensor(images: np.ndarray) -> Tensor:
    """uint8 images ``(n, 28, 28)`` as float32 ``(n, 1, 28, 28)`` in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0).unsqueeze(1)


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor, batch: int = 1000) -> float:
    """Fraction of ``x`` whose arg-max logit equals ``y`` (model in eval mode)."""
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch):
        correct += int((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum())
    model.train(was_training)
    return correct / max(1, x.shape[0])


def train_base_model(
    arch: str,
    train_x: Tensor,
    train_y: Tensor,
    *,
    seed: int = 0,
    epochs: int = 3,
    batch_size: int = 64,
    lr: float = 1e-3,
    log: Callable[[str], None] | None = None,
) -> nn.Module:
    """Train a base model with Adam (lr halved after every epoch); returns it in eval mode."""
    torch.manual_seed(seed)
    model = build_model(arch)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    gen = torch.Generator().manual_seed(seed)
    n = train_x.shape[0]
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        t0 = time.perf_counter()
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            loss = nn.functional.cross_entropy(model(train_x[idx]), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
        if log is not None:
            log(f"{arch} epoch {epoch + 1}/{epochs}: {time.perf_counter() - t0:.1f} s")
    model.eval()
    for p in model.parameters():
        p.grad = None
    return model


def cached_model_path(
    arch: str, seed: int, directory: str | os.PathLike[str] | None = None
) -> Path:
    """Where the trained base model of ``arch`` and ``seed`` is cached."""
    return data_dir(directory) / "finepruning" / f"{arch}-seed{seed}.pt"


def base_model(
    arch: str,
    *,
    seed: int = 0,
    data: str | os.PathLike[str] | None = None,
    epochs: int = 3,
    log: Callable[[str], None] | None = None,
) -> tuple[nn.Module, Path, dict[str, Any]]:
    """The trained base model of ``arch`` and ``seed``: read from the cache or trained now.

    Returns ``(model, path of the cached file, meta)``; ``meta`` holds the validation and
    test accuracy measured after training, the epochs and the training time.
    """
    from neuroplastic.data import load_mnist

    build_model(arch)  # validates the name
    path = cached_model_path(arch, seed, data)
    if path.is_file():
        try:
            model, _, meta = load_model(path)
            if meta.get("epochs") == epochs:
                return model, path, meta
        except DataError:
            pass  # a stale or broken cache entry is retrained and replaced
    arrays = load_mnist(data)
    x = images_tensor(arrays.train_images)
    y = torch.from_numpy(arrays.train_labels.astype(np.int64))
    test_x = images_tensor(arrays.test_images)
    test_y = torch.from_numpy(arrays.test_labels.astype(np.int64))
    t0 = time.perf_counter()
    model = train_base_model(arch, x[:55000], y[:55000], seed=seed, epochs=epochs, log=log)
    meta = {
        "arch": arch,
        "seed": seed,
        "epochs": epochs,
        "train_seconds": time.perf_counter() - t0,
        "val_accuracy": accuracy(model, x[55000:], y[55000:]),
        "test_accuracy": accuracy(model, test_x, test_y),
        "threads": torch.get_num_threads(),
    }
    if meta["test_accuracy"] < 0.5:
        raise DataError(f"training the {arch} base model failed (test accuracy {meta})")
    save_model(model, arch, path, meta)
    return model, path, meta
