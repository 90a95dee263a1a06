"""The simulator in a real browser: headless Debian chromium driven by Playwright.

One server (in this process, on 127.0.0.1) and one browser serve every test of the module.
Screenshots of each built-in simulation go to ``$NEUROPLASTIC_SCREENSHOTS`` (default
``results/simulator-screenshots/`` in the repository).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("panel")
playwright_api = pytest.importorskip("playwright.sync_api")

from neuroplastic.simulator.app import LIVE_PAGES  # noqa: E402
from neuroplastic.simulator.browser import (  # noqa: E402
    CHROMIUM_ARGS,
    model_value,
    running_server,
    set_model_value,
    source_data,
    wait_for,
)
from neuroplastic.store import RunStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "lif_simulation.py"
SCREENSHOTS = Path(
    os.environ.get("NEUROPLASTIC_SCREENSHOTS", ROOT / "results" / "simulator-screenshots")
)
SYNTHETIC = "session.data=synthetic&session.train_samples=500&session.val_samples=100"

if shutil.which("chromium") is None:
    if os.environ.get("CI"):
        raise RuntimeError("chromium missing: scripts/install_chromium.sh should have installed it")
    pytest.skip("chromium not installed (scripts/install_chromium.sh)", allow_module_level=True)


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("simstore") / "store.sqlite")


@pytest.fixture(scope="module")
def address(store_url: str) -> Iterator[str]:
    with running_server(store_url, files=[str(EXAMPLE)]) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=shutil.which("chromium"), args=list(CHROMIUM_ARGS), headless=True
        )
        yield b
        b.close()


def _open(browser: Any, address: str, query: str) -> Any:
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(f"{address}/?{query}")
    page.wait_for_selector(".np-toolbar-step button", timeout=30_000)
    return page


def _server_page(name: str, before: set[int]) -> Any:
    """The server-side page of the tab opened after ``before`` was taken."""
    return wait_for(
        lambda: next(
            (p for p in list(LIVE_PAGES) if id(p) not in before and p.sim.name == name), None
        ),
        what=f"the server-side page of {name}",
    )


def _known() -> set[int]:
    return {id(p) for p in LIVE_PAGES}


def _click(page: Any, css: str) -> None:
    page.click(f".{css} button")


def _text(page: Any, css: str) -> str:
    """Text shown by a Panel element (its content lives in a shadow root)."""
    return str(
        page.locator(css).first.evaluate(
            "(e) => (e.shadowRoot ? e.shadowRoot.textContent : e.textContent) || ''"
        )
    )


def _state(page: Any) -> str:
    return _text(page, ".np-state")


def _message(page: Any) -> str:
    return _text(page, ".np-message") if page.is_visible(".np-message") else ""


def _image_sum(page: Any) -> float:
    data = source_data(page, "fields")
    assert data is not None
    image = data["image"][0]  # BokehJS holds the image as one flat typed array
    flat = [v for row in image for v in (row if isinstance(row, list) else [row])]
    return float(sum(v for v in flat if v is not None and v == v))  # NaN borders skipped


def test_slider_step_run_stop_and_a_bad_value_sent_directly(browser: Any, address: str) -> None:
    known = _known()
    page = _open(browser, address, f"sim=structural&{SYNTHETIC}")
    server = _server_page("structural", known)
    assert server.sim.value("session.data") == "synthetic"

    # Step: the receptive-field image and the plot change in the browser's data sources
    before = _image_sum(page)
    _click(page, "np-toolbar-step")
    wait_for(lambda: "step 1" in _state(page), what="step 1 on the page")
    wait_for(lambda: _image_sum(page) != before, what="the image to change")
    assert len(source_data(page, "learning")["accuracy"]) == 1  # type: ignore[index]

    # move a slider with the keyboard, as a person would
    handle = page.locator(".np-param-run-steps-per-frame .noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    handle.press("ArrowRight")
    wait_for(lambda: server.sim.value("run.steps_per_frame") == 3, what="steps_per_frame = 3")

    # Run: several frames of 3 steps each reach the page; Stop is honoured
    _click(page, "np-toolbar-run")
    wait_for(lambda: "running" in _state(page), what="running")
    wait_for(
        lambda: len(source_data(page, "learning")["accuracy"]) >= 4,  # type: ignore[index]
        timeout=30,
        what="four plot points",
    )
    # Stop is honoured (how fast is measured by benchmarks/simulator_speed.py, not timed here:
    # a wall-clock bound in a test fails on a loaded machine)
    _click(page, "np-toolbar-stop")
    wait_for(lambda: "stopped" in _state(page), timeout=30, what="stopped")
    steps = server.sim.steps
    assert steps >= 6  # Run restarted from Init; at least two frames of 3 steps
    time.sleep(0.3)
    assert server.sim.steps == steps

    # a bad value written straight into the widget model (no widget bounds) is refused
    set_model_value(page, "np-param-run-frame-delay", 99.0)
    wait_for(lambda: "frame_delay" in _message(page), what="the refusal message")
    assert "less than or equal to 5" in _message(page)
    assert server.sim.value("run.frame_delay") == 0.0
    wait_for(
        lambda: model_value(page, "np-param-run-frame-delay") == 0.0,
        what="the widget back at the last valid value",
    )
    page.click(".np-group-session .card-header")  # a collapsed group builds when opened
    page.wait_for_selector(".np-param-session-classes input")
    set_model_value(page, "np-param-session-classes", "1,banana")
    wait_for(lambda: "classes" in _message(page), what="malformed value refused")
    assert server.sim.value("session.classes") == "0,1,2,3,4,5,6,7,8,9"
    # a value carrying markup is echoed as text, never run
    set_model_value(page, "np-param-session-classes", "<img src=x onerror=window.__pwned=1>")
    wait_for(lambda: "onerror" in _message(page), what="markup shown as text")
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.locator(".np-message img").count() == 0
    wait_for(
        lambda: model_value(page, "np-param-session-classes") == "0,1,2,3,4,5,6,7,8,9",
        what="the text input back at the last valid value",
    )
    page.close()


def test_two_tabs_do_not_share_a_simulation(browser: Any, address: str) -> None:
    known = _known()
    one = _open(browser, address, "sim=memory")
    first = _server_page("memory", known)
    two = _open(browser, address, "sim=memory")
    second = _server_page("memory", known | {id(first)})
    assert first.sim is not second.sim
    _click(one, "np-toolbar-step")
    wait_for(lambda: "step 1" in _state(one), what="step in tab one")
    assert second.sim.steps == 0 and "step 0" in _state(two)
    one.close()
    two.close()


def test_save_reload_and_load_a_parameter_set(browser: Any, address: str) -> None:
    known = _known()
    page = _open(browser, address, "sim=memory")
    server = _server_page("memory", known)
    page.click(".np-sets .card-header")
    page.wait_for_selector(".np-set-name input")
    page.fill(".np-set-name input", "three per frame")
    page.press(".np-set-name input", "Enter")
    page.fill(".np-set-comment input", "it worked")
    page.press(".np-set-comment input", "Enter")
    set_model_value(page, "np-param-run-steps-per-frame", 3)
    wait_for(lambda: server.sim.value("run.steps_per_frame") == 3, what="value accepted")
    _click(page, "np-toolbar-save")
    wait_for(lambda: "saved parameter set" in _message(page), what="saved")
    known = _known()
    page.reload()
    page.wait_for_selector(".np-toolbar-step button", timeout=30_000)
    fresh = _server_page("memory", known)
    assert fresh.sim.value("run.steps_per_frame") == 1
    page.click(".np-sets .card-header")
    page.wait_for_selector(".np-set-load button")
    wait_for(
        lambda: fresh.set_select is not None and fresh.set_select.value == "three per frame",
        what="the saved set listed after reload",
    )
    _click(page, "np-set-load")
    wait_for(lambda: "loaded parameter set" in _message(page), what="loaded")
    assert fresh.sim.value("run.steps_per_frame") == 3
    wait_for(lambda: model_value(page, "np-param-run-steps-per-frame") == 3, what="slider at 3")
    assert "it worked" in _text(page, ".np-set-info")

    # export to a file, delete the set, import the file back; a corrupt file changes nothing
    with page.expect_download() as download:
        page.click(".np-set-export a, .np-set-export button")
    exported = Path(download.value.path()).read_bytes()
    assert b"three per frame" in exported
    _click(page, "np-set-delete")
    wait_for(lambda: "deleted parameter set" in _message(page), what="deleted")
    assert fresh.set_select.options == []
    page.set_input_files(
        ".np-set-import input",
        files=[{"name": "bad.json", "mimeType": "application/json", "buffer": b"{not json"}],
    )
    wait_for(lambda: "not a parameter file" in _message(page), what="corrupt file refused")
    assert fresh.set_select.options == []
    page.set_input_files(
        ".np-set-import input",
        files=[{"name": "sets.json", "mimeType": "application/json", "buffer": exported}],
    )
    wait_for(lambda: "imported 1 parameter set" in _message(page), what="imported")
    assert fresh.set_select.options == ["three per frame"]
    page.close()


def test_open_a_stored_run_with_its_exact_parameters(
    browser: Any, address: str, store_url: str
) -> None:
    with RunStore(store_url) as store:
        run_id = store.start_run(
            method="backprop",
            dataset="mnist",
            params={
                "method": {"lr": 0.05, "epochs": 3, "batch_size": 50},
                "experiment": {"hidden": [64], "classes": [1, 2, 6]},
            },
            seed=3,
            device="cpu",
        )
    known = _known()
    page = _open(browser, address, "sim=memory")
    server = _server_page("memory", known)
    page.click(".np-runs .card-header")
    page.wait_for_selector(".np-run-id input")
    page.fill(".np-run-id input", str(run_id))
    page.press(".np-run-id input", "Enter")
    time.sleep(0.3)
    _click(page, "np-run-open")
    wait_for(lambda: "opened run" in _message(page), what="run opened")
    assert server.sim.name == "method-backprop"
    assert server.sim.value("method.lr") == 0.05
    assert server.sim.value("method.batch_size") == 50
    assert server.sim.value("session.hidden") == 64
    assert server.sim.value("session.classes") == "1,2,6"
    assert server.sim.value("session.seed") == 3
    page.close()


@pytest.mark.parametrize(
    ("shot", "name", "query", "per_frame", "steps"),
    [
        ("structural", "structural", SYNTHETIC, 12, 12),
        pytest.param(
            "structural-mnist",
            "structural",
            "session.eval_every=20",
            20,
            200,
            marks=pytest.mark.mnist,
            id="structural-mnist",
        ),
        (
            "restricted-backprop",
            "restricted-backprop",
            SYNTHETIC + "&restrict.policy=top&restrict.p=0.1",
            12,
            12,
        ),
        ("memory", "memory", "", 12, 12),
        ("spiking", "spiking", SYNTHETIC, 3, 3),
        ("lif", "lif", "", 100, 100),
    ],
)
def test_screenshot_of_each_simulation(
    browser: Any, address: str, shot: str, name: str, query: str, per_frame: int, steps: int
) -> None:
    known = _known()
    page = _open(browser, address, f"sim={name}&run.steps_per_frame={per_frame}&{query}")
    server = _server_page(name, known)
    assert _message(page) == ""
    _click(page, "np-toolbar-run")
    wait_for(lambda: server.sim.steps >= steps, timeout=120, what=f"{steps} steps")
    _click(page, "np-toolbar-stop")
    wait_for(lambda: "stopped" in _state(page), what="stopped")
    wait_for(lambda: server._shown_version == server.sim.data_version, what="last frame shown")
    time.sleep(0.5)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{shot}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    page.close()
