"""Training of COSNet (cosnet.md §6): pairs of frames of one video alternating with saliency images.

* **Video steps.** A clip from a video source is a pair: frame 0 is input1, the last frame
  input2 (two frames of the same video; the source's ``max_skip`` sets how far apart). Both
  branches are supervised, x1 with frame 0's foreground and x2 with the last frame's.
* **Image steps.** A clip that carries simulated previous masks comes from the static source: its
  frame 0 is an image, run as ``model(img, img)`` with the loss only on the encoder's saliency
  output, scaled by 0.1, as released. How often they come is set by the config's source weights
  (the release makes every third iteration an image step: video weight 2, static weight 1).
* **Loss**, as released: ``BCE · 1/pos_ratio + 0.8 · L1`` per map, where ``pos_ratio`` is the
  map's foreground fraction (a uniform scalar reweighting, not a class balance; at least one
  pixel's worth, so an empty mask stays finite); void is ignored. COSNet segments the primary
  object, so every object of a clip is foreground.
* **Learning rates**, as released: the encoder at 1× and the co-attention head at 10×; on video
  steps the release drops the encoder to 0.01×, which is done here by scaling the gradient that
  video losses send into the encoder (the same update under plain SGD, whatever the mix of steps
  in a batch).
* **Input**: BGR minus the Caffe means, as at test time; clips of any size (the release trains at
  473×473).
* **BatchNorm** trains, as released; every input of a batch goes through the encoder in one pass
  (the release encodes input1, input2 and images in separate passes of 8), so the ASPP's
  image-pooling branch, one value per channel and input, always sees at least two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from vosbench.train.sources import ClipBatch
from vosbench.train.trainers import MethodTrainer, masked_mean, pixel_bce

from .method import CAFFE_MEAN_BGR
from .network import COSNetNet

VOID = 255
EPS = 1e-6
L1_WEIGHT = 0.8


@dataclass(frozen=True)
class COSNetOptions:
    """Options of the COSNet trainer.

    Attributes:
        image_weight: scale of the saliency loss on image steps (released: 0.1).
        video_encoder_scale: the encoder's learning-rate factor on video steps (released: 0.01).
        head_lr_scale: the co-attention head's learning-rate factor (released: 10).
    """

    image_weight: float = 0.1
    video_encoder_scale: float = 0.01
    head_lr_scale: float = 10.0

    def __post_init__(self) -> None:
        if min(self.image_weight, self.video_encoder_scale, self.head_lr_scale) < 0:
            raise ValueError("image_weight, video_encoder_scale and head_lr_scale must be >= 0")


class COSNetTrainer(MethodTrainer):
    """COSNet: video pairs and saliency images (see the module docstring)."""

    Options = COSNetOptions

    def build_model(self) -> COSNetNet:
        return COSNetNet()

    def load_imagenet(self, model: nn.Module, path: str) -> None:
        """COSNet's encoder starts from the authors' DeepLabv3 saliency model, not from ImageNet:
        ``init.imagenet`` names ``deeplab_davis_12_0.pth`` (as released or converted)."""
        model.load_encoder(path)

    def parameter_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        encoder = [p for p in model.encoder.parameters() if p.requires_grad]
        own = {id(p) for p in encoder}
        head = [p for p in model.parameters() if p.requires_grad and id(p) not in own]
        return [
            {"name": "encoder", "params": encoder, "lr_scale": 1.0},
            {"name": "co-attention head", "params": head, "lr_scale": self.options.head_lr_scale},
        ]

    def describe(self) -> dict[str, Any]:
        return {"trainer": "video pairs and saliency images", **vars(self.options)}

    def loss(self, model: nn.Module, batch: ClipBatch) -> dict[str, Tensor]:
        bgr = self._prepare(batch.rgb())
        foreground = ((batch.masks != 0) & (batch.masks != VOID)).float()
        valid = batch.masks != VOID
        images, pairs = batch.has_previous, ~batch.has_previous
        n_images, n_pairs = int(images.sum()), int(pairs.sum())
        if n_images + 2 * n_pairs < 2:
            raise ValueError(
                "COSNet trains its BatchNorms: a batch needs two encoder inputs at least "
                "(one video pair or two images); raise data.batch_size"
            )
        size = tuple(bgr.shape[-2:])
        # one encoder pass over every input, so BatchNorm statistics never come from a single map
        features = model.encoder.encode(torch.cat([bgr[images, 0], bgr[pairs, 0], bgr[pairs, -1]]))
        terms: dict[str, Tensor] = {}
        total = bgr.new_zeros(())
        if n_images:
            saliency = model.encoder.saliency(features[:n_images], size)[:, 0]
            terms["image"] = _bce_l1(saliency, foreground[images, 0], valid[images, 0])
            total = total + self.options.image_weight * terms["image"] * n_images
        if n_pairs:
            video = _scale_gradient(features[n_images:], self.options.video_encoder_scale)
            va, vb = video[:n_pairs], video[n_pairs:]
            za, zb = model.coattention(va, vb)
            x1, x2 = model.head1(za, va, size)[:, 0], model.head2(zb, vb, size)[:, 0]
            terms["x1"] = _bce_l1(x1, foreground[pairs, 0], valid[pairs, 0])
            terms["x2"] = _bce_l1(x2, foreground[pairs, -1], valid[pairs, -1])
            total = total + (terms["x1"] + terms["x2"]) * n_pairs
        return {"loss": total / len(batch), **terms}

    @staticmethod
    def _prepare(rgb: Tensor) -> Tensor:
        """(B, T, 3, H, W) RGB in [0, 1] → BGR in 0…255 minus the Caffe means."""
        mean = torch.tensor(CAFFE_MEAN_BGR, device=rgb.device).view(1, 1, 3, 1, 1)
        return rgb.flip(2) * 255.0 - mean


def _scale_gradient(x: Tensor, factor: float) -> Tensor:
    """``x`` unchanged, but the gradient flowing back through it scaled by ``factor``."""
    return x * factor + x.detach() * (1.0 - factor)


def _bce_l1(probability: Tensor, truth: Tensor, valid: Tensor) -> Tensor:
    """Mean over maps of BCE / pos_ratio + 0.8 · L1, void ignored (written out: autocast-safe)."""
    p = probability.float().clamp(EPS, 1 - EPS)
    bce = pixel_bce(p, truth, EPS)
    losses = []
    for i in range(p.shape[0]):
        counted = valid[i].float().sum().clamp_min(1.0)
        pos_ratio = ((truth[i] * valid[i]).sum() / counted).clamp_min(1.0 / counted)
        losses.append(
            masked_mean(bce[i], valid[i]) / pos_ratio
            + L1_WEIGHT * masked_mean((p[i] - truth[i]).abs(), valid[i])
        )
    return torch.stack(losses).mean()
