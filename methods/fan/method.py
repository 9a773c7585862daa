"""FAN as a vosbench method: RGMP's protocol with the CBAM network.

The authors' inference script (``val.py``) runs one object at a single scale and, after each
frame, replaces the reference features with those of the frame just processed (so the
annotated frame conditions only the first step). vosbench defaults to the design the
authors' README describes, matching every frame against the annotated first frame
(``reference=first``); ``reference=previous`` reproduces the released behaviour. Several
objects go through RGMP's soft aggregation (a vosbench extension; the authors merge all
objects into one). No weights were released: a run needs vosbench-trained weights, or
``--random-init`` for speed tests, and its numbers are vosbench-FAN numbers, not the paper's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor
from vosbench_methods.rgmp.method import RGMP

from vosbench.runner.protocol import MethodCard

from .card import CARD, FANConfig
from .network import FANNet


class FAN(RGMP):
    """RGMP + CBAM attention in the refine modules (djzgroup/FANforVOS)."""

    card: ClassVar[MethodCard] = CARD
    Config: ClassVar[type] = FANConfig
    network_class: ClassVar[type[FANNet]] = FANNet

    def _after_propagation(self, target_r5: list[Tensor]) -> None:
        if self.config.reference != "previous":
            return
        # The passes' references become this frame's target features, in the same pass order.
        if len(self.object_refs[0]) == 1:
            self.object_refs = target_r5
        else:
            self.background_refs = [r5[:1] for r5 in target_r5]
            self.object_refs = [r5[1:] for r5 in target_r5]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "reference": self.config.reference}
