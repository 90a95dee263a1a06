"""The Run loop runs off the calling thread and honours Stop between steps."""

from __future__ import annotations

import time

from neuroplastic.simulator.runner import Runner
from neuroplastic.simulator.tests.conftest import Toy


class SlowToy(Toy):
    name = "slow-toy"

    def step(self) -> None:
        time.sleep(0.01)
        super().step()


def test_run_stop_continue() -> None:
    sim = SlowToy()
    sim.set_value("run.steps_per_frame", 3)
    runner = Runner(sim)
    assert runner.start(restart=True)
    assert not runner.start()  # already running
    deadline = time.monotonic() + 10
    while sim.steps < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    assert runner.stop()
    assert time.monotonic() - t0 < 0.5
    assert runner.frames >= 2
    stopped_at = sim.steps
    time.sleep(0.05)
    assert sim.steps == stopped_at
    runner.start(restart=False)  # Continue keeps the state
    while sim.steps < stopped_at + 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.stop()
    assert sim.steps >= stopped_at + 2
    assert len(sim.snapshot()[1]["curve"]["t"]) == sim.steps


def test_errors_in_the_loop_are_reported() -> None:
    class Broken(Toy):
        name = "broken"

        def step(self) -> None:
            raise RuntimeError("boom")

    seen: list[BaseException] = []
    runner = Runner(Broken(), on_error=seen.append)
    runner.start()
    runner.stop()
    assert len(seen) == 1 and "boom" in str(seen[0])


def test_a_pacing_runner_waits_for_the_page_to_draw_each_frame() -> None:
    sim = Toy()
    runner = Runner(sim, pace=True)
    runner.start(restart=True)
    time.sleep(0.3)
    assert runner.frames <= 1  # nobody drew frame 1: the loop waits (at most PACE_TIMEOUT_S)
    for _ in range(5):
        runner.frame_shown()
        time.sleep(0.05)
    t0 = time.monotonic()
    assert runner.stop()
    assert time.monotonic() - t0 < 0.5  # Stop is honoured while waiting too
    assert 2 <= runner.frames <= 7
