"""COSNet's card and options: what ``vosbench methods`` shows, importable without torch or the
network."""

from __future__ import annotations

from dataclasses import dataclass

from vosbench.runner.card import MethodCard
from vosbench.runner.options import check_options, option
from vosbench.weights.cards import Reference, Source, WeightCard

INPUT_SIZE = 473
"""The released test input: every frame warped to 473×473."""
REFERENCE_RULES = ("random", "deterministic")
WEIGHTS_URL = "https://drive.google.com/open?id=14ya3ZkneeHsegCgDrvkuFtGoAfVRgErz"
INIT_WEIGHTS_URL = "https://drive.google.com/open?id=1hy0-BAEestT9H4a3Sv78xrHrzmZga9mj"
BAIDU_URL = "https://pan.baidu.com/s/16oFzRmn4Meuq83fCYr4boQ"
DAVIS16 = "DAVIS-2016 leaderboard"
WITH_CRF = "with the dense CRF (-c crf=true)"
WEIGHTS = (
    WeightCard(
        tag="cosnet:davis",
        method="cosnet",
        file="co_attention.pth",
        sources=(
            Source(WEIGHTS_URL, note="the authors' README"),
            Source(
                BAIDU_URL,
                access_code="xwup",
                note="the authors' README; reported deleted in issue #39 (2021-01)",
            ),
        ),
        summary="COSNet as released: DeepLabv3 saliency initialisation, co-attention trained "
        "on DAVIS-2016 train video pairs and saliency images (MSRA10K, DUT)",
        format="{'epoch', 'model'} with a DataParallel state dict (module. keys), PyTorch 1.0.1: "
        "687 entries, 81,242,436 parameters",
        datasets=("davis2016",),
        protocol="unsupervised; 473x473 warp, 5 random references per frame averaged, "
        "binarised at 0.5; the paper's numbers add the dense CRF",
        max_bytes=450 * 1024**2,  # 325 MB of float32 parameters
        references=(
            Reference("davis2016/val", "J&F-Mean", 0.800, DAVIS16, WITH_CRF),
            Reference("davis2016/val", "J-Mean", 0.805, DAVIS16, WITH_CRF),
            Reference("davis2016/val", "J-Recall", 0.931, DAVIS16, WITH_CRF),
            Reference("davis2016/val", "J-Decay", 0.044, DAVIS16, WITH_CRF),
            Reference("davis2016/val", "F-Mean", 0.795, DAVIS16, WITH_CRF),
            Reference("davis2016/val", "F-Recall", 0.895, DAVIS16, WITH_CRF),
            Reference("davis2016/val", "F-Decay", 0.050, DAVIS16, WITH_CRF),
            Reference("davis2016/val", "T-Mean", 0.184, DAVIS16, WITH_CRF),
            Reference(
                "davis2016/val",
                "J-Mean",
                0.790,
                "authors' issue #22",
                "without CRF, 5 references (0.783 with 2)",
            ),
            Reference(
                "fbms/test", "J-Mean", 0.756, "paper, as quoted by paper aggregators (unconfirmed)"
            ),
            Reference(
                "youtube-objects/test",
                "mIoU",
                0.705,
                "paper, as quoted by paper aggregators (unconfirmed)",
            ),
        ),
    ),
    WeightCard(
        tag="cosnet:deeplab-init",
        method="cosnet",
        file="deeplab_davis_12_0.pth",
        sources=(Source(INIT_WEIGHTS_URL, note="the authors' README, training section"),),
        summary="the DeepLabv3 (ResNet-101 + ASPP) saliency model COSNet's training starts from; "
        "converts to an encoder-only checkpoint, which cannot segment",
        format="{'model'} with module.-prefixed ResNet-101 + ASPP keys",
        purpose="initialisation",
        max_bytes=450 * 1024**2,
    ),
)
# Memory bounds. For input size S the features are (S/8)^2 positions x 256 channels (3.7 MB at
# 473, 6.6 MB at 640, per cached frame) and a pair's co-attention affinity (S/8)^4 floats (52 MB
# at 473, 164 MB at 640); the group variant holds one affinity per reference at once, twice
# (softmax). At the largest values: 10 references in a group pass about 3.3 GB, 256 cached frames
# 1.7 GB.
MAX_INPUT_SIZE = 640
MAX_FEATURE_CACHE = 256
MAX_REFERENCES = 10


