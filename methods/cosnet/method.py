"""COSNet as a vosbench method: the released test protocol around :class:`COSNetNet`.

Per frame (cosnet.md §4), nothing is given: the frame is segmented against ``references``
frames of the same video (default 5) and the x1 maps of the pairs are averaged.

* **Pre-processing.** The RGB uint8 frame is warped to 473×473 with Pillow's bilinear resize
  (what the released ``scipy.misc.imresize`` did; :func:`pillow_resize` gives Pillow's bytes on
  any device), turned to BGR (the released code reads with OpenCV), converted to float and the
  Caffe BGR means are subtracted (no scaling, no std).
* **References.** ``reference_rule=random`` (the paper's protocol): for every frame, frame 0
  included, ``random.sample`` over all frame indices of the video (without replacement, the
  frame itself possible), from a generator seeded per sequence with ``seed`` and the sequence
  name, so a run is reproducible and independent of sharding; the released code draws unseeded.
  ``deterministic``: the same evenly spaced frames for every frame. A video shorter than
  ``references`` uses all its frames (the released code fails there). The draws are recorded
  (``describe()`` → the run's ``sequences/<seq>.json``).
* **Network.** x1 only (the released forward also computes x2 and the reference's saliency
  map, unused at test time). Each frame's encoder features are computed once and kept in an
  LRU cache of ``feature_cache`` frames, so a frame costs one encoder pass plus N co-attention
  heads instead of 2N encoder passes, with identical x1; ``feature_cache=0`` re-encodes both
  frames of every pair as released. ``group=true`` is the released group variant (the
  references' features concatenated along the height, one head pass).
* **Output.** The averaged map is resized to the frame's own size with bilinear half-pixel
  interpolation (OpenCV ``INTER_LINEAR``; the released script hard-codes 854×480) and answered as
  probabilities [1 − p, p], which the runner binarises at 0.5 (object id 1). With ``crf=true``
  the map is quantised to 8 bits as the released script saves it and refined by the dense CRF
  (which min-max normalises it per frame, leaving a constant map as it is); the answer is then
  the CRF's labels.

The reference frames are read through ``SequenceMeta.frame_reader`` inside ``step``, hence
inside the runner's timed model region.
"""

from __future__ import annotations

import dataclasses
import random
from collections import OrderedDict
from collections.abc import Mapping
from collections.abc import Sequence as Seq
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor
from vosbench_methods.common.pillow import pillow_resize
from vosbench_methods.common.resize import bilinear_resize

from vosbench.errors import ConfigError
from vosbench.runner.checkpoint import (
    WeightsError,
    fit_state_dict,
    load_state_dict_file,
    read_state_dict,
)
from vosbench.runner.contexts import precision_context, seeded
from vosbench.runner.protocol import MethodCard, SequenceMeta, VOSMethod

from .card import CARD, COSNetConfig
from .network import COSNetNet, DeepLabV3

CAFFE_MEAN_BGR = (104.00699, 116.66877, 122.67892)
CRF_FIELDS = (
    "iterations",
    "gaussian_sxy",
    "gaussian_compat",
    "bilateral_sxy",
    "bilateral_srgb",
    "bilateral_compat",
)


