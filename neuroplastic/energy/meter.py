"""Measured energy: a hardware meter read in named windows (``train``, ``evaluate``).

A meter is anything with ``method`` (a label naming what it reads), ``begin_window(name)`` and
``end_window(name) -> WindowEnergy`` (:class:`EnergyMeter`); Zeus is the one shipped
(:class:`ZeusMeter`, ``pip install -e '.[meter]'``): NVML's energy counter of the GPU a run uses
and RAPL's CPU package (and DRAM) counters. A test injects its own meter through the same path.

What CodeCarbon gets wrong is avoided on purpose: where no meter answers there is no figure
(``status: unavailable`` and why), never zero and never a constant-power guess; a meter that
fails in the middle of a run leaves the run going and the record says ``unavailable`` with the
error (:class:`MeterSession`). Readings cover the whole device (every process on the GPU or
CPU package), as the counters do; the label says so.

Energy in joules, time in seconds.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

RAPL_DIR = Path("/sys/class/powercap/intel-rapl")
SCOPE = "whole device: every process on the GPU / CPU package, as the hardware counters read"


class WindowEnergy(BaseModel):
    """Energy of one window: total joules, and the parts (``gpu:0``, ``cpu:0``, ``dram:0``)."""

    model_config = ConfigDict(extra="forbid")

    seconds: float
    joules: float
    parts: dict[str, float] = Field(default_factory=dict)


class MeasuredEnergy(BaseModel):
    """What the meter read, or why nothing was read."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["measured", "unavailable"]
    method: str = Field(description="the meter and the counters it reads, or 'none'")
    reason: str | None = Field(None, description="why unavailable (no meter, or its error)")
    scope: str | None = None
    windows: dict[str, WindowEnergy] = Field(default_factory=dict)

    def joules(self, window: str) -> float | None:
        """Joules of a window, or None when unavailable (never zero for 'no meter')."""
        if self.status != "measured" or window not in self.windows:
            return None
        return self.windows[window].joules


@runtime_checkable
class EnergyMeter(Protocol):
    """A hardware energy meter read in named windows."""

    method: str

    def begin_window(self, name: str) -> None:
        """Start the window ``name``."""
        ...

    def end_window(self, name: str) -> WindowEnergy:
        """End the window ``name`` and return its energy."""
        ...


class MeterUnavailable(Exception):
    """No meter on this machine (the message says why)."""


class ZeusMeter:
    """Zeus's ``ZeusMonitor``: NVML energy of the run's GPU and RAPL energy of the CPU packages.

    ``gpu_indices`` are CUDA device indices (``[]`` for a CPU run). Construction raises
    :class:`MeterUnavailable` when neither a GPU counter nor RAPL answers.
    """

    def __init__(self, gpu_indices: list[int]) -> None:
        try:
            import zeus
            from zeus.monitor import ZeusMonitor
        except ImportError:
            raise MeterUnavailable("zeus is not installed (pip install -e '.[meter]')") from None
        reasons = []
        if gpu_indices:
            gpu_reason = _zeus_gpu_reason()
            if gpu_reason is not None:
                reasons.append(gpu_reason)
                gpu_indices = []
        cpu_reason = _zeus_cpu_reason()
        if cpu_reason is not None:
            reasons.append(cpu_reason)
        if not gpu_indices and cpu_reason is not None:
            raise MeterUnavailable("; ".join(reasons))
        self.monitor = ZeusMonitor(
            gpu_indices=gpu_indices, cpu_indices=None if not cpu_reason else []
        )
        parts = [f"NVML energy counter of GPU {', '.join(map(str, gpu_indices))}"] * bool(
            gpu_indices
        )
        if cpu_reason is None:
            parts.append(f"RAPL CPU package {', '.join(map(str, self.monitor.cpu_indices))}")
        self.method = f"zeus {zeus.__version__}: " + "; ".join(parts)

    def begin_window(self, name: str) -> None:
        self.monitor.begin_window(name)

    def end_window(self, name: str) -> WindowEnergy:
        m = self.monitor.end_window(name)
        return window_from_parts(m.time, _zeus_parts(m))


def _zeus_parts(m: Any) -> dict[str, float]:
    parts = {f"gpu:{i}": float(j) for i, j in (m.gpu_energy or {}).items()}
    parts |= {f"cpu:{i}": float(j) for i, j in (m.cpu_energy or {}).items()}
    parts |= {f"dram:{i}": float(j) for i, j in (m.dram_energy or {}).items()}
    return parts


def window_from_parts(seconds: float, parts: dict[str, float]) -> WindowEnergy:
    """A window from its parts; an empty reading is an error, never zero joules."""
    if not parts:
        raise RuntimeError("the meter returned no energy counter for this window")
    return WindowEnergy(seconds=seconds, joules=sum(parts.values()), parts=parts)


