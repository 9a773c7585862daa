"""Method catalogue: names → lazy method classes and torch-free cards, from entry points.

Every method comes in through packaging metadata, vosbench's own (``setup.cfg``) as any other
package's::

    [options.entry_points]
    vosbench.methods =
        my-method = my_package.module:MyMethod
    vosbench.method_cards =
        my-method = my_package.card:CARD

where ``MyMethod`` subclasses :class:`vosbench.runner.protocol.VOSMethod` and ``CARD`` is its
:class:`~vosbench.runner.card.MethodCard` (with ``config=`` its Config), in a module that
imports neither torch nor the network: ``vosbench methods`` reads cards only. A method without
a card entry is listed from its class. Aliases declared on cards name the method too.
:func:`get_method` (and so ``run``) also takes a ``VOSMethod`` subclass itself, unregistered.

Configurations are dataclasses whose fields declare their valid ranges with
:func:`vosbench.runner.options.option`; :func:`make_config` builds one from ``key=value``
overrides with type and range checks, :func:`describe_options` lists the options with their
ranges, and :func:`config_hash` names the exact settings a run used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from collections.abc import Mapping
from collections.abc import Sequence as Seq
from typing import TYPE_CHECKING, Any

from vosbench.errors import ConfigError, PluginError, VosbenchError
from vosbench.registry import Entry, Registry
from vosbench.runner.card import MethodCard
from vosbench.runner.options import (
    architecture_options,
    check_options,
    check_value,
    describe_options,
    is_union,
    show,
)

if TYPE_CHECKING:
    from vosbench.runner.protocol import VOSMethod

__all__ = [
    "METHODS",
    "METHOD_CARDS",
    "architecture_record",
    "config_hash",
    "config_record",
    "config_with_checkpoint",
    "describe_options",
    "get_method",
    "make_config",
    "method_card",
    "parse_overrides",
]

METHOD_CARDS: Registry = Registry("method card", entry_point_group="vosbench.method_cards")


def _card_aliases(methods: Registry) -> None:
    """Register the aliases that cards declare; a card that cannot be read adds none
    (``vosbench methods`` shows why)."""
    for entry in METHOD_CARDS.entries():
        try:
            card = _checked_card(entry)
        except VosbenchError:
            continue
        for alias in card.aliases:
            if card.name in methods and alias not in methods:
                methods.add_alias(alias, card.name)


METHODS: Registry = Registry(
    "method", entry_point_group="vosbench.methods", after_plugins=_card_aliases
)


def _checked_card(entry: Entry) -> MethodCard:
    """The card of a card entry, refused unless it is a MethodCard of the method it is registered
    for."""
    card = entry.load()
    if not isinstance(card, MethodCard):
        raise PluginError(
            f"method card {entry.name!r} ({entry.origin}) is {type(card).__name__}, "
            "not a vosbench.runner.MethodCard"
        )
    if card.name.strip().lower() != entry.name:
        raise PluginError(f"method card {entry.name!r} ({entry.origin}) describes {card.name!r}")
    return card


def method_card(name: str) -> MethodCard:
    """The card of method ``name`` with its ``config`` filled in.

    Read from its card entry point when it has one (importing neither torch nor the network for
    vosbench's own), else from the method class.
    """
    key = METHODS.entry(name).name
    if key in METHOD_CARDS:
        card = _checked_card(METHOD_CARDS.entry(key))
        if card.config is not None:
            return card
    method = get_method(key)
    return dataclasses.replace(method.card, config=method.Config)


def get_method(method: str | type[VOSMethod]) -> type[VOSMethod]:
    """The method class registered as ``method`` (raises with "did you mean" suggestions), or
    ``method`` itself when it is a :class:`~vosbench.runner.protocol.VOSMethod` subclass.

    A class passed directly needs no registration (``run(MyMethod, dataset)``); it is checked as a
    registered one is: a concrete ``VOSMethod`` subclass whose ``card`` is a :class:`MethodCard`
    naming its ``Config`` (or none), and whose card name is not another registered method's (the
    name becomes its run folder).
    """
    from vosbench.runner.protocol import VOSMethod

    if isinstance(method, type):
        return _checked_class(method)
    if not isinstance(method, str):
        raise ConfigError(
            f"a method is a registered name or a vosbench.runner.VOSMethod subclass, "
            f"not {type(method).__name__} {method!r}"
        )
    entry = METHODS.entry(method)
    loaded = entry.load()
    if not (isinstance(loaded, type) and issubclass(loaded, VOSMethod)):
        raise PluginError(
            f"method {method!r} ({entry.origin}) is not a vosbench.runner.VOSMethod subclass"
        )
    if entry.name in METHOD_CARDS:
        card = _checked_card(METHOD_CARDS.entry(entry.name))
        if loaded.card != card or card.config not in (None, loaded.Config):
            raise PluginError(
                f"method {method!r} ({entry.origin}): its card entry point describes another "
                "method than its class (card and Config must be the class's own)"
            )
    return loaded


def _checked_class(method: type) -> type[VOSMethod]:
    """A method class handed in directly, checked as the catalogue checks a registered one."""
    import inspect

    from vosbench.runner.protocol import VOSMethod

    label = f"{method.__module__}.{method.__qualname__}"
    if not issubclass(method, VOSMethod):
        raise ConfigError(f"method class {label} is not a vosbench.runner.VOSMethod subclass")
    card = getattr(method, "card", None)
    if not isinstance(card, MethodCard):
        raise ConfigError(
            f"method class {label} has no card: set `card = MethodCard(name=..., task=..., "
            "summary=...)`"
        )
    if inspect.isabstract(method):
        missing = ", ".join(sorted(method.__abstractmethods__))
        raise ConfigError(f"method class {label} does not implement {missing}")
    if card.config not in (None, method.Config):
        raise ConfigError(
            f"method class {label}: its card names config {card.config.__qualname__}, "
            f"its Config is {method.Config.__qualname__} (they must be the same)"
        )
    if card.name in METHODS:
        registered = METHODS.entry(card.name)
        if registered.load() is not method:
            raise ConfigError(
                f"method class {label} is named {card.name!r}, the name of the registered method "
                f"{registered.name!r} ({registered.origin}); give its card another name"
            )
    return method


def parse_overrides(items: Seq[str]) -> dict[str, str]:
    """``["scales=0.5,1.0", "preset=fast"]`` → ``{"scales": "0.5,1.0", "preset": "fast"}``."""
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"config override {item!r} must look like key=value")
        overrides[key.strip().replace("-", "_")] = value.strip()
    return overrides


def make_config(config_class: type, overrides: Mapping[str, Any] | None = None) -> Any:
    """An instance of the dataclass ``config_class`` with ``overrides`` applied.

    String values are converted to the field's declared type (bool, int, float, str, tuples of
    those, or `None` beside one of those); unknown keys, unconvertible values and values outside a
    field's declared range (overrides and defaults alike: a default can be wrong too) are a
    :class:`ConfigError` naming the option.
    """
    overrides = dict(overrides or {})
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    unknown = [key for key in overrides if key not in fields]
    if unknown:
        known = ", ".join(fields) or "none"
        raise ConfigError(
            f"{config_class.__qualname__}: unknown option(s) {', '.join(unknown)} (options: "
            f"{known})"
        )
    hints = typing.get_type_hints(config_class)
    values = {
        key: _convert(value, hints[key], f"{config_class.__qualname__}.{key}")
        for key, value in overrides.items()
    }
    for key, value in values.items():  # before construction, so the message shows the text as typed
        raw = overrides[key]
        check_value(
            config_class,
            fields[key],
            value,
            raw if isinstance(raw, str) and _scalar(value) else None,
        )
    try:
        config = config_class(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config_class.__qualname__}: {error}") from None
    check_options(config)  # the defaults, also of configs whose __post_init__ does not check
    return config


def _scalar(value: Any) -> bool:
    return not isinstance(value, (tuple, list))


def config_record(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


def architecture_record(config: Any) -> dict[str, Any]:
    """The architecture options of a config instance (JSON-ready): what a checkpoint records."""
    record = config_record(config)
    return {name: record[name] for name in architecture_options(type(config))}


def config_with_checkpoint(
    config_class: type,
    overrides: Mapping[str, Any] | None,
    recorded: Mapping[str, Any] | None,
    checkpoint: Any,
) -> tuple[Any, dict[str, Any]]:
    """The config of a run on weights whose checkpoint records ``recorded`` (its architecture
    options), and the options taken from it.

    An architecture option the overrides leave out comes from the checkpoint; one they give must
    equal the checkpoint's, else a :class:`ConfigError` names the checkpoint, the option and both
    values (instead of the key dump a network of another shape would give). ``recorded`` None
    (a file without the record: older vosbench checkpoints, released files) changes nothing.
    """
    overrides = dict(overrides or {})
    if recorded is None:
        return make_config(config_class, overrides), {}
    names = set(architecture_options(config_class))
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(recorded) - known)
    if unknown:
        raise ConfigError(
            f"{checkpoint}: the checkpoint records option(s) {', '.join(unknown)}, which "
            f"{config_class.__qualname__} does not have "
            "(weights for another version of the method?)"
        )
    taken = {key: show(value) for key, value in recorded.items() if key in names}
    try:
        expected = make_config(config_class, taken)
    except ConfigError as error:
        raise ConfigError(
            f"{checkpoint}: the checkpoint's recorded config is invalid: {error}"
        ) from None
    config = make_config(config_class, {**taken, **overrides})
    for key in taken:
        if key in overrides and getattr(config, key) != getattr(expected, key):
            mine, theirs = show(getattr(config, key)), show(getattr(expected, key))
            raise ConfigError(
                f"{checkpoint} holds weights for {key}={theirs} (recorded in the checkpoint), "
                f"but the run asks for {key}={mine} (-c {key}={show(overrides[key])}); drop "
                f"-c {key} to use the checkpoint's, or pass weights made for {key}={mine}"
            )
    return config, {key: getattr(expected, key) for key in taken if key not in overrides}


def config_hash(
    method: str,
    config: Any,
    *,
    weights_sha256: str = "",
    precision: str = "fp32",
    extra: Mapping[str, Any] | None = None,
) -> str:
    """A short, stable digest of everything that changes a method's output."""
    record = {
        "method": method,
        "config": config_record(config),
        "weights_sha256": weights_sha256,
        "precision": precision,
        **dict(extra or {}),
    }
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _convert(value: Any, kind: Any, where: str) -> Any:
    if not isinstance(value, str):
        return value
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if is_union(kind):
        if value.lower() in ("none", "null", "") and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(value, inner[0], where) if len(inner) == 1 else value
    if kind in (tuple, list):  # bare annotation: items read as numbers where they are numbers
        items = tuple(_number_or_text(p) for p in value.replace(" ", "").split(",") if p)
        return items if kind is tuple else list(items)
    if origin in (tuple, list):
        item = args[0] if args else str
        parts = [p for p in value.replace(" ", "").split(",") if p]
        converted = [_convert(p, item, where) for p in parts]
        return tuple(converted) if origin is not list else converted
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, args))}")
        return value
    try:
        if kind is bool:
            lowered = value.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind in (int, float, str):
            return kind(value)
    except ValueError:
        raise ConfigError(f"{where}: cannot read {value!r} as {kind.__name__}") from None
    return value


def _number_or_text(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
