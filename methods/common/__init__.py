"""Building blocks shared by several methods: the ResNet backbone, weights files, inference
set-up."""

from __future__ import annotations

from vosbench.runner.checkpoint import (
    CHECKPOINT_FORMAT,
    WeightsError,
    fit_state_dict,
    load_state_dict_file,
    read_state_dict,
    save_checkpoint,
)

from .resnet import (
    FEATURE_NAMES,
    Bottleneck,
    FrozenBatchNorm2d,
    ResNet,
    freeze_batchnorm,
    resnet50,
    resnet101,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "FEATURE_NAMES",
    "Bottleneck",
    "FrozenBatchNorm2d",
    "ResNet",
    "WeightsError",
    "fit_state_dict",
    "freeze_batchnorm",
    "load_state_dict_file",
    "read_state_dict",
    "resnet50",
    "resnet101",
    "save_checkpoint",
]
