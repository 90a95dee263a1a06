"""Shared fixtures: a tiny simulation exercising every widget kind."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from pydantic import BaseModel, Field, model_validator

from neuroplastic.simulator.core import ImageDisplay, PlotDisplay, Simulation, TextDisplay


class ToyParams(BaseModel):
    rate: float = Field(
        0.5, ge=0, le=1, description="decay per step", json_schema_extra={"unit": "1/step"}
    )
    lr: float = Field(
        0.01, gt=0, le=1, description="a log-scaled rate", json_schema_extra={"scale": "log"}
    )
    size: int = Field(4, ge=1, le=32, description="image side")
    free: int = Field(3, ge=1, description="only a lower bound")
    on: bool = Field(True, description="a switch")
    mode: Literal["a", "b"] = Field("a", description="two choices")
    colour: Literal["r", "g", "b", "c", "m"] = Field("r", description="five choices")
    weights: dict[str, float] = Field(
        default_factory=lambda: {"x": 0.1, "y": 0.2}, description="a dict"
    )
    label: str = Field("hello", description="free text")
    fire: bool = Field(False, description="a button", json_schema_extra={"widget": "button"})
    low: float = Field(0.0, ge=0, le=10)
    high: float = Field(5.0, ge=0, le=10)

    @model_validator(mode="after")
    def _ordered(self) -> ToyParams:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class Toy(Simulation):
    name = "toy"
    Params = ToyParams
    displays = (ImageDisplay("img"), PlotDisplay("curve", x="t", y=("m",)), TextDisplay("txt"))

    def init(self) -> None:
        self.x = np.ones((self.p.size, self.p.size))
        self.seen_modified: list[bool] = []
        self.seen_fire: list[bool] = []

    def step(self) -> None:
        self.seen_modified.append(self.is_modified("rate"))
        self.seen_fire.append(self.p.fire)
        self.x = self.x * (1 - self.p.rate)
        self.show("img", self.x)
        self.append("curve", t=self.steps, m=float(self.x.mean()))
        self.show("txt", f"mean {self.x.mean():.3f}")


class AsyncToy(Toy):
    name = "toy-async"
    update_mode = "async"


@pytest.fixture
def toy() -> Toy:
    return Toy()
