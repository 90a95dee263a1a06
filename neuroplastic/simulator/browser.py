"""Drive the simulator in a real browser: Debian's chromium through Playwright (tests, benchmark).

No browser is downloaded: Playwright launches the ``chromium`` found on the path
(``scripts/install_chromium.sh`` installs Debian's package) with the arguments known to work on
our machines (sandbox off as root; no background networking, which the machines refuse).
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from neuroplastic.errors import NeuroplasticError

__all__ = [
    "CHROMIUM_ARGS",
    "chromium_path",
    "find_page",
    "free_port",
    "model_value",
    "running_server",
    "set_model_value",
    "source_data",
    "wait_for",
]

CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_path() -> str:
    """The chromium executable; NeuroplasticError says how to install it when missing."""
    path = shutil.which("chromium")
    if path is None:
        raise NeuroplasticError(
            "chromium not found: run scripts/install_chromium.sh (Debian's chromium package)"
        )
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(
    store_url: str, files: Sequence[str] = (), port: int | None = None
) -> Iterator[str]:
    """Serve the simulator on 127.0.0.1 in this process; yields its address."""
    from neuroplastic.simulator.server import serve

    port = port or free_port()
    server = serve("127.0.0.1", port, store_url=store_url, files=files, threaded=True)
    address = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield address
    finally:
        server.stop()


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it is truthy; AssertionError naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def find_page(sim_name: str, exclude: Sequence[Any] = ()) -> Any:
    """The newest live server-side page showing ``sim_name`` (not in ``exclude``)."""
    from neuroplastic.simulator.app import LIVE_PAGES

    pages = [p for p in list(LIVE_PAGES) if p.sim.name == sim_name and p not in exclude]
    # newest first: a closed tab's session may linger until the server notices
    return pages[-1] if pages else None


_FIND_MODEL = """
(cls) => {
  for (const doc of Bokeh.documents) {
    const models = doc.all_models ? [...doc.all_models] : [...doc._all_models.values()];
    for (const m of models) {
      const css = m.css_classes || [];
      if (css.includes(cls) || m.name === cls) return m;
    }
  }
  return null;
}
"""


def source_data(page: Any, name: str) -> dict[str, Any] | None:
    """The data of the Bokeh data source of display ``name``, as the browser holds it."""
    script = f"""(name) => {{
        const find = {_FIND_MODEL};
        const m = find('np-source-' + name);
        if (!m) return null;
        const out = {{}};
        for (const [k, v] of (m.data instanceof Map ? m.data : Object.entries(m.data))) {{
            out[k] = Array.from(v, (x) => (x && x.length !== undefined ? Array.from(x,
                (y) => (y && y.length !== undefined ? Array.from(y) : y)) : x));
        }}
        return out;
    }}"""
    data: dict[str, Any] | None = page.evaluate(script, name)
    return data


def model_value(page: Any, css_class: str) -> Any:
    """The ``value`` of the Bokeh widget model carrying ``css_class`` in the browser."""
    script = f"(cls) => {{ const m = ({_FIND_MODEL})(cls); return m ? m.value : null; }}"
    return page.evaluate(script, css_class)


def set_model_value(page: Any, css_class: str, value: Any) -> None:
    """Write ``value`` into the widget model directly, bypassing the widget (as a script could)."""
    script = f"""([cls, value]) => {{
        const m = ({_FIND_MODEL})(cls);
        if (!m) throw new Error('no model ' + cls);
        m.value = value;
    }}"""
    page.evaluate(script, [css_class, value])
