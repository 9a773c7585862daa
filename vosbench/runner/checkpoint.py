"""Weights files: safe reading, strict fitting to a network, and vosbench's own checkpoint format.

Authors release weights in many shapes (a bare state dict, ``{"model": …}``, DataParallel
``module.`` prefixes, pickles from PyTorch 0.3 without BatchNorm counters). A conversion
step (``vosbench convert``) reads such a file once, checks that *every* key fits the
network (nothing missing, nothing left over, no shape mismatch) and writes a vosbench
checkpoint: a zip-format file that ``torch.load(weights_only=True)`` reads, holding the
state dict under the network's own names plus where it came from, and the architecture
options of the network the weights belong to (``architecture``: e.g. RGMP's ``size``), which a
run applies (:func:`read_architecture`). Files written before that record existed still load.
"""

from __future__ import annotations

import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from vosbench.errors import ConfigError
from vosbench.io.atomic import atomic_write
from vosbench.weights.cache import sha256_file

COUNTER = "num_batches_tracked"
"""BatchNorm's step counter: absent from files saved before PyTorch 0.4, unused at inference."""

CHECKPOINT_FORMAT = "vosbench-weights/1"
_WRAPPER_KEYS = ("state_dict", "model")
_SHOWN = 20  # keys listed per kind in an error message; all are on the exception


class WeightsError(ConfigError):
    """A weights file cannot be read or does not fit the model; names the file and the keys."""

    def __init__(
        self,
        path: Path | str,
        reason: str,
        missing: Sequence[str] = (),
        unexpected: Sequence[str] = (),
        mismatched: Sequence[str] = (),
    ):
        self.path, self.reason = Path(path), reason
        self.missing, self.unexpected = list(missing), list(unexpected)
        self.mismatched = list(mismatched)
        lines = [f"{self.path}: {reason}"]
        for title, keys in (
            ("missing keys", self.missing),
            ("unexpected keys", self.unexpected),
            ("shape mismatches", self.mismatched),
        ):
            if keys:
                shown = ", ".join(keys[:_SHOWN]) + (" ..." if len(keys) > _SHOWN else "")
                lines.append(f"  {title} ({len(keys)}): {shown}")
        super().__init__("\n".join(lines))


