"""The torchvision-layout ResNet: plumbing on a small random network, and bad weight files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neuroplastic.errors import DataError
from neuroplastic.finepruning.prune import FinePruneParams, fine_prune
from neuroplastic.finepruning.resnet import (
    load_resnet50,
    load_resnet_weights,
    resnet50,
    small_resnet,
)

# a few of torchvision's resnet50().state_dict() keys and shapes
TORCHVISION_KEYS = {
    "conv1.weight": (64, 3, 7, 7),
    "bn1.running_mean": (64,),
    "layer1.0.downsample.0.weight": (256, 64, 1, 1),
    "layer2.0.conv2.weight": (128, 128, 3, 3),
    "layer3.5.bn3.num_batches_tracked": (),
    "layer4.2.conv3.weight": (2048, 512, 1, 1),
    "fc.weight": (1000, 2048),
}


def test_resnet50_has_torchvisions_layout() -> None:
    model = resnet50()
    state = model.state_dict()
    for key, shape in TORCHVISION_KEYS.items():
        assert tuple(state[key].shape) == shape, key
    assert len(state) == 320  # as torchvision's resnet50().state_dict()
    assert sum(p.numel() for p in model.parameters()) == 25_557_032
    assert model.layer2[0].conv2.stride == (2, 2)  # v1.5: stride on the 3x3 convolution


def test_small_resnet_round_trip_and_personalisation(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = small_resnet(num_classes=4).eval()
    path = tmp_path / "weights.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)
    loaded = load_resnet_weights(small_resnet(num_classes=4), path)
    x = torch.rand(80, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    before = path.read_bytes()
    res = fine_prune(
        loaded,
        x,
        FinePruneParams(target_sparsity=0.5, stop="none", min_samples=16, bn_reestimate=True),
    )
    assert res.record.sparsity == pytest.approx(0.5, abs=0.02)
    assert len(res.model.layers) == 1 + 4 * 4 + 1  # conv1, 3 convs + downsample per block, fc
    assert path.read_bytes() == before


def test_bad_weight_files_are_named(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataError, match=r"corrupt\.pth is not a readable PyTorch model file"):
        load_resnet50(corrupt)
    other = tmp_path / "small.pth"
    torch.save(small_resnet().state_dict(), other)
    with pytest.raises(DataError, match=r"small\.pth does not match the ResNet architecture"):
        load_resnet50(other)
    mismatch = tmp_path / "mismatch.pth"
    state = small_resnet().state_dict()
    state["conv1.weight"] = torch.zeros(8, 3, 5, 5)
    torch.save(state, mismatch)
    with pytest.raises(DataError, match=r"'conv1\.weight' has shape"):
        load_resnet_weights(small_resnet(), mismatch)
    with pytest.raises(DataError, match="does not exist"):
        load_resnet50(tmp_path / "none.pth")
