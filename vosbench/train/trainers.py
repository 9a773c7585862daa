"""The method side of training: how a network is built, what it learns, and its loss on a batch.

A trainer is registered under the method's name through the entry-point group
``vosbench.trainers`` (vosbench's own in ``setup.cfg``, as any package's), which fills
:data:`TRAINERS`. The engine does everything else: data, optimisation, precision,
checkpoints, validation, export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from vosbench.errors import ConfigError, PluginError
from vosbench.registry import Registry
from vosbench.train.sources import ClipBatch

TRAINERS: Registry = Registry("trainer", entry_point_group="vosbench.trainers")


@dataclass(frozen=True)
class NoOptions:
    """A trainer without options."""


class MethodTrainer:
    """Base class of the per-method training logic.

    Subclasses set ``Options`` (a frozen dataclass read from the config's ``trainer`` section)
    and implement :meth:`build_model` and :meth:`loss`.
    """

    Options: ClassVar[type] = NoOptions

    def __init__(self, method_class: type, method_config: Any, options: Any):
        self.method_class = method_class
        self.method_config = method_config
        self.options = options

    @property
    def method(self) -> str:
        return self.method_class.card.name

    def build_model(self) -> nn.Module:
        """The network in training form (the caller seeds the initialisation)."""
        raise NotImplementedError

    def clip_size_problem(self, size: tuple[int, int]) -> str | None:
        """Why clips of ``size`` (H, W) cannot be trained on, or None; checked before the network is
        built, so that a bad size is a config error rather than a shape error deep inside torch."""
        return None

    def load_imagenet(self, model: nn.Module, path: str) -> None:
        """Start the backbone from an ImageNet file with torchvision's keys."""
        raise ConfigError(f"{self.method}: no ImageNet initialisation is defined for this trainer")

    def parameter_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        """``[{"params": [...], "lr_scale": 1.0, "name": ...}]``; default: every trainable
        parameter."""
        return [
            {
                "name": "all",
                "params": [p for p in model.parameters() if p.requires_grad],
                "lr_scale": 1.0,
            }
        ]

    def loss(self, model: nn.Module, batch: ClipBatch) -> dict[str, Tensor]:
        """Loss terms of one batch (already on the model's device); ``"loss"`` is the one
        minimised."""
        raise NotImplementedError

    def export_state(self, model: nn.Module) -> dict[str, Tensor]:
        """The state dict written as the method's weights (keys as the method loads them)."""
        return model.state_dict()

    def describe(self) -> dict[str, Any]:
        return {"trainer": type(self).__name__}


def get_trainer(method: str) -> type[MethodTrainer]:
    """The trainer class of ``method`` (an error naming the methods that have one)."""
    if method not in TRAINERS:
        raise ConfigError(
            f"method {method!r} has no trainer yet; trainers exist for "
            f"{', '.join(TRAINERS.names())}"
        )
    trainer = TRAINERS.get(method)
    if not (isinstance(trainer, type) and issubclass(trainer, MethodTrainer)):
        raise PluginError(
            f"trainer of {method!r} ({TRAINERS.entry(method).origin}) is not a MethodTrainer "
            "subclass"
        )
    return trainer


def masked_mean(values: Tensor, valid: Tensor) -> Tensor:
    """Mean of ``values`` over ``valid`` pixels (0 when none is valid, keeping the graph)."""
    valid = valid.to(values.dtype)
    return (values * valid).sum() / valid.sum().clamp_min(1.0)


def pixel_bce(probability: Tensor, truth: Tensor, eps: float = 1e-6) -> Tensor:
    """Per-pixel binary cross-entropy of probabilities, in fp32 and written out:
    ``F.binary_cross_entropy`` refuses to run under CUDA autocast."""
    p = probability.float().clamp(eps, 1 - eps)
    return -(truth * torch.log(p) + (1 - truth) * torch.log1p(-p))


def object_targets(labels: Tensor, ids: Tensor) -> Tensor:
    """(…, H, W) labels and object ids (K,) → (…, K, H, W) float binary masks."""
    return (labels.unsqueeze(-3) == ids.view(-1, 1, 1).to(labels.dtype)).float()


def first_frame_objects(labels: Tensor, limit: int | None, void: int = 255) -> list[Tensor]:
    """Per clip, the ids present in its first frame (void excluded), ascending, at most
    ``limit``."""
    out = []
    for clip in labels[:, 0]:
        ids = torch.unique(clip)
        ids = ids[(ids != 0) & (ids != void)]
        out.append(ids[:limit] if limit else ids)
    return out
