"""Run a simulation off the UI thread: ``steps_per_frame`` steps per display refresh.

The page's thread only starts and stops the runner and reads finished frames
(:meth:`Simulation.snapshot`); the steps run in one worker thread per browser session, so the
page stays responsive while a simulation runs. Stop is checked between steps, so it is honoured
within one step. A pacing runner (the page's) waits after each frame until the page has drawn
it (at most :data:`PACE_TIMEOUT_S`): every frame is shown, and the page's thread is not starved
of the interpreter by a worker computing frames nobody sees.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from neuroplastic.simulator.core import RUN_GROUP, Simulation

__all__ = ["PACE_TIMEOUT_S", "Runner"]

PACE_TIMEOUT_S = 0.5
"""A pacing runner waits at most this long for the page to draw a frame before going on."""


class Runner:
    """Start, stop and continue the Run loop of one simulation."""

    def __init__(
        self,
        sim: Simulation,
        on_error: Callable[[BaseException], None] | None = None,
        *,
        pace: bool = False,
    ) -> None:
        self.sim = sim
        self.on_error = on_error
        self.pace = pace
        self._shown = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames = 0
        self.stop_requested_at: float | None = None
        self.stop_requested_wall: float | None = None
        self.stopped_at: float | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, restart: bool = False) -> bool:
        """Start the loop (``restart``: from ``init()``); False if it already runs."""
        if self.running:
            return False
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(restart,), name=f"sim-{self.sim.name}", daemon=True
        )
        self._thread.start()
        return True

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the loop to stop after the current step and wait; True once it has stopped."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def frame_shown(self) -> None:
        """Tell a pacing runner that the page has drawn the last frame."""
        self._shown.set()

    def request_stop(self) -> None:
        """Ask the loop to stop after the current step, without waiting."""
        self.stop_requested_at = time.perf_counter()
        self.stop_requested_wall = time.time()
        self._stop.set()

    def _loop(self, restart: bool) -> None:
        try:
            if restart or not self.sim.initialised:
                self.sim.do_init()
            while not self._stop.is_set():
                control = self.sim.group(RUN_GROUP)
                for _ in range(control.steps_per_frame):
                    if self._stop.is_set():
                        break
                    self.sim.do_step()
                self.sim.do_frame()
                self.frames += 1
                if self.pace:  # one display refresh per frame: wait until the page drew it
                    self._shown.clear()
                    deadline = time.monotonic() + PACE_TIMEOUT_S
                    while not self._stop.is_set() and time.monotonic() < deadline:
                        if self._shown.wait(0.01):
                            break
                if control.frame_delay > 0:
                    self._stop.wait(control.frame_delay)
                else:
                    time.sleep(0.001)  # let the UI thread take the GIL for a refresh
        except BaseException as exc:  # reported on the page, never lost in a thread
            if self.on_error is not None:
                self.on_error(exc)
            else:  # pragma: no cover
                raise
        finally:
            self.stopped_at = time.perf_counter()
