"""The interactive visual simulator (after IVISIT): simulations, widgets, parameter sets, app.

Importing this package imports neither Panel nor torch: :mod:`neuroplastic.simulator.app` (the
page) and the built-in simulations load them when the app starts.

A simulation in a few lines::

    from pydantic import BaseModel, Field
    from neuroplastic.simulator import ImageDisplay, Simulation, register_simulation

    class Params(BaseModel):
        rate: float = Field(0.1, gt=0, le=1, description="decay per step")

    @register_simulation
    class Decay(Simulation):
        name = "decay"
        Params = Params
        displays = (ImageDisplay("state"),)

        def init(self): ...
        def step(self): ...
"""

from neuroplastic.simulator.core import (
    Display,
    ImageDisplay,
    PlotDisplay,
    RunControl,
    Simulation,
    TextDisplay,
)
from neuroplastic.simulator.registry import (
    available_simulations,
    get_simulation,
    load_simulation_file,
    register_simulation,
)
from neuroplastic.simulator.widgets import WidgetSpec, widget_specs

__all__ = [
    "Display",
    "ImageDisplay",
    "PlotDisplay",
    "RunControl",
    "Simulation",
    "TextDisplay",
    "WidgetSpec",
    "available_simulations",
    "get_simulation",
    "load_simulation_file",
    "register_simulation",
    "widget_specs",
]
