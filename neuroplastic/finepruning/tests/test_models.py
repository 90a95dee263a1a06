"""Base model files: written atomically, read without running code, bad files named."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neuroplastic.errors import DataError, ParameterError
from neuroplastic.finepruning.models import build_model, load_model, save_model


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_round_trip(tmp_path: Path, arch: str) -> None:
    model = build_model(arch).eval()
    path = tmp_path / "m.pt"
    save_model(model, arch, path, {"seed": 1})
    loaded, got_arch, meta = load_model(path)
    assert got_arch == arch and meta == {"seed": 1}
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
        assert model(x).shape == (3, 10)


def test_bad_model_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing\.pt does not exist"):
        load_model(tmp_path / "missing.pt")
    with pytest.raises(DataError, match="does not exist"):
        load_model(tmp_path)  # a directory
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(DataError, match=r"junk\.pt is not a readable PyTorch model file"):
        load_model(junk)
    plain = tmp_path / "plain.pt"
    torch.save(build_model("mlp").state_dict(), plain)
    with pytest.raises(DataError, match="not a neuroplastic fine-pruning model file"):
        load_model(plain)
    wrong = tmp_path / "wrong.pt"
    save_model(build_model("mlp"), "cnn", wrong, {})
    with pytest.raises(DataError, match="do not fit the cnn architecture"):
        load_model(wrong)
    with pytest.raises(ParameterError, match="unknown architecture"):
        build_model("transformer")
