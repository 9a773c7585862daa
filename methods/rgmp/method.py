"""RGMP as a vosbench method: the released test protocol around :class:`RGMPNet`.

Per sequence (rgmp.md §4): frames are zero-padded in [0, 1] space to the next multiple of 32
(always adding 1–32 px); the first frame and its mask are encoded once per scale as the
reference; every later frame is encoded with the previous frame's *soft* foreground
probability and decoded against the reference; the foreground probabilities of scales 0.5,
0.75 and 1.0 (sizes again forced up to multiples of 32, bilinear resizes with half-pixel
centres as OpenCV's ``INTER_LINEAR``) are averaged.

Several objects use the released "soft aggregation": one pass per object against that
object's reference, plus a background pass (reference: the union of all objects; previous
mask: the sum of the object probabilities) whose complement is the background estimate; the
M + 1 maps are clamped to [1e-7, 1 − 1e-7] and normalised as a softmax over their logits.
These normalised maps are the next frame's previous masks. A single object skips the
background pass (as released). vosbench runs the M + 1 passes of a scale as one batch and
computes the RGB stem once per scale; the results equal the sequential passes.

Objects that appear after the first annotated frame (not in the released protocol, which
reads all objects from frame 0) get a reference from the frame where they appear; the other
objects' probabilities are cleared under the new mask and the background reference is
re-encoded from that frame with the union of all objects. This is a vosbench extension.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence as Seq
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor
from vosbench_methods.common.resize import bilinear_resize

from vosbench.runner.checkpoint import convert_for, load_state_dict_file
from vosbench.runner.contexts import precision_context, seeded
from vosbench.runner.protocol import MethodCard, SequenceMeta, VOSMethod

from .card import CARD, RGMPConfig
from .network import RGMPNet

STRIDE = 32
EPS = 1e-7


def pad_amounts(height: int, width: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right): always adds 1–32 px to reach a multiple of 32, split
    floor/ceil."""
    ph, pw = STRIDE - height % STRIDE, STRIDE - width % STRIDE
    return ph // 2, ph - ph // 2, pw // 2, pw - pw // 2


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """The network input size for a scale: the padded size itself at 1.0, else int(size·s) forced up
    to the next multiple of 32 (by the same always-add rule)."""
    if scale == 1.0:
        return height, width
    h, w = int(height * scale), int(width * scale)
    return h + STRIDE - h % STRIDE, w + STRIDE - w % STRIDE


def aggregate(foreground: Tensor) -> Tensor:
    """Soft aggregation: [background pass, object passes] foregrounds (M+1, H, W) → normalised
    (M+1, H, W)."""
    estimates = torch.cat([1.0 - foreground[:1], foreground[1:]]).clamp(EPS, 1.0 - EPS)
    return torch.softmax(torch.log(estimates / (1.0 - estimates)), dim=0)


