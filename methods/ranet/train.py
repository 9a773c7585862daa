"""Pair training of RANet (ranet.md §7): a template frame, a current frame and a nearby mask.

Per clip the first frame is the template (its kernels and masks), the last frame is the current
frame, and the previous-mask input is the clip's simulated previous mask of the last frame when
it has one (static pretraining), else the ground truth of the frame before the last. Video
fine-tuning therefore draws clips of three frames: template anywhere, then a frame within 5 of
the current one (``max_skip: [null, 5]``). The network works at 480×864 only (its ranking module
has one channel per template cell), so clips must have that size.

Loss: binary cross-entropy of the sigmoid output against the object mask, void ignored. One
object (or ``head: single``): the single-object head on the union of the objects, batched over
the clips; several: the multi-object head, one clip at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from vosbench.runner.checkpoint import fit_state_dict, read_state_dict
from vosbench.train.sources import ClipBatch
from vosbench.train.trainers import (
    MethodTrainer,
    first_frame_objects,
    masked_mean,
    object_targets,
    pixel_bce,
)

from .card import DEAD_MODULES
from .method import IMAGENET_MEAN, IMAGENET_STD, INPUT_HW
from .network import RANetNet

VOID = 255
EPS = 1e-6


@dataclass(frozen=True)
class PairOptions:
    """Options of the pair trainer.

    Attributes:
        head: ``single`` (all objects as one, the DAVIS-2016 model), ``multi`` (the multi-object
            head, the DAVIS-2017 model) or ``auto`` (single for clips with one object).
        max_objects: objects per clip at most for the multi-object head.
    """

    head: str = "single"
    max_objects: int = 3

    def __post_init__(self) -> None:
        if self.head not in ("single", "multi", "auto"):
            raise ValueError(f"head must be single, multi or auto, not {self.head!r}")
        if self.max_objects < 1:
            raise ValueError("max_objects must be >= 1")


class PairTrainer(MethodTrainer):
    """RANet: template / current frame / previous mask triples (see the module docstring)."""

    Options = PairOptions

    def build_model(self) -> RANetNet:
        return RANetNet()

    def clip_size_problem(self, size: tuple[int, int]) -> str | None:
        if tuple(size) == INPUT_HW:
            return None
        return (
            f"RANet trains at {INPUT_HW[0]}x{INPUT_HW[1]} only (its ranking module has one channel "
            f"per template cell): set the size to {list(INPUT_HW)}"
        )

    def load_imagenet(self, model: nn.Module, path: str) -> None:
        """torchvision ResNet-101 keys into the InstanceNorm backbone, as the authors load them:
        BatchNorm scale and shift become the affine InstanceNorm's; running statistics and ``fc``
        are dropped."""
        drop = ("fc.",)
        state = read_state_dict(path, drop=drop)
        state = {
            k: v
            for k, v in state.items()
            if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
        }
        own = model.base_model.state_dict()
        model.base_model.load_state_dict(
            fit_state_dict(own, state, path, what="RANet's ResNet-101 backbone")
        )

    def parameter_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        """Everything the evaluation runs; the dead modules (never run) are not optimised."""
        live = [
            p
            for name, p in model.named_parameters()
            if not name.startswith(DEAD_MODULES) and p.requires_grad
        ]
        return [{"name": "all", "params": live, "lr_scale": 1.0}]

    def describe(self) -> dict[str, Any]:
        return {"trainer": "pairs (template, current, previous mask)", "head": self.options.head}

    def loss(self, model: nn.Module, batch: ClipBatch) -> dict[str, Tensor]:
        rgb, labels = batch.rgb(), batch.masks.long()
        if tuple(rgb.shape[-2:]) != INPUT_HW or rgb.shape[1] < 2:
            raise ValueError(
                f"RANet trains on clips of >= 2 frames at {INPUT_HW[0]}x{INPUT_HW[1]} (its ranking "
                f"module has one channel per template cell); got {rgb.shape[1]} frames at "
                f"{rgb.shape[-2]}x{rgb.shape[-1]}: set the sources' size to [480, 864]"
            )
        mean = torch.tensor(IMAGENET_MEAN, device=rgb.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=rgb.device).view(1, 3, 1, 1)
        template, current = (rgb[:, 0] - mean) / std, (rgb[:, -1] - mean) / std
        previous = torch.where(
            batch.has_previous[:, None, None], batch.previous[:, -1].long(), labels[:, -2]
        )
        objects = first_frame_objects(labels, self.options.max_objects)
        single = [
            b
            for b, ids in enumerate(objects)
            if self.options.head == "single" or (self.options.head == "auto" and len(ids) == 1)
        ]
        losses = []
        if single:
            losses.append(
                self._single(
                    model,
                    template[single],
                    current[single],
                    labels[single],
                    previous[single],
                    [objects[b] for b in single],
                )
            )
        for b in (b for b in range(len(objects)) if b not in single):
            losses.append(
                self._multi(
                    model,
                    template[b : b + 1],
                    current[b : b + 1],
                    labels[b],
                    previous[b],
                    objects[b],
                )
            )
        bce = torch.stack([value * count for value, count in losses]).sum() / len(objects)
        return {"loss": bce, "bce": bce}

    def _single(
        self,
        model: nn.Module,
        template: Tensor,
        current: Tensor,
        labels: Tensor,
        previous: Tensor,
        objects: list[Tensor],
    ):
        """Mean BCE over the clips (and their count), all objects as one foreground."""
        union = torch.stack(
            [torch.isin(labels[i], ids) for i, ids in enumerate(objects)]
        ).float()  # (N, T, H, W)
        previous = torch.stack(
            [torch.isin(previous[i], ids) for i, ids in enumerate(objects)]
        ).float()
        kernels = model.template(template)
        out = model.forward_single(current, kernels, union[:, 0, None], previous[:, None])[:, 0]
        return _bce(out, union[:, -1], labels[:, -1] != VOID), len(objects)

    def _multi(
        self,
        model: nn.Module,
        template: Tensor,
        current: Tensor,
        labels: Tensor,
        previous: Tensor,
        ids: Tensor,
    ):
        """BCE of one clip through the multi-object head (one object per output channel)."""
        masks = object_targets(labels[0], ids)  # (K, H, W)
        template_masks = torch.cat([1.0 - masks.sum(0, keepdim=True), masks])[None]
        out = model.forward_multi(
            current, model.template(template), template_masks, object_targets(previous, ids)[None]
        )[0]
        truth = object_targets(labels[-1], ids)
        valid = (labels[-1] != VOID).expand_as(truth)
        return _bce(out, truth, valid), 1


def _bce(probability: Tensor, truth: Tensor, valid: Tensor) -> Tensor:
    """Mean BCE over the valid pixels."""
    return masked_mean(pixel_bce(probability, truth, EPS), valid)
