"""RANet as a vosbench method: the released crop-and-track test protocol around :class:`RANetNet`.

Per sequence (ranet.md §4):

* **Letterbox.** Every frame is brought into the network's fixed 480×864 input: scaled to fit
  (DAVIS's 854×480 frames are not resampled) and centred with zero padding (5 black columns
  each side for 854 wide), with the released size arithmetic (:class:`Letterbox`). Images are
  resized with antialiased bicubic (Pillow's default filter the released loader gets), masks
  with nearest neighbour; answers go back the authors' way.
* **Crop and track.** The template is the first frame cropped to the 1.5× box around its mask
  (480 : 864 aspect kept; integer floor arithmetic as released) and resized back to 480×864;
  its kernels are computed once. Each later frame is cropped with the box of the *previous
  prediction*, resized to 480×864 (bilinear, corners not aligned), predicted, and the
  probabilities are resized back to the crop (bilinear, corners aligned) and zero-padded into
  the frame. The previous-mask input is the previous hard prediction, cropped with the same box
  and resized with nearest neighbour. An empty mask or a box under 32 px gives the full frame.
* **Heads.** One object: the single-object head (sigmoid > 0.5). Several objects: the
  multi-object head; a pixel belongs to object i when p_i > 0.5 and p_i is the largest. The
  answer is (K+1) probabilities with a constant 0.5 background channel, so the runner's argmax
  reproduces exactly that rule.

Objects handed in after the first frame, or a sequence whose objects disappear, are handled as
vosbench extensions: a new object restarts the template from that frame with all objects
present (the released code only reads frame 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from vosbench_methods.common.resize import bilinear_resize

from vosbench.errors import ConfigError
from vosbench.runner.checkpoint import convert_for, load_state_dict_file
from vosbench.runner.contexts import precision_context, seeded
from vosbench.runner.protocol import MethodCard, SequenceMeta, VOSMethod

from .card import CARD, RANetConfig
from .network import RANetNet

INPUT_HW = (480, 864)
BOX_SCALE = 1.5
MIN_BOX = 32
THRESHOLD = 0.5
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Letterbox:
    """How a frame of ``size`` maps into the 480×864 input and back, with the released arithmetic.

    In: the frame is resized to ``scaled`` (fit to 864 wide in the 480 : 864 aspect space,
    floored, odd sizes bumped to even, so 854×480 stays, 910×480 → 864×455 and 640×360 →
    854×480) and centred with zero padding at ``offset`` (the crop offsets rounded half to even,
    as Pillow does). Out, for frames wider than 864: the 480×864 answer is resized as a whole to
    ``restore`` (the frame size divided by the fit factor, rounded) with nearest neighbour and the
    frame-sized centre is taken at ``restore_offset`` — the authors' way back, not the exact
    inverse of the way in. Narrower frames: see :meth:`remove`.
    """

    size: tuple[int, int]
    scaled: tuple[int, int]
    offset: tuple[int, int]
    restore: tuple[int, int]
    restore_offset: tuple[int, int]

    @classmethod
    def fit(cls, height: int, width: int) -> Letterbox:
        ratio = np.float32(INPUT_HW[0]) / np.float32(INPUT_HW[1])
        aspect = np.asarray([1, ratio])  # float64, as numpy coerces this list
        flat = np.asarray([width, height], dtype=np.float32) / aspect  # height in width units
        fitted = np.floor(flat / flat.max() * np.float32(INPUT_HW[1]))
        new_w, new_h = (int(v) for v in (fitted * aspect + fitted % 2).astype(np.int32))
        offset = (-round((new_h - INPUT_HW[0]) / 2), -round((new_w - INPUT_HW[1]) / 2))
        if width > INPUT_HW[1]:  # the released way back: whole input resized, centre taken
            factor = min(INPUT_HW[1] / width, INPUT_HW[0] / height)
            restore = (int(INPUT_HW[0] / factor + 0.5), int(INPUT_HW[1] / factor + 0.5))
            restore_offset = (round((restore[0] - height) / 2), round((restore[1] - width) / 2))
        else:  # the frame's own region, resized back if it was enlarged (see remove)
            restore, restore_offset = (new_h, new_w), offset
        return cls((height, width), (new_h, new_w), offset, restore, restore_offset)

    def place(self, x: Tensor, mode: str) -> Tensor:
        """(N, C, H, W) frame-sized → (N, C, 480, 864), zero outside the frame."""
        if tuple(x.shape[-2:]) != self.scaled:
            x = _resize(x, self.scaled, mode)
        top, left = self.offset
        bottom, right = INPUT_HW[0] - top - self.scaled[0], INPUT_HW[1] - left - self.scaled[1]
        return F.pad(x, (left, right, top, bottom))

    def remove(self, x: Tensor) -> Tensor:
        """(N, C, 480, 864) → (N, C, H, W) with nearest neighbour.

        Frames wider than 864: the whole input resized to ``restore`` and its centre taken, as
        released. Others: the frame's region taken and resized to the frame size — the released
        code takes the centre without resizing, which misplaces frames it had enlarged (e.g.
        640×360 → 854×480); vosbench undoes the enlargement instead.
        """
        if self.size[1] <= INPUT_HW[1]:
            top, left = self.offset
            x = x[..., top : top + self.scaled[0], left : left + self.scaled[1]]
            return x if self.scaled == self.size else _resize(x, self.size, "nearest")
        if tuple(x.shape[-2:]) != self.restore:
            x = _resize(x, self.restore, "nearest")
        top, left = self.restore_offset
        height, width = self.size
        x = F.pad(
            x,
            (
                max(-left, 0),
                max(left + width - x.shape[-1], 0),
                max(-top, 0),
                max(top + height - x.shape[-2], 0),
            ),
        )
        top, left = max(top, 0), max(left, 0)
        return x[..., top : top + height, left : left + width]


def _resize(x: Tensor, size: tuple[int, int], mode: str) -> Tensor:
    """Pillow's filters: ``nearest`` (pixel-centre rule: ``nearest-exact``) for masks and answers,
    ``bicubic`` antialiased for images (what the released code gets from Pillow >= 7)."""
    if mode not in ("nearest", "bicubic"):
        raise ValueError(f"letterbox resize mode must be nearest or bicubic, not {mode!r}")
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest-exact")
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True).clamp_(
        0.0, 1.0
    )


def crop_box(mask: Tensor) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the 1.5× box around ``mask`` (480×864, bool), as released.

    Centre by integer floor division of the extreme rows / columns, half-sizes scaled by 1.5 and
    widened to the 480 : 864 aspect in float32, truncated to integers, clamped to the frame; the
    whole frame when the mask is empty or the box is under 32 px.
    """
    full = (0, 0, INPUT_HW[0], INPUT_HW[1])
    rows = torch.nonzero(mask.any(dim=1)).flatten()
    cols = torch.nonzero(mask.any(dim=0)).flatten()
    if rows.numel() == 0:
        return full
    r0, r1, c0, c1 = (int(v) for v in (rows[0], rows[-1], cols[0], cols[-1]))
    ratio = INPUT_HW[0] / INPUT_HW[1]
    centre_r, centre_c = (r0 + r1) // 2, (c0 + c1) // 2
    # float32 as released: 30 / (480/864) is 53.99999 there, truncated to 53 (float64 gives 54)
    half_h = torch.tensor(float(r1 - r0), dtype=torch.float32) * BOX_SCALE / 2
    half_w = torch.tensor(float(c1 - c0), dtype=torch.float32) * BOX_SCALE / 2
    half = torch.maximum(half_h, ratio * half_w)
    half_r, half_c = int(half.long()), int((half / ratio).long())
    top, left = max(centre_r - half_r, 0), max(centre_c - half_c, 0)
    bottom, right = min(centre_r + half_r, INPUT_HW[0]), min(centre_c + half_c, INPUT_HW[1])
    if bottom - top < MIN_BOX or right - left < MIN_BOX:
        return full
    return top, left, bottom, right


