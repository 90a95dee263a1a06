"""One registry implementation for everything the CLI finds by name (methods, experiments).

A :class:`Registry` holds named entries in registration order. Its built-in modules are
imported on the first lookup (not at import time: the training loop and the CLI's start-up
stay free of every method and experiment), then every module of its entry-point group, so
plug-in packages appear unchanged in ``neuroplastic methods`` / ``run`` / ``compare``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from neuroplastic.errors import ParameterError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one ``kind``, filled by ``builtin_modules`` and entry-point ``group``."""

    def __init__(self, kind: str, group: str, builtin_modules: Sequence[str]) -> None:
        self.kind = kind
        self.group = group
        self.builtin_modules = tuple(builtin_modules)
        self._entries: dict[str, T] = {}
        self._loaded = False

    def add(self, name: str, entry: T) -> None:
        """Register ``entry`` under ``name``; a second entry of the same name is an error."""
        if name in self._entries:
            raise ParameterError(f"a {self.kind} named {name!r} is already registered")
        self._entries[name] = entry

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self.builtin_modules:
            importlib.import_module(module)
        for ep in entry_points(group=self.group):
            ep.load()

    def find(self, name: str) -> T | None:
        """The entry called ``name``, or None."""
        self._load()
        return self._entries.get(name)

    def get(self, name: str) -> T:
        """The entry called ``name``; a ParameterError lists the known names otherwise."""
        entry = self.find(name)
        if entry is None:
            raise ParameterError(
                f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}"
            )
        return entry

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        self._load()
        return list(self._entries)

    def entries(self) -> list[T]:
        """Every registered entry, in registration order."""
        self._load()
        return list(self._entries.values())
