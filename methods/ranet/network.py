"""The RANet network (Wang et al., ICCV 2019): ranking attention over template correlation maps.

Module and parameter names are those of the authors' released checkpoints (``base_model.*``,
``L3``, ``Ranking.0.2.weight`` …), registered in the same order, so all three files load
strictly. Shapes below are for the fixed 480×864 input.

* Backbone: a torchvision-layout ResNet-101 whose BatchNorms are affine InstanceNorms
  (no running statistics: the same in training and evaluation) → feat0 … feat4 (1/2 … 1/32).
* Matching features: L3(feat2) max-pooled, L4(feat3), L5(feat4) upsampled ×2, each
  L2-normalised, fused by L_g and normalised again → 512 × 30 × 54.
* Template kernels: the template frame's matching features pooled to 15 × 27; each of the 405
  cells is a 512-d 1×1 kernel. Correlation with the current frame gives 405 maps (30 × 54).
* Ranking attention: the correlation max-pooled to 15 × 27 is re-read with the *current* pooled
  positions as channels and the template cells as the grid; ``Ranking`` scores each template
  cell. Maps are ranked by their global maximum plus 0.2 × score; the top 256 of the foreground
  and of the background maps go through the shared merge net (``p_1``, ``res_1``, ``p_2``).
* Decoder: three levels (R1 at 1/8, R2 at 1/4, R3 at 1/2 → full size) fed with low-level
  features (``ls*``), the merged maps and the previous mask; sigmoid output.
* ``rank_A``, ``p_1b``, ``res_1b``, ``p_2b`` are stored in the checkpoints but never used by the
  authors' evaluation: kept so loading stays strict
  (:data:`vosbench_methods.ranet.card.DEAD_MODULES`).

Upsampling conventions follow the released code: ``UpsamplingBilinear2d`` (corners aligned)
inside the ``ls*`` and decoder blocks, ``F.upsample`` (corners not aligned) for L5 and the
selected correlation maps.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from vosbench_methods.common.resnet import resnet101

from vosbench.errors import ConfigError

TOP_K = 256
RANK_WEIGHT = 0.2


def conv_block(cin: int, cout: int, k: int = 3, up: int = 1) -> nn.Sequential:
    """InstanceNorm (no parameters) → ReLU → conv with bias [→ bilinear ×up, corners aligned].

    The authors' ``make_layer2``: the conv sits at index 2, hence keys ``<name>.2.weight``.
    """
    layers: list[nn.Module] = [
        nn.InstanceNorm2d(cin),
        nn.ReLU(),
        nn.Conv2d(cin, cout, k, padding=(k - 1) // 2),
    ]
    if up != 1:
        layers.append(nn.Upsample(scale_factor=up, mode="bilinear", align_corners=True))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    """Bottleneck residual block with non-affine InstanceNorms (the authors' ``ResBlock2``)."""

    def __init__(self, channels: int, planes: int, dilation: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, planes, 1, bias=False)
        self.bn1 = nn.InstanceNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.InstanceNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, channels, 1, bias=False)
        self.bn3 = nn.InstanceNorm2d(channels)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)) + x)


class MultiScaleBlock(nn.Module):
    """Sum of three 3×3 convolutions with dilations 1, 3, 6 (the code; the supplement
    says 1, 6, 9)."""

    def __init__(self, cin: int, cout: int, dilations: Sequence[int] = (1, 3, 6)):
        super().__init__()
        self.l1, self.l2, self.l3 = (
            nn.Conv2d(cin, cout, 3, padding=d, dilation=d, bias=False) for d in dilations
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.l1(x) + self.l2(x) + self.l3(x)


def _upsample_aligned() -> nn.Module:
    return nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)


