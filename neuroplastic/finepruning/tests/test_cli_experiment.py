"""``neuroplastic personalise`` and the ``fine-pruning`` experiment, on synthetic stand-ins."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from neuroplastic.data.mnist import MnistArrays
from neuroplastic.finepruning import experiment as exp_module
from neuroplastic.finepruning import personalise as pers_module
from neuroplastic.finepruning.models import build_model, save_model
from neuroplastic.finepruning.resnet import small_resnet
from neuroplastic.finepruning.users import make_user


def _fake_arrays() -> MnistArrays:
    rng = np.random.default_rng(0)
    labels = (np.arange(2000) % 10).astype(np.uint8)
    images = np.zeros((2000, 28, 28), dtype=np.uint8)
    for d in range(10):  # a crude digit-dependent pattern, so predictions differ by class
        images[labels == d, 4 + 2 * d : 8 + 2 * d, 6:22] = 200
    images = np.clip(images + rng.integers(0, 40, images.shape), 0, 255).astype(np.uint8)
    return MnistArrays(images, labels, images, labels)


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "cnn.pt"
    save_model(build_model("cnn").eval(), "cnn", path, {"seed": 0})
    return path


@pytest.fixture
def fake_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """``personalise`` draws its users from the fake arrays instead of MNIST."""
    arrays = _fake_arrays()
    monkeypatch.setattr(
        pers_module,
        "load_user",
        lambda spec, _d=None: make_user(spec, arrays.test_images, arrays.test_labels),
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_personalise_one_user(
    cli: Callable[..., tuple[int, str]], model_file: Path, tmp_path: Path, fake_users: None
) -> None:
    digest = _sha(model_file)
    out, js = tmp_path / "personal.pt", tmp_path / "p.json"
    code, text = cli(
        "personalise",
        "--model",
        str(model_file),
        "--user",
        "classes=1,4,7;n_adapt=300;n_test=200",
        "--set",
        "bn_reestimate=true",
        "--out",
        str(out),
        "--json",
        str(js),
    )
    assert code == 0, text
    assert "stopping rule" in text and "personalised model written" in text
    result = json.loads(js.read_text())
    rec = result["record"]
    assert rec["backward_samples"] == 0 and rec["forward_samples"] > 0
    assert rec["mask_writes"] == result["ledger_personalise"]["pruned"] > 0
    assert result["accuracy_before"] is not None and result["accuracy_after"] is not None
    assert _sha(model_file) == digest  # the base model file is never modified
    code, _ = cli(
        "personalise", "--model", str(out), "--user", "classes=1,4,7;n_adapt=300;n_test=200"
    )
    assert code == 0  # the written model is a model file again


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "MISSING"], "does not exist"),
        (["--model", "NOTMODEL"], "is not a readable PyTorch model file"),
        (["--user", "classes=1,12"], "classes must lie in 0..9, got [12]"),
        (["--set", "target_sparsity=1"], "'target_sparsity' must be less than 1"),
        (["--set", "target_sparsity=-0.1"], "'target_sparsity' must be greater than or equal to 0"),
        (["--user", "classes=1,4;n_adapt=40;n_test=50"], "adaptation data too small: 40 samples"),
        (["--out", "MODEL"], "the base model is never overwritten"),
        (["--arch", "vgg"], "--arch must be auto or resnet50"),
    ],
)
def test_bad_input_is_one_line_naming_it(
    cli: Callable[..., tuple[int, str]],
    model_file: Path,
    tmp_path: Path,
    fake_users: None,
    args: list[str],
    message: str,
) -> None:
    notmodel = tmp_path / "notes.txt"
    notmodel.write_text("hello")
    subs = {
        "MISSING": str(tmp_path / "missing.pt"),
        "NOTMODEL": str(notmodel),
        "MODEL": str(model_file),
    }
    args = [subs.get(a, a) for a in args]
    if "--model" not in args:
        args = ["--model", str(model_file), *args]
    digest = _sha(model_file)
    code, text = cli("personalise", *args)
    assert code == 2, text
    assert message in text
    assert text.strip().count("\n") == 0 and "Traceback" not in text
    assert _sha(model_file) == digest


def test_personalise_resnet_path(
    cli: Callable[..., tuple[int, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    weights, images, out = tmp_path / "r.pth", tmp_path / "x.pt", tmp_path / "personal.pth"
    state = {k: v for k, v in small_resnet(num_classes=4).state_dict().items()}
    torch.save(state, weights)
    torch.save({"x": torch.rand(200, 3, 32, 32), "y": torch.randint(0, 4, (200,))}, images)
    # a small ResNet is not a ResNet-50: a clear error naming the file
    code, text = cli(
        "personalise", "--model", str(weights), "--arch", "resnet50", "--images", str(images)
    )
    assert code == 2 and "does not match the ResNet architecture" in text and str(weights) in text
    # the plumbing runs end to end on a small network (loaded as the ResNet-50 would be)
    from neuroplastic.finepruning import resnet

    monkeypatch.setattr(
        resnet,
        "load_resnet50",
        lambda p: resnet.load_resnet_weights(small_resnet(num_classes=4), p),
    )
    code, text = cli(
        "personalise",
        "--model",
        str(weights),
        "--arch",
        "resnet50",
        "--images",
        str(images),
        "--set",
        "target_sparsity=0.5",
        "--set",
        "min_samples=16",
        "--out",
        str(out),
    )
    assert code == 0, text
    assert (tmp_path / "personal.pth").is_file()
    again = resnet.load_resnet_weights(small_resnet(num_classes=4), out)
    convs = [m for m in again.modules() if isinstance(m, torch.nn.Conv2d)]
    assert sum(int((c.weight == 0).sum()) for c in convs) > 0  # pruned weights are zeros


def test_experiment_runs_every_method(
    cli: Callable[..., tuple[int, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = _fake_arrays()
    monkeypatch.setattr("neuroplastic.data.load_mnist", lambda _d=None: arrays)

    def fake_base_model(arch: str, seed: int = 0, data: Any = None) -> Any:
        torch.manual_seed(seed)
        return build_model(arch).eval(), tmp_path / f"{arch}.pt", {"seed": seed}

    monkeypatch.setattr(exp_module, "base_model", fake_base_model)
    js = tmp_path / "exp.json"
    code, text = cli(
        "run",
        "fine-pruning",
        "--archs",
        "cnn,mlp",
        "--kinds",
        "classes",
        "--n-users",
        "2",
        "--seeds",
        "0",
        "--n-adapt",
        "200",
        "--n-test",
        "100",
        "--passes",
        "2",
        "--chunk",
        "100",
        "--json",
        str(js),
    )
    assert code == 0, text
    body = json.loads(js.read_text())
    methods = {(r["arch"], r["method"]) for r in body["per_user"]}
    assert {m for a, m in methods if a == "cnn"} == set(exp_module.METHODS)
    assert {m for a, m in methods if a == "mlp"} == {
        "base",
        "fine-pruning",
        "fp-hidden-only",
        "magnitude",
        "finetune-labels",
    }
    agg = {(e["arch"], e["method"]): e for e in body["aggregate"]}
    assert agg[("cnn", "fine-pruning")]["n"] == 2
    assert agg[("cnn", "fine-pruning")]["backward_samples_mean"] == 0
    assert agg[("cnn", "TENT-1epoch")]["backward_samples_mean"] == 200
    fp, tent = agg[("cnn", "fine-pruning")], agg[("cnn", "TENT@budget")]
    assert tent["compute_mean"] <= fp["compute_mean"] + 6  # TENT gets fine-pruning's budget
    assert len(body["repeated_mean_accuracy"]["classes"]["TENT"]) == 2
    assert (tmp_path / "fine_pruning_gain_vs_sparsity.png").is_file()