def draw_references(rule: str, count: int, num_frames: int, rng: random.Random) -> list[int]:
    """Reference frame indices for one frame; at most ``num_frames`` of them (all frames then)."""
    count = min(count, num_frames)
    if rule == "random":
        return rng.sample(range(num_frames), count)
    if count == 1:
        return [(num_frames - 1) // 2]
    step = (num_frames - 1) / (count - 1)
    return [int(np.floor(i * step + 0.5)) for i in range(count)]


class FeatureCache:
    """Encoder features by frame index, least recently used dropped beyond ``capacity`` entries."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.entries: OrderedDict[int, Tensor] = OrderedDict()

    def get(self, index: int) -> Tensor | None:
        found = self.entries.get(index)
        if found is not None:
            self.entries.move_to_end(index)
        return found

    def put(self, index: int, features: Tensor) -> None:
        if self.capacity <= 0:
            return
        self.entries[index] = features
        self.entries.move_to_end(index)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)


class COSNet(VOSMethod):
    """Co-attention Siamese network with the released test protocol (reference averaging)."""

    card: ClassVar[MethodCard] = CARD
    Config: ClassVar[type] = COSNetConfig

    def __init__(
        self,
        config: Any = None,
        *,
        device: str | torch.device = "cpu",
        weights: str | None = None,
        precision: str = "fp32",
    ):
        super().__init__(config, device=device, weights=weights, precision=precision)
        self.net = self.build_network(self.config, weights).to(self.device)
        self.mean = torch.tensor(CAFFE_MEAN_BGR, device=self.device).view(1, 3, 1, 1)
        self.crf_params: Any | None = self._crf_params() if self.config.crf else None
        self.meta: SequenceMeta | None = None

    @classmethod
    def build_network(cls, config: Any, weights: str | Path | None = None) -> COSNetNet:
        """The network (eval mode, CPU) with ``weights`` loaded strictly, or seeded random
        weights."""
        with seeded(config.seed):
            net = COSNetNet()
        if weights is not None:
            try:
                load_state_dict_file(net, weights, method=cls.card.name)
            except WeightsError as error:
                if (
                    error.missing
                    and not (error.unexpected or error.mismatched)
                    and not any(k.startswith("encoder.") for k in error.missing)
                ):
                    raise WeightsError(
                        weights,
                        "holds only COSNet's encoder (the converted DeepLabv3 training "
                        "initialisation): its co-attention head is untrained, so it cannot "
                        "segment; use the converted COSNet checkpoint",
                        missing=error.missing,
                    ) from None
                raise
        return net.eval()

    @classmethod
    def convert_weights(cls, source: Path, *, allow_pickle: bool = False) -> Mapping[str, Tensor]:
        """The released COSNet checkpoint (``{"epoch", "model"}``, ``module.`` keys) → our keys, or
        the DeepLabv3 initialisation ``deeplab_davis_12_0.pth`` (``{"model"}``, ``module.``-prefixed
        ResNet + ASPP keys) → ``encoder.*`` only, as the released training script maps it.

        Strict either way: every key of the file consumed, every parameter filled.
        """
        state = read_state_dict(source, allow_pickle=allow_pickle)
        if any(key.startswith("encoder.") for key in state):
            with torch.device("meta"):
                expected = COSNetNet().state_dict()
            return fit_state_dict(expected, state, source, what="the cosnet network")
        with torch.device("meta"):
            expected = DeepLabV3().state_dict()
        encoder = fit_state_dict(
            expected, state, source, what="the cosnet encoder (DeepLabv3 initialisation)"
        )
        return OrderedDict((f"encoder.{key}", value) for key, value in encoder.items())

    # -- per sequence ---------------------------------------------------------------------

    def reset(self, meta: SequenceMeta) -> None:
        if meta.frame_reader is None:
            raise ConfigError(
                "cosnet is offline: it reads reference frames from the whole video through "
                "SequenceMeta.frame_reader, which the runner provides to offline methods"
            )
        self.meta = meta
        self.index = 0
        self.rng = random.Random(f"{self.config.seed}/{meta.name}")
        self.cache = FeatureCache(self.config.feature_cache)
        self.drawn: list[list[int]] = []
        self.encoder_passes = 0
        self.head_passes = 0

    def step(
        self, frame: Tensor, mask: Tensor | None = None, obj_ids: Seq[int] | None = None
    ) -> Tensor:
        if self.meta is None:
            raise ConfigError("cosnet: step before reset")
        index = self.index
        self.index += 1
        references = draw_references(
            self.config.reference_rule, self.config.references, self.meta.num_frames, self.rng
        )
        self.drawn.append(references)
        with precision_context(self.device, self.precision):
            probability = bilinear_resize(
                self.probability(index, frame, references), self.meta.size
            )[0, 0]
        if self.crf_params is not None:
            return self._refine(frame, probability)
        return torch.stack([1.0 - probability, probability])

    def describe(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "input_hw": [self.config.input_size] * 2,
            "references": self.config.references,
            "reference_rule": self.config.reference_rule,
            "seed": self.config.seed,
            "group": self.config.group,
            "feature_cache": self.config.feature_cache,
            "computes_x2": False,
            "crf": self.config.crf,
        }
        if self.crf_params is not None:
            record["crf_params"] = dataclasses.asdict(self.crf_params)
        if self.meta is not None:
            record.update(
                encoder_passes=self.encoder_passes,
                head_passes=self.head_passes,
                references_drawn=self.drawn,
            )
        return record

    # -- internals ------------------------------------------------------------------------

    def probability(self, index: int, frame: Tensor, references: Seq[int]) -> Tensor:
        """Foreground probability (1, 1, S, S) of frame ``index`` (S = ``input_size``): the mean of
        the pairs' x1 maps (summed in reference order), or the group variant's single map."""
        size = (self.config.input_size, self.config.input_size)
        if self.config.group:
            features = self._features(index, frame)
            refs = [self._features(r, frame if r == index else None) for r in references]
            self.head_passes += 1
            return self.net.segment_group(features, refs, size).float()
        total: Tensor | None = None
        for reference in references:
            features = self._features(index, frame)  # a cache hit unless feature_cache=0
            x1 = self.net.segment(
                features, self._features(reference, frame if reference == index else None), size
            )
            self.head_passes += 1
            total = x1.float() if total is None else total + x1.float()
        return total / len(references)

    def _features(self, index: int, frame: Tensor | None = None) -> Tensor:
        """Encoder features of frame ``index`` (read through the sequence's reader unless given)."""
        found = self.cache.get(index)
        if found is not None:
            return found
        image = frame if frame is not None else self.meta.frame_reader(index)
        features = self.net.encoder.encode(self.prepare(image))
        self.encoder_passes += 1
        self.cache.put(index, features)
        return features

    def prepare(self, frame: Tensor) -> Tensor:
        """RGB uint8 (H, W, 3) → (1, 3, S, S) BGR float minus the Caffe means, as released."""
        warped = pillow_resize(frame, (self.config.input_size, self.config.input_size), "bilinear")
        bgr = warped.flip(-1).permute(2, 0, 1).unsqueeze(0).float()
        return bgr - self.mean

    def _crf_params(self) -> Any:
        try:
            from vosbench_methods.common.densecrf import DenseCRFParams
        except ImportError as error:
            raise ConfigError(
                f"cosnet -c crf=true needs the dense CRF (vosbench_methods.common.densecrf): "
                f"{error}"
            ) from error
        given = {name: getattr(self.config, f"crf_{name}") for name in CRF_FIELDS}
        return DenseCRFParams(**{name: value for name, value in given.items() if value is not None})

    def _refine(self, frame: Tensor, probability: Tensor) -> Tensor:
        """Dense-CRF labels (H, W) uint8 0/1 from the map as the released CRF script reads it:
        quantised to 8 bits (the saved PNG); the CRF min-max normalises it per frame (a constant map
        left as it is)."""
        from vosbench_methods.common.densecrf import dense_crf

        saved = (probability.float() * 255.0).to(torch.uint8).cpu().numpy()
        labels = dense_crf(frame.cpu().numpy(), saved.astype(np.float32) / 255.0, self.crf_params)
        return torch.from_numpy(np.ascontiguousarray(labels, dtype=np.uint8)).to(self.device)
