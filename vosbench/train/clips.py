"""The training sample every network's trainer consumes: a short clip with its masks.

Video fine-tuning draws clips from real (or synthetic) videos; static-image pretraining
simulates them from one image and its instance masks. Both produce a :class:`Clip`, so a
method's loss never needs to know where its frames came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VOID_LABEL = 255


@dataclass
class Clip:
    """T frames of one scene with their object masks.

    Attributes:
        frames: (T, H, W, 3) uint8 RGB; frame 0 is the reference (its mask is given).
        masks: (T, H, W) uint8 object ids, 0 background, 255 void (ignored by losses).
        previous: (T, H, W) uint8 ids of the "previous mask" fed with frame t, when it is
            simulated (a deformed ground truth in static pretraining); None for real videos,
            where trainers feed their own previous prediction or the previous ground truth.
        source: where the clip came from (``davis2017/train:bear[3,5,9]``), for logs.
    """

    frames: np.ndarray
    masks: np.ndarray
    previous: np.ndarray | None = None
    source: str = ""

    def __post_init__(self) -> None:
        frames, masks = self.frames, self.masks
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(
                f"clip {self.source!r}: frames must be (T, H, W, 3) uint8, got {frames.shape} "
                f"{frames.dtype}"
            )
        if masks.shape != frames.shape[:3] or masks.dtype != np.uint8:
            raise ValueError(
                f"clip {self.source!r}: masks must be {frames.shape[:3]} uint8, got {masks.shape} "
                f"{masks.dtype}"
            )
        if self.previous is not None and (
            self.previous.shape != masks.shape or self.previous.dtype != np.uint8
        ):
            raise ValueError(
                f"clip {self.source!r}: previous must be {masks.shape} uint8, "
                f"got {self.previous.shape} {self.previous.dtype}"
            )

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def object_ids(self) -> tuple:
        """Ids of the objects in the reference frame (void excluded), ascending."""
        ids = np.unique(self.masks[0])
        return tuple(int(i) for i in ids if i not in (0, VOID_LABEL))
