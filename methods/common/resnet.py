"""ResNet-50/101 backbone with torchvision-compatible parameter names.

vosbench has no torchvision, yet RGMP, FAN, RANet and COSNet all start from a ResNet whose
weights are published under torchvision's key names (``conv1.weight``, ``layer1.0.bn1.*``,
``layer1.0.downsample.0.weight`` ...). This module rebuilds that layout so such files load with
``strict=True``, and exposes the variations those networks need as constructor options instead
of copies:

* ``norm_layer``: BatchNorm (default), :class:`FrozenBatchNorm2d` (RGMP/FAN, frozen training),
  or affine InstanceNorm (RANet).
* ``stride_in_1x1``: Caffe/DeepLab bottlenecks (COSNet) put the block stride on ``conv1``;
  torchvision (v1.5) puts it on ``conv2``. The keys are identical, the network is not.
* ``replace_stride_with_dilation`` + ``dilate_first_block``: dilated layers 3/4 (DeepLab
  output stride 8 or 16); torchvision keeps the previous dilation in a dilated layer's first
  block, DeepLab uses the new one there.
* ``maxpool_ceil_mode``: DeepLab's Caffe stem uses a ceil-mode max pool.
* ``freeze_downsample_norm``: DeepLab (COSNet) trains with the downsample branches' norm
  parameters fixed (``requires_grad=False``); inference is unaffected.
* :meth:`ResNet.features` returns the intermediate maps (``conv1``, ``res2`` ... ``res5``) and
  accepts ``stem_extra`` (RGMP adds its mask convolution to ``conv1``'s output before ``bn1``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vosbench.errors import ConfigError
from vosbench.runner.checkpoint import COUNTER as _COUNTER

NormLayer = Callable[[int], nn.Module]

FEATURE_NAMES = ("conv1", "res2", "res3", "res4", "res5")
"""Names :meth:`ResNet.features` returns; output strides 2, 4, 8, 16, 32 without dilation."""

_LAYERS = {"resnet50": (3, 4, 6, 3), "resnet101": (3, 4, 23, 3)}


class FrozenBatchNorm2d(nn.Module):
    """Eval-mode BatchNorm with fixed statistics and affine terms (all buffers, no parameters).

    Keeps BatchNorm2d's state-dict keys (``weight``, ``bias``, ``running_mean``,
    ``running_var``, ``num_batches_tracked``) so checkpoints of BN models load unchanged; a
    missing ``num_batches_tracked`` (pre-0.4 files) is tolerated. Unlike ``bn.eval()`` it
    survives ``model.train()``, which is what small-batch fine-tuning needs.
    """

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.num_features, self.eps = num_features, eps
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer(_COUNTER, torch.tensor(0, dtype=torch.long))

    @classmethod
    def from_batchnorm(cls, bn: nn.BatchNorm2d) -> FrozenBatchNorm2d:
        """Copy a BatchNorm2d's affine terms and running statistics."""
        frozen = cls(bn.num_features, bn.eps)
        with torch.no_grad():
            if bn.affine:
                frozen.weight.copy_(bn.weight)
                frozen.bias.copy_(bn.bias)
            if bn.running_mean is not None and bn.running_var is not None:
                frozen.running_mean.copy_(bn.running_mean)
                frozen.running_var.copy_(bn.running_var)
            if bn.num_batches_tracked is not None:
                frozen.num_batches_tracked.copy_(bn.num_batches_tracked)
        return frozen.to(bn.running_mean.device if bn.running_mean is not None else "cpu")

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        state_dict.setdefault(prefix + _COUNTER, self.num_batches_tracked.clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        # BatchNorm's own inference kernel: fused, and numerically what an eval-mode BN computes.
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=False,
            momentum=0.0,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"


def freeze_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d in ``module`` by an equivalent :class:`FrozenBatchNorm2d`.

    Works in place on children and returns the result (a new object only when ``module``
    itself is a BatchNorm2d). State-dict keys are unchanged.
    """
    if isinstance(module, nn.BatchNorm2d):
        return FrozenBatchNorm2d.from_batchnorm(module)
    for name, child in module.named_children():
        new = freeze_batchnorm(child)
        if new is not child:
            setattr(module, name, new)
    return module


def thaw_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every :class:`FrozenBatchNorm2d` by a trainable BatchNorm2d with the same statistics.

    The inverse of :func:`freeze_batchnorm`, for networks trained from scratch whose BatchNorms
    must learn (batch statistics in training, running ones in evaluation). State-dict keys are
    unchanged, so the trained weights load back into the frozen network.
    """
    if isinstance(module, FrozenBatchNorm2d):
        bn = nn.BatchNorm2d(module.num_features, eps=module.eps).to(module.weight.device)
        with torch.no_grad():
            for name in ("weight", "bias"):
                getattr(bn, name).copy_(getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                getattr(bn, name).copy_(getattr(module, name))
        return bn
    for name, child in module.named_children():
        new = thaw_batchnorm(child)
        if new is not child:
            setattr(module, name, new)
    return module


def _conv(cin: int, cout: int, k: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    """Bias-free conv with 'same' padding for odd ``k`` (torchvision's conv1x1/conv3x3)."""
    pad = dilation * (k - 1) // 2
    return nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dilation, bias=False)


class Bottleneck(nn.Module):
    """1×1 → 3×3 → 1×1 (×4 channels) residual block, torchvision key names.

    ``stride_in_1x1`` moves the block stride from ``conv2`` (torchvision v1.5) to ``conv1``
    (original Caffe ResNet / DeepLab).
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        norm_layer: NormLayer = nn.BatchNorm2d,
        stride_in_1x1: bool = False,
    ):
        super().__init__()
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = _conv(inplanes, planes, 1, stride=s1)
        self.bn1 = norm_layer(planes)
        self.conv2 = _conv(planes, planes, 3, stride=s3, dilation=dilation)
        self.bn2 = norm_layer(planes)
        self.conv3 = _conv(planes, planes * self.expansion, 1)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity  # in place, as torchvision: one full-size allocation less per block
        return self.relu(out)


class ResNet(nn.Module):
    """Bottleneck ResNet with torchvision's module names (``conv1``, ``bn1``, ``layer1..4``,
    ``fc``).

    Args:
        layers: blocks per stage, e.g. ``(3, 4, 6, 3)`` for ResNet-50.
        num_classes: size of ``fc``; only used when ``with_fc``.
        with_fc: keep the classifier (needed to load an ImageNet file strictly as is).
        norm_layer: builds the norm for a channel count (BatchNorm2d, FrozenBatchNorm2d,
            ``lambda c: nn.InstanceNorm2d(c, affine=True)`` ...).
        replace_stride_with_dilation: per stage 2, 3, 4: dilate instead of striding.
        dilate_first_block: a dilated stage's first block already uses the new dilation
            (DeepLab); False keeps the previous one there (torchvision).
        stride_in_1x1: stride on each block's 1×1 ``conv1`` (Caffe/DeepLab) instead of the 3×3.
        maxpool_ceil_mode: ceil-mode stem pool (Caffe/DeepLab: 473 → 237 → 119).
        zero_init_residual: start each block's last norm at zero (torchvision option).
        freeze_downsample_norm: the downsample branches' norm parameters do not train (DeepLab).
        width: stem channels; stage i has ``width·2^i`` planes and ``4·width·2^i`` outputs. 64 is
            every published ResNet; narrower ones (same keys, smaller shapes) are for small
            networks trained from scratch.
    """

    def __init__(
        self,
        layers: Sequence[int],
        *,
        num_classes: int = 1000,
        with_fc: bool = True,
        norm_layer: NormLayer = nn.BatchNorm2d,
        replace_stride_with_dilation: Sequence[bool] = (False, False, False),
        dilate_first_block: bool = False,
        stride_in_1x1: bool = False,
        maxpool_ceil_mode: bool = False,
        zero_init_residual: bool = False,
        freeze_downsample_norm: bool = False,
        width: int = 64,
    ):
        super().__init__()
        if len(layers) != 4 or len(replace_stride_with_dilation) != 3:
            raise ConfigError(
                "ResNet needs 4 stage sizes and 3 replace_stride_with_dilation flags, got "
                f"{list(layers)} and {list(replace_stride_with_dilation)}"
            )
        self._norm, self._stride_in_1x1 = norm_layer, stride_in_1x1
        self._dilate_first = dilate_first_block
        self._freeze_downsample_norm = freeze_downsample_norm
        if width < 1:
            raise ConfigError(f"ResNet width must be >= 1, got {width}")
        self.inplanes, self.dilation = width, 1
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=maxpool_ceil_mode)
        dilate = (False, *replace_stride_with_dilation)
        for i, blocks in enumerate(layers):
            stage = self._make_layer(
                width << i, blocks, stride=1 if i == 0 else 2, dilate=dilate[i]
            )
            setattr(self, f"layer{i + 1}", stage)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.inplanes, num_classes) if with_fc else None
        self._init_weights(zero_init_residual)

    def _make_layer(self, planes: int, blocks: int, stride: int, dilate: bool) -> nn.Sequential:
        previous = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        first_dilation = self.dilation if self._dilate_first else previous
        out = planes * Bottleneck.expansion
        downsample = None
        if stride != 1 or self.inplanes != out:
            downsample = nn.Sequential(_conv(self.inplanes, out, 1, stride=stride), self._norm(out))
            if self._freeze_downsample_norm:
                downsample[1].requires_grad_(False)
        kw = {"norm_layer": self._norm, "stride_in_1x1": self._stride_in_1x1}
        layers = [Bottleneck(self.inplanes, planes, stride, first_dilation, downsample, **kw)]
        self.inplanes = out
        layers += [Bottleneck(out, planes, dilation=self.dilation, **kw) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def _init_weights(self, zero_init_residual: bool) -> None:
        """torchvision's initialisation, so training from scratch behaves the same."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(getattr(m, "weight", None), Tensor) and not isinstance(m, nn.Linear):
                with torch.no_grad():  # norms: BN, frozen BN, affine IN
                    m.weight.fill_(1.0)
                    m.bias.zero_()
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and isinstance(m.bn3.weight, Tensor):
                    with torch.no_grad():
                        m.bn3.weight.zero_()

    def stages(self) -> list[tuple[str, nn.Module]]:
        """``(name, module)`` for res2 … res5, for networks that re-wire the encoder."""
        return [(f"res{i + 2}", getattr(self, f"layer{i + 1}")) for i in range(4)]

    def features(
        self,
        x: Tensor,
        *,
        stem_extra: Tensor | None = None,
        names: Iterable[str] = FEATURE_NAMES,
    ) -> dict[str, Tensor]:
        """Intermediate maps by name (``conv1`` = ReLU(bn1(conv1)), ``res2`` … ``res5``).

        ``stem_extra`` is added to ``conv1``'s output before ``bn1`` (RGMP's mask branch).
        Stops after the deepest requested map, so asking for ``res2`` alone is cheap.
        """
        wanted = set(names)
        unknown = wanted - set(FEATURE_NAMES)
        if unknown:
            raise ConfigError(f"unknown feature names {sorted(unknown)}; known: {FEATURE_NAMES}")
        y = self.conv1(x)
        if stem_extra is not None:
            y = y + stem_extra
        y = self.relu(self.bn1(y))
        out: dict[str, Tensor] = {"conv1": y} if "conv1" in wanted else {}
        y = self.maxpool(y)
        for name, stage in self.stages():
            if len(out) == len(wanted):
                break
            y = stage(y)
            if name in wanted:
                out[name] = y
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Logits with ``fc``; otherwise the ``res5`` map."""
        y = self.features(x, names=("res5",))["res5"]
        if self.fc is None:
            return y
        return self.fc(torch.flatten(self.avgpool(y), 1))


def resnet50(**kw) -> ResNet:
    """ResNet-50 (3, 4, 6, 3); options as :class:`ResNet`. 25,557,032 parameters with fc."""
    return ResNet(_LAYERS["resnet50"], **kw)


def resnet101(**kw) -> ResNet:
    """ResNet-101 (3, 4, 23, 3); options as :class:`ResNet`. 44,549,160 parameters with fc."""
    return ResNet(_LAYERS["resnet101"], **kw)
