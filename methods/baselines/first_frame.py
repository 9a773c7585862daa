"""``first-frame``: every frame gets the first annotation, unchanged.

The floor every method must beat; it also measures the runner's own overhead, since its
step costs next to nothing.
"""

from __future__ import annotations

from typing import Optional, Sequence as Seq

import torch

from vosbench.runner.protocol import MethodCard, SequenceMeta, VOSMethod


class FirstFrame(VOSMethod):
    card = MethodCard(
        name="first-frame",
        task="semi-supervised",
        summary="repeats the annotated masks unchanged (objects appearing later are added when they appear)",
        licence="BSD-3-Clause (vosbench)",
    )

    def reset(self, meta: SequenceMeta) -> None:
        self.labels = torch.zeros(meta.size, dtype=torch.uint8, device=self.device)

    def step(self, frame: torch.Tensor, mask: Optional[torch.Tensor] = None,
             obj_ids: Optional[Seq[int]] = None) -> torch.Tensor:
        if mask is not None:
            # A new tensor, never an in-place edit: the runner may still hold the last answer.
            # (mask carries only the new objects; this is torch.where(mask > 0, mask, labels), faster)
            self.labels = self.labels * (mask == 0) + mask
        return self.labels
