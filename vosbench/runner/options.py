"""Declared valid ranges of config options: ``option(default, low=, high=, choices=, length=)``.

A method's config is a frozen dataclass; declaring each field with :func:`option` records what
values it accepts, so that an override such as ``-c smooth=1e9`` is refused with the option, the
value and the range instead of allocating gigabytes later::

    @dataclass(frozen=True)
    class MyConfig:
        smooth: float = option(0.0, low=0, high=50)
        scales: tuple[float, ...] = option((1.0,), low=0.1, high=2, length=(1, 8))
        mode: str = option("fast", choices=("fast", "exact"))

        def __post_init__(self) -> None:
            check_options(self)

Bounds are inclusive; for tuple fields they apply to every item and ``length`` bounds the count.
NaN and infinity fall outside every finite range. ``None`` is always accepted (fields typed
`X | None`).

``architecture=True`` marks an option that shapes the network the weights belong to (RGMP's
``size``, the bilinear convention it was trained under): vosbench checkpoints record those
options and a run applies them (:func:`vosbench.runner.methods.config_with_checkpoint`), while
every other option is a test-time choice (scales, precision, caching) that any weights accept.
This module imports no torch, so catalogues and the CLI can describe options cheaply.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from typing import Any

from vosbench.errors import ConfigError

METADATA_KEY = "vosbench.range"
ARCHITECTURE_KEY = "vosbench.architecture"


class OptionRangeError(ConfigError, ValueError):
    """A config value outside its declared range (a ValueError too, as dataclass checks raise)."""


@dataclass(frozen=True)
class ValidRange:
    """What one option accepts: inclusive numeric bounds or a set of choices, per item for
    tuples."""

    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    length: tuple[int, int] | None = None

    def problem(self, value: Any, shown: str | None = None) -> str | None:
        """Why ``value`` is refused (``shown``: how the user wrote it), or None when it is valid."""
        if value is None:
            return None
        shown = shown or show(value)
        if isinstance(value, (tuple, list)):
            return self._sequence_problem(value)
        if self.length is not None:
            return f"{shown} is not a list of values ({self.describe()})"
        found = self._item_problem(value)
        return f"{shown} {found}" if found else None

    def _sequence_problem(self, values: Seq[Any]) -> str | None:
        if self.length is None:
            return f"{show(values)} is a list; one value expected ({self.describe()})"
        fewest, most = self.length
        if not fewest <= len(values) <= most:
            return f"{len(values)} values given; the valid range is {self.describe()}"
        for index, item in enumerate(values):
            found = self._item_problem(item)
            if found:
                return f"{show(item)} (item {index + 1}) {found}"
        return None

    def _item_problem(self, value: Any) -> str | None:
        """The refusal of one value after its text (``is outside 0 … 50``), or None."""
        if self.choices is not None:
            return None if value in self.choices else f"is not one of {_listed(self.choices)}"
        if self.low is None and self.high is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"is not a number ({self._bounds()})"
        if (
            math.isnan(value)
            or (self.low is not None and value < self.low)
            or (self.high is not None and value > self.high)
        ):
            return f"is outside {self._bounds()}"
        return None

    def describe(self) -> str:
        """The range in words, e.g. ``0 … 50``, ``one of dis, farneback``,
        ``1 … 8 values, each 0.1 … 2``."""
        item = f"one of {_listed(self.choices)}" if self.choices is not None else self._bounds()
        if self.length is None:
            return item
        return f"{self._count()} values, each {item}" if item else f"{self._count()} values"

    def _bounds(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{_bound(self.low)} … {_bound(self.high)}"
        if self.low is not None:
            return f">= {_bound(self.low)}"
        return f"<= {_bound(self.high)}" if self.high is not None else ""

    def _count(self) -> str:
        fewest, most = self.length or (0, 0)
        return str(fewest) if fewest == most else f"{fewest} … {most}"


def option(
    default: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: Seq[Any] | None = None,
    length: tuple[int, int] | None = None,
    architecture: bool = False,
) -> Any:
    """A dataclass field with ``default``, its valid range and whether it is an architecture
    option (recorded in checkpoints; see the module docstring)."""
    if choices is not None and (low is not None or high is not None):
        raise ValueError("an option takes either choices or low/high bounds, not both")
    if low is not None and high is not None and low > high:
        raise ValueError(f"option bounds {low} … {high} are empty")
    counts = (int(length[0]), int(length[1])) if length is not None else None
    metadata: dict[str, Any] = {}
    if low is not None or high is not None or choices is not None or counts is not None:
        metadata[METADATA_KEY] = ValidRange(
            low, high, tuple(choices) if choices is not None else None, counts
        )
    if architecture:
        metadata[ARCHITECTURE_KEY] = True
    return dataclasses.field(default=default, metadata=metadata)


def valid_range(field: dataclasses.Field) -> ValidRange | None:
    """The range declared for ``field`` with :func:`option`, or None."""
    return field.metadata.get(METADATA_KEY)


def is_architecture(field: dataclasses.Field) -> bool:
    """Whether ``field`` was declared with ``option(..., architecture=True)``."""
    return bool(field.metadata.get(ARCHITECTURE_KEY))


def architecture_options(config_class: type) -> tuple[str, ...]:
    """The names of a config dataclass's architecture options, in field order."""
    if not dataclasses.is_dataclass(config_class):
        return ()
    return tuple(f.name for f in dataclasses.fields(config_class) if is_architecture(f))


