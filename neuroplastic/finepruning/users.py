"""Users: personal data sets drawn from MNIST's test images, with a class subset and a style.

A user is described by a :class:`UserSpec`; the spec string of the command line is
``key=value`` pairs separated by ``;``, e.g. ``"classes=1,4,7;slant=0.3;thickness=1;seed=5"``.

- ``classes``: the digits this user writes (2 to 10 distinct digits in 0..9; default all ten);
- ``slant``: horizontal shear (x' = x + slant·y, image heights; −0.6..0.6);
- ``thickness``: stroke thickness in steps of a 3×3 grey-value dilation (+) or erosion (−);
- ``scale``: size of the digit relative to MNIST's (0.6..1.4, about the image centre);
- ``elastic``: largest displacement (pixels) of the user's own smooth deformation field
  (Simard et al. 2003: Gaussian noise smoothed with σ = 4 px), the same for all of the user's
  images (a personal hand, not per-sample noise);
- ``seed``: which images are drawn and the user's deformation field;
- ``n_adapt`` / ``n_test``: images in the unlabelled adaptation set and the labelled test set
  (disjoint; drawn without replacement from the chosen classes of the MNIST test file, which the
  base models never trained on).

The style is applied with one ``affine_grid`` + ``grid_sample`` (bilinear) per image batch, so a
user's data are reproducible from the spec alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from torch import Tensor

from neuroplastic.data.classes import validate_classes
from neuroplastic.errors import DataError, ParameterError


class UserSpec(BaseModel):
    """One user: classes, style, seed and sizes (see the module doc)."""

    model_config = ConfigDict(extra="forbid")
    classes: list[int] = Field(default_factory=lambda: list(range(10)))
    slant: float = Field(0.0, ge=-0.6, le=0.6, description="horizontal shear")
    thickness: int = Field(0, ge=-1, le=3, description="dilation (+) / erosion (−) steps")
    scale: float = Field(1.0, ge=0.6, le=1.4, description="digit size relative to MNIST")
    elastic: float = Field(0.0, ge=0.0, le=6.0, description="deformation amplitude (pixels)")
    seed: int = Field(0, ge=0, description="draw and deformation seed")
    n_adapt: int = Field(600, ge=1, le=5000, description="unlabelled adaptation images")
    n_test: int = Field(600, ge=1, le=5000, description="labelled test images")

    @field_validator("classes")
    @classmethod
    def _classes(cls, v: list[int]) -> list[int]:
        return validate_classes(v)

    @property
    def has_style(self) -> bool:
        """Whether any style transform is applied."""
        return bool(self.slant or self.thickness or self.scale != 1.0 or self.elastic)

    def to_spec(self) -> str:
        """The spec string that parses back to this user."""
        parts = [f"classes={','.join(str(c) for c in self.classes)}"]
        for key in ("slant", "thickness", "scale", "elastic", "seed", "n_adapt", "n_test"):
            parts.append(f"{key}={getattr(self, key)}")
        return ";".join(parts)


def parse_user(text: str) -> UserSpec:
    """Parse ``"classes=1,4,7;slant=0.3;..."``; :class:`ParameterError` naming the bad part."""
    values: dict[str, object] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise ParameterError(f"user spec {text!r}: {part!r} is not key=value")
        if key == "classes":
            items = [s.strip() for s in value.split(",") if s.strip()]
            try:
                values[key] = [int(s) for s in items]
            except ValueError:
                raise ParameterError(
                    f"user spec {text!r}: classes must be digits 0..9, got {value!r}"
                ) from None
        else:
            values[key] = value.strip()
    try:
        return UserSpec.model_validate(values)
    except ParameterError as exc:
        raise ParameterError(f"user spec {text!r}: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "spec"
        msg = err["msg"]
        if isinstance(err.get("ctx"), dict) and isinstance(err["ctx"].get("error"), Exception):
            msg = str(err["ctx"]["error"])
        raise ParameterError(f"user spec {text!r}: {where}: {msg}") from None


def random_user(seed: int, kind: str, n_adapt: int = 600, n_test: int = 600) -> UserSpec:
    """A random user of ``kind`` ``classes`` (3–4 digits), ``style`` (all ten) or ``both``."""
    if kind not in ("classes", "style", "both"):
        raise ParameterError(f"user kind must be classes, style or both (got {kind!r})")
    rng = np.random.default_rng(10_000 + seed)
    classes = list(range(10))
    if kind in ("classes", "both"):
        k = int(rng.integers(3, 5))
        classes = sorted(int(c) for c in rng.choice(10, size=k, replace=False))
    style: dict[str, float | int] = {}
    if kind in ("style", "both"):
        style = {
            "slant": round(float(rng.uniform(-0.45, 0.45)), 3),
            "thickness": int(rng.choice([-1, 0, 1, 2])),
            "scale": round(float(rng.uniform(0.75, 1.2)), 3),
            "elastic": round(float(rng.uniform(1.0, 3.0)), 3),
        }
    return UserSpec.model_validate(
        {"classes": classes, "seed": seed, "n_adapt": n_adapt, "n_test": n_test, **style}
    )


@dataclass
class UserData:
    """A user's unlabelled adaptation images and labelled test images, ``(n, 1, 28, 28)``."""

    spec: UserSpec
    x_adapt: Tensor
    y_adapt: Tensor  # kept only for the labelled fine-tuning baseline
    x_test: Tensor
    y_test: Tensor


