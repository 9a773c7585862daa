"""``first-frame``: every frame gets the first annotation, unchanged.

The floor every method must beat; it also measures the runner's own overhead, since its
step costs next to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq

import numpy as np
import torch

from vosbench.runner.protocol import SequenceMeta, VOSMethod

from .card import FIRST_FRAME


class FirstFrame(VOSMethod):
    card = FIRST_FRAME

    def reset(self, meta: SequenceMeta) -> None:
        self.labels = torch.zeros(meta.size, dtype=torch.uint8, device=self.device)

    def step(
        self, frame: torch.Tensor, mask: torch.Tensor | None = None, obj_ids: Seq[int] | None = None
    ) -> torch.Tensor:
        if mask is not None:
            # A new tensor, never an in-place edit: the runner may still hold the last answer.
            self.labels = _paste(mask, self.labels)
        return self.labels


def _paste(mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``labels`` with the new objects of ``mask`` pasted over (numpy on the CPU: torch's
    element-wise uint8 kernels are 10× slower there when the cores are busy)."""
    if mask.device.type == "cpu":
        return torch.from_numpy(np.where(mask.numpy() > 0, mask.numpy(), labels.numpy()))
    return torch.where(mask > 0, mask, labels)
