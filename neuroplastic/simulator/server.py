"""Serve the simulator: ``neuroplastic app`` (loopback by default, one page per session)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from typing import Any

from neuroplastic.errors import ParameterError

__all__ = ["is_loopback", "serve"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: str = "127.0.0.1",
    port: int = 5006,
    *,
    store_url: str | None = None,
    simulation: str | None = None,
    files: Sequence[str | os.PathLike[str]] = (),
    open_browser: bool = False,
    threaded: bool = False,
    websocket_origin: Sequence[str] | None = None,
    warn: Any = None,
) -> Any:
    """Start the Bokeh server; blocks unless ``threaded`` (then returns the server thread).

    ``host`` other than loopback makes the simulator reachable from the network: ``warn`` (a
    callable) is told so. ``files`` are Python files of user simulations to load first.
    """
    if not 0 <= port <= 65535:
        raise ParameterError(f"port must be in 0..65535 (got {port})")
    if not is_loopback(host) and warn is not None:
        warn(
            f"warning: the simulator listens on {host}, reachable from other machines; "
            "anyone who can reach it can run simulations and write parameter sets"
        )
    import panel as pn

    from neuroplastic.simulator.app import make_page
    from neuroplastic.simulator.registry import available_simulations, load_simulation_file

    for file in files:
        load_simulation_file(file)
    names = available_simulations()
    if simulation is not None and simulation not in names:
        raise ParameterError(f"unknown simulation {simulation!r}; available: {', '.join(names)}")
    origins = list(websocket_origin or [f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"])
    return pn.serve(
        {"/": lambda: make_page(store_url, simulation)},
        address=host,
        port=port,
        websocket_origin=origins,
        show=open_browser,
        threaded=threaded,
        title="neuroplastic simulator",
        start=True,
        verbose=False,
    )
