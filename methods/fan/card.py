"""FAN's card and options: what ``vosbench methods`` shows, importable without torch or the
network."""

from __future__ import annotations

from dataclasses import dataclass

from vosbench_methods.rgmp.card import MAX_SCALES, SCALE_RANGE, SEED_MAX, SIZE_NAMES

from vosbench.runner.card import MethodCard
from vosbench.runner.options import check_options, option

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

    ``size`` and ``align_corners`` are architecture options, as for ``rgmp``.
    """

    scales: tuple[float, ...] = option(
        (1.0,), low=SCALE_RANGE[0], high=SCALE_RANGE[1], length=(1, MAX_SCALES)
    )
    align_corners: bool = option(False, architecture=True)
    reference: str = option("first", choices=REFERENCES)
    fold_bn: bool = True
    channels_last: bool = True
    compile: bool = False
    seed: int = option(0, low=0, high=SEED_MAX)
    size: str = option("full", choices=SIZE_NAMES, architecture=True)

    def __post_init__(self) -> None:
        check_options(self)


CARD = MethodCard(
    name="fan",
    task="semi-supervised",
    summary="RGMP's siamese encoder and decoder with CBAM channel + spatial attention in each "
    "refine module",
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
    aliases=("fanforvos",),
    config=FANConfig,
)
