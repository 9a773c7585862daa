"""The RGMP network (Oh et al., CVPR 2018): siamese mask-aware encoder, global convolution, refine
decoder.

Module and parameter names are those of the authors' released ``weights.pth`` (without the
DataParallel ``module.`` prefix): ``Encoder.conv1_p``, ``Encoder.res2`` … ``Encoder.res5``,
``Decoder.GC``, ``Decoder.RF4`` … so their file loads strictly. Shapes below are for the
padded DAVIS input 512×864.

* Encoder (shared by the reference and the target stream): ImageNet-normalised RGB through a
  ResNet-50 stem, plus ``conv1_p`` on the one-channel soft mask, summed before ``bn1``; then
  res2 … res5 (1/4 … 1/32). All BatchNorms are frozen.
* Decoder: ``GC`` (global convolution: 7×1→1×7 plus 1×7→7×1, summed) on
  ``cat(target r5, reference r5)`` with a residual pair ``convG1/convG2``; three
  :class:`Refine` modules bring in r4, r3, r2; ``pred2`` on ReLU(m2) → logits at 1/4 →
  bilinear ×4. ``pred3/4/5`` exist for deep supervision in training only.
* Upsampling: the released weights come from PyTorch 0.3.1, whose bilinear upsampling aligned
  corners; ``align_corners=True`` (the default) reproduces it.
* Size: ``size="full"`` (the default) is the released network. Narrower sizes (:data:`SIZES`)
  keep every module and key name with smaller widths and fewer blocks, for networks trained
  from scratch where the full one is too slow (a CPU); their weights fit only their own size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from vosbench_methods.common.inference import fold_batchnorm, fold_stem
from vosbench_methods.common.resnet import FrozenBatchNorm2d, ResNet

from vosbench.errors import ConfigError
from vosbench.runner.checkpoint import fit_state_dict, read_state_dict

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DECODER_CHANNELS = 256


@dataclass(frozen=True)
class NetworkSize:
    """Widths of an RGMP-family network: encoder stem width and blocks per stage, decoder
    channels."""

    width: int = 64
    blocks: tuple[int, int, int, int] = (3, 4, 6, 3)
    decoder: int = DECODER_CHANNELS

    @property
    def feature_channels(self) -> tuple[int, int, int, int]:
        """Channels of r2, r3, r4, r5 (256, 512, 1024, 2048 for ResNet-50)."""
        return tuple(4 * self.width << i for i in range(4))  # type: ignore[return-value]


SIZES: dict[str, NetworkSize] = {
    "full": NetworkSize(),  # the released network: ResNet-50 encoder, 256-channel decoder
    "small": NetworkSize(width=32, blocks=(2, 2, 2, 2), decoder=64),
    "tiny": NetworkSize(width=16, blocks=(1, 1, 1, 1), decoder=32),
}


def network_size(name: str) -> NetworkSize:
    """The named size, or a ConfigError listing the known ones."""
    try:
        return SIZES[name]
    except KeyError:
        raise ConfigError(
            f"unknown network size {name!r}; choose one of {', '.join(SIZES)}"
        ) from None


class Features(NamedTuple):
    """The encoder's maps: r5 (1/32, 2048 ch), r4 (1/16, 1024), r3 (1/8, 512), r2 (1/4, 256)."""

    r5: Tensor
    r4: Tensor
    r3: Tensor
    r2: Tensor


class Encoder(nn.Module):
    """ResNet-50 with a mask stem: ``bn1(conv1(normalise(rgb)) + conv1_p(mask))`` → res2 … res5."""

    def __init__(self, size: NetworkSize = SIZES["full"]) -> None:
        super().__init__()
        resnet = ResNet(size.blocks, width=size.width, with_fc=False, norm_layer=FrozenBatchNorm2d)
        self.conv1_p = nn.Conv2d(1, size.width, kernel_size=7, stride=2, padding=3, bias=True)
        self.conv1, self.bn1, self.maxpool = resnet.conv1, resnet.bn1, resnet.maxpool
        for name, stage in resnet.stages():
            setattr(self, name, stage)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def load_imagenet(self, path: Path | str) -> None:
        """Start the ResNet-50 part from an ImageNet file with torchvision's keys (training).

        ``conv1``/``bn1``/``layer1…4`` map 1:1 to ``conv1``/``bn1``/``res2…5``; ``fc`` is dropped;
        every other key must fit (strict). ``conv1_p`` keeps its initialisation, as in the paper.
        """
        rename = {f"layer{i}.": f"res{i + 1}." for i in range(1, 5)}
        state = read_state_dict(path, drop=("fc.",), rename=rename)
        own = {
            k: v
            for k, v in self.state_dict().items()
            if not k.startswith(("conv1_p.", "mean", "std"))
        }
        self.load_state_dict(
            fit_state_dict(own, state, path, what="RGMP's ResNet-50 encoder"), strict=False
        )

    def forward(self, rgb: Tensor, mask: Tensor) -> Features:
        """Encode RGB in [0, 1] (1 or N, 3, H, W) with soft masks (N, 1, H, W).

        One image with N masks computes the RGB stem once and broadcasts it over the masks
        (multi-object inference encodes the same frame once per object).
        """
        x = self.conv1((rgb - self.mean) / self.std) + self.conv1_p(mask.to(rgb.dtype))
        x = self.maxpool(F.relu(self.bn1(x)))
        r2 = self.res2(x)
        r3 = self.res3(r2)
        r4 = self.res4(r3)
        return Features(self.res5(r4), r4, r3, r2)