def load_file(path: Path | str, *, allow_pickle: bool = False, mmap: bool = False) -> Any:
    """``torch.load`` on the CPU, refusing arbitrary pickled code unless ``allow_pickle``.

    Plain tensor pickles (also PyTorch 0.3's legacy format) load safely; a file that needs
    more (pickled classes) is refused with an error saying how to opt in for a trusted file.
    ``mmap``: map the tensors instead of reading them (zip-format files), for a look at the
    record around them.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(path, "weights file not found")
    try:
        if mmap and zipfile.is_zipfile(path):
            return torch.load(path, map_location="cpu", weights_only=not allow_pickle, mmap=True)
        return torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except Exception as error:  # unpickling errors come in many types
        if allow_pickle or "weights only load failed" not in str(error).lower():
            raise WeightsError(
                path,
                f"cannot be read as a PyTorch file, truncated or corrupt? ({_first_line(error)})",
            ) from error
        raise WeightsError(
            path,
            f"needs pickled code to load, which a safe load refuses ({_first_line(error)}). If it "
            "is a trusted file (e.g. the authors' release), convert it once with `vosbench convert "
            "--allow-pickle`",
        ) from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def read_state_dict(
    path: Path | str,
    *,
    rename: Mapping[str, str] | None = None,
    drop: Iterable[str] = (),
    allow_pickle: bool = False,
    method: str | None = None,
) -> OrderedDict[str, Tensor]:
    """Read a weights file and normalise its keys.

    ``method``: refuse a vosbench checkpoint written for another method (e.g. RGMP weights
    given to FAN), which would otherwise fail later with a list of missing keys.

    Unwraps ``{"state_dict": …}`` / ``{"model": …}`` (vosbench checkpoints use the former),
    strips a DataParallel ``module.`` prefix (when every key has it), drops keys starting with
    any prefix in ``drop`` (e.g. ``"fc."``) and then replaces key prefixes per ``rename``
    (e.g. ``{"layer1.": "Encoder.res2."}``).
    """
    path = Path(path)
    obj = load_file(path, allow_pickle=allow_pickle)
    _check_method(obj, path, method)
    state = _unwrap(obj, path)
    if state and all(k.startswith("module.") for k in state):
        state = OrderedDict((k[len("module.") :], v) for k, v in state.items())
    drop = tuple(drop)
    state = OrderedDict((k, v) for k, v in state.items() if not (drop and k.startswith(drop)))
    return OrderedDict((_rename(k, rename or {}), v) for k, v in state.items())


def _check_method(obj: object, path: Path, method: str | None) -> None:
    if (
        method
        and isinstance(obj, Mapping)
        and obj.get("format") == CHECKPOINT_FORMAT
        and obj.get("method") != method
    ):
        raise WeightsError(
            path, f"is a vosbench checkpoint for {obj.get('method')!r}, not {method!r}"
        )


def read_architecture(path: Path | str, *, method: str | None = None) -> dict[str, Any] | None:
    """The architecture options a vosbench checkpoint records (``{"size": "tiny", …}``), or None
    for a file without that record (checkpoints of older vosbench versions, released files).

    Reads the record only (the tensors are memory-mapped, not read). Raises
    :class:`WeightsError` for an unreadable file, a checkpoint of another ``method`` or a
    record that is not a mapping of option names to plain values.
    """
    path = Path(path)
    if path.is_file() and not zipfile.is_zipfile(path):
        return None  # vosbench writes zip files only: a legacy pickle is a released file
    obj = load_file(path, mmap=True)
    _check_method(obj, path, method)
    if not isinstance(obj, Mapping) or obj.get("format") != CHECKPOINT_FORMAT:
        return None
    record = obj.get("architecture")
    if record is None:
        return None
    plain = (str, int, float, bool, type(None))
    if not isinstance(record, Mapping) or not all(
        isinstance(k, str)
        and (
            isinstance(v, plain)
            or (isinstance(v, (list, tuple)) and all(isinstance(i, plain) for i in v))
        )
        for k, v in record.items()
    ):
        raise WeightsError(
            path, "damaged: its architecture record is not a mapping of option names to values"
        )
    return dict(record)


def _unwrap(obj: object, path: Path) -> OrderedDict[str, Tensor]:
    """Find the tensor dict inside a checkpoint object."""
    if isinstance(obj, Mapping):
        if obj and all(isinstance(v, Tensor) for v in obj.values()):
            return OrderedDict(obj)
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), Mapping):
                return _unwrap(obj[key], path)
        if not obj:
            raise WeightsError(path, "holds an empty state dict")
    raise WeightsError(path, f"no state dict found (top level is {type(obj).__name__})")


def _rename(key: str, rename: Mapping[str, str]) -> str:
    for old, new in rename.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def fit_state_dict(
    expected: Mapping[str, Tensor],
    state: Mapping[str, Tensor],
    path: Path | str,
    *,
    strict: bool = True,
    what: str = "the network",
) -> OrderedDict[str, Tensor]:
    """``state`` checked against ``expected`` (a model's ``state_dict()``), in ``expected``'s order.

    Shape mismatches always fail; missing / unexpected keys fail when ``strict``. Missing
    BatchNorm counters (pre-0.4 files) are filled from ``expected``. Tensors are cast to the
    expected dtype (a float64 or half file still loads into a float32 network).
    """
    missing = [k for k in expected if k not in state and not k.endswith(COUNTER)]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} file {tuple(state[k].shape)} model {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if mismatched or (strict and (missing or unexpected)):
        raise WeightsError(path, f"does not fit {what}", missing, unexpected, mismatched)
    fitted: OrderedDict[str, Tensor] = OrderedDict()
    for key, reference in expected.items():
        value = state.get(key)
        if value is None and key.endswith(COUNTER):
            value = torch.zeros(reference.shape, dtype=reference.dtype)
        elif value is None:  # allowed to be missing when not strict: keep the model's own
            value = reference.detach().clone()
        fitted[key] = value.detach().to(dtype=reference.dtype).contiguous()
    return fitted


def load_state_dict_file(
    model: nn.Module,
    path: Path | str,
    *,
    strict: bool = True,
    rename: Mapping[str, str] | None = None,
    drop: Iterable[str] = (),
    method: str | None = None,
) -> tuple[list[str], list[str]]:
    """Load a .pth into ``model``; raise :class:`WeightsError` naming the file and keys.

    ``method``: the method the weights are for (a vosbench checkpoint for another one is
    refused, see :func:`read_state_dict`). Returns ``(missing, unexpected)`` (empty when strict
    succeeded).
    """
    state = read_state_dict(path, rename=rename, drop=drop, method=method)
    own = model.state_dict()
    fitted = fit_state_dict(own, state, path, strict=strict, what=method or type(model).__name__)
    model.load_state_dict(
        {k: v for k, v in fitted.items() if k in state or k.endswith(COUNTER)}, strict=False
    )
    missing = [k for k in own if k not in state and not k.endswith(COUNTER)]
    return missing, [k for k in state if k not in own]


def save_checkpoint(
    path: Path | str,
    state_dict: Mapping[str, Tensor],
    *,
    method: str,
    source: Path | str | None = None,
    source_sha256: str | None = None,
    training: Mapping[str, Any] | None = None,
    architecture: Mapping[str, Any] | None = None,
) -> Path:
    """Write a vosbench checkpoint atomically (zip format; loads with ``weights_only=True``).

    The file records the method, the format and, for a conversion, the source file's name and
    sha256 (hashed here unless ``source_sha256`` is given), or for weights trained by vosbench,
    ``training`` (config, steps, method options: plain JSON-like values), so a checkpoint says
    where its numbers came from. ``architecture``: the architecture options of the network the
    weights belong to (:func:`vosbench.runner.methods.architecture_record`), which runs apply.
    """
    record: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "method": method,
        "state_dict": OrderedDict(
            (k, v.detach().cpu().contiguous()) for k, v in state_dict.items()
        ),
    }
    if source is not None:
        record["source"] = {
            "file": Path(source).name,
            "sha256": source_sha256 or sha256_file(source),
        }
    if training is not None:
        record["training"] = dict(training)
    if architecture is not None:
        record["architecture"] = dict(architecture)
    return atomic_write(path, lambda tmp: torch.save(record, tmp))


@dataclass(frozen=True)
class Conversion:
    """What ``vosbench convert`` wrote."""

    method: str
    source: Path
    destination: Path
    tensors: int
    values: int
    source_sha256: str
    sha256: str


def convert_checkpoint(
    method: str,
    source: Path | str,
    destination: Path | str,
    *,
    allow_pickle: bool = False,
    force: bool = False,
) -> Conversion:
    """Turn a released weights file into a vosbench checkpoint for ``method`` (strict, atomic).

    The checkpoint records the released network's architecture options (the defaults of the
    method's config, which ``convert_weights`` fits the file to).

    Raises:
        ConfigError: unknown method, no conversion for it, ``destination`` exists (without
            ``force``) or is the source, or a :class:`WeightsError` for a file that cannot be
            read or does not fit the network (every missing / unexpected / mis-shaped key listed).
    """
    from vosbench.runner.methods import architecture_record, get_method

    method_class = get_method(method)
    source, destination = Path(source), Path(destination)
    if not source.is_file():
        raise WeightsError(source, "weights file not found")
    if destination.exists() and destination.resolve() == source.resolve():
        raise ConfigError(f"{destination}: the destination is the source file; choose another name")
    if destination.exists() and not force:
        raise ConfigError(f"{destination} exists; pass --force to replace it")
    state = method_class.convert_weights(source, allow_pickle=allow_pickle)
    name, source_sha256 = method_class.card.name, sha256_file(source)
    save_checkpoint(
        destination,
        state,
        method=name,
        source=source,
        source_sha256=source_sha256,
        architecture=architecture_record(method_class.Config()),
    )
    return Conversion(
        name,
        source,
        destination,
        len(state),
        sum(v.numel() for v in state.values()),
        source_sha256,
        sha256_file(destination),
    )


def convert_for(
    build: Callable[[], nn.Module], source: Path | str, method: str, *, allow_pickle: bool = False
) -> OrderedDict[str, Tensor]:
    """A released file's state dict fitted strictly to the network ``build()`` makes (built on the
    meta device: only names and shapes are needed)."""
    with torch.device("meta"):
        expected = build().state_dict()
    state = read_state_dict(source, allow_pickle=allow_pickle)
    return fit_state_dict(expected, state, source, what=f"the {method} network")
