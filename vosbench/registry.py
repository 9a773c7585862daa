"""One generic registry for datasets and methods.

Entries are the object itself or a lazy ``"package.module:Object"`` string, imported only
when first used, so listing names never imports heavy dependencies. Packages add entries
through an importlib entry-point group (``vosbench.methods``, ``vosbench.datasets``); vosbench's
own methods and trainers come in that way too, so an entry's ``origin`` names the distribution
that declared it. An entry that cannot be loaded raises :class:`PluginError` naming it.
Unknown names fail with "did you mean" suggestions.
"""

from __future__ import annotations

import difflib
import importlib
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from vosbench.errors import PluginError, UnknownNameError

T = TypeVar("T")
HOME_DISTRIBUTION = "vosbench"
"""The distribution whose entry points have the origin ``vosbench`` (others: ``plugin:<name>``)."""


def import_object(spec: str) -> Any:
    """Import ``"package.module:Object.attr"`` and return the object."""
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise ValueError(f"lazy registry entry {spec!r} must look like 'package.module:Object'")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def lazy_attributes(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A PEP 562 module ``__getattr__`` for ``package``: ``name`` comes from the module
    ``exports[name]`` (relative to ``package`` unless dotted), imported on first use, so that
    importing one light module of the package does not import the heavy ones."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = exports[name] if "." in exports[name] else f"{package}.{exports[name]}"
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__


@dataclass
class Entry(Generic[T]):
    """A registered name: its target (object or lazy string) and descriptive metadata."""

    name: str
    target: T | str
    aliases: tuple = ()
    info: dict[str, Any] = field(default_factory=dict)
    origin: str = "builtin"
    kind: str = "entry"

    def load(self) -> T:
        """The target, imported on first use; any failure of that import is a
        :class:`PluginError`."""
        if isinstance(self.target, str):
            try:
                self.target = import_object(self.target)
            except (
                Exception
            ) as error:  # a plug-in's import may fail in any way; the caller gets one type
                raise PluginError(
                    f"{self.kind} {self.name!r} ({self.origin}) cannot be loaded from "
                    f"{self.target!r}: {type(error).__name__}: {error}"
                ) from error
        return self.target  # type: ignore[return-value]


class Registry(Generic[T]):
    """Names → objects, with lazy imports, aliases, entry-point plugins and suggestions."""

    def __init__(
        self,
        kind: str,
        entry_point_group: str | None = None,
        *,
        after_plugins: Callable[[Registry[T]], None] | None = None,
    ):
        """``after_plugins`` runs once the entry points are registered (e.g. to add aliases they
        declare)."""
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._after_plugins = after_plugins
        self._entries: dict[str, Entry[T]] = {}
        self._aliases: dict[str, str] = {}
        self._plugins_loaded = entry_point_group is None
        self._lock = threading.RLock()

    def register(
        self,
        name: str,
        target: T | str | None = None,
        *,
        aliases: tuple = (),
        origin: str = "builtin",
        **info: Any,
    ) -> Any:
        """Register ``target`` under ``name``; without a target, act as a decorator."""
        if target is None:

            def decorator(obj: T) -> T:
                self.register(name, obj, aliases=aliases, origin=origin, **info)
                return obj

            return decorator
        key = self._normalise(name)
        with self._lock:
            if key in self._entries or key in self._aliases:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[key] = Entry(key, target, tuple(aliases), dict(info), origin, self.kind)
            for alias in aliases:
                self._aliases[self._normalise(alias)] = key
        return target

    def add_alias(self, alias: str, name: str) -> None:
        """Let ``alias`` name the registered entry ``name`` too (refused when ``alias`` is
        taken)."""
        key, target = self._normalise(alias), self._normalise(name)
        with self._lock:
            if key in self._entries or key in self._aliases:
                raise ValueError(f"{self.kind} {alias!r} is already registered")
            entry = self._entries[target]
            entry.aliases = (*entry.aliases, alias)
            self._aliases[key] = target

    def entry(self, name: str) -> Entry[T]:
        key = self._normalise(name)
        if key not in self._entries and key not in self._aliases:
            # Only an unknown name needs the entry points: they never replace a registered
            # entry, and no alias takes a registered name, so a known one resolves the same.
            self._load_plugins()
        key = self._aliases.get(key, key)
        if key not in self._entries:
            raise UnknownNameError(self._unknown_message(name))
        return self._entries[key]

    def get(self, name: str) -> T:
        return self.entry(name).load()

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def entries(self) -> Iterator[Entry[T]]:
        for name in self.names():
            yield self._entries[name]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = self._normalise(name)
        if key in self._entries or key in self._aliases:
            return True
        self._load_plugins()
        return key in self._entries or key in self._aliases

    @staticmethod
    def _normalise(name: str) -> str:
        return name.strip().lower()

    def _unknown_message(self, name: str) -> str:
        candidates = list(self._entries) + list(self._aliases)
        close = difflib.get_close_matches(self._normalise(name), candidates, n=3, cutoff=0.5)
        message = f"unknown {self.kind} {name!r}"
        if close:
            message += f"; did you mean {' or '.join(repr(c) for c in close)}?"
        if not self._entries and self.entry_point_group:
            return message + (
                f" (none is registered: the entry-point group {self.entry_point_group!r} is empty; "
                "is the package that declares them installed? after changing its entry points, "
                "reinstall it, e.g. `pip install -e .`)"
            )
        return message + f" (known: {', '.join(sorted(self._entries))})"

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        with self._lock:
            if self._plugins_loaded:
                return
            self._plugins_loaded = True
            for point in _entry_points(self.entry_point_group or ""):
                if self._normalise(point.name) not in self._entries:
                    self.register(point.name, point.value, origin=_origin(point))
            if self._after_plugins is not None:
                self._after_plugins(self)


def _origin(point: Any) -> str:
    """``vosbench`` for vosbench's own entry points, ``plugin:<distribution>`` for others."""
    name = point.dist.name if getattr(point, "dist", None) is not None else "?"
    return name if name.lower() == HOME_DISTRIBUTION else f"plugin:{name}"


def _entry_points(group: str) -> list:
    from importlib import metadata  # scanning the installed distributions: only when needed

    points = metadata.entry_points()
    if hasattr(points, "select"):
        return list(points.select(group=group))
    return list(points.get(group, []))  # Python < 3.10
