"""The COSNet network (Lu et al., CVPR 2019): a DeepLabv3 encoder shared by two frames,
co-attention.

Module and parameter names are those of the authors' released checkpoint (``encoder.*``,
``linear_e``, ``gate``, ``conv1`` … ``main_classifier2``), registered in the same order, so the
file loads strictly (687 entries, 81,242,436 parameters). Shapes below are for the 473×473 input.

* Encoder (``encoder``): DeepLabv3 on a Caffe-style ResNet-101 — the stride on each block's 1×1
  ``conv1``, a ceil-mode stem pool, layers 3 and 4 dilated 2 and 4 (output stride 8, 60×60) —
  and ASPP (``layer5``: image pooling, a 1×1 and three 3×3 branches at rates 6/12/18, 512
  channels each, fused by a 3×3 convolution to 256 channels, BatchNorm, PReLU) → V (256×60×60).
  Its saliency head (``main_classifier``, sigmoid) is used in training only.
* Co-attention: with Va, Vb the two frames' V flattened to 256×3600 and W = ``linear_e``,
  A = Vaᵀ Wᵀ Vb (3600×3600). Za = Vb · softmax(Aᵀ over Vb's positions) attends Vb for frame a;
  Zb = Va · softmax(A over Va's positions) attends Va for frame b. A shared ``gate`` (1×1 conv,
  sigmoid) scales each attended map per pixel.
* Heads: frame a: cat[Za·g, Va] → ``conv1`` 3×3 → ``bn1`` → ReLU → ``main_classifier1`` →
  bilinear to the input size (corners not aligned, PyTorch 1.0.1's ``F.upsample``) → sigmoid
  = x1; frame b the same with ``conv2`` / ``bn2`` / ``main_classifier2`` = x2.

At test time only x1 is used, so :meth:`COSNetNet.segment` computes x1 alone from encoder
features that the caller may reuse across pairs; :meth:`COSNetNet.forward` is the released
three-output forward (training, parity). :meth:`COSNetNet.segment_group` is the released group
variant: the references' features concatenated along the height before co-attention.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from vosbench_methods.common.resize import bilinear_resize
from vosbench_methods.common.resnet import ResNet

from vosbench.runner.checkpoint import fit_state_dict, read_state_dict

from .card import INPUT_SIZE

FEATURE_CHANNELS = 256
RESNET101_BLOCKS = (3, 4, 23, 3)
ASPP_RATES = (6, 12, 18)


class ASPP(nn.Module):
    """DeepLabv3's atrous spatial pyramid pooling with the released names (``conv``/``bn_x`` image
    pooling, ``conv2d_0..3``/``bn_0..3`` branches, ``bottleneck``/``bn``/``prelu`` fusion)."""

    def __init__(
        self,
        in_channels: int = 2048,
        depth: int = 512,
        rates: Sequence[int] = ASPP_RATES,
        out_channels: int = FEATURE_CHANNELS,
    ):
        super().__init__()
        self.mean = nn.AdaptiveAvgPool2d((1, 1))
        self.conv = nn.Conv2d(in_channels, depth, 1)
        self.bn_x = nn.BatchNorm2d(depth)
        self.conv2d_0 = nn.Conv2d(in_channels, depth, 1)
        self.bn_0 = nn.BatchNorm2d(depth)
        for index, rate in enumerate(
            rates, start=1
        ):  # registered interleaved, as the released keys
            setattr(
                self,
                f"conv2d_{index}",
                nn.Conv2d(in_channels, depth, 3, padding=rate, dilation=rate),
            )
            setattr(self, f"bn_{index}", nn.BatchNorm2d(depth))
        self.branches = 1 + len(rates)
        self.relu = nn.ReLU(inplace=True)
        self.bottleneck = nn.Conv2d(depth * (self.branches + 1), out_channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(out_channels)
        self.prelu = nn.PReLU()

    def forward(self, x: Tensor) -> Tensor:
        # The released code upsamples the 1x1 pooled map with align_corners=True: a broadcast.
        pooled = self.relu(self.bn_x(self.conv(self.mean(x)))).expand(-1, -1, *x.shape[2:])
        branches = [pooled]
        for index in range(self.branches):
            conv, norm = getattr(self, f"conv2d_{index}"), getattr(self, f"bn_{index}")
            branches.append(self.relu(norm(conv(x))))
        return self.prelu(self.bn(self.bottleneck(torch.cat(branches, 1))))


class DeepLabV3(ResNet):
    """The encoder: Caffe-style dilated ResNet-101 (output stride 8) + ASPP + saliency classifier.

    The downsample branches' BatchNorm parameters are frozen in training, as released.
    """

    def __init__(self) -> None:
        super().__init__(
            RESNET101_BLOCKS,
            with_fc=False,
            stride_in_1x1=True,
            replace_stride_with_dilation=(False, True, True),
            dilate_first_block=True,
            maxpool_ceil_mode=True,
            freeze_downsample_norm=True,
        )
        self.layer5 = ASPP()
        self.main_classifier = nn.Conv2d(FEATURE_CHANNELS, 1, 1)

    def encode(self, x: Tensor) -> Tensor:
        """V: (N, 256, h/8, w/8) features of a pre-processed (N, 3, h, w) batch."""
        return self.layer5(super().forward(x))

    def saliency(self, features: Tensor, size: tuple[int, int]) -> Tensor:
        """The encoder's own foreground probability at ``size`` (training loss on static images)."""
        return torch.sigmoid(bilinear_resize(self.main_classifier(features), size))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(V, saliency probability), as the released encoder returns them."""
        features = self.encode(x)
        return features, self.saliency(features, tuple(x.shape[2:]))


class COSNetNet(nn.Module):
    """The co-attention Siamese network with the released module names and order."""

    def __init__(self, channels: int = FEATURE_CHANNELS):
        super().__init__()
        self.encoder = DeepLabV3()
        self.linear_e = nn.Linear(channels, channels, bias=False)
        self.gate = nn.Conv2d(channels, 1, 1, bias=False)
        self.conv1 = nn.Conv2d(channels * 2, channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(channels * 2, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.prelu = nn.ReLU(inplace=True)  # named prelu in the released code; a plain ReLU
        self.main_classifier1 = nn.Conv2d(channels, 1, 1)
        self.main_classifier2 = nn.Conv2d(channels, 1, 1)
        init_like_release(self)

    def load_encoder(self, path: Path | str) -> None:
        """Load the DeepLabv3 training initialisation into ``encoder`` strictly: the released
        ``deeplab_davis_12_0.pth`` (``module.``-prefixed ResNet + ASPP keys) or its vosbench
        conversion (``encoder.*`` keys); the co-attention layers keep their own weights."""
        state = read_state_dict(path, rename={"encoder.": ""}, method="cosnet")
        fitted = fit_state_dict(self.encoder.state_dict(), state, path, what="the cosnet encoder")
        self.encoder.load_state_dict(fitted)

    # -- co-attention ------------------------------------------------------------------------

    def affinity(self, va: Tensor, vb: Tensor) -> Tensor:
        """A = Vaᵀ Wᵀ Vb: (N, positions of a, positions of b) for (N, C, h, w) features."""
        flat_a, flat_b = va.flatten(2), vb.flatten(2)
        return torch.bmm(self.linear_e(flat_a.transpose(1, 2).contiguous()), flat_b)

    def attend(self, affinity: Tensor, values: Tensor, like: Tensor) -> Tensor:
        """values (N, C, ·) weighted by ``affinity`` (N, positions of values, positions of
        ``like``), a softmax over the values' positions, gated, shaped like ``like``
        (N, C, h, w)."""
        attended = torch.bmm(values.flatten(2), F.softmax(affinity, dim=1)).view_as(like)
        return attended * torch.sigmoid(self.gate(attended))

    def coattention(self, va: Tensor, vb: Tensor) -> tuple[Tensor, Tensor]:
        """(Za·g, Zb·g): Vb attended for frame a and Va attended for frame b, both gated."""
        affinity = self.affinity(va, vb)
        return self.attend(affinity.transpose(1, 2), vb, va), self.attend(affinity, va, vb)

    # -- heads ------------------------------------------------------------------------------------

    def head1(self, attended: Tensor, features: Tensor, size: tuple[int, int]) -> Tensor:
        """x1: the frame-a probability at ``size`` from its gated attended map and its own
        features."""
        x = self.prelu(self.bn1(self.conv1(torch.cat([attended, features], 1))))
        return torch.sigmoid(bilinear_resize(self.main_classifier1(x), size))

    def head2(self, attended: Tensor, features: Tensor, size: tuple[int, int]) -> Tensor:
        x = self.prelu(self.bn2(self.conv2(torch.cat([attended, features], 1))))
        return torch.sigmoid(bilinear_resize(self.main_classifier2(x), size))

    def segment(
        self, va: Tensor, vb: Tensor, size: tuple[int, int] = (INPUT_SIZE, INPUT_SIZE)
    ) -> Tensor:
        """x1 alone (N, 1, *size) from the encoder features of the frame (``va``) and a reference
        (``vb``).

        Equal to ``forward(input1, input2)[0]`` when ``va``/``vb`` are those inputs' features;
        x2 and the saliency map are not computed.
        """
        affinity = self.affinity(va, vb).transpose(1, 2)
        return self.head1(self.attend(affinity, vb, va), va, size)

    def segment_group(
        self,
        va: Tensor,
        references: Sequence[Tensor],
        size: tuple[int, int] = (INPUT_SIZE, INPUT_SIZE),
    ) -> Tensor:
        """The released group variant: x1 from the references' features concatenated along the
        height.

        As released, the affinity is normalised twice: a softmax over the frame's positions, then a
        softmax of that result over the references' positions gives the weights with which the
        references' features are attended for the frame (the pair model has the second only).
        """
        vb = torch.cat(list(references), dim=2)
        normalised = F.softmax(self.affinity(va, vb), dim=1)
        return self.head1(self.attend(normalised.transpose(1, 2), vb, va), va, size)

    def forward(self, input1: Tensor, input2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(x1, x2, temp) as released: both branches' probabilities and input2's saliency map."""
        size = tuple(input1.shape[2:])
        va = self.encoder.encode(input1)
        vb, saliency = self.encoder(input2)
        za, zb = self.coattention(va, vb)
        return self.head1(za, va, size), self.head2(zb, vb, size), saliency


def init_like_release(module: nn.Module) -> None:
    """The released initialisation: convolutions N(0, 0.01), BatchNorm weight 1 and bias 0; the
    rest (convolution biases, ``linear_e``, PReLU 0.25) PyTorch's defaults."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.01)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
