"""Inference set-up shared by the networks: BatchNorm folding into the convolutions.

Precision contexts and seeded initialisation live in :mod:`vosbench.runner.contexts`, shared
with the trainer.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .resnet import Bottleneck, FrozenBatchNorm2d


def _affine(norm: FrozenBatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The (scale, shift) per channel that a frozen BatchNorm applies."""
    scale = norm.weight * (norm.running_var + norm.eps).rsqrt()
    return scale, norm.bias - norm.running_mean * scale


def _fold(conv: nn.Conv2d, norm: FrozenBatchNorm2d) -> nn.Conv2d:
    """A conv with the following frozen BatchNorm folded into its weights and bias."""
    scale, shift = _affine(norm)
    folded = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=True,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    with torch.no_grad():
        folded.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
        folded.bias.copy_(bias * scale + shift)
    return folded


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """An inference copy of ``module`` whose bottlenecks' frozen BatchNorms are folded into the
    convs.

    Saves three full-size passes over the activations per bottleneck. Only
    :class:`FrozenBatchNorm2d` is folded (its statistics are fixed by construction); the
    original module (and its state-dict keys) is left untouched.
    """
    folded = copy.deepcopy(module)
    for block in folded.modules():
        if isinstance(block, Bottleneck):
            for conv_name, norm_name in (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")):
                norm = getattr(block, norm_name)
                if isinstance(norm, FrozenBatchNorm2d):
                    setattr(block, conv_name, _fold(getattr(block, conv_name), norm))
                    setattr(block, norm_name, nn.Identity())
            down = block.downsample
            if (
                isinstance(down, nn.Sequential)
                and len(down) == 2
                and isinstance(down[1], FrozenBatchNorm2d)
            ):
                block.downsample = nn.Sequential(_fold(down[0], down[1]), nn.Identity())
    return folded


def fold_stem(
    conv: nn.Conv2d, extra: nn.Conv2d, norm: FrozenBatchNorm2d
) -> tuple[nn.Conv2d, nn.Conv2d]:
    """Fold ``norm(conv(x) + extra(y))`` into ``conv'(x) + extra'(y)`` (RGMP's RGB + mask stem)."""
    scale, _ = _affine(norm)
    rgb = _fold(conv, norm)  # carries the BN shift (plus conv's own bias, if any)
    mask = nn.Conv2d(
        extra.in_channels,
        extra.out_channels,
        extra.kernel_size,
        stride=extra.stride,
        padding=extra.padding,
        bias=extra.bias is not None,
        device=extra.weight.device,
        dtype=extra.weight.dtype,
    )
    with torch.no_grad():
        mask.weight.copy_(extra.weight * scale.view(-1, 1, 1, 1))
        if extra.bias is not None:
            mask.bias.copy_(extra.bias * scale)
    return rgb, mask
