"""scripts/setup.sh says what it installs (it used to stay silent for minutes)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Stands in for .venv/bin/python: answers `-m pip install ...` with pip's usual stdout lines.
FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/calls.log"
last="${@: -1}"
echo "Collecting ${last}"
echo "  Downloading ${last}-1.0.tar.gz (1 kB)"
echo "Requirement already satisfied: something-else"
echo "Installing collected packages: ${last}"
echo "Successfully installed ${last}-1.0"
"""


def test_setup_prints_each_step_and_what_pip_installs(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "requirements").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copy(ROOT / "requirements" / "constraints.txt", tmp_path / "requirements")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)

    def setup() -> str:
        out = subprocess.run(
            ["bash", str(tmp_path / "scripts" / "setup.sh")],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "NEUROPLASTIC_TORCH": "torch==2.13.0"},
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    first = setup()
    assert "[2/3] installing torch==2.13.0" in first
    assert "  Collecting torch==2.13.0" in first
    assert "  Successfully installed torch==2.13.0-1.0" in first
    assert "[3/3] installing neuroplastic" in first
    assert "Requirement already satisfied" not in first and "Downloading" not in first
    assert first.rstrip().endswith(".venv ready")
    calls = (python.parent / "calls.log").read_text().splitlines()
    # torch, neuroplastic, then two packages without their declared dependencies: torchattacks
    # (its torchvision would replace torch) and zeus (its amdsmi makes `import ray` fail)
    assert len(calls) == 4
    assert calls[2].endswith("--no-deps torchattacks")
    assert calls[3].endswith("--no-deps zeus")
    assert setup() == ""  # idempotent: nothing to do, nothing said


def test_the_meter_extra_keeps_amdsmi_out() -> None:
    """amdsmi's PyPI wheel makes `import ray` raise KeyError 'libamd_smi.so' without ROCm."""
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert "meter" in extras and "sweep" in extras
    listed = " ".join(" ".join(v) for v in extras.values()).lower()
    assert "amdsmi" not in listed and "zeus" not in listed
    constraints = (ROOT / "requirements" / "constraints.txt").read_text().lower()
    assert "amdsmi" not in constraints and "\nzeus==" in constraints
