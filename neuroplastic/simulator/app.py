"""The simulator page (Panel on a Bokeh server): one :class:`SimulatorPage` per browser session.

Each session builds its own page and its own simulation, so two tabs never share a run. The
page's thread only reads finished frames: Init, Step and Run execute in the session's worker
thread (:class:`~neuroplastic.simulator.runner.Runner`), and a periodic callback (every
``REFRESH_MS``) copies the newest data into the Bokeh data sources.

Elements carry CSS classes the browser tests use: ``np-toolbar-<action>`` for the toolbar,
``np-param-<group>-<name>`` for each parameter, ``np-display-<name>`` for each display,
``np-message`` for the refusal/notice line, ``np-state`` for the run state.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, LinearAxis, LinearColorMapper, Range1d
from bokeh.plotting import figure

from neuroplastic.errors import NeuroplasticError
from neuroplastic.simulator.core import (
    RUN_GROUP,
    ImageDisplay,
    PlotDisplay,
    Simulation,
    TextDisplay,
)
from neuroplastic.simulator.paramsets import ParameterSets
from neuroplastic.simulator.registry import (
    available_simulations,
    get_simulation,
    simulation_for_run,
)
from neuroplastic.simulator.runner import Runner
from neuroplastic.simulator.widgets import widget_specs
from neuroplastic.simulator.widgets_panel import ParameterWidget
from neuroplastic.store import RunStore

__all__ = ["REFRESH_MS", "SimulatorPage", "check_parameter_set"]

REFRESH_MS = 100
"""Period of the display refresh while the page is open (at most 10 refreshes per second)."""

LIVE_PAGES: list[SimulatorPage] = []
"""The pages of the sessions open in this process, oldest first (tests and benchmarks look
them up); a page leaves when its session ends."""

OPEN_GROUPS = ("params", "restrict", RUN_GROUP)
"""Parameter groups shown open when a simulation is chosen (the others open on a click)."""

PALETTE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def check_parameter_set(simulation: str, params: Mapping[str, Any]) -> None:
    """Validate a parameter set's values against the simulation's models (if it is known)."""
    from neuroplastic.simulator.registry import SIMULATIONS

    cls = SIMULATIONS.find(simulation)
    if cls is None:
        return
    cls().check_values(params)  # a fresh instance: models only, nothing initialised


class _Display:
    """One display's Bokeh figure (or text pane) and the update from a data snapshot."""

    def __init__(self, spec: ImageDisplay | PlotDisplay | TextDisplay) -> None:
        self.spec = spec
        css = [f"np-display-{spec.name}"]
        if isinstance(spec, ImageDisplay):
            self.source = ColumnDataSource(
                {"image": [np.zeros((1, 1))], "x": [0], "y": [0], "dw": [1], "dh": [1]},
                name=f"np-source-{spec.name}",
            )
            self.mapper = LinearColorMapper(palette=spec.palette, nan_color="white")
            fig = figure(
                title=spec.title,
                height=spec.height,
                width=max(spec.height, 460),
                match_aspect=True,
                tools="pan,wheel_zoom,reset,save",
                toolbar_location="above",
            )
            fig.image(  # type: ignore[call-arg]
                image="image",
                x="x",
                y="y",
                dw="dw",
                dh="dh",
                source=self.source,
                color_mapper=self.mapper,
            )
            fig.axis.visible = False
            fig.grid.visible = False
            self.pane: Any = pn.Column(pn.pane.Bokeh(fig), css_classes=css)
        elif isinstance(spec, PlotDisplay):
            columns = [spec.x, *spec.y, *spec.y_right]
            self.source = ColumnDataSource({c: [] for c in columns}, name=f"np-source-{spec.name}")
            fig = figure(
                title=spec.title,
                height=spec.height,
                width=520,
                x_axis_label=spec.x_label or spec.x,
                y_axis_label=spec.y_label,
                tools="pan,wheel_zoom,reset,save",
                toolbar_location="above",
            )
            colours = iter(PALETTE_COLOURS * 4)
            left: list[Any] = []
            for column in spec.y:
                colour = next(colours)
                if spec.lines:
                    left.append(
                        fig.line(
                            spec.x, column, source=self.source, color=colour, legend_label=column
                        )
                    )
                if spec.markers or not spec.lines:
                    left.append(
                        fig.scatter(
                            spec.x,
                            column,
                            source=self.source,
                            color=colour,
                            size=5,
                            legend_label=column,
                        )
                    )
            fig.y_range.renderers = left  # type: ignore[attr-defined]  # the left axis scales to its own columns only
            if spec.y_right:
                self.right = Range1d(start=0, end=1)
                fig.extra_y_ranges = {"right": self.right}
                fig.add_layout(
                    LinearAxis(y_range_name="right", axis_label=spec.y_right_label), "right"
                )
                for column in spec.y_right:
                    colour = next(colours)
                    fig.line(
                        spec.x,
                        column,
                        source=self.source,
                        color=colour,
                        legend_label=column,
                        y_range_name="right",
                        line_dash="dashed",
                    )
            fig.legend.location = "bottom_right"
            self.pane = pn.Column(pn.pane.Bokeh(fig), css_classes=css)
        else:
            self.pane = pn.pane.Str("", css_classes=css, styles={"font-size": "13px"})

    def update(self, data: Mapping[str, Any]) -> None:
        value = data.get(self.spec.name)
        spec = self.spec
        if isinstance(spec, ImageDisplay):
            if value is None:
                return
            image = np.asarray(value, dtype=np.float32)
            finite = image[np.isfinite(image)]
            low = spec.vmin if spec.vmin is not None else (finite.min() if finite.size else 0)
            high = spec.vmax if spec.vmax is not None else (finite.max() if finite.size else 1)
            self.mapper.update(low=float(low), high=float(high) if high > low else float(low) + 1)
            h, w = image.shape
            self.source.data = {"image": [image], "x": [0], "y": [0], "dw": [w], "dh": [h]}
        elif isinstance(spec, PlotDisplay):
            table = value or {}
            columns = [spec.x, *spec.y, *spec.y_right]
            self.source.data = {c: list(table.get(c, [])) for c in columns}
            right = [v for c in spec.y_right for v in table.get(c, [])]
            if right:
                low, high = min(right), max(right)
                pad = 0.05 * (high - low) or max(abs(high), 1.0) * 0.05
                self.right.update(start=low - pad, end=high + pad)
        else:
            self.pane.object = "" if value is None else str(value)