def crop_resize(x: Tensor, box: tuple[int, int, int, int], mode: str) -> Tensor:
    """Crop (N, C, 480, 864) to ``box`` and resize to 480×864 (bilinear without aligned corners, or
    nearest)."""
    top, left, bottom, right = box
    x = x[..., top:bottom, left:right]
    if mode == "nearest":
        return F.interpolate(x, size=INPUT_HW, mode="nearest")
    return bilinear_resize(x, INPUT_HW)


def uncrop(x: Tensor, box: tuple[int, int, int, int]) -> Tensor:
    """Network output (N, C, 480, 864) back into the box (bilinear, corners aligned), zero
    elsewhere."""
    top, left, bottom, right = box
    x = F.interpolate(x, size=(bottom - top, right - left), mode="bilinear", align_corners=True)
    return F.pad(x, (left, INPUT_HW[1] - right, top, INPUT_HW[0] - bottom))


class RANet(VOSMethod):
    """Ranking attention network with the released crop-and-track test protocol."""

    card: ClassVar[MethodCard] = CARD
    Config: ClassVar[type] = RANetConfig

    def __init__(
        self,
        config: Any = None,
        *,
        device: str | torch.device = "cpu",
        weights: str | None = None,
        precision: str = "fp32",
    ):
        super().__init__(config, device=device, weights=weights, precision=precision)
        # fp16 is the release's whole-model half precision (weights, inputs and masks in half).
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        net = self.build_network(self.config, weights).to(self.device, self.dtype)
        channels_last = self.config.channels_last
        self.channels_last = precision == "fp16" if channels_last is None else channels_last
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.net = net
        self.mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)

    @classmethod
    def build_network(cls, config: Any, weights: str | Path | None = None) -> RANetNet:
        with seeded(config.seed):
            net = RANetNet()
        if weights is not None:
            load_state_dict_file(net, weights, method=cls.card.name)
        return net.eval()

    @classmethod
    def convert_weights(cls, source: Path, *, allow_pickle: bool = False) -> Mapping[str, Tensor]:
        """Any of the three released files (video single, image single, video multi) → our keys,
        strictly.

        The dead modules' weights are kept: every key of the file is consumed.
        """
        return convert_for(RANetNet, source, cls.card.name, allow_pickle=allow_pickle)

    # -- per sequence ---------------------------------------------------------------------

    def reset(self, meta: SequenceMeta) -> None:
        self.size = meta.size
        self.letterbox = Letterbox.fit(*meta.size)
        self.kernels: Tensor | None = None
        self.template_masks: Tensor | None = (
            None  # (1, K+1, 480, 864): background incl. padding, objects
        )
        self.labels: Tensor | None = (
            None  # (480, 864) long: 0 background, k object k (handing order)
        )
        self.num_objects = 0

    def step(
        self, frame: Tensor, mask: Tensor | None = None, obj_ids: Seq[int] | None = None
    ) -> Tensor:
        with precision_context(self.device, self.precision):
            rgb = self._prepare(frame)
            if self.labels is not None and self.num_objects:
                probs = self._predict(rgb)
                self.labels = _labels(probs)
            else:
                probs = None
            if mask is not None and obj_ids:
                probs = self._add_objects(rgb, mask, obj_ids, probs)
        if probs is None:
            return torch.ones((1, *self.size), device=self.device)
        background = torch.full_like(probs[:1], THRESHOLD)
        return self.letterbox.remove(torch.cat([background, probs]).float()[None])[0]

    def describe(self) -> dict[str, Any]:
        return {
            "input_hw": list(INPUT_HW),
            "letterbox_scaled_hw": list(self.letterbox.scaled),
            "num_objects": self.num_objects,
            "crop": self.config.crop,
            "head": self._head(),
            "channels_last": self.channels_last,
            "batch_size": 1,
        }

    # -- internals ------------------------------------------------------------------------

    def _head(self) -> str:
        if self.config.head != "auto":
            return self.config.head
        return "single" if self.num_objects <= 1 else "multi"

    def _prepare(self, frame: Tensor) -> Tensor:
        """uint8 (H, W, 3) → letterboxed (1, 3, 480, 864), zero-padded in [0, 1], then normalised.

        Normalising before cropping and resizing, as released: the other order differs by
        rounding only, but the top-256 ranking turns such differences into different selections.
        """
        rgb = self.letterbox.place(
            frame.permute(2, 0, 1).unsqueeze(0).float().div_(255.0), "bicubic"
        )
        return ((rgb - self.mean) / self.std).to(self.dtype)

    def _layout(self, x: Tensor) -> Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _box(self, labels: Tensor) -> tuple[int, int, int, int]:
        return crop_box(labels > 0) if self.config.crop else (0, 0, *INPUT_HW)

    def _add_objects(
        self, rgb: Tensor, mask: Tensor, obj_ids: Seq[int], probs: Tensor | None
    ) -> Tensor:
        """New objects: paste them into the labels, (re)build the template from this frame and
        answer with the propagated objects (cleared under the new masks) plus the new masks."""
        if self.config.head == "single" and self.num_objects + len(obj_ids) > 1:
            raise ConfigError(
                "ranet head=single handles one object; this sequence has several (use head=auto)"
            )
        placed = self.letterbox.place(mask[None, None].float(), "nearest")[0, 0].long()
        labels = (
            self.labels
            if self.labels is not None
            else torch.zeros(INPUT_HW, dtype=torch.long, device=self.device)
        )
        new = []
        for obj_id in obj_ids:
            self.num_objects += 1
            hit = placed == int(obj_id)
            labels = torch.where(hit, torch.full_like(labels, self.num_objects), labels)
            new.append(hit.to(self.dtype))
        self.labels = labels
        box = self._box(labels)
        self.kernels = self.net.template(self._layout(crop_resize(rgb, box, "bilinear")))
        objects = self._object_masks(labels, box)
        self.template_masks = torch.cat([1.0 - objects.sum(0, keepdim=True), objects])[None]
        new_masks = torch.stack(new)
        if probs is None:
            return new_masks
        return torch.cat([probs * (1.0 - new_masks.sum(0, keepdim=True)).clamp_min(0.0), new_masks])

    def _object_masks(self, labels: Tensor, box: tuple[int, int, int, int]) -> Tensor:
        """Per-object masks (K, 480, 864) of the hard labels cropped to ``box``
        (nearest neighbour)."""
        cropped = crop_resize(labels[None, None].float(), box, "nearest")[0, 0]
        ids = torch.arange(1, self.num_objects + 1, device=cropped.device, dtype=cropped.dtype)
        return (cropped[None] == ids[:, None, None]).to(self.dtype)

    def _predict(self, rgb: Tensor) -> Tensor:
        """Object probabilities (K, 480, 864) for this frame, from the previous hard labels."""
        box = self._box(self.labels)
        x = self._layout(crop_resize(rgb, box, "bilinear"))
        objects = self._object_masks(self.labels, box)[None]
        if self._head() == "single":
            template = self.template_masks[:, 1:].sum(1, keepdim=True)
            out = self.net.forward_single(x, self.kernels, template, objects.sum(1, keepdim=True))
        else:
            out = self.net.forward_multi(x, self.kernels, self.template_masks, objects)
        return uncrop(out, box)[0]


def _labels(probs: Tensor) -> Tensor:
    """Hard labels (480, 864): object k where p_k > 0.5 and p_k is the largest (the later object on
    ties)."""
    labels = torch.zeros(probs.shape[1:], dtype=torch.long, device=probs.device)
    top = probs.max(0, keepdim=True).values
    for k in range(probs.shape[0]):
        keep = (probs[k] > THRESHOLD) & (probs[k] >= top[0])
        labels = torch.where(keep, torch.full_like(labels, k + 1), labels)
    return labels
