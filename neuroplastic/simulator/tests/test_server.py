"""`neuroplastic app` listens on loopback unless told otherwise, and warns when it is."""

from __future__ import annotations

import pytest

from neuroplastic.errors import ParameterError
from neuroplastic.simulator.server import is_loopback, serve


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_other_hosts_are_warned_about_and_bad_options_refused_before_listening() -> None:
    pytest.importorskip("panel")
    warnings: list[str] = []
    with pytest.raises(ParameterError, match="unknown simulation 'nope'"):
        serve("0.0.0.0", 5006, simulation="nope", warn=warnings.append)
    assert len(warnings) == 1 and "reachable from other machines" in warnings[0]
    warnings.clear()
    with pytest.raises(ParameterError, match="unknown simulation"):
        serve("127.0.0.1", 5006, simulation="nope", warn=warnings.append)
    assert warnings == []
    with pytest.raises(ParameterError, match="port"):
        serve("127.0.0.1", 70_000)
