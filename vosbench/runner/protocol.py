"""The method interface: an online ``reset`` / ``step`` loop that every method implements.

A method never sees paths. The runner hands it, for each sequence, a :class:`SequenceMeta`
(``reset``) and then one frame at a time (``step``), with an annotation for the objects that
appear at that frame (the first frame in DAVIS; later frames for datasets whose objects
appear later). The method answers with either

* an object-id map: an integer tensor of shape (H, W) whose values are object ids, or
* probabilities: a floating tensor of shape (K + 1, H, W), channel 0 the background and
  channel k the k-th object handed to the method so far (in the order they were handed in).

Either answer is at the annotation's size and on the method's device. Everything specific
to a method's protocol (normalisation, padding, letterbox, crops, scales, multi-object
aggregation) happens inside ``step``, so the runner and its timer treat every method alike.

Offline methods (``card.offline``, e.g. COSNet's references drawn from the whole video) may
also read any frame of the sequence through ``SequenceMeta.frame_reader``; such reads happen
inside ``step`` and are therefore timed as the method's own work.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from vosbench.errors import ConfigError
from vosbench.runner.card import PRECISIONS, TASKS, MethodCard, NoConfig

__all__ = ["PRECISIONS", "TASKS", "MethodCard", "NoConfig", "SequenceMeta", "VOSMethod"]


@dataclass(frozen=True)
class SequenceMeta:
    """What a method may know about a sequence before its first frame.

    Attributes:
        name: sequence name.
        num_frames: number of frames the method will be given.
        size: (H, W) of the annotations, hence of the answers expected.
        object_ids: every object id of the sequence that the runner will hand in (empty for
            unsupervised methods).
        dataset: dataset label (``davis2016/val``), for logs only.
        frame_reader: for offline methods only (None otherwise): frame index (0 … num_frames − 1,
            in the order ``step`` receives them) → RGB ``uint8`` tensor (H, W, 3) on the method's
            device, decoded on demand; calls from ``step`` count in the timed model region.
    """

    name: str
    num_frames: int
    size: tuple[int, int]
    object_ids: tuple[int, ...] = ()
    dataset: str = ""
    frame_reader: Callable[[int], torch.Tensor] | None = field(
        default=None, compare=False, repr=False
    )


class VOSMethod(abc.ABC):
    """Base class of every method: subclasses set ``card`` and ``Config`` and implement
    :meth:`reset` and :meth:`step`. A card that names its config (``card.config``) must name
    ``Config``: the catalogue lists the card's, the runner builds the class's.

    Args:
        config: an instance of ``Config`` (default: ``Config()``).
        device: where frames arrive and answers are expected.
        weights: a weights file (None for weight-free methods or a random initialisation).
        precision: one of ``card.precisions``.
    """

    card: ClassVar[MethodCard]
    Config: ClassVar[type] = NoConfig

    def __init__(
        self,
        config: Any = None,
        *,
        device: str | torch.device = "cpu",
        weights: str | None = None,
        precision: str = "fp32",
    ):
        self.config = config if config is not None else self.Config()
        self.device = torch.device(device)
        self.weights = weights
        self.precision = precision

    @abc.abstractmethod
    def reset(self, meta: SequenceMeta) -> None:
        """Forget the previous sequence and get ready for ``meta``."""

    @abc.abstractmethod
    def step(
        self, frame: torch.Tensor, mask: torch.Tensor | None = None, obj_ids: Seq[int] | None = None
    ) -> torch.Tensor:
        """Segment one frame.

        Args:
            frame: RGB ``uint8`` tensor of shape (H, W, 3) on ``self.device``.
            mask: ``uint8`` object-id map of shape (H, W) holding the objects that appear at
                this frame (None when no object appears; always None for unsupervised methods).
            obj_ids: the ids of those new objects, in ascending order.

        Returns:
            An integer object-id map (H, W), or floating probabilities (K + 1, H, W) over the
            background and the K objects handed in so far.
        """

    @property
    def shape_specialised(self) -> bool:
        """True when the method compiles or tunes itself per input shape (``torch.compile``,
        cuDNN benchmark): the runner then warms it up on every frame size before timing."""
        return False

    @classmethod
    def convert_weights(
        cls, source: Path, *, allow_pickle: bool = False
    ) -> Mapping[str, torch.Tensor]:
        """Read a released weights file and return the state dict this method loads
        (``vosbench convert``).

        Implementations must consume every key of the file and fill every parameter of the
        network, raising a :class:`vosbench.errors.ConfigError` naming the file otherwise.
        """
        raise ConfigError(
            f"{cls.card.name} has no weights conversion (it loads no released weights)"
        )

    def describe(self) -> dict[str, Any]:
        """Settings worth recording with speed figures (input size, scales …); default none."""
        return {}
