"""Panel widgets for :class:`~neuroplastic.simulator.widgets.WidgetSpec` declarations.

Each :class:`ParameterWidget` owns one Panel widget and talks to the simulation only through
``Simulation.set_value`` (validated on the server by the parameter model): a refused value is
reported through ``on_error`` and the widget goes back to the last valid value.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from typing import Any

import panel as pn
from bokeh.models import CustomJSTickFormatter

from neuroplastic.errors import NeuroplasticError
from neuroplastic.simulator.core import Simulation
from neuroplastic.simulator.widgets import WidgetSpec

__all__ = ["ParameterWidget", "css_name"]


MAX_ROW = 4
"""Radio buttons with more choices than this are stacked vertically."""

WIDTH = 260
"""Width of a slider (its tooltip icon sits beside it in the 320-pixel parameter card)."""


def css_name(key: str) -> str:
    """The CSS class of the widget of ``group.name`` (tests and scripts find widgets by it)."""
    return "np-param-" + key.replace(".", "-").replace("_", "-")


def _round(value: float) -> float:
    return float(f"{value:.6g}")


class ParameterWidget:
    """One parameter on the page, kept in step with the simulation."""

    def __init__(
        self,
        spec: WidgetSpec,
        sim: Simulation,
        on_error: Callable[[str], None],
        on_accept: Callable[[str, Any], None],
    ) -> None:
        self.spec = spec
        self.sim = sim
        self.on_error = on_error
        self.on_accept = on_accept
        self._updating = False
        self.dict_key: str | None = None
        self.widget = self._make()
        self.panel = self._wrap()

    # ------------------------------------------------------------------ construction

    def _make(self) -> Any:
        s, value = self.spec, self.sim.value(self.spec.key)
        css = [css_name(s.key)]
        w: Any
        cls: Any
        if s.kind == "checkbox":
            w = pn.widgets.Checkbox(label=s.label, value=bool(value), css_classes=css)
        elif s.kind == "button":
            w = pn.widgets.Button(label=s.label, description=s.tooltip or None, css_classes=css)
            w.on_click(lambda _e: self._submit(True))
            return w
        elif s.kind == "radio":
            w = pn.widgets.RadioButtonGroup(
                label=s.label,
                options=list(s.options),
                # many choices stack, so that all stay inside the parameter card
                orientation="vertical" if len(s.options) > MAX_ROW else "horizontal",
                value=value,
                description=s.tooltip or None,
                css_classes=css,
            )
        elif s.kind == "select":
            w = pn.widgets.Select(
                label=s.label,
                options=list(s.options),
                value=value,
                description=s.tooltip or None,
                css_classes=css,
            )
        elif s.kind == "slider" and s.log:
            assert s.start is not None and s.end is not None
            w = pn.widgets.FloatSlider(
                label=s.label + " (log)",
                start=math.log10(s.start),
                end=math.log10(s.end),
                step=s.step,
                value=self._to_log(value),
                width=WIDTH,
                format=CustomJSTickFormatter(code="return Number(10 ** tick).toPrecision(3)"),
                css_classes=css,
            )
        elif s.kind == "slider":
            cls = pn.widgets.IntSlider if s.integer else pn.widgets.FloatSlider
            kwargs: dict[str, Any] = {} if s.integer else {"step": s.step}
            w = cls(
                label=s.label,
                start=int(s.start) if s.integer else s.start,  # type: ignore[arg-type]
                end=int(s.end) if s.integer else s.end,  # type: ignore[arg-type]
                value=value,
                css_classes=css,
                width=WIDTH,
                **kwargs,
            )
        elif s.kind == "number":
            cls = pn.widgets.IntInput if s.integer else pn.widgets.FloatInput
            w = cls(label=s.label, value=value, description=s.tooltip or None, css_classes=css)
        elif s.kind == "dict":
            return self._make_dict(value, css)
        else:
            w = pn.widgets.TextInput(
                label=s.label,
                value=self._to_text(value),
                description=s.tooltip or None,
                css_classes=css,
            )
        w.param.watch(self._changed, "value")
        return w

    def _make_dict(self, value: dict[str, Any], css: list[str]) -> Any:
        s = self.spec
        keys = list(value)
        self.dict_key = keys[0] if keys else None
        self.key_select = pn.widgets.Select(
            label=s.label, options=keys, value=self.dict_key, css_classes=[*css, "np-dict-key"]
        )
        self.dict_slider = pn.widgets.FloatSlider(
            label="value",
            start=s.start or 0.0,
            end=s.end or 1.0,
            step=((s.end or 1.0) - (s.start or 0.0)) / 1000,
            value=float(value.get(self.dict_key, 0.0)) if self.dict_key else 0.0,
            css_classes=[*css, "np-dict-value"],
        )

        def choose(event: Any) -> None:
            self.dict_key = event.new
            self._refresh_dict()

        self.key_select.param.watch(choose, "value")
        self.dict_slider.param.watch(self._changed, "value")
        return pn.Column(self.key_select, self.dict_slider)

    def _wrap(self) -> Any:
        s = self.spec
        widget = self.widget
        if s.kind == "radio":  # a radio group shows no label of its own
            widget = pn.Column(
                pn.pane.HTML(f"<label>{html.escape(s.label)}</label>", margin=(0, 10)),
                widget,
            )
        if s.kind in ("slider", "checkbox", "dict", "radio") and s.tooltip:
            return pn.Row(widget, pn.widgets.TooltipIcon(value=s.tooltip, width=20))
        return widget

    # ------------------------------------------------------------------ conversion

    def _to_log(self, value: float) -> float:
        low = self.spec.start or 1e-12
        return math.log10(max(float(value), low))

    @staticmethod
    def _to_text(value: Any) -> str:
        if value is None:
            return "none"
        if isinstance(value, str):
            return value
        return json.dumps(value)

    def _from_widget(self, raw: Any) -> Any:
        s = self.spec
        if s.kind == "slider" and s.log:
            return _round(10 ** float(raw))
        if s.kind == "dict":
            current = dict(self.sim.value(s.key))
            if self.dict_key is not None:
                current[self.dict_key] = raw
            return current
        if s.kind == "text" and s.value_type is not str:
            text = str(raw).strip()
            if text.lower() in ("none", "null", ""):
                return None
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return text
        return raw

    def _to_widget(self, value: Any) -> Any:
        s = self.spec
        if s.kind == "slider" and s.log:
            return self._to_log(value)
        if s.kind == "text":
            return self._to_text(value)
        return value

    # ------------------------------------------------------------------ events

    def _changed(self, event: Any) -> None:
        if self._updating:
            return
        self._submit(self._from_widget(event.new))

    def _submit(self, value: Any) -> None:
        try:
            kept = self.sim.set_value(self.spec.key, value)
        except NeuroplasticError as exc:
            self.on_error(str(exc))
            self.refresh()
            return
        self.on_accept(self.spec.key, kept)

    def refresh(self) -> None:
        """Show the simulation's current value (after a refusal, a load or a reset)."""
        if self.spec.kind == "button":
            return
        value = self.sim.value(self.spec.key)
        self._updating = True
        try:
            if self.spec.kind == "dict":
                self.key_select.options = list(value)
                self._refresh_dict()
            else:
                shown = self._to_widget(value)
                if self.widget.value != shown:
                    self.widget.value = shown
        finally:
            self._updating = False

    def _refresh_dict(self) -> None:
        value = self.sim.value(self.spec.key)
        was = self._updating
        self._updating = True
        try:
            if self.dict_key in value:
                self.dict_slider.value = float(value[self.dict_key])
        finally:
            self._updating = was
