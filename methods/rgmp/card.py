"""RGMP's card and options: what ``vosbench methods`` shows, importable without torch or the
network."""

from __future__ import annotations

from dataclasses import dataclass

from vosbench.runner.card import MethodCard
from vosbench.runner.options import check_options, option
from vosbench.weights.cards import Reference, Source, WeightCard

SEED_MAX = 2**32 - 1  # numpy's and most tools' seed range
SIZE_NAMES = ("full", "small", "tiny")  # the keys of network.SIZES
# Test scales: each pass at scale s costs s² of the full-scale pass in time and memory, and
# the M + 1 passes of a frame run as one batch; 2 keeps a DAVIS frame with ten objects within
# a few GB, and 8 scales bound the references kept per object.
SCALE_RANGE = (0.1, 2.0)
MAX_SCALES = 8
WEIGHTS_URL = "https://www.dropbox.com/s/gt0kivrb2hlavi2/weights.pth?dl=0"
DAVIS16 = "DAVIS-2016 leaderboard"
DAVIS17 = "DAVIS-2017 leaderboard"

WEIGHTS = (
    WeightCard(
        tag="rgmp:davis",
        method="rgmp",
        file="weights.pth",
        sources=(
            Source(
                WEIGHTS_URL,
                note="the authors' README since 2018-11 (their first Dropbox link broke, issue #5)",
            ),
        ),
        summary="RGMP as released: pre-trained on clips synthesised from static images, "
        "fine-tuned on DAVIS-2017 train; one model for one object (DAVIS-2016) and several "
        "(DAVIS-2017)",
        format="PyTorch 0.3.1 legacy pickle of a DataParallel state dict (module. keys), no "
        "BatchNorm counters: 319 tensors, 51,518,920 parameters",
        datasets=("davis2016", "davis2017"),
        protocol="scales 0.5/0.75/1.0 averaged, previous soft mask, soft aggregation of objects "
        "(the released run.py; vosbench's defaults)",
        max_bytes=300 * 1024**2,  # 206 MB of float32 parameters
        references=(
            Reference("davis2016/val", "J-Mean", 0.815, "paper"),
            Reference("davis2016/val", "F-Mean", 0.820, "paper"),
            Reference("davis2016/val", "J-Mean", 0.8153, "authors' results/eval_SO.yaml"),
            Reference("davis2016/val", "F-Mean", 0.8202, "authors' results/eval_SO.yaml"),
            Reference("davis2016/val", "J&F-Mean", 0.818, DAVIS16),
            Reference("davis2016/val", "J-Mean", 0.815, DAVIS16),
            Reference("davis2016/val", "J-Recall", 0.917, DAVIS16),
            Reference("davis2016/val", "J-Decay", 0.109, DAVIS16),
            Reference("davis2016/val", "F-Mean", 0.820, DAVIS16),
            Reference("davis2016/val", "F-Recall", 0.908, DAVIS16),
            Reference("davis2016/val", "F-Decay", 0.101, DAVIS16),
            Reference("davis2016/val", "T-Mean", 0.133, DAVIS16),
            Reference("davis2017/val", "J&F-Mean", 0.6672, DAVIS17),
            Reference("davis2017/val", "J-Mean", 0.6480, DAVIS17),
            Reference("davis2017/val", "J-Recall", 0.741, DAVIS17),
            Reference("davis2017/val", "J-Decay", 0.189, DAVIS17),
            Reference("davis2017/val", "F-Mean", 0.6864, DAVIS17),
            Reference("davis2017/val", "F-Recall", 0.777, DAVIS17),
            Reference("davis2017/val", "F-Decay", 0.196, DAVIS17),
            Reference("davis2017/val", "J-Mean", 0.6480, "authors' results/eval_MO.yaml"),
            Reference("davis2017/val", "F-Mean", 0.6864, "authors' results/eval_MO.yaml"),
            Reference("davis2017/test-dev", "J&F-Mean", 0.528, DAVIS17),
            Reference("davis2017/test-dev", "J-Mean", 0.513, DAVIS17),
            Reference("davis2017/test-dev", "J-Recall", 0.590, DAVIS17),
            Reference("davis2017/test-dev", "J-Decay", 0.343, DAVIS17),
            Reference("davis2017/test-dev", "F-Mean", 0.544, DAVIS17),
            Reference("davis2017/test-dev", "F-Recall", 0.619, DAVIS17),
            Reference("davis2017/test-dev", "F-Decay", 0.372, DAVIS17),
        ),
    ),
)


@dataclass(frozen=True)
class RGMPConfig:
    """Options of ``rgmp``.

    Attributes:
        scales: test scales whose foreground probabilities are averaged (1 … 8 of them, each
            0.1 … 2); ``1.0`` alone is the single-scale protocol.
        align_corners: bilinear upsampling convention inside the network; True reproduces the
            released weights (trained under PyTorch 0.3.1).
        fold_bn: fold the frozen BatchNorms into the convolutions (same outputs, faster).
        channels_last: NHWC memory layout (usually faster for convolutions on CPU and GPU).
        compile: ``torch.compile`` the encoder and decoder (inductor, weights frozen as constants);
            compiled once per input shape, in the runner's warm-up of each frame size and object
            count.
        seed: seed of the random initialisation used with ``--random-init``.
        size: network size: ``full`` is the released network (ResNet-50 encoder); ``small`` and
            ``tiny`` are narrower networks with the same layout, for weights trained by
            ``vosbench train`` on a CPU (weights fit only the size they were trained with).

    ``size`` and ``align_corners`` are architecture options: they define the network the weights
    were trained as (the keys, and the upsampling the weights learnt with), so vosbench
    checkpoints record them and a run takes them from the checkpoint; the others are test-time
    choices any weights accept.
    """

    scales: tuple[float, ...] = option(
        (0.5, 0.75, 1.0), low=SCALE_RANGE[0], high=SCALE_RANGE[1], length=(1, MAX_SCALES)
    )
    align_corners: bool = option(True, architecture=True)
    fold_bn: bool = True
    channels_last: bool = True
    compile: bool = False
    seed: int = option(0, low=0, high=SEED_MAX)
    size: str = option("full", choices=SIZE_NAMES, architecture=True)

    def __post_init__(self) -> None:
        check_options(self)


CARD = MethodCard(
    name="rgmp",
    task="semi-supervised",
    summary="siamese ResNet-50 encoder (frame + previous soft mask vs first frame + mask), "
    "global convolution and refine decoder",
    paper="Oh, Lee, Sunkavalli, Kim: Fast Video Object Segmentation by Reference-Guided Mask "
    "Propagation, CVPR 2018",
    code_url="https://github.com/seoungwugoh/RGMP",
    licence="authors' code and weights: non-commercial research only",
    needs_weights=True,
    weights_help="`--weights official` downloads the authors' weights.pth "
    f"({WEIGHTS_URL}) and converts it once; by hand: "
    "`vosbench convert --method rgmp weights.pth rgmp.pth`, then `--weights rgmp.pth`.",
    weights=WEIGHTS,
    precisions=("fp32", "tf32", "amp-bf16", "amp-fp16"),
    input_policy="zero padding to the next multiple of 32 (always 1-32 px added), cropped back",
    protocol="scales 0.5/0.75/1.0 averaged; previous frame's soft probability as mask input; "
    "several objects: soft aggregation with a background pass ((M+1) x scales passes per frame)",
    reference=(
        Reference(
            "davis2016/val",
            "ms/frame",
            130,
            "RANet paper, Table 1",
            "GPU, timed without CUDA synchronisation",
        ),
    ),
    config=RGMPConfig,
)
