"""The attack library: a one-line error when it is missing; the eval extra and the setup agree."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from neuroplastic.errors import ParameterError
from neuroplastic.metrics.adversarial import TORCHATTACKS_INSTALL, torchattacks_module

ROOT = Path(__file__).resolve().parents[3]


def test_a_missing_attack_library_is_one_line_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "torchattacks", None)  # import fails as if not installed
    with pytest.raises(ParameterError) as info:
        torchattacks_module()
    message = str(info.value)
    assert "\n" not in message and "torchattacks is not installed" in message
    assert TORCHATTACKS_INSTALL in message


def test_eval_extra_setup_and_constraints_agree() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "eval" in pyproject["project"]["optional-dependencies"]
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    extras = re.search(r'-e "\.\[([a-z,]+)\]"', setup)
    assert extras is not None and "eval" in extras.group(1).split(",")
    assert "--no-deps torchattacks" in setup
    pinned = re.search(
        r"^torchattacks==(\S+)$", (ROOT / "requirements" / "constraints.txt").read_text(), re.M
    )
    assert pinned is not None and TORCHATTACKS_INSTALL.endswith(f"torchattacks=={pinned[1]}")