def _up2(x: Tensor) -> Tensor:
    """×2 bilinear without aligned corners (``F.upsample`` under PyTorch ≥ 0.4)."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def select_top(maps: Tensor, scores: Tensor, k: int = TOP_K) -> Tensor:
    """The k maps (N, C, H, W) → (N, k, H, W) with the highest global max + score (N, C)."""
    ranking = maps.amax(dim=(2, 3)) + scores
    order = ranking.sort(dim=1, descending=True).indices[:, :k]
    return torch.gather(maps, 1, order[:, :, None, None].expand(-1, -1, *maps.shape[2:]))


class RANetNet(nn.Module):
    """The whole network; ``state_dict()`` keys equal the released files'."""

    def __init__(self) -> None:
        super().__init__()
        self.base_model = resnet101(
            with_fc=False, norm_layer=lambda c: nn.InstanceNorm2d(c, affine=True)
        )
        self.p_1, self.res_1, self.p_2 = (
            conv_block(256, 256),
            ResBlock(256, 128),
            conv_block(256, 128),
        )
        self.p_1b, self.res_1b, self.p_2b = (
            conv_block(256, 256),
            ResBlock(256, 128),
            conv_block(256, 128),
        )
        self.ls13, self.ls14, self.ls15 = (
            conv_block(512, 32, 1),
            conv_block(1024, 16, 1, 2),
            conv_block(2048, 16, 1, 4),
        )
        self.ls22, self.ls23, self.ls24 = (
            conv_block(256, 32, 1),
            conv_block(512, 16, 1, 2),
            conv_block(1024, 16, 1, 4),
        )
        self.ls31, self.ls32, self.ls33 = (
            conv_block(64, 32, 1),
            conv_block(256, 16, 1, 2),
            conv_block(512, 16, 1, 4),
        )
        self.R2 = nn.Sequential(
            conv_block(192, 128),
            conv_block(128, 64),
            MultiScaleBlock(64, 32),
            ResBlock(32, 16),
            _upsample_aligned(),
        )
        self.R3 = nn.Sequential(
            conv_block(96, 64),
            conv_block(64, 32),
            MultiScaleBlock(32, 16),
            _upsample_aligned(),
            ResBlock(16, 8),
            nn.Conv2d(16, 1, 3, padding=1),
        )
        self.R1 = nn.Sequential(
            conv_block(321, 256),
            conv_block(256, 256),
            MultiScaleBlock(256, 128),
            ResBlock(128, 64),
            _upsample_aligned(),
        )
        self.L4, self.L5, self.L3 = (
            conv_block(1024, 256),
            conv_block(2048, 512),
            conv_block(512, 128),
        )
        self.L_g = conv_block(896, 512)
        self.rank_A = nn.Sequential(nn.Conv1d(2, 8, 1), nn.PReLU(), nn.Conv1d(8, 1, 1), nn.ReLU())
        self.Ranking = nn.Sequential(conv_block(405, 128), ResBlock(128, 32, 2), conv_block(128, 1))

    # -- features ---------------------------------------------------------------------------

    def backbone(self, x: Tensor) -> list[Tensor]:
        """feat0 … feat4 (1/2 … 1/32) of an ImageNet-normalised image."""
        return list(self.base_model.features(x).values())

    def matching(self, feats: Sequence[Tensor]) -> Tensor:
        """L2-normalised matching features (N, 512, H/16, W/16)."""
        f3 = F.normalize(F.max_pool2d(self.L3(feats[2]), 2))
        f4 = F.normalize(self.L4(feats[3]))
        f5 = F.normalize(_up2(self.L5(feats[4])))
        return F.normalize(self.L_g(torch.cat([f3, f4, f5], dim=1)))

    def template(self, x: Tensor) -> Tensor:
        """Template kernels (N, 512, h, w): matching features average-pooled 2×2
        (15×27 at 480×864)."""
        return F.avg_pool2d(self.matching(self.backbone(x)), 2)

    @staticmethod
    def correlate(kernels: Tensor, features: Tensor) -> Tensor:
        """(N, h·w, H, W): each template cell's 512-d kernel against every current position.

        A 1×1 convolution per sample, as released: the ranking sorts these values, so the same
        arithmetic keeps near-ties in the same order.
        """
        maps = [
            F.conv2d(f[None], k.flatten(1).t()[:, :, None, None].contiguous())
            for k, f in zip(kernels, features)
        ]
        return torch.cat(maps)

    def ranking_scores(self, corr: Tensor) -> Tensor:
        """0.2·ReLU(Ranking(·)) per template cell (N, h·w), from the max-pooled correlation re-read
        with current positions as channels and template cells as the grid."""
        n, cells, height, width = corr.shape
        pooled = F.max_pool2d(corr, 2)
        grid = pooled.shape[-2:]
        if cells != grid[0] * grid[1] or cells != self.Ranking[0][2].in_channels:
            raise ConfigError(
                f"RANet's ranking module takes {self.Ranking[0][2].in_channels} template cells; "
                f"this input gives {cells} (only 480x864 inputs fit the released weights)"
            )
        flipped = pooled.permute(0, 2, 3, 1).reshape(n, cells, *grid)
        return RANK_WEIGHT * F.relu(self.Ranking(flipped)).flatten(1)

    def merge(self, maps: Tensor) -> Tensor:
        """The shared merge net on selected maps upsampled ×2: (N, 256, H, W) → (N, 128, 2H, 2W)."""
        return self.p_2(self.res_1(self.p_1(_up2(maps))))

    def decode(
        self, feats: Sequence[Tensor], foreground: Tensor, background: Tensor, previous: Tensor
    ) -> Tensor:
        """Foreground probability (N, 1, H, W); ``feats`` may have batch 1 for N objects."""
        n = foreground.shape[0]

        def side(*tensors: Tensor) -> Tensor:
            return torch.cat(tensors, dim=1).expand(n, -1, -1, -1)

        level1 = side(self.ls13(feats[2]), self.ls14(feats[3]), self.ls15(feats[4]))
        prev = F.adaptive_avg_pool2d(previous, foreground.shape[-2:])
        out = self.R1(torch.cat([level1, foreground, background, prev], dim=1))
        out = self.R2(
            torch.cat(
                [side(self.ls22(feats[1]), self.ls23(feats[2]), self.ls24(feats[3])), out], dim=1
            )
        )
        out = self.R3(
            torch.cat(
                [side(self.ls31(feats[0]), self.ls32(feats[1]), self.ls33(feats[2])), out], dim=1
            )
        )
        return torch.sigmoid(out)

    # -- the two evaluation heads -----------------------------------------------------------

    def forward_single(
        self, x: Tensor, kernels: Tensor, template_mask: Tensor, previous: Tensor
    ) -> Tensor:
        """Single-object head: binary template and previous masks (N, 1, H, W) → probability
        (N, 1, H, W).

        Foreground cells are weighted by their object fraction; background cells are those with
        at most 10 % object (hard weights), as released.
        """
        feats = self.backbone(x)
        corr = self.correlate(kernels, self.matching(feats))
        weight = F.adaptive_avg_pool2d(template_mask, kernels.shape[-2:]).flatten(1)
        weight_bg = ((1 - weight) >= 0.9).to(corr.dtype)
        maps = torch.cat([corr * weight[:, :, None, None], corr * weight_bg[:, :, None, None]])
        scores = self.ranking_scores(maps) * torch.cat([(weight != 0).to(corr.dtype), weight_bg])
        merged = self.merge(select_top(maps, scores))  # foreground and background as one batch
        n = x.shape[0]
        return self.decode(feats, merged[:n], merged[n:], previous)

    def forward_multi(
        self, x: Tensor, kernels: Tensor, template_masks: Tensor, previous: Tensor
    ) -> Tensor:
        """Multi-object head: template masks (1, K+1, H, W) [background incl. padding, objects],
        previous object masks (1, K, H, W) → probabilities (1, K, H, W).

        Backbone, correlation and the ranking scores (of the unmasked correlation) are shared;
        per object, the foreground maps are that object's and the background maps are all the
        other masks' (background and other objects), ranked jointly. Objects run as a batch.
        """
        feats = self.backbone(x)
        corr = self.correlate(kernels, self.matching(feats))
        scores = self.ranking_scores(corr)  # (1, cells)
        weights = F.adaptive_avg_pool2d(template_masks, kernels.shape[-2:]).flatten(2)[
            0
        ]  # (K+1, cells)
        maps = corr * weights[:, :, None, None]  # (K+1, cells, H, W)
        ranks = scores * weights  # (K+1, cells)
        objects = weights.shape[0] - 1
        fg, bg = [], []
        for i in range(1, objects + 1):
            others = [j for j in range(objects + 1) if j != i]
            fg.append(select_top(maps[i : i + 1], ranks[i : i + 1]))
            bg.append(select_top(maps[others].flatten(0, 1)[None], ranks[others].flatten()[None]))
        merged = self.merge(torch.cat(fg + bg))
        return self.decode(
            feats, merged[:objects], merged[objects:], previous.transpose(0, 1)
        ).transpose(0, 1)
