"""What a method is, readable without importing it: :class:`MethodCard` and :class:`NoConfig`.

Torch-free, so that ``vosbench methods`` lists every method from small card modules (the
entry-point group ``vosbench.method_cards``) without loading a network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TASKS = ("semi-supervised", "unsupervised")
PRECISIONS = ("fp32", "tf32", "amp-bf16", "amp-fp16", "fp16")


@dataclass(frozen=True)
class NoConfig:
    """The configuration of a method without options."""


@dataclass(frozen=True)
class MethodCard:
    """What a method is and what it needs: shown by ``vosbench methods``, stored in run manifests.

    Attributes:
        name: registry name (``flow``).
        task: ``semi-supervised`` (first-frame masks given) or ``unsupervised``.
        summary: one line saying what the method does.
        paper: citation (title, venue, year) or "" for a baseline.
        code_url: the authors' code.
        licence: the licence of the authors' code/weights ("" when they ship none).
        needs_weights: whether a meaningful run needs a weights file.
        weights_help: how to obtain and convert the weights (shown when they are missing).
        weights_url, weights_sha256: where the released weights live and their checksum.
        devices: device types the method runs on (``cpu``, ``cuda``).
        precisions: precisions it supports (see :data:`PRECISIONS`).
        multi_object: handles several objects itself (otherwise one object only).
        offline: looks at future frames (not causal; recorded with speed figures).
        input_policy: how frames are brought to the network's input size.
        protocol: the default test protocol, in words (scales, references, post-processing).
        reference: published numbers and their source, e.g.
            ``{"davis2016/val J-Mean": "81.5 (paper)"}``.
        aliases: other names the catalogue accepts for the method.
        config: the method's ``Config`` dataclass, so that a listing reading the card alone shows
            the options; None leaves it to the method class (which must then be imported).
    """

    name: str
    task: str
    summary: str
    paper: str = ""
    code_url: str = ""
    licence: str = ""
    needs_weights: bool = False
    weights_help: str = ""
    weights_url: str = ""
    weights_sha256: str = ""
    devices: tuple[str, ...] = ("cpu", "cuda")
    precisions: tuple[str, ...] = ("fp32",)
    multi_object: bool = True
    offline: bool = False
    input_policy: str = "native resolution"
    protocol: str = "online, one frame at a time"
    reference: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    config: type | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(
                f"method {self.name!r}: unknown task {self.task!r}; choose one of "
                f"{', '.join(TASKS)}"
            )
        unknown = [p for p in self.precisions if p not in PRECISIONS]
        if unknown:
            raise ValueError(f"method {self.name!r}: unknown precision(s) {unknown}")
        if self.config is not None and not dataclasses.is_dataclass(self.config):
            raise ValueError(
                f"method {self.name!r}: config must be a dataclass, not {self.config!r}"
            )

    def as_record(self) -> dict[str, Any]:
        """The card as JSON-ready facts (the config is recorded on its own, with its values)."""
        record = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "config"
        }
        record["reference"] = dict(self.reference)
        return record