class SimulatorPage:
    """The page of one browser session: chooser, toolbar, parameters, displays, sets, runs."""

    def __init__(self, store_url: str | None = None, simulation: str | None = None) -> None:
        self.store_url = store_url
        self.names = available_simulations()
        args = pn.state.session_args if pn.state.curdoc is not None else {}
        wanted = simulation
        if args and args.get("sim"):
            wanted = args["sim"][0].decode("utf-8", "replace")
        if wanted not in self.names:
            wanted = self.names[0]
        self.message = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["np-message"]
        )
        self.state = pn.pane.Str("stopped", css_classes=["np-state"])
        self.chooser = pn.widgets.Select(
            label="simulation", options=self.names, value=wanted, css_classes=["np-chooser"]
        )
        self.chooser.param.watch(lambda e: self.switch(e.new), "value")
        self.toolbar = self._toolbar()
        self.params_column = pn.Column(width=330)
        self.displays_column = pn.Column()
        self.summary = pn.pane.Markdown("")
        self._runner_error: BaseException | None = None
        self._shown_version = -1
        self.refreshes = 0
        self.refresh_seconds = 0.0
        self._launch: subprocess.Popen[bytes] | None = None
        self.run_quick = pn.widgets.Checkbox(
            label="launch with --quick (small subset, at most 3 epochs)",
            css_classes=["np-run-quick"],
        )
        self._sets_built = False
        self._sets_box = self._lazy_box("parameter sets", self._parameter_set_box, "np-sets")
        self._runs_box = self._lazy_box("runs", self._runs_box_make, "np-runs")
        self.sim: Simulation
        self.runner: Runner
        self.switch(wanted)
        self._apply_query_args(args or {})
        LIVE_PAGES.append(self)
        if pn.state.curdoc is not None:
            self._callback = pn.state.add_periodic_callback(self.refresh, period=REFRESH_MS)
            pn.state.on_session_destroyed(lambda _ctx: self.close())
        self.layout = pn.Column(
            pn.Row(pn.pane.Markdown("## neuroplastic simulator"), self.chooser, self.state),
            self.summary,
            self.toolbar,
            self.message,
            pn.Row(
                pn.Column(self.params_column, self._sets_box, self._runs_box),
                self.displays_column,
            ),
        )

    # ------------------------------------------------------------------ building

    def _toolbar(self) -> Any:
        actions = {
            "init": ("Init", self.on_init),
            "step": ("Step", self.on_step),
            "run": ("Run", self.on_run),
            "stop": ("Stop", self.on_stop),
            "continue": ("Continue", self.on_continue),
            "save": ("Save", self.on_save),
        }
        buttons = []
        for key, (label, handler) in actions.items():
            b = pn.widgets.Button(
                label=label,
                color="primary" if key in ("run", "step") else "default",
                css_classes=[f"np-toolbar-{key}"],
                width=90,
            )
            b.on_click(_call(handler))
            buttons.append(b)
        return pn.Row(*buttons)

    def switch(self, name: str) -> None:
        """Show simulation ``name`` (a fresh instance; a running one is stopped first)."""
        if getattr(self, "runner", None) is not None:
            self.runner.stop()
        cls = get_simulation(name)
        self.sim = cls()
        self.runner = Runner(self.sim, on_error=self._on_runner_error, pace=True)
        self.summary.object = f"**{cls.title or cls.name}**: {cls.summary}"
        self.widgets: list[ParameterWidget] = []
        cards = []
        for group, model in self.sim.models.items():
            specs = widget_specs(group, model, self.sim.widget_hints)
            cards.append(self._lazy_card(group, specs, open_now=group in OPEN_GROUPS))
        self.params_column.objects = cards
        self.displays = [_Display(d) for d in cls.displays]
        self.displays_column.objects = [d.pane for d in self.displays]
        self._shown_version = -1
        if self._sets_built:
            self._refresh_sets()

    def _lazy_card(self, group: str, specs: list[Any], open_now: bool) -> Any:
        """A card of one parameter group; a collapsed card builds its widgets when opened
        (a page with every widget built took seconds to render on the loaded test machine)."""
        card = pn.Card(
            title=group, collapsed=not open_now, width=320, css_classes=[f"np-group-{group}"]
        )

        def build(*_: Any) -> None:
            if card.objects:
                return
            ws = [
                ParameterWidget(spec, self.sim, self.show_error, self._accepted) for spec in specs
            ]
            self.widgets += ws
            card.objects = [w.panel for w in ws]

        if open_now:
            build()
        else:
            card.param.watch(lambda e: build() if not e.new else None, "collapsed")
        return card

    def _apply_query_args(self, args: Mapping[str, list[bytes]]) -> None:
        """``?group.name=value`` in the address sets parameters (validated like any value)."""
        errors = []
        for key, raw in args.items():
            if key == "sim" or not raw:
                continue
            text = raw[0].decode("utf-8", "replace")
            try:
                self.sim.set_value(key, _parse_text(text))
            except NeuroplasticError as exc:
                errors.append(str(exc))
        for w in self.widgets:
            w.refresh()
        if errors:
            self.show_error("; ".join(errors))

    # ------------------------------------------------------------------ messages

    def show_error(self, text: str) -> None:
        self.message.alert_type = "danger"
        self.message.object = html.escape(text)  # values echoed from the page stay text
        self.message.visible = True

    def show_notice(self, text: str) -> None:
        self.message.alert_type = "success"
        self.message.object = html.escape(text)
        self.message.visible = True

    def _accepted(self, key: str, value: Any) -> None:
        if self.message.visible and self.message.alert_type == "danger":
            self.message.visible = False

    def _on_runner_error(self, exc: BaseException) -> None:
        self._runner_error = exc

    # ------------------------------------------------------------------ toolbar

    def _in_worker(self, action: Any) -> None:
        """Run ``action`` (Init, one Step) in a worker thread unless the loop is running."""
        if self.runner.running:
            self.show_error("the simulation is running: press Stop first")
            return

        def work() -> None:
            try:
                action()
            except BaseException as exc:
                self._runner_error = exc

        self._worker = threading.Thread(target=work, daemon=True)
        self._worker.start()

    def _busy(self) -> bool:
        worker = getattr(self, "_worker", None)
        return worker is not None and worker.is_alive()

    def on_init(self) -> None:
        if not self._busy():
            self._in_worker(self.sim.do_init)

    def on_step(self) -> None:
        if not self._busy():
            self._in_worker(self._one_step)

    def _one_step(self) -> None:
        self.sim.do_step()
        self.sim.do_frame()

    def on_run(self) -> None:
        if not self._busy():
            self.runner.start(restart=True)

    def on_continue(self) -> None:
        if not self._busy():
            self.runner.start(restart=False)

    def on_stop(self) -> None:
        self.runner.request_stop()

    def on_save(self) -> None:
        if not self._sets_built:
            self.open_box("parameter sets")
            self.show_error("give the parameter set a name, then press Save")
            return
        self.save_set(self.set_name.value or "", self.set_comment.value or "", self.set_grade.value)

    # ------------------------------------------------------------------ refresh

    def refresh(self) -> None:
        """Copy the newest frame into the page (periodic callback of the page's thread)."""
        if self._runner_error is not None:
            exc, self._runner_error = self._runner_error, None
            text = (
                str(exc) if isinstance(exc, NeuroplasticError) else f"{type(exc).__name__}: {exc}"
            )
            self.show_error(f"simulation stopped: {text}")
        state = "running" if self.runner.running else ("busy" if self._busy() else "stopped")
        label = f"{state} · step {self.sim.steps}"
        if self.state.object != label:
            self.state.object = label
        if self.sim.data_version == self._shown_version:
            self.runner.frame_shown()
            return
        started = time.perf_counter()
        version, data = self.sim.snapshot()
        for d in self.displays:
            d.update(data)
        self._shown_version = version
        self.refreshes += 1
        self.refresh_seconds += time.perf_counter() - started
        self.runner.frame_shown()
        if not self.runner.running:
            for w in self.widgets:
                w.refresh()

    def close(self) -> None:
        self.runner.stop(timeout=2.0)
        with contextlib.suppress(ValueError):
            LIVE_PAGES.remove(self)

    # ------------------------------------------------------------------ parameter sets

    def _store(self) -> RunStore:
        return RunStore(self.store_url)

    def _sets(self, store: RunStore) -> ParameterSets:
        return ParameterSets(store, check=check_parameter_set)

    def _parameter_set_box(self) -> Any:
        self.set_name = pn.widgets.TextInput(
            label="set name", placeholder="name", css_classes=["np-set-name"]
        )
        self.set_comment = pn.widgets.TextInput(
            label="comment", placeholder="comment", css_classes=["np-set-comment"]
        )
        self.set_grade = pn.widgets.IntInput(
            label="grade (0-5)", value=0, start=0, end=5, css_classes=["np-set-grade"]
        )
        self.set_select = pn.widgets.Select(
            label="saved sets", options=[], css_classes=["np-set-select"]
        )
        buttons = []
        for key, label, handler in (
            ("load", "Load", self.on_load_set),
            ("clone", "Clone", self.on_clone_set),
            ("delete", "Delete", self.on_delete_set),
        ):
            b = pn.widgets.Button(label=label, css_classes=[f"np-set-{key}"], width=70)
            b.on_click(_call(handler))
            buttons.append(b)
        self.set_info = pn.pane.Str("", css_classes=["np-set-info"])
        self.set_export = pn.widgets.FileDownload(
            callback=self._export_callback,
            filename="parameter-sets.json",
            label="Export sets",
            css_classes=["np-set-export"],
        )
        self.set_import = pn.widgets.FileInput(accept=".json", css_classes=["np-set-import"])
        self.set_import.param.watch(self._import_changed, "value")
        self.set_select.param.watch(lambda _e: self._show_set_info(), "value")
        self._sets_built = True
        return [
            self.set_name,
            self.set_comment,
            self.set_grade,
            self.set_select,
            pn.Row(*buttons),
            self.set_info,
            self.set_export,
            pn.pane.Str("import a parameter file:"),
            self.set_import,
        ]

    def _lazy_box(self, title: str, make: Any, css: str) -> Any:
        card = pn.Card(title=title, collapsed=True, width=320, css_classes=[css])

        def build(*_: Any) -> None:
            if not card.objects:
                card.objects = make()
                if make == self._parameter_set_box:
                    self._refresh_sets()

        card.param.watch(lambda e: build() if not e.new else None, "collapsed")
        self._builders = [*getattr(self, "_builders", []), (card, build)]
        return card

    def open_box(self, title: str) -> None:
        """Build and open a collapsed box ("parameter sets", "runs")."""
        for card, build in self._builders:
            if card.title == title:
                build()
                card.collapsed = False

    def _refresh_sets(self) -> None:
        try:
            with self._store() as store:
                sets = self._sets(store).list(self.sim.name)
        except NeuroplasticError as exc:
            self.show_error(str(exc))
            return
        self._set_rows = {s.name: s for s in sets}
        names = [s.name for s in sets]
        self.set_select.options = names
        if names and self.set_select.value not in names:
            self.set_select.value = names[0]
        self._show_set_info()

    def _show_set_info(self) -> None:
        row = getattr(self, "_set_rows", {}).get(self.set_select.value)
        if row is None:
            self.set_info.object = ""
            return
        grade = "-" if row.grade is None else str(row.grade)
        self.set_info.object = (
            f"grade {grade}; created {row.created_at:%Y-%m-%d %H:%M}; "
            f"modified {row.modified_at:%Y-%m-%d %H:%M}\n{row.comment}"
        )

    def save_set(self, name: str, comment: str = "", grade: int | None = None) -> None:
        self.open_box("parameter sets")
        try:
            with self._store() as store:
                saved = self._sets(store).save(
                    self.sim.name, name, self.sim.parameter_values(), comment, grade
                )
        except NeuroplasticError as exc:
            self.show_error(str(exc))
            return
        self._refresh_sets()
        self.set_select.value = saved.name
        self.show_notice(f"saved parameter set {saved.name!r}")

    def on_load_set(self) -> None:
        name = self.set_select.value
        if not name:
            self.show_error("no parameter set chosen")
            return
        try:
            with self._store() as store:
                row = self._sets(store).get(self.sim.name, name)
            self.load_values(row.params)
        except NeuroplasticError as exc:
            self.show_error(str(exc))
            return
        self.show_notice(f"loaded parameter set {name!r} (press Init to restart with it)")

    def load_values(self, values: Mapping[str, Any]) -> None:
        if self.runner.running:
            self.runner.stop()
        self.sim.load_values(values)
        for w in self.widgets:
            w.refresh()

    def on_clone_set(self) -> None:
        name, new = self.set_select.value, self.set_name.value
        if not new or new == name:
            new = f"{name} (copy)"
        try:
            with self._store() as store:
                self._sets(store).clone(self.sim.name, name, new)
        except NeuroplasticError as exc:
            self.show_error(str(exc))
            return
        self._refresh_sets()
        self.set_select.value = new
        self.show_notice(f"cloned {name!r} to {new!r}")

    def on_delete_set(self) -> None:
        name = self.set_select.value
        try:
            with self._store() as store:
                self._sets(store).delete(self.sim.name, name)
        except NeuroplasticError as exc:
            self.show_error(str(exc))
            return
        self._refresh_sets()
        self.show_notice(f"deleted parameter set {name!r}")

    def _export_callback(self) -> io.BytesIO:
        with self._store() as store:
            text = self._sets(store).export_text(self.sim.name)
        return io.BytesIO(text.encode("utf-8"))

    def _import_changed(self, event: Any) -> None:
        if not event.new:
            return
        data = event.new if isinstance(event.new, bytes) else base64.b64decode(event.new)
        try:
            with self._store() as store:
                names = self._sets(store).import_bytes(data, self.set_import.filename or "file")
        except NeuroplasticError as exc:
            self.show_error(str(exc))
            return
        self._refresh_sets()
        self.show_notice(f"imported {len(names)} parameter set(s): {', '.join(names)}")

    # ------------------------------------------------------------------ stored runs

    def _runs_box_make(self) -> Any:
        self.run_id = pn.widgets.IntInput(
            label="run id", value=1, start=1, css_classes=["np-run-id"]
        )
        open_button = pn.widgets.Button(label="Open run", css_classes=["np-run-open"], width=90)
        open_button.on_click(lambda _e: self.open_run(int(self.run_id.value or 0)))
        launch = pn.widgets.Button(
            label="Launch full run", css_classes=["np-run-launch"], width=130
        )
        launch.on_click(self._on_launch)
        self.run_info = pn.pane.Str("", css_classes=["np-run-info"])
        return [self.run_id, pn.Row(open_button, launch), self.run_quick, self.run_info]

    def open_run(self, run_id: int) -> None:
        """Switch to the simulation of stored run ``run_id`` with its exact parameters."""
        try:
            with self._store() as store:
                run = store.get_run(run_id)
            name, values = simulation_for_run(run.method, run.params, run.seed)
        except NeuroplasticError as exc:
            self.show_error(str(exc))
            return
        if self.chooser.value != name:
            self.chooser.value = name  # switches
        try:
            self.load_values(values)
        except NeuroplasticError as exc:
            self.show_error(f"run {run_id}: {exc}")
            return
        self.show_notice(f"opened run {run_id} ({run.method}, {run.status}) in {name}")

    def _on_launch(self, _event: Any) -> None:
        self.launch_run()

    def launch_run(self, quick: bool | None = None) -> subprocess.Popen[bytes] | None:
        """Start ``neuroplastic run`` with the page's parameters as a separate process."""
        args = self.sim.run_command()
        if args is None:
            self.show_error(f"{self.sim.name} has no full-run equivalent")
            return None
        if quick if quick is not None else self.run_quick.value:
            args = [*args, "--quick"]
        if self._launch is not None and self._launch.poll() is None:
            self.show_error("a launched run is still going")
            return None
        env = dict(os.environ)
        if self.store_url:
            env["NEUROPLASTIC_STORE"] = self.store_url
        cmd = [sys.executable, "-m", "neuroplastic.cli", *args]
        self._launch = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if hasattr(self, "run_info"):
            self.run_info.object = "launched: neuroplastic " + " ".join(args)
        self.show_notice("launched a full run (see `neuroplastic runs list`)")
        return self._launch


def _call(handler: Callable[[], None]) -> Callable[[Any], None]:
    """A click handler that ignores the click event."""
    return lambda _event: handler()


def _parse_text(text: str) -> Any:
    """A value typed as text: JSON where it parses (numbers, lists, dicts), else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def make_page(store_url: str | None = None, simulation: str | None = None) -> Any:
    """A new page (one per session): what ``pn.serve`` calls for each browser session."""
    return SimulatorPage(store_url, simulation).layout


with contextlib.suppress(Exception):  # quiet Bokeh's "document idle" logging in tests
    import logging

    logging.getLogger("bokeh.server.views.ws").setLevel(logging.WARNING)
