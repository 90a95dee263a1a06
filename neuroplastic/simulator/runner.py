"""Run a simulation off the UI thread: ``steps_per_frame`` steps per display refresh.

The page's thread only starts and stops the runner and reads finished frames
(:meth:`Simulation.snapshot`); the steps run in one worker thread per browser session, so the
page stays responsive while a simulation runs. Stop is checked between steps, so it is honoured
within one step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from neuroplastic.simulator.core import RUN_GROUP, Simulation

__all__ = ["Runner"]


class Runner:
    """Start, stop and continue the Run loop of one simulation."""

    def __init__(
        self, sim: Simulation, on_error: Callable[[BaseException], None] | None = None
    ) -> None:
        self.sim = sim
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames = 0

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

    def request_stop(self) -> None:
        """Ask the loop to stop after the current step, without waiting."""
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
                self.frames += 1
                if control.frame_delay > 0:
                    self._stop.wait(control.frame_delay)
                else:
                    time.sleep(0.001)  # let the UI thread take the GIL for a refresh
        except BaseException as exc:  # reported on the page, never lost in a thread
            if self.on_error is not None:
                self.on_error(exc)
            else:  # pragma: no cover
                raise
