"""Simulator speed in a real browser (benchmark, not a test): render, Step, refresh, Stop.

    python benchmarks/simulator_speed.py --json results/simulator_speed.json

Serves the simulator on 127.0.0.1 in this process, drives Debian's chromium through Playwright
and measures, on the structural simulation at quick size (MNIST, 2,000 training samples,
100 hidden units, so a 100-unit receptive-field grid and the live plot):

- first render: from ``goto`` to the toolbar and both displays drawn (a cold first page, then
  warm pages);
- Step reflected: from the Step click to the new receptive fields arriving in the browser's
  Bokeh data source;
- refreshes per second while Run is active (changes of the image's data source counted in the
  browser for a fixed time) with ``steps_per_frame`` 1;
- Stop honoured: from the Stop click to the run state shown stopped on the page (and to the
  worker thread having stopped, on the server).

Baselines measured in the same process: one ``do_step()`` of the same simulation without any
page (the compute the page must reflect), so the UI's share is visible as a ratio.
Targets (issue 18): render < 3 s, Step < 1 s, >= 5 refreshes/s, Stop < 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from neuroplastic.simulator.app import LIVE_PAGES
from neuroplastic.simulator.browser import CHROMIUM_ARGS, running_server, wait_for
from neuroplastic.simulator.registry import get_simulation

COUNT_CHANGES = """() => {
  const doc = Bokeh.documents[0];
  const models = doc.all_models ? [...doc.all_models] : [...doc._all_models.values()];
  const src = models.find((m) => m.name === 'np-source-fields');
  window.__changes = 0;
  window.__stamp = [];
  src.properties.data.change.connect(() => { window.__changes += 1; });
  return true;
}"""


def _state(page: Any) -> str:
    return str(
        page.locator(".np-state").first.evaluate(
            "(e) => (e.shadowRoot ? e.shadowRoot.textContent : e.textContent) || ''"
        )
    )


def _server_page(before: set[int]) -> Any:
    return wait_for(
        lambda: next((p for p in list(LIVE_PAGES) if id(p) not in before), None),
        what="server page",
    )


def _stop_once(page: Any, server: Any) -> dict[str, float]:
    """Click Stop once while running; the latencies of the worker stopping and of the page
    showing it (and, by the browser's and server's shared clock, press to server)."""
    page.evaluate(
        "() => { window.__clickAt = null; document.addEventListener('pointerdown',"
        " () => { window.__clickAt = Date.now(); }, {capture: true, once: true}); }"
    )
    out: dict[str, float] = {}
    t = time.perf_counter()
    page.click(".np-toolbar-stop button")
    wait_for(lambda: not server.runner.running, timeout=10, what="worker stopped")
    out["stop_worker_s"] = time.perf_counter() - t
    runner = server.runner
    click_at = page.evaluate("() => window.__clickAt")
    if runner.stop_requested_wall is not None and runner.stopped_at is not None:
        to_worker = runner.stopped_at - (runner.stop_requested_at or runner.stopped_at)
        if click_at is not None:  # same machine, same clock
            out["stop_press_to_worker_stopped_s"] = (
                runner.stop_requested_wall - click_at / 1000 + to_worker
            )
    wait_for(lambda: "stopped" in _state(page), timeout=10, what="stopped shown")
    out["stop_shown_s"] = time.perf_counter() - t
    return out


def measure(runs: int, run_seconds: float, data: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    torch.set_num_threads(1)
    query = f"sim=structural&session.data={data}"
    out: dict[str, Any] = {"simulation": "structural", "data": data, "hidden": 100}

    # baseline: the same simulation's step without any page
    sim = get_simulation("structural")()
    sim.set_value("session.data", data)
    t = time.perf_counter()
    sim.do_init()
    out["init_without_page_s"] = time.perf_counter() - t
    steps = []
    for _ in range(20):
        t = time.perf_counter()
        sim.do_step()
        steps.append(time.perf_counter() - t)
    out["step_without_page_s_median"] = statistics.median(steps)

    tmp = tempfile.mkdtemp(prefix="simulator-speed-")
    with running_server(str(Path(tmp) / "s.sqlite")) as url, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"), args=list(CHROMIUM_ARGS)
        )
        renders = []
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            t = time.perf_counter()
            page.goto(f"{url}/?{query}")
            page.wait_for_selector(".np-toolbar-step button")
            page.wait_for_selector(".np-display-fields canvas", state="attached")
            page.wait_for_selector(".np-display-learning canvas", state="attached")
            renders.append(time.perf_counter() - t)
            page.close()
        out["first_render_s"] = renders

        known = {id(x) for x in LIVE_PAGES}
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(f"{url}/?{query}")
        page.wait_for_selector(".np-display-fields canvas", state="attached")
        server = _server_page(known)
        page.click(".np-toolbar-init button")
        wait_for(lambda: server.sim.initialised and not server._busy(), what="init")
        page.evaluate(COUNT_CHANGES)
        reflected = []
        for _ in range(runs + 2):
            before = page.evaluate("() => window.__changes")
            t = time.perf_counter()
            page.click(".np-toolbar-step button")
            page.wait_for_function(f"() => window.__changes > {before}", polling="raf")
            reflected.append(time.perf_counter() - t)
        out["step_reflected_s"] = reflected

        page.evaluate("() => { window.__changes = 0; }")
        t = time.perf_counter()
        page.click(".np-toolbar-continue button")
        wait_for(lambda: server.runner.running, what="running")
        time.sleep(run_seconds)
        changes = page.evaluate("() => window.__changes")
        elapsed = time.perf_counter() - t
        steps_before_stop = server.sim.steps
        out["refreshes_per_s"] = changes / elapsed
        out["run_seconds"] = elapsed
        out["steps_per_s_with_page"] = steps_before_stop / elapsed
        stops: dict[str, list[float]] = {}
        for attempt in range(runs):
            if attempt:  # run again for a while, then Stop again
                page.click(".np-toolbar-continue button")
                wait_for(lambda: server.runner.running, what="running")
                time.sleep(1.0)
            for key, value in _stop_once(page, server).items():
                stops.setdefault(key, []).append(value)
        out.update(stops)
        out["server_refresh_s_mean"] = server.refresh_seconds / max(server.refreshes, 1)
        browser.close()
    shutil.rmtree(tmp, ignore_errors=True)
    out["targets"] = {
        "first_render_s": 3.0,
        "step_reflected_s": 1.0,
        "refreshes_per_s": 5.0,
        "stop_s": 0.5,
    }
    warm = out["first_render_s"][1:] or out["first_render_s"]
    out["met"] = {
        "first_render_cold": out["first_render_s"][0] < 3.0,
        "first_render_warm_median": statistics.median(warm) < 3.0,
        "step_reflected_median": statistics.median(out["step_reflected_s"]) < 1.0,
        "refreshes_per_s": out["refreshes_per_s"] >= 5.0,
        "stop_shown_median": statistics.median(out["stop_shown_s"]) < 0.5,
        "stop_worker_median": statistics.median(out["stop_worker_s"]) < 0.5,
    }
    out["step_reflected_over_compute"] = statistics.median(out["step_reflected_s"]) / max(
        out["step_without_page_s_median"], 1e-9
    )
    out["load_average"] = os.getloadavg()
    out["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=Path("results/simulator_speed.json"))
    parser.add_argument("--runs", type=int, default=3, help="pages rendered / steps timed")
    parser.add_argument("--run-seconds", type=float, default=5.0, help="Run measured this long")
    parser.add_argument("--data", default="mnist", choices=["mnist", "synthetic"])
    args = parser.parse_args()
    result = measure(args.runs, args.run_seconds, args.data)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
