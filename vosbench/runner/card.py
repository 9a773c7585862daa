"""What a method is, readable without importing it: :class:`MethodCard` and :class:`NoConfig`.

Torch-free, so that ``vosbench methods`` lists every method from small card modules (the
entry-point group ``vosbench.method_cards``) without loading a network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vosbench.weights.cards import Reference, WeightCard

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
        task: ``semi-supervised`` (first-frame masks given) or ``unsupervised`` (which also
            serves LVOS's ``unsupervised-single``: the runner writes the proposals' union).
        summary: one line saying what the method does.
        paper: citation (title, venue, year) or "" for a baseline.
        code_url: the authors' code.
        licence: the licence of the authors' code/weights ("" when they ship none).
        needs_weights: whether a meaningful run needs a weights file.
        weights_help: how to obtain and convert the weights (shown when they are missing).
        weights: the released checkpoints (:class:`~vosbench.weights.cards.WeightCard`), the
            default first: ``--weights TAG`` downloads, checks and converts one, and
            ``--weights official`` picks the first whose datasets hold the run's.
        devices: device types the method runs on (``cpu``, ``cuda``).
        precisions: precisions it supports (see :data:`PRECISIONS`).
        multi_object: handles several objects itself (otherwise one object only).
        offline: looks at future frames (not causal; recorded with speed figures).
        input_policy: how frames are brought to the network's input size.
        protocol: the default test protocol, in words (scales, references, post-processing).
        reference: published numbers of the method that belong to no released checkpoint
            (:class:`~vosbench.weights.cards.Reference`: a variant without weights, a speed
            figure); each weight card carries its own. :meth:`references` gives them all.
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
    weights: tuple[WeightCard, ...] = ()
    devices: tuple[str, ...] = ("cpu", "cuda")
    precisions: tuple[str, ...] = ("fp32",)
    multi_object: bool = True
    offline: bool = False
    input_policy: str = "native resolution"
    protocol: str = "online, one frame at a time"
    reference: tuple[Reference, ...] = ()
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
        if isinstance(self.reference, Mapping) or not all(
            isinstance(r, Reference) for r in self.reference
        ):
            raise ValueError(f"method {self.name!r}: reference must be a tuple of Reference")
        tags = [w.tag for w in self.weights]
        if not all(isinstance(w, WeightCard) for w in self.weights) or len(set(tags)) < len(tags):
            raise ValueError(
                f"method {self.name!r}: weights must be WeightCards with distinct tags"
            )
        stray = [w.tag for w in self.weights if w.method != self.name]
        if stray:
            raise ValueError(f"method {self.name!r}: weight card(s) of another method: {stray}")

    def references(self) -> tuple[Reference, ...]:
        """Every published number: the method's own, then each checkpoint's."""
        return tuple(self.reference) + tuple(r for w in self.weights for r in w.references)

    def as_record(self) -> dict[str, Any]:
        """The card as JSON-ready facts (the config is recorded on its own, with its values)."""
        record = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "config"
        }
        record["reference"] = [r.as_record() for r in self.reference]
        record["weights"] = [w.as_record() for w in self.weights]
        return record
