"""Users: spec parsing, seeded reproducible draws, disjoint splits, style transforms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroplastic.errors import DataError, ParameterError
from neuroplastic.finepruning.users import (
    UserSpec,
    apply_style,
    make_user,
    parse_user,
    random_user,
)


def _fake_mnist(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    images[:, 8:20, 12:16] = rng.integers(100, 255, size=(n, 12, 4), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    images[np.arange(n), 0, 0] = np.arange(n) % 251  # tells the images apart
    return images, labels


def test_spec_round_trip() -> None:
    spec = parse_user("classes=7,1,4; slant=0.3; thickness=1; scale=0.9; elastic=2; seed=5")
    assert spec.classes == [1, 4, 7] and spec.slant == 0.3 and spec.thickness == 1
    assert parse_user(spec.to_spec()) == spec
    assert parse_user("").classes == list(range(10))


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("classes=1,12", "0..9"),
        ("classes=3", "at least 2"),
        ("classes=a,b", "digits"),
        ("slant=2", "slant"),
        ("colour=red", "colour"),
        ("classes", "key=value"),
    ],
)
def test_bad_specs_name_what_is_wrong(text: str, named: str) -> None:
    with pytest.raises(ParameterError, match=named) as info:
        parse_user(text)
    assert "\n" not in str(info.value)


def test_draws_are_seeded_and_splits_disjoint() -> None:
    images, labels = _fake_mnist()
    spec = UserSpec(classes=[1, 4, 7], seed=3, n_adapt=60, n_test=50)
    a, b = make_user(spec, images, labels), make_user(spec, images, labels)
    assert torch.equal(a.x_adapt, b.x_adapt) and torch.equal(a.y_test, b.y_test)
    assert set(a.y_adapt.tolist()) | set(a.y_test.tolist()) <= {1, 4, 7}
    assert a.x_adapt.shape == (60, 1, 28, 28) and a.x_test.shape == (50, 1, 28, 28)
    ids_adapt = {float(v) for v in a.x_adapt[:, 0, 0, 0]}
    ids_test = {float(v) for v in a.x_test[:, 0, 0, 0]}
    assert not ids_adapt & ids_test  # no image in both splits
    other = make_user(spec.model_copy(update={"seed": 4}), images, labels)
    assert not torch.equal(other.x_adapt, a.x_adapt)


def test_too_few_images_for_the_classes() -> None:
    images, labels = _fake_mnist()
    with pytest.raises(DataError, match="hold 120 images, need"):
        make_user(UserSpec(classes=[1, 2], n_adapt=100, n_test=100), images, labels)


def test_style_transforms() -> None:
    x = torch.zeros(2, 1, 28, 28)
    x[:, :, 6:22, 13:15] = 1.0  # a vertical stroke
    thick = apply_style(x, UserSpec(thickness=1))
    thin = apply_style(x, UserSpec(thickness=-1))
    assert thick.sum() > x.sum() > thin.sum()
    slanted = apply_style(x, UserSpec(slant=0.4))
    top, bottom = slanted[0, 0, 8].argmax(), slanted[0, 0, 20].argmax()
    assert top != bottom  # a slanted stroke: its column changes with the row
    small = apply_style(x, UserSpec(scale=0.7))
    assert small.sum() < x.sum()
    e1 = apply_style(x, UserSpec(elastic=2.0, seed=1))
    e2 = apply_style(x, UserSpec(elastic=2.0, seed=2))
    assert not torch.equal(e1, e2) and torch.equal(
        e1, apply_style(x, UserSpec(elastic=2.0, seed=1))
    )
    assert torch.equal(e1[0], e1[1])  # a personal hand: the same field for every image
    assert float(e1.min()) >= 0 and float(e1.max()) <= 1
    assert torch.equal(apply_style(x, UserSpec()), x)


@pytest.mark.parametrize("kind", ["classes", "style", "both"])
def test_random_users(kind: str) -> None:
    users = [random_user(s, kind) for s in range(20)]
    for u in users:
        assert (3 <= len(u.classes) <= 4) == (kind != "style")
        assert u.has_style == (kind != "classes")
    assert len({u.to_spec() for u in users}) == 20
    assert random_user(5, kind) == users[5]
    with pytest.raises(ParameterError, match="kind"):
        random_user(0, "left-handed")


@pytest.mark.mnist
def test_a_real_mnist_user(mnist_path: object) -> None:
    from neuroplastic.finepruning.users import load_user

    spec = parse_user("classes=1,4,7;slant=0.2;thickness=1;elastic=2;seed=1;n_adapt=300;n_test=200")
    a, b = load_user(spec), load_user(spec)
    assert a.x_adapt.shape == (300, 1, 28, 28) and a.x_test.shape == (200, 1, 28, 28)
    assert set(a.y_test.tolist()) == {1, 4, 7}
    assert torch.equal(a.x_adapt, b.x_adapt)
    assert float(a.x_adapt.min()) >= 0.0 and float(a.x_adapt.max()) <= 1.0
