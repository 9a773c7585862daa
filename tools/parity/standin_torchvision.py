"""Minimal ``torchvision`` stand-in so the authors' RGMP/FAN files can be imported on CPU.

Why: their ``model.py``/``utils.py``/``run.py`` do ``from torchvision import models`` and
build ``models.resnet50(pretrained=True)``; there is no CPU torchvision build here and it must
not be installed.  This module, written from scratch, offers only what they use: a
torchvision-layout Bottleneck ResNet (v1.5: stride on the 3x3 ``conv2``) with the exact module
and parameter names (so state dicts match torchvision key for key), torchvision's default
initialisation, and the same construction order (so a given seed consumes the RNG the same way).

``pretrained=True`` never downloads: it returns a randomly initialised network, silently; real
weights are loaded afterwards from a checkpoint by whoever needs them.

Use ``install()`` to register it as ``torchvision`` and ``torchvision.models`` in ``sys.modules``.
It does not import anything from the vosbench project.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor, nn

__all__ = ["STANDIN_MARKER", "Bottleneck", "ResNet", "install", "resnet50", "resnet101"]

#: Attribute set on the fake ``torchvision`` module so ``install()`` can recognise its own work.
STANDIN_MARKER = "__vosbench_standin__"
__version__ = "0.0.0+vosbench.standin"


def _conv3x3(
    in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1
) -> nn.Conv2d:
    return nn.Conv2d(
        in_planes,
        out_planes,
        kernel_size=3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
    )


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class Bottleneck(nn.Module):
    """torchvision's ResNet v1.5 bottleneck: 1x1 -> 3x3 (carries the stride) -> 1x1, x4
    expansion."""

    expansion: int = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        # Registration order fixes the state-dict key order: conv1 bn1 conv2 bn2 conv3 bn3 relu
        # downsample.
        self.conv1 = _conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = _conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ``ResNet`` (Bottleneck variants only): same names, init and build order."""

    def __init__(
        self,
        block: type = Bottleneck,
        layers: Sequence[int] = (3, 4, 6, 3),
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        replace_stride_with_dilation: Sequence[bool] | None = None,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(
                "replace_stride_with_dilation should be None or a 3-element tuple, "
                f"got {replace_stride_with_dilation}"
            )
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(
            block, 128, layers[1], stride=2, dilate=replace_stride_with_dilation[0]
        )
        self.layer3 = self._make_layer(
            block, 256, layers[2], stride=2, dilate=replace_stride_with_dilation[1]
        )
        self.layer4 = self._make_layer(
            block, 512, layers[3], stride=2, dilate=replace_stride_with_dilation[2]
        )
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        # torchvision's default init; Linear keeps PyTorch's own default.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)

    def _make_layer(
        self, block: type, planes: int, blocks: int, stride: int = 1, dilate: bool = False
    ) -> nn.Sequential:
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, planes * block.expansion, stride),
                norm_layer(planes * block.expansion),
            )
        layers = [
            block(
                self.inplanes,
                planes,
                stride,
                downsample,
                self.groups,
                self.base_width,
                previous_dilation,
                norm_layer,
            )
        ]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(
                block(
                    self.inplanes,
                    planes,
                    groups=self.groups,
                    base_width=self.base_width,
                    dilation=self.dilation,
                    norm_layer=norm_layer,
                )
            )
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def _resnet(layers: Sequence[int], pretrained: bool, kwargs: dict[str, Any]) -> ResNet:
    # Accepted and ignored: the pretrained/weights/progress switches of old and new torchvision.
    # Nothing is downloaded and nothing is printed; the network stays randomly initialised.
    del pretrained
    for key in ("weights", "progress"):
        kwargs.pop(key, None)
    return ResNet(Bottleneck, layers, **kwargs)


def resnet50(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """ResNet-50 with torchvision's layout (25,557,032 parameters at 1000 classes)."""
    return _resnet((3, 4, 6, 3), pretrained, kwargs)


def resnet101(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """ResNet-101 with torchvision's layout (44,549,160 parameters at 1000 classes)."""
    return _resnet((3, 4, 23, 3), pretrained, kwargs)


def install() -> types.ModuleType:
    """Register the stand-in as ``torchvision`` / ``torchvision.models``; idempotent.

    Refuses (RuntimeError) to shadow a real torchvision that is already imported in this process,
    since other code may hold references to it.
    """
    existing = sys.modules.get("torchvision")
    if existing is not None:
        if getattr(existing, STANDIN_MARKER, False):
            return existing
        raise RuntimeError(
            "a real torchvision is already imported; the stand-in will not replace it"
        )

    models = types.ModuleType("torchvision.models", "vosbench stand-in for torchvision.models")
    models.ResNet = ResNet
    models.Bottleneck = Bottleneck
    models.resnet50 = resnet50
    models.resnet101 = resnet101
    setattr(models, STANDIN_MARKER, True)

    package = types.ModuleType("torchvision", "vosbench stand-in for torchvision (models only)")
    package.__path__ = []  # look like a package so ``import torchvision.models`` resolves
    package.__version__ = __version__
    package.models = models
    setattr(package, STANDIN_MARKER, True)

    sys.modules["torchvision"] = package
    sys.modules["torchvision.models"] = models
    return package
