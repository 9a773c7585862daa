"""Recurrent training of RGMP and FAN: back-propagation through T frames with the soft previous
mask.

Per clip (rgmp.md §6.1 step 2, fan.md §4): the first frame and its ground-truth masks are the
reference; for t = 1 … T−1 frame t is encoded with the previous mask and decoded against the
reference, and its soft foreground probability becomes the previous mask of frame t+1, so the
loss of late frames reaches back through the earlier predictions (``truncate`` cuts this every
N frames, as the released trainers did). Where a clip carries a simulated previous mask (static
pretraining), that mask is fed instead of the prediction.

Loss: two-class cross-entropy of each pass's logits against its binary target (equivalently, BCE
on the softmax foreground: the released trainers' loss), void pixels ignored, averaged over
frames. ``deep_supervision`` adds the same loss on the auxiliary heads p3–p5 (the released
network carries them; their use in the paper's training is unconfirmed).

Several objects (``objects``):

* ``aggregate`` (default): one pass per object plus a background pass, their foregrounds merged by
  the test protocol's soft aggregation, whose maps are the next previous masks: training sees
  what inference does;
* ``each``: one independent pass per object;
* ``merge``: all objects as one foreground (FAN's released training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from vosbench_methods.common.resnet import thaw_batchnorm

from vosbench.runner.options import check_options, option
from vosbench.train.sources import ClipBatch
from vosbench.train.trainers import MethodTrainer, first_frame_objects

from .method import STRIDE, aggregate, pad_amounts
from .network import RGMPNet

VOID = 255
OBJECT_MODES = ("aggregate", "each", "merge")


@dataclass(frozen=True)
class RecurrentOptions:
    """Options of the recurrent trainer (``trainer:`` section of a config).

    Attributes:
        objects: ``aggregate``, ``each`` or ``merge`` (see the module docstring).
        max_objects: objects per clip at most (the first ones by id; the rest count as background).
        truncate: detach the previous mask every this many frames (0: back-propagate through all).
        batchnorm: ``frozen`` (as released: fixed statistics, for an ImageNet or released start) or
            ``train`` (batch statistics, learned; for networks trained from scratch). The weights
            load into the method's frozen network either way.
        reference: ``first`` (the paper) or ``previous`` (the released unofficial trainer's quirk:
            the reference becomes the frame just processed).
        deep_supervision: weight of the losses of the auxiliary heads p3, p4, p5 (0: off).
        encoder_lr_scale: learning-rate factor of the encoder relative to the decoder.
        pad: zero-pad every clip as the test protocol pads frames (1–32 px up to a multiple of
            32, in [0, 1] space; the padding is void for the loss), so the network learns
            with the borders it meets at inference.
        perturb_previous: probability that a pass's previous mask is dilated or eroded (max
            pooling, radius 1 … ``perturb_radius`` px) before it is fed: imperfect previous masks
            that the network learns to correct from the reference, as the paper's static-image
            stage teaches with deformed masks (a vosbench option for training without it; 0: off).
        perturb_radius: largest dilation / erosion radius in pixels (1 … 32: the max pooling's
            cost grows with the square of the radius).
        perturb_shift: the perturbed masks are also translated by up to this many pixels in each
            direction (zero-filled), as motion misplaces a previous mask (0: off; at most 128).
        confuse_previous: probability that an object pass's previous mask also covers another
            object of its clip (its previous mask added), so the network learns to keep only the
            object its reference shows (0: off).
        aggregate_loss: weight of a second loss on what the test protocol outputs: the negative
            log-likelihood of the soft-aggregated background/object map of each clip with several
            objects against its object ids, so that objects compete for each pixel as they do at
            inference (0: off; ``objects: aggregate`` only).
        hard_pixels: bootstrapped cross-entropy: each pass's loss averages only this fraction of
            its pixels, the ones with the largest loss (1: every pixel, the released loss). Easy
            background dominates the plain mean; a fraction such as 0.2 puts the gradient on
            boundaries and on pixels one object's pass takes from another.
    """

    objects: str = "aggregate"
    max_objects: int = 3
    truncate: int = 0
    batchnorm: str = "frozen"
    reference: str = "first"
    deep_supervision: float = 0.0
    encoder_lr_scale: float = 1.0
    pad: bool = False
    perturb_previous: float = 0.0
    perturb_radius: int = option(4, low=1, high=32)
    perturb_shift: int = option(0, low=0, high=128)
    confuse_previous: float = 0.0
    hard_pixels: float = 1.0
    aggregate_loss: float = 0.0

    def __post_init__(self) -> None:
        check_options(self)
        if self.objects not in OBJECT_MODES:
            raise ValueError(
                f"objects must be one of {', '.join(OBJECT_MODES)}, not {self.objects!r}"
            )
        if self.batchnorm not in ("frozen", "train"):
            raise ValueError(f"batchnorm must be frozen or train, not {self.batchnorm!r}")
        if self.reference not in ("first", "previous"):
            raise ValueError(f"reference must be first or previous, not {self.reference!r}")
        if not 0.0 <= self.confuse_previous <= 1.0:
            raise ValueError("confuse_previous is a probability in [0, 1]")
        if self.aggregate_loss < 0 or (self.aggregate_loss > 0 and self.objects != "aggregate"):
            raise ValueError("aggregate_loss must be >= 0 and needs objects: aggregate")
        if not 0.0 < self.hard_pixels <= 1.0:
            raise ValueError("hard_pixels is a fraction in (0, 1]")
        if (
            not 0.0 <= self.perturb_previous <= 1.0
            or self.perturb_radius < 1
            or self.perturb_shift < 0
        ):
            raise ValueError(
                "perturb_previous is a probability in [0, 1], perturb_radius must be >= 1 "
                "and perturb_shift >= 0"
            )
        if (
            self.max_objects < 1
            or self.truncate < 0
            or self.deep_supervision < 0
            or self.encoder_lr_scale < 0
        ):
            raise ValueError(
                "need max_objects >= 1, truncate >= 0, deep_supervision >= 0, encoder_lr_scale >= 0"
            )


@dataclass
class Passes:
    """The network passes of one batch: which clip each belongs to and which ids it segments.

    ``groups[b]`` lists clip b's pass indices in aggregation order ([background, objects] when the
    clip aggregates several objects, else its object passes).
    """

    owner: Tensor  # (P,) clip index of each pass
    ids: list[Tensor]  # per pass: the ids forming its foreground
    groups: list[list[int]]
    aggregated: list[bool]  # per clip


class RecurrentTrainer(MethodTrainer):
    """RGMP / FAN: recurrent training through the clip (see the module docstring)."""

    Options = RecurrentOptions

    def build_model(self) -> RGMPNet:
        config = self.method_config
        net = self.method_class.network_class(align_corners=config.align_corners, size=config.size)
        if self.options.batchnorm == "train":
            thaw_batchnorm(net)
        return net

    def clip_size_problem(self, size: tuple[int, int]) -> str | None:
        """The decoder adds each upsampled level to the encoder's skip features, which line up only
        when both sides are multiples of 32 (``pad: true`` pads clips to one, as at test time)."""
        if self.options.pad or all(side % STRIDE == 0 for side in size):
            return None
        nearest = [max(STRIDE, round(side / STRIDE) * STRIDE) for side in size]
        return (
            f"{self.method}'s network needs both sides a multiple of {STRIDE} (e.g. {nearest}); "
            "or set trainer.pad: true to pad the clips as the test protocol pads frames"
        )

    def load_imagenet(self, model: nn.Module, path: str) -> None:
        model.Encoder.load_imagenet(path)

    def parameter_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        encoder = [p for p in model.Encoder.parameters() if p.requires_grad]
        decoder = [p for p in model.Decoder.parameters() if p.requires_grad]
        return [
            {"name": "encoder", "params": encoder, "lr_scale": self.options.encoder_lr_scale},
            {"name": "decoder", "params": decoder, "lr_scale": 1.0},
        ]

    def describe(self) -> dict[str, Any]:
        return {"trainer": "recurrent (BPTT)", "objects": self.options.objects}

    # -- the loss -------------------------------------------------------------------------

    def loss(self, model: nn.Module, batch: ClipBatch) -> dict[str, Tensor]:
        rgb, labels = batch.rgb(), batch.masks.long()
        if self.options.pad:
            rgb, labels, batch = _pad(rgb, labels, batch)
        steps = rgb.shape[1]
        if steps < 2:
            raise ValueError(
                "recurrent training needs clips of at least 2 frames (reference + target)"
            )
        passes = self._passes(labels)
        owner = passes.owner
        previous = self._targets(labels[:, 0], passes)  # frame 0: the ground truth (void → 0)
        reference = model.Encoder(rgb[owner, 0], previous.unsqueeze(1)).r5
        total, deep_total, aggregated_total = (
            rgb.new_zeros(()),
            rgb.new_zeros(()),
            rgb.new_zeros(()),
        )
        for t in range(1, steps):
            simulated = batch.has_previous[owner]
            if simulated.any():
                given = self._targets(batch.previous[:, t].long(), passes)
                previous = torch.where(simulated[:, None, None], given, previous)
            if self.options.confuse_previous > 0:
                previous = _confuse(previous, passes, self.options.confuse_previous)
            if self.options.perturb_previous > 0:
                previous = _perturb(
                    previous,
                    self.options.perturb_previous,
                    self.options.perturb_radius,
                    self.options.perturb_shift,
                )
            target = model.Encoder(rgb[owner, t], previous.unsqueeze(1))
            outputs = model.Decoder(target, reference, deep=self.options.deep_supervision > 0)
            logits = outputs[0] if isinstance(outputs, tuple) else outputs
            truth = self._targets(labels[:, t], passes, void=True)
            total = total + _pixel_loss(logits, truth, self.options.hard_pixels)
            if isinstance(outputs, tuple):
                deep_total = deep_total + sum(_deep_loss(p, truth) for p in outputs[2:])
            foreground = torch.softmax(logits.float(), dim=1)[:, 1]
            merged = _soft_aggregates(
                foreground, passes
            )  # once: the next masks and the loss use it
            if self.options.aggregate_loss > 0:
                aggregated_total = aggregated_total + _aggregated_nll(merged, labels[:, t], passes)
            previous = self._next_previous(foreground, passes, merged)
            if self.options.truncate and t % self.options.truncate == 0:
                previous = previous.detach()
            if self.options.reference == "previous":
                reference = target.r5
        frames = steps - 1
        terms = {"ce": total / frames}
        if self.options.deep_supervision > 0:
            terms["deep"] = deep_total / frames
        if self.options.aggregate_loss > 0:
            terms["aggregated"] = aggregated_total / frames
        terms["loss"] = (
            terms["ce"]
            + self.options.deep_supervision * terms.get("deep", 0.0)
            + self.options.aggregate_loss * terms.get("aggregated", 0.0)
        )
        return terms

    def _passes(self, labels: Tensor) -> Passes:
        owner: list[int] = []
        ids: list[Tensor] = []
        groups: list[list[int]] = []
        aggregated: list[bool] = []
        for b, objects in enumerate(first_frame_objects(labels, self.options.max_objects)):
            if len(objects) == 0:
                raise ValueError(
                    "a clip's first frame holds no object (the clip sources guarantee one)"
                )
            if self.options.objects == "merge":
                members = [objects]
            else:
                members = [objects[i : i + 1] for i in range(len(objects))]
            both = self.options.objects == "aggregate" and len(objects) >= 2
            if both:
                members = [objects] + members  # the background pass segments the union
            groups.append(list(range(len(owner), len(owner) + len(members))))
            aggregated.append(both)
            owner += [b] * len(members)
            ids += members
        return Passes(torch.tensor(owner, device=labels.device), ids, groups, aggregated)

    @staticmethod
    def _targets(labels: Tensor, passes: Passes, void: bool = False) -> Tensor:
        """Per pass, its foreground in ``labels`` (B, H, W): float masks, or long targets with 255
        at void pixels when ``void``."""
        rows = labels[passes.owner]
        hits = torch.stack([torch.isin(row, members) for row, members in zip(rows, passes.ids)])
        if not void:
            return hits.float()
        return torch.where(rows == VOID, torch.full_like(rows, VOID), hits.long())

    @staticmethod
    def _next_previous(foreground: Tensor, passes: Passes, merged: list[Tensor | None]) -> Tensor:
        """The next frame's previous masks: per clip, its passes' foregrounds, or where the clip
        aggregates, [union, objects] of its soft-aggregated map (``merged``,
        :func:`_soft_aggregates`)."""
        if not any(passes.aggregated):
            return foreground
        parts = []
        for group, probs in zip(passes.groups, merged):
            if probs is None:
                parts.append(foreground[group])
            else:
                objects = probs[1:]
                parts.append(torch.cat([objects.sum(0, keepdim=True), objects]))
        return torch.cat(parts)


def _confuse(previous: Tensor, passes: Passes, probability: float) -> Tensor:
    """With ``probability``, an object pass's previous mask joined (max) with another object's of
    its clip (torch's global generator, as :func:`_perturb`)."""
    rows = list(previous)
    for group, both in zip(passes.groups, passes.aggregated):
        objects = group[1:] if both else group
        if len(objects) < 2:
            continue
        chosen = torch.rand(len(objects)) < probability
        others = torch.randint(0, len(objects) - 1, (len(objects),))
        for i, (pick, other) in enumerate(zip(chosen.tolist(), others.tolist())):
            if pick:
                j = other + (other >= i)  # any object pass but this one
                rows[objects[i]] = torch.maximum(previous[objects[i]], previous[objects[j]])
    return torch.stack(rows)


def _perturb(previous: Tensor, probability: float, radius: int, shift: int = 0) -> Tensor:
    """Each mask (P, H, W), with ``probability``, dilated or eroded by a random radius (max pooling)
    and, when ``shift`` > 0, translated by up to ``shift`` px along each axis.

    Draws from torch's global generator, whose state the engine saves and restores, so resumed
    runs draw the same perturbations.
    """
    chosen = torch.rand(len(previous)) < probability
    grow = torch.rand(len(previous)) < 0.5
    radii = torch.randint(1, radius + 1, (len(previous),))
    moves = [(0, 0)] * len(previous)
    if shift > 0:  # drawn only then, so runs without shifts keep their perturbations
        moves = torch.randint(-shift, shift + 1, (len(previous), 2)).tolist()
    rows = []
    for mask, pick, dilate, r, move in zip(
        previous, chosen.tolist(), grow.tolist(), radii.tolist(), moves
    ):
        if pick:
            size = 2 * r + 1
            sign = 1.0 if dilate else -1.0
            mask = _translate(
                sign * F.max_pool2d(sign * mask[None, None], size, stride=1, padding=r)[0, 0], *move
            )
        rows.append(mask)
    return torch.stack(rows)


def _translate(mask: Tensor, dy: int, dx: int) -> Tensor:
    """``mask`` (H, W) moved by (dy, dx) pixels; what enters is zero."""
    height, width = mask.shape
    if abs(dy) >= height or abs(dx) >= width:
        return torch.zeros_like(mask)
    moved = torch.zeros_like(mask)
    moved[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = mask[
        max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
    ]
    return moved


def _pad(rgb: Tensor, labels: Tensor, batch: ClipBatch):
    """The clip zero-padded as :func:`pad_amounts` pads test frames; labels void, previous masks
    empty there."""
    top, bottom, left, right = pad_amounts(*rgb.shape[-2:])
    sides = (left, right, top, bottom)
    previous = F.pad(batch.previous, sides)
    padded = ClipBatch(batch.frames, batch.masks, previous, batch.has_previous, batch.sources)
    return F.pad(rgb, sides), F.pad(labels, sides, value=VOID), padded


def _soft_aggregates(foreground: Tensor, passes: Passes) -> list[Tensor | None]:
    """Per clip, the test protocol's soft aggregation of its passes' foregrounds, (M+1, H, W):
    background, then objects in pass order; None for a clip that does not aggregate."""
    return [
        aggregate(foreground[group]) if both else None
        for group, both in zip(passes.groups, passes.aggregated)
    ]


def _aggregated_nll(merged: list[Tensor | None], labels: Tensor, passes: Passes) -> Tensor:
    """Mean negative log-likelihood of each aggregating clip's soft-aggregated map (``merged``,
    :func:`_soft_aggregates`) against its ids in ``labels`` (B, H, W), void ignored; zero when no
    clip aggregates."""
    total, count = labels.new_zeros((), dtype=torch.float32), 0
    for clip, (group, probs) in enumerate(zip(passes.groups, merged)):
        if probs is None:
            continue
        row = labels[clip]
        classes = torch.full_like(row, VOID)
        classes[row != VOID] = 0
        for index, member in enumerate(group[1:], start=1):
            classes[torch.isin(row, passes.ids[member])] = index
        if not (classes != VOID).any():
            continue  # an all-void frame has no likelihood to score
        total = total + F.nll_loss(torch.log(probs)[None], classes[None], ignore_index=VOID)
        count += 1
    return total / max(count, 1)


def _pixel_loss(logits: Tensor, truth: Tensor, fraction: float) -> Tensor:
    """Cross-entropy (void ignored): the mean over all pixels, or over each pass's hardest
    ``fraction`` of its pixels (bootstrapped), averaged over the passes."""
    if fraction >= 1.0:
        return F.cross_entropy(logits.float(), truth, ignore_index=VOID)
    losses = F.cross_entropy(logits.float(), truth, ignore_index=VOID, reduction="none").flatten(1)
    keep = max(1, int(fraction * losses.shape[1]))
    return losses.topk(keep, dim=1).values.mean()


def _deep_loss(logits: Tensor, truth: Tensor) -> Tensor:
    """Cross-entropy of an auxiliary head against the target reduced to its size (nearest)."""
    small = F.interpolate(truth[:, None].float(), size=logits.shape[-2:], mode="nearest")[
        :, 0
    ].long()
    return F.cross_entropy(logits.float(), small, ignore_index=VOID)