def _zeus_gpu_reason() -> str | None:
    from zeus.device.gpu import get_gpus
    from zeus.device.gpu.common import ZeusGPUInitError

    try:
        get_gpus()
    except ZeusGPUInitError as exc:
        return f"no GPU energy counter ({exc})"
    return None


def _zeus_cpu_reason() -> str | None:
    from zeus.device.cpu import get_cpus
    from zeus.device.cpu.common import ZeusCPUInitError, ZeusCPUNoPermissionError

    try:
        get_cpus()
    except ZeusCPUNoPermissionError:
        return f"RAPL at {RAPL_DIR} is not readable (needs root)"
    except ZeusCPUInitError as exc:
        return f"no RAPL CPU counter ({exc})"
    return None


def rapl_reason() -> str | None:
    """Why RAPL cannot be read here, or None where its counters exist and are readable."""
    if not RAPL_DIR.exists():
        return f"no RAPL CPU energy counter ({RAPL_DIR} absent)"
    energy = next(RAPL_DIR.glob("intel-rapl:*/energy_uj"), None)
    if energy is None:
        return f"no RAPL package counter under {RAPL_DIR}"
    if not os.access(energy, os.R_OK):
        return f"RAPL at {RAPL_DIR} is not readable (needs root)"
    return None


def open_meter(kind: str, device: str) -> EnergyMeter:
    """The meter for a run on ``device`` (``cpu``, ``cuda``, ``cuda:1``).

    ``kind``: ``auto`` (Zeus where a counter answers) or ``off``. Raises
    :class:`MeterUnavailable` with the reason when there is none. A CPU run without RAPL is
    refused before Zeus is imported (no cost where there is nothing to read).
    """
    if kind == "off":
        raise MeterUnavailable("switched off (--meter off)")
    if kind != "auto":
        raise ValueError(f"unknown meter kind {kind!r}")
    on_gpu = device.startswith("cuda")
    if not on_gpu:
        reason = rapl_reason()
        if reason is not None:
            raise MeterUnavailable(f"the run is on the CPU and there is {reason}")
    index = int(device.split(":")[1]) if on_gpu and ":" in device else 0
    return ZeusMeter([index] if on_gpu else [])


class MeterSession:
    """Windows of one run: the meter's readings, or why there are none.

    ``window(name)`` is a context manager around a piece of work; a meter error in it is
    kept (the work goes on, later windows are not read) and :meth:`result` says
    ``unavailable`` with the error. Errors of the work itself pass through untouched.
    """

    def __init__(self, meter: EnergyMeter | None, reason: str | None = None) -> None:
        self.meter = meter
        self.reason = reason if meter is None else None
        self.error: str | None = None
        self.windows: dict[str, WindowEnergy] = {}
        self.overhead_s = 0.0  # time spent in the meter's calls

    @classmethod
    def open(cls, kind: str, device: str) -> MeterSession:
        """A session with the machine's meter, or an unavailable one saying why."""
        try:
            return cls(open_meter(kind, device))
        except MeterUnavailable as exc:
            return cls(None, str(exc))
        except Exception as exc:  # a meter that fails to start: no figure, the run goes on
            return cls(None, f"the meter failed to start: {type(exc).__name__}: {exc}")

    def _call(self, what: str, name: str, fn: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(name)
        except Exception as exc:
            self.error = f"{self.meter_method} failed at the {what} of window '{name}': " + (
                f"{type(exc).__name__}: {exc}"
            )
            return None
        finally:
            self.overhead_s += time.perf_counter() - start

    @property
    def meter_method(self) -> str:
        return "none" if self.meter is None else self.meter.method

    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[None]:
        """Measure the block as window ``name`` (a no-op without a meter or after an error)."""
        meter = self.meter
        if meter is None or self.error is not None:
            yield
            return
        self._call("begin", name, meter.begin_window)
        began = self.error is None
        try:
            yield
        finally:
            if began:
                reading = self._call("end", name, meter.end_window)
                if isinstance(reading, WindowEnergy):
                    self.windows[name] = reading

    def result(self, note: str | None = None) -> MeasuredEnergy:
        """The record's ``measured`` part."""
        if self.meter is None:
            return MeasuredEnergy(status="unavailable", method="none", reason=self.reason)
        scope = SCOPE if note is None else f"{SCOPE}; {note}"
        if self.error is not None:
            return MeasuredEnergy(
                status="unavailable",
                method=self.meter.method,
                reason=self.error,
                scope=scope,
                windows=self.windows,
            )
        return MeasuredEnergy(
            status="measured", method=self.meter.method, scope=scope, windows=self.windows
        )