@dataclass(frozen=True)
class COSNetConfig:
    """Options of ``cosnet``.

    Attributes:
        references: reference frames per frame (the released ``sample_range``, 5; 1 … 10:
            each one is a head pass, and the group variant holds them all at once).
        reference_rule: ``random`` (seeded ``random.sample`` per frame, the paper's protocol) or
            ``deterministic`` (the same evenly spaced frames for every frame).
        seed: seeds the reference draws and the ``--random-init`` weights.
        group: the released group variant (feature-level fusion of all references in one head
            pass) instead of averaging the pairs' maps.
        feature_cache: frames whose encoder features are kept (least recently used dropped first;
            about 3.7 MB each in fp32, at most 256); 0 re-encodes both frames of every pair, as
            released.
        crf: refine each frame with the dense CRF (``vosbench_methods.common.densecrf``).
        crf_iterations … crf_bilateral_compat: the CRF's parameters (iterations 0 … 100, kernel
            widths 0.1 … 100 px (gaussian), 0.1 … 200 px and 0.1 … 255 levels (bilateral),
            compatibilities 0 … 100); None keeps its default.
        input_size: the square network input, 33 … 640 (473 as released; other sizes only for
            quick tests or speed ablations, which are then not the paper's protocol).

    No option is an architecture option: the network is fully convolutional with one shape
    (``input_size`` resizes the frames, ``group`` reuses the same modules), so any COSNet
    checkpoint runs with any of them.
    """

    references: int = option(5, low=1, high=MAX_REFERENCES)
    reference_rule: str = option("random", choices=REFERENCE_RULES)
    seed: int = option(0, low=0, high=2**32 - 1)
    group: bool = False
    feature_cache: int = option(128, low=0, high=MAX_FEATURE_CACHE)
    crf: bool = False
    crf_iterations: int | None = option(None, low=0, high=100)
    crf_gaussian_sxy: float | None = option(None, low=0.1, high=100.0)
    crf_gaussian_compat: float | None = option(None, low=0.0, high=100.0)
    crf_bilateral_sxy: float | None = option(None, low=0.1, high=200.0)
    crf_bilateral_srgb: float | None = option(None, low=0.1, high=255.0)
    crf_bilateral_compat: float | None = option(None, low=0.0, high=100.0)
    input_size: int = option(INPUT_SIZE, low=33, high=MAX_INPUT_SIZE)

    def __post_init__(self) -> None:
        check_options(self)


CARD = MethodCard(
    name="cosnet",
    task="unsupervised",
    summary="co-attention between the frame and reference frames of the same video (DeepLabv3 "
    "ResNet-101 encoder), gated, per-pair heads; the maps of 5 random references averaged",
    paper="Lu, Wang, Ma, Shen, Shao, Porikli: See More, Know More: Unsupervised Video Object "
    "Segmentation with Co-Attention Siamese Networks, CVPR 2019",
    code_url="https://github.com/carrierlxk/COSNet",
    licence="none stated (the authors' repository ships no licence file)",
    needs_weights=True,
    weights_help="`--weights official` downloads the authors' co_attention.pth "
    f"({WEIGHTS_URL}) and converts it once; by hand: `vosbench convert --method cosnet "
    "co_attention.pth cosnet.pth`, then `--weights cosnet.pth` (the DeepLabv3 training "
    f"initialisation deeplab_davis_12_0.pth, {INIT_WEIGHTS_URL}, `--weights "
    "cosnet:deeplab-init`, converts to an encoder-only file for training; it cannot segment).",
    weights=WEIGHTS,
    precisions=("fp32", "tf32", "amp-bf16", "amp-fp16"),
    multi_object=False,
    offline=True,
    input_policy="every frame warped to 473x473 (Pillow bilinear on uint8, aspect ratio not kept), "
    "BGR, Caffe mean subtraction; the answer resized back to the frame's size",
    protocol="per frame, 5 reference frames drawn with random.sample over the whole video (seeded "
    "and recorded); x1 of each (frame, reference) pair averaged; binarised at 0.5 (id 1). Paper "
    "numbers add a dense CRF (-c crf=true). Reference frames are read inside step (timed); "
    "x2 and the saliency map are not computed; each frame is encoded once (feature cache)",
    reference=(
        Reference(
            "davis2016/val",
            "J-Mean",
            0.811,
            "authors' README",
            "group co-attention (-c group=true); no weights were released for it",
        ),
    ),
    config=COSNetConfig,
)
