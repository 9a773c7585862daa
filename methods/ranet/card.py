"""RANet's card and options: what ``vosbench methods`` shows, importable without torch or the
network."""

from __future__ import annotations

from dataclasses import dataclass

from vosbench.runner.card import MethodCard
from vosbench.runner.options import check_options, option
from vosbench.weights.cards import Reference, Source, WeightCard

DEAD_MODULES = ("rank_A", "p_1b", "res_1b", "p_2b")
"""Built and stored by the authors, never run at test time (1,098,146 parameters)."""
WEIGHTS_URL = "https://drive.google.com/folderview?id=1EwvDQiXAKAys_KVLTX5VRu8HggYiiUnl"
BAIDU_URL = "https://pan.baidu.com/s/1_AVtp_IElsU4fr5Jmw9sRA"
SOURCES = (
    Source(WEIGHTS_URL, note="the authors' README: a Google Drive folder with all three models"),
    Source(BAIDU_URL, note="the authors' README gives no access code"),
)
FORMAT = (
    "plain state dict (PyTorch 0.4.1 / 1.0.1), no module. prefix: 396 tensors, 64,521,236 "
    "parameters, the dead modules included"
)
MAX_BYTES = 400 * 1024**2  # 258 MB of float32 parameters
PAPER = "paper"
DAVIS16 = "DAVIS-2016 leaderboard"
DAVIS17 = "DAVIS-2017 leaderboard"
RANET_PLUS = "RANet+: online fine-tuning on the first frame (4 s/frame), not the released protocol"
SPEED = (
    "TITAN Xp, fp16, 4 videos per batch, timed without CUDA synchronisation (issue #7: 45 ms "
    "synchronised at batch 1 on a GTX 1080 Ti)"
)

