"""A user-defined simulation in a few lines: one leaky integrate-and-fire neuron.

    neuroplastic app --file examples/lif_simulation.py --sim lif

τ dv/dt = −(v − v_rest) + R I (+ noise); a spike when v ≥ θ, then v is reset.
"""

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from neuroplastic.simulator import PlotDisplay, Simulation, TextDisplay


class LifParams(BaseModel):
    current: float = Field(
        1.5, ge=0, le=5, description="input R·I", json_schema_extra={"unit": "θ"}
    )
    tau: float = Field(
        20.0,
        gt=0,
        le=1000,
        description="membrane time constant",
        json_schema_extra={"unit": "ms", "scale": "log", "soft_min": 1},
    )
    noise: bool = Field(False, description="add white noise to the input")
    reset: Literal["zero", "half"] = Field("zero", description="potential after a spike")
    kick: bool = Field(
        False, description="one extra input pulse", json_schema_extra={"widget": "button"}
    )


class Lif(Simulation):
    name = "lif"
    title = "Leaky integrate-and-fire neuron (user example)"
    summary = "membrane potential of one neuron under constant input"
    Params = LifParams
    displays = (
        PlotDisplay("v", x="t", y=("v",), title="membrane potential"),
        TextDisplay("spikes"),
    )

    def init(self) -> None:
        self.v, self.t, self.n_spikes, self.rng = 0.0, 0.0, 0, np.random.default_rng(0)

    def step(self) -> None:
        p, dt = self.p, 1.0  # one step = 1 ms
        drive = p.current + (self.rng.normal(0, 0.5) if p.noise else 0.0) + (5.0 if p.kick else 0.0)
        self.v += dt / p.tau * (drive - self.v)
        if self.v >= 1.0:
            self.v, self.n_spikes = (0.0 if p.reset == "zero" else 0.5), self.n_spikes + 1
        self.t += dt
        self.append("v", t=self.t, v=self.v)
        self.show("spikes", f"{self.n_spikes} spikes in {self.t:.0f} ms")
