"""FAN's network: RGMP with CBAM (Woo et al., ECCV 2018) on each refine module's skip branch.

In each of RF4, RF3, RF2 the skip feature ``s = convFS1(f)`` is re-weighted by channel
attention and then spatial attention before the residual ``convFS2/convFS3`` path; the
unattended ``s`` is added back. Parameter names follow the authors' ``model.py``
(``Decoder.RF4.ca.fc1.weight``, ``Decoder.RF4.sa.conv1.weight`` …), registered after
``convMM2`` as there, so a state dict lists in the same order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from vosbench_methods.rgmp.network import DECODER_CHANNELS, Decoder, Refine, RGMPNet

REDUCTION = 16


class ChannelAttention(nn.Module):
    """sigmoid(MLP(avg-pool) + MLP(max-pool)); one MLP (1×1 convs, no bias) shared by both pools."""

    def __init__(self, channels: int, reduction: int = REDUCTION):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.mean((2, 3), keepdim=True), x.amax((2, 3), keepdim=True)])
        mlp = self.fc2(F.relu(self.fc1(pooled)))
        n = x.shape[0]
        return torch.sigmoid(mlp[:n] + mlp[n:])


class SpatialAttention(nn.Module):
    """sigmoid(conv7×7([channel mean, channel max])) → one weight per pixel."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv1(pooled))


class CBAMRefine(Refine):
    """:class:`Refine` whose skip residual path starts with channel then spatial attention."""

    def __init__(
        self, in_channels: int, channels: int = DECODER_CHANNELS, align_corners: bool = False
    ):
        super().__init__(in_channels, channels, align_corners)
        self.ca = ChannelAttention(channels)
        self.sa = SpatialAttention()

    def attend(self, s: Tensor) -> Tensor:
        s = self.ca(s) * s
        return self.sa(s) * s


class FANDecoder(Decoder):
    refine_class = CBAMRefine


class FANNet(RGMPNet):
    """RGMP's encoder and decoder with CBAM refine modules (51,543,790 parameters)."""

    decoder_class = FANDecoder

    def __init__(self, align_corners: bool = False, size: str = "full"):
        super().__init__(align_corners, size)
