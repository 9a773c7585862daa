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

from dataclasses import dataclass
from typing import Any, ClassVar, Dict, List, Tuple

from torch import Tensor

from vosbench.runner.options import check_options, option
from vosbench.runner.protocol import MethodCard
from vosbench_methods.rgmp.method import MAX_SCALES, RGMP, SCALE_RANGE, SEED_MAX
from vosbench_methods.rgmp.network import SIZES

from .network import FANNet

REFERENCES = ("first", "previous")


@dataclass(frozen=True)
class FANConfig:
    """Options of ``fan``.

    Attributes:
        scales: test scales averaged (the released script: 1.0 only); as for ``rgmp``, 1 … 8
            scales, each 0.1 … 2.
        align_corners: bilinear convention inside the network. FAN's code targets PyTorch >= 0.4,
            where ``F.upsample`` does not align corners; vosbench trains FAN with False and must
            infer with the same value.
        reference: ``first`` (match against the annotated frame) or ``previous`` (the released
            script: the reference becomes the frame just processed).
        fold_bn, channels_last, compile, seed, size: as for ``rgmp``.
    """

    scales: Tuple[float, ...] = option((1.0,), low=SCALE_RANGE[0], high=SCALE_RANGE[1], length=(1, MAX_SCALES))
    align_corners: bool = False
    reference: str = option("first", choices=REFERENCES)
    fold_bn: bool = True
    channels_last: bool = True
    compile: bool = False
    seed: int = option(0, low=0, high=SEED_MAX)
    size: str = option("full", choices=tuple(SIZES))

    def __post_init__(self) -> None:
        check_options(self)


class FAN(RGMP):
    """RGMP + CBAM attention in the refine modules (djzgroup/FANforVOS)."""

    card: ClassVar[MethodCard] = MethodCard(
        name="fan",
        task="semi-supervised",
        summary="RGMP's siamese encoder and decoder with CBAM channel + spatial attention in each refine module",
        paper="Symmetry Encoder-Decoder Network with Attention Mechanism for Fast VOS, Symmetry 2019 "
              "(very likely FAN's paper)",
        code_url="https://github.com/djzgroup/FANforVOS",
        licence="authors' code: none given",
        needs_weights=True,
        weights_help="The authors released no weights: train FAN with vosbench (its checkpoints load "
                     "directly), or convert an authors'-format checkpoint with `vosbench convert --method fan`.",
        precisions=("fp32", "tf32", "amp-bf16", "amp-fp16"),
        input_policy="zero padding to the next multiple of 32 (always 1-32 px added), cropped back",
        protocol="single scale; reference = first frame (reference=previous: the released script); "
                 "several objects: RGMP's soft aggregation (vosbench extension)",
    )
    Config: ClassVar[type] = FANConfig
    network_class: ClassVar[type[FANNet]] = FANNet

    def _after_propagation(self, target_r5: List[Tensor]) -> None:
        if self.config.reference != "previous":
            return
        # The passes' references become this frame's target features, in the same pass order.
        if len(self.object_refs[0]) == 1:
            self.object_refs = target_r5
        else:
            self.background_refs = [r5[:1] for r5 in target_r5]
            self.object_refs = [r5[1:] for r5 in target_r5]

    def describe(self) -> Dict[str, Any]:
        return {**super().describe(), "reference": self.config.reference}