def _gaussian_smooth(field: Tensor, sigma: float) -> Tensor:
    radius = math.ceil(3 * sigma)
    t = torch.arange(-radius, radius + 1, dtype=field.dtype)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    f = field.unsqueeze(1)  # (2, 1, H, W)
    f = torch.nn.functional.conv2d(f, k.view(1, 1, 1, -1), padding=(0, radius))
    f = torch.nn.functional.conv2d(f, k.view(1, 1, -1, 1), padding=(radius, 0))
    return f.squeeze(1)


def apply_style(x: Tensor, spec: UserSpec) -> Tensor:
    """Images ``(n, 1, 28, 28)`` in [0, 1] written in the user's style (same shape, [0, 1])."""
    if not spec.has_style:
        return x
    n, _, h, w = x.shape
    gen = torch.Generator().manual_seed(1_000_003 * spec.seed + 17)
    # output pixel (u, v) in [-1, 1] samples the input at A (u, v): inverse of scale and shear
    inv = 1.0 / spec.scale
    theta = torch.tensor([[inv, -spec.slant * inv, 0.0], [0.0, inv, 0.0]], dtype=x.dtype)
    grid = torch.nn.functional.affine_grid(theta.expand(n, 2, 3), [n, 1, h, w], align_corners=False)
    if spec.elastic > 0:
        noise = torch.rand(2, h, w, generator=gen, dtype=x.dtype) * 2 - 1
        field = _gaussian_smooth(noise, 4.0)
        field = field / field.abs().max().clamp_min(1e-12) * spec.elastic
        # pixels -> normalised coordinates (2 / size per pixel); (dx, dy) order of grid_sample
        disp = torch.stack([field[0] * 2 / w, field[1] * 2 / h], dim=-1)
        grid = grid + disp.unsqueeze(0)
    out = torch.nn.functional.grid_sample(x, grid, mode="bilinear", align_corners=False)
    for _ in range(abs(spec.thickness)):
        if spec.thickness > 0:
            out = torch.nn.functional.max_pool2d(out, 3, stride=1, padding=1)
        else:
            out = -torch.nn.functional.max_pool2d(-out, 3, stride=1, padding=1)
    return out.clamp_(0.0, 1.0)


def make_user(spec: UserSpec, images: np.ndarray, labels: np.ndarray) -> UserData:
    """Draw the user's images from ``images``/``labels`` (uint8 MNIST test arrays) and style them.

    Raises :class:`DataError` when the chosen classes hold fewer than ``n_adapt + n_test``
    images.
    """
    keep = np.isin(labels, spec.classes)
    pool = np.nonzero(keep)[0]
    need = spec.n_adapt + spec.n_test
    if pool.size < need:
        raise DataError(
            f"user {spec.to_spec()!r}: classes {spec.classes} hold {pool.size} images, "
            f"need n_adapt + n_test = {need}"
        )
    rng = np.random.default_rng(spec.seed)
    chosen = rng.permutation(pool)[:need]
    x = torch.from_numpy(np.ascontiguousarray(images[chosen])).float().div_(255.0).unsqueeze(1)
    y = torch.from_numpy(labels[chosen].astype(np.int64))
    x = apply_style(x, spec)
    a = spec.n_adapt
    return UserData(spec, x[:a], y[:a], x[a:], y[a:])


def load_user(spec: UserSpec, data_dir: str | None = None) -> UserData:
    """The user's data from the MNIST test file in the data directory (never downloads)."""
    from neuroplastic.data import load_mnist

    arrays = load_mnist(data_dir)
    return make_user(spec, arrays.test_images, arrays.test_labels)
