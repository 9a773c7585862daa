"""RANet's card and options: what ``vosbench methods`` shows, importable without torch or the
network."""

from __future__ import annotations

from dataclasses import dataclass

from vosbench.runner.card import MethodCard
from vosbench.runner.options import check_options, option

DEAD_MODULES = ("rank_A", "p_1b", "res_1b", "p_2b")
"""Built and stored by the authors, never run at test time (1,098,146 parameters)."""
WEIGHTS_URL = "https://drive.google.com/folderview?id=1EwvDQiXAKAys_KVLTX5VRu8HggYiiUnl"


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
    weights_help="Download RANet_video_single.pth (DAVIS-2016) or RANet_video_multi.pth "
    f"(DAVIS-2017) from {WEIGHTS_URL} and convert it once: `vosbench convert --method ranet "
    "RANet_video_single.pth ranet-single.pth`.",
    weights_url=WEIGHTS_URL,
    precisions=("fp32", "tf32", "amp-bf16", "amp-fp16", "fp16"),
    input_policy="letterbox into 480x864 (scale to fit, zero padding), crop to the 1.5x box of the "
    "previous prediction, resized back to 480x864",
    protocol="template kernels from the first frame's box; each frame cropped around the previous "
    "prediction; top-256 ranked maps; threshold 0.5 (several objects: above 0.5 and largest). "
    f"Dead weights kept for strict loading, never run: {', '.join(DEAD_MODULES)}. "
    "The paper's 30 FPS was timed without synchronisation, in fp16 with 4-video batches.",
    reference={
        "davis2016/val J-Mean": "85.5 (paper)",
        "davis2016/val F-Mean": "85.4 (paper)",
        "davis2017/val J-Mean": "63.2 (paper; DAVIS leaderboard .6325)",
        "davis2017/val F-Mean": "68.2 (DAVIS leaderboard .6819)",
        "davis2016/val ms/frame": "33 (paper, TITAN Xp, unsynchronised, fp16, batch 4; 45 "
        "synchronised batch 1 on a GTX 1080 Ti per the authors' issue #7)",
    },
    config=RANetConfig,
)
