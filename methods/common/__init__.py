"""Building blocks shared by several methods (the ResNet backbone and its weight loading)."""

from __future__ import annotations

from .resnet import (
    FEATURE_NAMES,
    Bottleneck,
    FrozenBatchNorm2d,
    ResNet,
    WeightsError,
    freeze_batchnorm,
    load_state_dict_file,
    read_state_dict,
    resnet50,
    resnet101,
)

__all__ = [
    "FEATURE_NAMES",
    "Bottleneck",
    "FrozenBatchNorm2d",
    "ResNet",
    "WeightsError",
    "freeze_batchnorm",
    "load_state_dict_file",
    "read_state_dict",
    "resnet50",
    "resnet101",
]
