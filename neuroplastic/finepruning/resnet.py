"""ResNet-50 in plain PyTorch, with torchvision's parameter names, for the paper's setting.

PyPI's torchvision does not import beside this project's torch 2.13.0 CPU build ("operator
torchvision::nms does not exist"), and installing another torch is not an option here. The
paper's ImageNet setting needs only the network, so this module defines the bottleneck ResNet
of He et al. (2016) exactly as ``torchvision.models.resnet50`` lays it out (v1.5: the stride of
a down-sampling block sits on its 3×3 convolution; module names ``conv1``, ``bn1``, ``layer1``
.. ``layer4`` with ``downsample.0/1``, ``fc``), so a weights file saved from torchvision
(``torch.save(resnet50(weights=...).state_dict(), path)``, or the ``.pth`` files torchvision
downloads) loads with ``strict=True`` and computes what torchvision's model computes.

:func:`load_resnet50` reads such a file with ``weights_only=True`` and gives a one-line
:class:`~neuroplastic.errors.DataError` naming the file for a missing, corrupt or mismatching
file (the first missing, unexpected or mis-shaped key is quoted). No pretrained weights ship
with the toolkit and none are downloaded: the user supplies the file. :func:`small_resnet` builds
the same architecture at a toy size (for tests: plumbing only, no accuracy claim).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from neuroplastic.errors import DataError
from neuroplastic.finepruning.models import read_model_file


class Bottleneck(nn.Module):
    """1×1 → 3×3 (stride) → 1×1 convolutions with batch norm, expansion 4, residual add."""

    expansion = 4

    def __init__(
        self, in_planes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        """``relu(F(x) + shortcut(x))``."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Bottleneck ResNet laid out as torchvision's (``layers`` blocks per stage)."""

    def __init__(
        self, layers: Sequence[int] = (3, 4, 6, 3), num_classes: int = 1000, width: int = 64
    ) -> None:
        super().__init__()
        self.in_planes = width
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._stage(width, layers[0], 1)
        self.layer2 = self._stage(width * 2, layers[1], 2)
        self.layer3 = self._stage(width * 4, layers[2], 2)
        self.layer4 = self._stage(width * 8, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * Bottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _stage(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.in_planes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.in_planes, planes * Bottleneck.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        out = [Bottleneck(self.in_planes, planes, stride, downsample)]
        self.in_planes = planes * Bottleneck.expansion
        out += [Bottleneck(self.in_planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*out)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(B, num_classes)`` of images ``(B, 3, H, W)`` (ImageNet-normalised)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50(num_classes: int = 1000) -> ResNet:
    """ResNet-50 (25,557,032 parameters at 1000 classes, as torchvision's)."""
    return ResNet((3, 4, 6, 3), num_classes)


def small_resnet(num_classes: int = 10, width: int = 8) -> ResNet:
    """The same architecture at a toy size (one block per stage): for plumbing tests."""
    return ResNet((1, 1, 1, 1), num_classes, width)


def _state_dict_of(blob: dict[str, object], path: Path) -> dict[str, Tensor]:
    for key in ("state_dict", "model"):  # common checkpoint wrappers
        inner = blob.get(key)
        if isinstance(inner, dict):
            blob = inner
            break
    state: dict[str, Tensor] = {}
    for key, value in blob.items():
        if not isinstance(value, Tensor):
            raise DataError(f"{path}: entry {key!r} is not a tensor; not a ResNet state_dict")
        state[key.removeprefix("module.")] = value
    return state


def load_resnet_weights(model: ResNet, path: str | os.PathLike[str]) -> ResNet:
    """Load a torchvision-layout state_dict file into ``model`` (strict; read-only on the file).

    Raises :class:`DataError` naming the file and the first mismatching key.
    """
    p = Path(path)
    blob = read_model_file(p)
    state = _state_dict_of(blob, p)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        what = f"missing {missing[0]!r}" if missing else f"unexpected {unexpected[0]!r}"
        raise DataError(
            f"{p} does not match the ResNet architecture ({len(missing)} keys missing, "
            f"{len(unexpected)} unexpected; first: {what})"
        )
    for k, v in own.items():
        if state[k].shape != v.shape:
            raise DataError(
                f"{p} does not match the ResNet architecture ({k!r} has shape "
                f"{tuple(state[k].shape)}, expected {tuple(v.shape)})"
            )
    model.load_state_dict(state, strict=True)
    return model.eval()


def load_resnet50(path: str | os.PathLike[str], num_classes: int | None = None) -> ResNet:
    """ResNet-50 with the weights of a user-supplied torchvision file (classes from ``fc``)."""
    p = Path(path)
    if num_classes is None:
        blob = read_model_file(p)
        fc = _state_dict_of(blob, p).get("fc.weight")
        if fc is None or fc.ndim != 2:
            raise DataError(f"{p} has no 'fc.weight' matrix; not a torchvision ResNet-50 file")
        num_classes = int(fc.shape[0])
    return load_resnet_weights(resnet50(num_classes), p)
