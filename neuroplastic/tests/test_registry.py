"""The shared registry: lazy built-ins, duplicate names refused, unknown names listed; and the
training loop does not import the methods."""

from __future__ import annotations

import subprocess
import sys

import pytest

from neuroplastic.errors import ParameterError
from neuroplastic.registry import Registry


def test_registry_loads_builtins_on_first_lookup_and_checks_names() -> None:
    reg: Registry[int] = Registry("widget", "neuroplastic.no-such-group", ["json"])
    reg.add("one", 1)
    with pytest.raises(ParameterError, match="widget named 'one' is already registered"):
        reg.add("one", 2)
    assert reg.find("two") is None
    with pytest.raises(ParameterError, match="unknown widget 'two'; available: one"):
        reg.get("two")
    assert reg.names() == ["one"] and reg.entries() == [1]


def test_training_loop_imports_no_method() -> None:
    code = (
        "import sys, neuroplastic.train, neuroplastic.methods;"
        "print(','.join(m for m in sys.modules if m.startswith('neuroplastic.methods.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert set(out.split(",")) == {"neuroplastic.methods.base", "neuroplastic.methods.registry"}