WEIGHTS = (
    WeightCard(
        tag="ranet:video-single",
        method="ranet",
        file="RANet_video_single.pth",
        sources=SOURCES,
        summary="single-object model: static images (MSRA10K, ECSSD, HKU-IS), then DAVIS-2016 "
        "train videos",
        format=FORMAT,
        datasets=("davis2016",),
        protocol="the released crop-and-track loop at 480x864, single-object head",
        max_bytes=MAX_BYTES,
        references=(
            Reference("davis2016/val", "J&F-Mean", 0.855, PAPER),
            Reference("davis2016/val", "J-Mean", 0.855, PAPER),
            Reference("davis2016/val", "J-Recall", 0.972, PAPER),
            Reference("davis2016/val", "J-Decay", 0.062, PAPER),
            Reference("davis2016/val", "F-Mean", 0.854, PAPER),
            Reference("davis2016/val", "F-Recall", 0.949, PAPER),
            Reference("davis2016/val", "F-Decay", 0.051, PAPER),
            Reference("davis2016/val", "ms/frame", 33, PAPER, SPEED),
            Reference("davis2016/val", "J&F-Mean", 0.871, PAPER, RANET_PLUS),
            Reference("davis2016/val", "J-Mean", 0.866, DAVIS16, RANET_PLUS),
            Reference("davis2016/val", "J-Recall", 0.970, DAVIS16, RANET_PLUS),
            Reference("davis2016/val", "J-Decay", 0.074, DAVIS16, RANET_PLUS),
            Reference("davis2016/val", "F-Mean", 0.876, DAVIS16, RANET_PLUS),
            Reference("davis2016/val", "F-Recall", 0.961, DAVIS16, RANET_PLUS),
            Reference("davis2016/val", "F-Decay", 0.082, DAVIS16, RANET_PLUS),
            Reference("davis2016/val", "T-Mean", 0.210, DAVIS16, RANET_PLUS),
        ),
    ),
    WeightCard(
        tag="ranet:video-multi",
        method="ranet",
        file="RANet_video_multi.pth",
        sources=SOURCES,
        summary="multi-object model: static images (adding SOC and ILSO), then DAVIS-2017 "
        "train videos",
        format=FORMAT,
        datasets=("davis2017",),
        protocol="the released crop-and-track loop at 480x864, multi-object head",
        max_bytes=MAX_BYTES,
        references=(
            Reference("davis2017/val", "J&F-Mean", 0.657, PAPER),
            Reference("davis2017/val", "J-Mean", 0.632, PAPER),
            Reference("davis2017/val", "J&F-Mean", 0.6572, DAVIS17),
            Reference("davis2017/val", "J-Mean", 0.6325, DAVIS17),
            Reference("davis2017/val", "J-Recall", 0.7366, DAVIS17),
            Reference("davis2017/val", "J-Decay", 0.1855, DAVIS17),
            Reference("davis2017/val", "F-Mean", 0.6819, DAVIS17),
            Reference("davis2017/val", "F-Recall", 0.7880, DAVIS17),
            Reference("davis2017/val", "F-Decay", 0.1972, DAVIS17),
            Reference("davis2017/test-dev", "J&F-Mean", 0.553, PAPER),
            Reference("davis2017/test-dev", "J-Mean", 0.534, PAPER),
            Reference("davis2017/test-dev", "J&F-Mean", 0.5537, DAVIS17),
            Reference("davis2017/test-dev", "J-Mean", 0.5344, DAVIS17),
            Reference("davis2017/test-dev", "J-Recall", 0.6189, DAVIS17),
            Reference("davis2017/test-dev", "J-Decay", 0.2193, DAVIS17),
            Reference("davis2017/test-dev", "F-Mean", 0.5730, DAVIS17),
            Reference("davis2017/test-dev", "F-Recall", 0.6768, DAVIS17),
            Reference("davis2017/test-dev", "F-Decay", 0.2209, DAVIS17),
        ),
    ),
    WeightCard(
        tag="ranet:image-single",
        method="ranet",
        file="RANet_image_single.pth",
        sources=SOURCES,
        summary="single-object model trained on static images only (before video fine-tuning)",
        format=FORMAT,
        protocol="the released crop-and-track loop at 480x864, single-object head",
        max_bytes=MAX_BYTES,
        references=(
            Reference(
                "davis2016/trainval",
                "J-Mean",
                0.832,
                PAPER,
                "static-image model; that it is this file is not stated",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class RANetConfig:
    """Options of ``ranet``.

    Attributes:
        crop: the released crop-and-track loop (True) or the whole letterboxed frame every time
            (False: an ablation, labelled ``no-crop``).
        head: ``auto`` (single-object head for one object, multi-object head otherwise, as the
            two released models are used), ``single`` or ``multi``.
        channels_last: NHWC memory layout for the convolutions; None (default) = only for
            ``--precision fp16``: CPU half convolutions are far slower in NCHW (a first frame
            took 529 s NCHW and 49 s NHWC here). In fp32 NHWC is faster on CPU but rounds
            differently, and the top-256 ranking turns that into other selected maps, so
            the released arithmetic (NCHW) stays the default.
        seed: seed of the random initialisation used with ``--random-init``.

    No option is an architecture option: every released file (video single, image single,
    video multi) holds the one network with both heads, and ``head`` picks one at test time.
    """

    crop: bool = True
    head: str = option("auto", choices=("auto", "single", "multi"))
    channels_last: bool | None = None
    seed: int = option(0, low=0, high=2**32 - 1)

    def __post_init__(self) -> None:
        check_options(self)


CARD = MethodCard(
    name="ranet",
    task="semi-supervised",
    summary="correlation of the current frame with first-frame template kernels, ranking attention "
    "keeps the top 256 foreground and background maps, InstanceNorm ResNet-101 encoder-decoder",
    paper="Wang, Xu, Liu, Zhu, Shao: RANet: Ranking Attention Network for Fast Video Object "
    "Segmentation, ICCV 2019",
    code_url="https://github.com/Storife/RANet",
    licence="Apache-2.0 (authors' code)",
    needs_weights=True,
    weights_help="`--weights official` downloads and converts RANet_video_single.pth for "
    "DAVIS-2016 and RANet_video_multi.pth for DAVIS-2017 (or name one: `--weights "
    f"ranet:video-multi`); by hand: download it from {WEIGHTS_URL}, then `vosbench convert "
    "--method ranet RANet_video_single.pth ranet-single.pth` and `--weights ranet-single.pth`.",
    weights=WEIGHTS,
    precisions=("fp32", "tf32", "amp-bf16", "amp-fp16", "fp16"),
    input_policy="letterbox into 480x864 (scale to fit, zero padding), crop to the 1.5x box of the "
    "previous prediction, resized back to 480x864",
    protocol="template kernels from the first frame's box; each frame cropped around the previous "
    "prediction; top-256 ranked maps; threshold 0.5 (several objects: above 0.5 and largest). "
    f"Dead weights kept for strict loading, never run: {', '.join(DEAD_MODULES)}. "
    "The paper's 30 FPS was timed without synchronisation, in fp16 with 4-video batches.",
    config=RANetConfig,
)