class GlobalConv(nn.Module):
    """Large-kernel 'global convolution' (Peng et al. 2017): 7×1→1×7 plus 1×7→7×1, no activation."""

    def __init__(self, in_channels: int, channels: int = DECODER_CHANNELS, k: int = 7):
        super().__init__()
        self.conv_l1 = nn.Conv2d(in_channels, channels, (k, 1), padding=(k // 2, 0))
        self.conv_l2 = nn.Conv2d(channels, channels, (1, k), padding=(0, k // 2))
        self.conv_r1 = nn.Conv2d(in_channels, channels, (1, k), padding=(0, k // 2))
        self.conv_r2 = nn.Conv2d(channels, channels, (k, 1), padding=(k // 2, 0))

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_l2(self.conv_l1(x)) + self.conv_r2(self.conv_r1(x))


def _conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, padding=1)


class Refine(nn.Module):
    """Skip branch (``convFS1`` + residual ``convFS2/3``) plus ×2 coarse map, then residual
    ``convMM1/2``.

    :meth:`attend` is the hook FAN fills with CBAM attention on the skip branch's residual path.
    """

    def __init__(
        self, in_channels: int, channels: int = DECODER_CHANNELS, align_corners: bool = True
    ):
        super().__init__()
        self.convFS1 = _conv3x3(in_channels, channels)
        self.convFS2 = _conv3x3(channels, channels)
        self.convFS3 = _conv3x3(channels, channels)
        self.convMM1 = _conv3x3(channels, channels)
        self.convMM2 = _conv3x3(channels, channels)
        self.align_corners = align_corners

    def attend(self, s: Tensor) -> Tensor:
        return s

    def forward(self, skip: Tensor, coarse: Tensor) -> Tensor:
        s = self.convFS1(skip)
        s = s + self.convFS3(F.relu(self.convFS2(F.relu(self.attend(s)))))
        m = s + F.interpolate(
            coarse, scale_factor=2.0, mode="bilinear", align_corners=self.align_corners
        )
        return m + self.convMM2(F.relu(self.convMM1(F.relu(m))))


class Decoder(nn.Module):
    """Global convolution on [target r5, reference r5], three refine stages, 2-class heads."""

    refine_class: type[Refine] = Refine

    def __init__(self, align_corners: bool = True, size: NetworkSize = SIZES["full"]):
        super().__init__()
        c = size.decoder
        r2, r3, r4, r5 = size.feature_channels
        self.GC = GlobalConv(2 * r5, c)
        self.convG1 = _conv3x3(c, c)
        self.convG2 = _conv3x3(c, c)
        self.RF4 = self.refine_class(r4, c, align_corners)
        self.RF3 = self.refine_class(r3, c, align_corners)
        self.RF2 = self.refine_class(r2, c, align_corners)
        self.pred5, self.pred4, self.pred3, self.pred2 = (_conv3x3(c, 2) for _ in range(4))
        self.align_corners = align_corners

    def forward(
        self, target: Features, reference_r5: Tensor, deep: bool = False
    ) -> Tensor | tuple[Tensor, ...]:
        """Logits (N, 2, H, W) at the input size; with ``deep``, also p2 … p5 (training)."""
        x = self.GC(torch.cat([target.r5, reference_r5], dim=1))  # target first, as released
        m5 = x + self.convG2(F.relu(self.convG1(F.relu(x))))
        m4 = self.RF4(target.r4, m5)
        m3 = self.RF3(target.r3, m4)
        m2 = self.RF2(target.r2, m3)
        p2 = self.pred2(F.relu(m2))
        p = F.interpolate(p2, scale_factor=4.0, mode="bilinear", align_corners=self.align_corners)
        if not deep:
            return p
        return p, p2, self.pred3(F.relu(m3)), self.pred4(F.relu(m4)), self.pred5(F.relu(m5))


class RGMPNet(nn.Module):
    """The whole network; ``state_dict()`` keys equal the released file's without ``module.``."""

    decoder_class: type[Decoder] = Decoder

    def __init__(self, align_corners: bool = True, size: str = "full"):
        super().__init__()
        widths = network_size(size)
        self.size = size
        self.Encoder = Encoder(widths)
        self.Decoder = self.decoder_class(align_corners, widths)

    def forward(self, rgb: Tensor, mask: Tensor, reference_r5: Tensor) -> Tensor:
        """Logits for target frames ``rgb`` with previous masks ``mask`` against reference
        features."""
        return self.Decoder(self.Encoder(rgb, mask), reference_r5)

    def for_inference(self) -> RGMPNet:
        """A copy with every frozen BatchNorm folded into its convolution (same outputs, fewer
        passes).

        The stem's ``bn1`` folds into both ``conv1`` and ``conv1_p``, whose outputs it normalises
        together. The copy is for inference only: its state dict no longer matches the file.
        """
        net = fold_batchnorm(self)
        encoder = net.Encoder
        if isinstance(encoder.bn1, FrozenBatchNorm2d):
            encoder.conv1, encoder.conv1_p = fold_stem(encoder.conv1, encoder.conv1_p, encoder.bn1)
            encoder.bn1 = nn.Identity()
        return net.eval()
