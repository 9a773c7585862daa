"""Inference set-up shared by the networks: precision contexts, BatchNorm folding, seeded init.

Nothing here changes global state: precision and TF32 switches are context managers entered
around each step, and random initialisation uses a forked RNG.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import torch
from torch import nn

from vosbench.errors import ConfigError

from .resnet import Bottleneck, FrozenBatchNorm2d

AUTOCAST_DTYPES = {"amp-bf16": torch.bfloat16, "amp-fp16": torch.float16}


@contextlib.contextmanager
def precision_context(device: torch.device, precision: str) -> Iterator[None]:
    """Autocast for ``amp-*``; on CUDA, cuDNN TF32 on only for ``tf32``.

    ``fp16`` needs no context: the method casts its network and inputs to half itself (the
    whole-model ``.half()`` of releases such as RANet's), so nothing is autocast.

    PyTorch lets cuDNN convolutions use TF32 by default, so a plain "fp32" run on an Ampere or
    newer GPU would silently be TF32; here fp32 means fp32.
    """
    with contextlib.ExitStack() as stack:
        if device.type == "cuda":
            cudnn = torch.backends.cudnn
            stack.enter_context(cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark,
                                            deterministic=cudnn.deterministic,
                                            allow_tf32=precision == "tf32"))
        if precision in AUTOCAST_DTYPES:
            stack.enter_context(torch.autocast(device.type, dtype=AUTOCAST_DTYPES[precision]))
        elif precision not in ("fp32", "tf32", "fp16"):
            raise ConfigError(f"unsupported precision {precision!r}")
        yield


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Build modules with a fixed seed without touching the caller's RNG state.

    Random-init runs (speed tests) are then reproducible: the same seed gives the same
    network and the same masks.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _affine(norm: FrozenBatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The (scale, shift) per channel that a frozen BatchNorm applies."""
    scale = norm.weight * (norm.running_var + norm.eps).rsqrt()
    return scale, norm.bias - norm.running_mean * scale


def _fold(conv: nn.Conv2d, norm: FrozenBatchNorm2d) -> nn.Conv2d:
    """A conv with the following frozen BatchNorm folded into its weights and bias."""
    scale, shift = _affine(norm)
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                       padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True,
                       device=conv.weight.device, dtype=conv.weight.dtype)
    with torch.no_grad():
        folded.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
        folded.bias.copy_(bias * scale + shift)
    return folded


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """An inference copy of ``module`` whose bottlenecks' frozen BatchNorms are folded into the convs.

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
            if isinstance(down, nn.Sequential) and len(down) == 2 and isinstance(down[1], FrozenBatchNorm2d):
                block.downsample = nn.Sequential(_fold(down[0], down[1]), nn.Identity())
    return folded


def fold_stem(conv: nn.Conv2d, extra: nn.Conv2d, norm: FrozenBatchNorm2d) -> tuple[nn.Conv2d, nn.Conv2d]:
    """Fold ``norm(conv(x) + extra(y))`` into ``conv'(x) + extra'(y)`` (RGMP's RGB + mask stem)."""
    scale, _ = _affine(norm)
    rgb = _fold(conv, norm)  # carries the BN shift (plus conv's own bias, if any)
    mask = nn.Conv2d(extra.in_channels, extra.out_channels, extra.kernel_size, stride=extra.stride,
                     padding=extra.padding, bias=extra.bias is not None, device=extra.weight.device,
                     dtype=extra.weight.dtype)
    with torch.no_grad():
        mask.weight.copy_(extra.weight * scale.view(-1, 1, 1, 1))
        if extra.bias is not None:
            mask.bias.copy_(extra.bias * scale)
    return rgb, mask