class RGMP(VOSMethod):
    """Reference-guided mask propagation with the released 3-scale, soft-aggregation test
    protocol."""

    card: ClassVar[MethodCard] = CARD
    Config: ClassVar[type] = RGMPConfig
    network_class: ClassVar[type[RGMPNet]] = RGMPNet

    def __init__(
        self,
        config: Any = None,
        *,
        device: str | torch.device = "cpu",
        weights: str | None = None,
        precision: str = "fp32",
    ):
        super().__init__(config, device=device, weights=weights, precision=precision)
        net = self.build_network(self.config, weights)
        net = net.for_inference() if self.config.fold_bn else net.eval()
        net = net.to(self.device)
        if self.config.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.net = net
        self._encode, self._decode = net.Encoder, net.Decoder
        if self.config.compile:  # inductor with the weights frozen as constants (inference only)
            options = {"freezing": True}
            self._encode = torch.compile(net.Encoder, dynamic=False, options=options)
            self._decode = torch.compile(net.Decoder, dynamic=False, options=options)

    @property
    def shape_specialised(self) -> bool:
        return bool(self.config.compile)

    @classmethod
    def build_network(cls, config: Any, weights: str | Path | None = None) -> RGMPNet:
        """The network (eval mode, CPU) with ``weights`` loaded strictly, or seeded random
        weights."""
        with seeded(config.seed):
            net = cls.network_class(align_corners=config.align_corners, size=config.size)
        if weights is not None:
            load_state_dict_file(net, weights, method=cls.card.name)
        return net.eval()

    @classmethod
    def convert_weights(cls, source: Path, *, allow_pickle: bool = False) -> Mapping[str, Tensor]:
        """The authors' checkpoint (``module.`` keys, legacy pickle, no BatchNorm counters) → our
        keys.

        Every key of the file must be consumed and every parameter of the network filled.
        """
        return convert_for(cls.network_class, source, cls.card.name, allow_pickle=allow_pickle)

    # -- per sequence ---------------------------------------------------------------------

    def reset(self, meta: SequenceMeta) -> None:
        height, width = meta.size
        self.size = (height, width)
        self.pad = pad_amounts(height, width)
        top, bottom, left, right = self.pad
        self.padded = (height + top + bottom, width + left + right)
        self.sizes = [scaled_size(*self.padded, s) for s in self.config.scales]
        self.probs: Tensor | None = None  # (M+1, H', W'): background + objects, padded
        self.object_refs: list[Tensor] = []  # per scale: (M, 2048, h/32, w/32)
        self.background_refs: list[Tensor] = []  # per scale: (1, 2048, h/32, w/32), for M >= 2
        self.num_objects = len(meta.object_ids)

    def step(
        self, frame: Tensor, mask: Tensor | None = None, obj_ids: Seq[int] | None = None
    ) -> Tensor:
        with precision_context(self.device, self.precision):
            rgb = self._prepare(frame)
            if self.probs is not None:
                self.probs = self._propagate(rgb)
            if mask is not None and obj_ids:
                self._add_objects(rgb, mask, obj_ids)
        if self.probs is None:  # no object yet: all background
            return torch.ones((1, *self.size), device=self.device)
        top, _, left, _ = self.pad
        return self.probs[:, top : top + self.size[0], left : left + self.size[1]]

    def describe(self) -> dict[str, Any]:
        return {
            "input_hw": list(self.padded),
            "scales": list(self.config.scales),
            "size": self.config.size,
            "scale_hw": [list(s) for s in self.sizes],
            "num_objects": self.num_objects,
            "align_corners": self.config.align_corners,
        }

    # -- internals ------------------------------------------------------------------------

    def _prepare(self, frame: Tensor) -> Tensor:
        """uint8 (H, W, 3) → float (1, 3, H', W') in [0, 1], zero-padded before normalisation."""
        top, bottom, left, right = self.pad
        rgb = frame.permute(2, 0, 1).unsqueeze(0).float().div_(255.0)
        return F.pad(rgb, (left, right, top, bottom))

    def _encode_at(self, rgb: Tensor, masks: Tensor, size: tuple[int, int]):
        """Encoder features of one frame with N masks (N, H', W') at one scale's input size."""
        memory = torch.channels_last if self.config.channels_last else torch.contiguous_format
        rgb = bilinear_resize(rgb, size).contiguous(memory_format=memory)
        masks = bilinear_resize(masks.unsqueeze(1), size).contiguous(memory_format=memory)
        return self._encode(rgb, masks)

    def _references(self, rgb: Tensor, masks: Tensor) -> list[Tensor]:
        return [self._encode_at(rgb, masks, size).r5 for size in self.sizes]

    def _pass_masks(self) -> Tensor:
        """Previous masks of this frame's passes: [union, objects] for M >= 2, [object] for
        M = 1."""
        objects = self.probs[1:]
        if len(objects) == 1:
            return objects
        return torch.cat([objects.sum(0, keepdim=True), objects])

    def _pass_references(self, scale_index: int) -> Tensor:
        objects = self.object_refs[scale_index]
        return (
            objects
            if len(objects) == 1
            else torch.cat([self.background_refs[scale_index], objects])
        )

    def _propagate(self, rgb: Tensor) -> Tensor:
        """Next (M+1, H', W') probabilities from the previous ones, averaged over the scales."""
        masks = self._pass_masks()
        total = torch.zeros(masks.shape, device=self.device)
        target_r5 = []
        for index, size in enumerate(self.sizes):
            target = self._encode_at(rgb, masks, size)
            logits = self._decode(target, self._pass_references(index))
            foreground = torch.softmax(logits.float(), dim=1)[:, 1:]
            total += bilinear_resize(foreground, self.padded)[:, 0]
            target_r5.append(target.r5)
        foreground = total / len(self.sizes)
        self._after_propagation(target_r5)
        if len(foreground) == 1:
            return torch.cat([1.0 - foreground, foreground])
        return aggregate(foreground)

    def _after_propagation(self, target_r5: list[Tensor]) -> None:
        """Hook after each propagated frame (FAN's ``reference=previous`` replaces the
        references)."""

    def _add_objects(self, rgb: Tensor, mask: Tensor, obj_ids: Seq[int]) -> None:
        """Hand in new objects: their masks become their probabilities and their references."""
        top, bottom, left, right = self.pad
        ids = torch.tensor(list(obj_ids), device=mask.device, dtype=mask.dtype).view(-1, 1, 1)
        new = F.pad((mask.unsqueeze(0) == ids).float(), (left, right, top, bottom))
        if self.probs is None:
            objects = new
        else:
            objects = torch.cat(
                [self.probs[1:] * (1.0 - new.sum(0, keepdim=True)).clamp_min(0.0), new]
            )
        background = (1.0 - objects.sum(0, keepdim=True)).clamp_min(0.0)
        self.probs = torch.cat([background, objects])
        new_refs = self._references(rgb, new)
        self.object_refs = (
            new_refs
            if not self.object_refs
            else [torch.cat([old, added]) for old, added in zip(self.object_refs, new_refs)]
        )
        if len(objects) >= 2:
            self.background_refs = self._references(rgb, objects.sum(0, keepdim=True))
        self.num_objects = max(self.num_objects, len(objects))