def check_value(
    owner: type, field: dataclasses.Field, value: Any, shown: str | None = None
) -> None:
    """Raise :class:`OptionRangeError` ``Owner.field: value … range`` when ``value`` is refused."""
    valid = valid_range(field)
    found = valid.problem(value, shown) if valid is not None else None
    if found:
        raise OptionRangeError(f"{owner.__name__}.{field.name}: {found}")


def check_options(config: Any) -> None:
    """Check every field of the dataclass instance ``config`` (defaults included) against its
    range."""
    for field in dataclasses.fields(config):
        check_value(type(config), field, getattr(config, field.name))


def describe_options(config_class: type) -> list[str]:
    """One line per option: ``name=default (range)``, the default as ``-c`` takes it.

    For listings such as ``vosbench methods -v``; fields without a declared range show their type,
    architecture options say that a checkpoint sets them.
    """
    hints = typing.get_type_hints(config_class)
    lines = []
    for field in dataclasses.fields(config_class):
        valid = valid_range(field)
        accepted = valid.describe() if valid is not None else _type_name(hints.get(field.name))
        if _optional(hints.get(field.name)):
            accepted = f"none or {accepted}"
        default = _default(field)
        line = f"{field.name}={default}" if default is not None else field.name
        tag = " [architecture: from the checkpoint]" if is_architecture(field) else ""
        lines.append(f"{line} ({accepted}){tag}")
    return lines


def show(value: Any) -> str:
    """A value as ``-c`` takes it: ``0.5,1.0`` for a tuple, ``true`` for True."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return ",".join(show(item) for item in value)
    return str(value)


def _bound(value: float) -> str:
    """A bound as people write it: ``50`` for 50.0."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _listed(choices: Seq[Any]) -> str:
    return ", ".join(show(choice) for choice in choices)


def _default(field: dataclasses.Field) -> str | None:
    if field.default is not dataclasses.MISSING:
        return "none" if field.default is None else show(field.default)
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return show(field.default_factory())  # type: ignore[misc]
    return None


def is_union(kind: Any) -> bool:
    """True for ``X | Y`` and ``Optional[X]`` alike (two distinct origins before Python 3.14)."""
    return typing.get_origin(kind) in (typing.Union, types.UnionType)


def _optional(kind: Any) -> bool:
    return is_union(kind) and type(None) in typing.get_args(kind)


def _type_name(kind: Any) -> str:
    inner = [a for a in typing.get_args(kind) if a is not type(None)] if _optional(kind) else [kind]
    base = inner[0] if inner else kind
    if base is bool:
        return "true or false"
    return getattr(base, "__name__", str(base))
