"""Static-image pretraining: image + instance-mask sets turned into simulated training clips.

RGMP and RANet pre-train on clips synthesised from single images: the reference and target
frames are differently transformed copies of one image, the "previous mask" is the target
mask deformed as an imperfect propagation would leave it, and objects are pasted onto other
backgrounds (see :mod:`vosbench.train.augment` for the transforms and their bounds).

Image sets (each item: RGB ``uint8`` image + ``uint8`` id mask, 0 background, 255 void):

* :class:`PascalVOCObjects`: Pascal VOC 2012 ``SegmentationObject`` (instances 1 … N, void
  boundaries 255), one split list of ``ImageSets/Segmentation``.
* :class:`SaliencyFolder`: binary saliency sets, image and mask matched by file stem, in the
  MSRA10K layout (one folder) or the ECSSD layout (``images/`` + ``ground_truth_mask/``), or
  any :class:`SaliencyLayout`; masks are thresholded at 128 into object 1.
* :class:`DatasetFrames`: the annotated frames of any vosbench dataset as still images; the
  ``synthetic`` entry renders the procedural generator's frames, so pretraining runs offline.

They are named in :data:`IMAGE_SETS` (``open_image_set("voc", root, split="train")``).

**The clip-sampler interface** (the video sampler has the same one)::

    sampler = StaticClipSampler(source, length, size, augmentation, seed)
    clip = sampler.sample(rng)        # rng: numpy Generator -> one Clip of ``length`` frames
    for clip in sampler: ...          # an endless stream, identical for the same seed

``size`` is the output (H, W); every clip holds ``frames`` (T, H, W, 3), ``masks`` (T, H, W)
with the source's ids and 255 void, and ``previous`` (T, H, W) simulated previous masks.
"""

from __future__ import annotations

import abc
import bisect
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vosbench.errors import ConfigError, DatasetError, Problem
from vosbench.io import read_frame, read_mask
from vosbench.registry import Registry
from vosbench.train.augment import (
    StaticAugmentation,
    colour_jitter,
    cover_matrix,
    deform_previous,
    mirror_matrix,
    object_ids,
    random_frame_map,
    remap_image,
    remap_labels,
    translation_matrix,
)
from vosbench.train.clips import VOID_LABEL, Clip

PathLike = str | Path
SALIENCY_THRESHOLD = 128
_LISTED_PROBLEMS = 10  # a layout error names this many files, then counts the rest


@dataclass(frozen=True)
class StaticImage:
    """One image of a set: ``image`` (H, W, 3) RGB uint8, ``labels`` (H, W) uint8 ids."""

    image: np.ndarray
    labels: np.ndarray
    key: str


class ImageSet(abc.ABC):
    """An indexable set of images with instance masks; ``name`` appears in clip sources."""

    name: str = "images"

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def key(self, index: int) -> str:
        """A short name of item ``index`` (file stem, ``sequence/frame``)."""

    @abc.abstractmethod
    def read(self, index: int) -> StaticImage: ...

    def describe(self, index: int) -> str:
        """``<set name>:<key>``: item ``index`` as clip sources name it."""
        return f"{self.name}:{self.key(index)}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self)} images)"


def _checked_pair(
    image: np.ndarray, labels: np.ndarray, image_path: Path | None, mask_path: Path | None, key: str
) -> StaticImage:
    if labels.shape != image.shape[:2]:
        raise DatasetError(
            Problem(
                mask_path,
                f"mask is {labels.shape[1]}x{labels.shape[0]} but its image "
                f"{image_path} is {image.shape[1]}x{image.shape[0]}",
                "size",
            )
        )
    return StaticImage(image, labels, key)


def _problems_capped(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= _LISTED_PROBLEMS:
        return problems
    rest = len(problems) - _LISTED_PROBLEMS
    return problems[:_LISTED_PROBLEMS] + [Problem(None, f"… and {rest} more", problems[0].kind)]


def _require_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        raise DatasetError(Problem(path, f"{what} folder does not exist", "missing"))


# --------------------------------------------------------------------------------------------
# Pascal VOC 2012 SegmentationObject

VOC_SUBFOLDERS = ("JPEGImages", "SegmentationObject", "ImageSets/Segmentation")


class PascalVOCObjects(ImageSet):
    """Pascal VOC 2012 instance masks: ``SegmentationObject/<id>.png`` palette PNGs whose pixel
    value is the instance index (1 … N), 255 the void boundary band, with ``JPEGImages/<id>.jpg``.

    Args:
        root: the ``VOC2012`` folder, or a folder holding ``VOCdevkit/VOC2012`` or ``VOC2012``.
        split: a list of ``ImageSets/Segmentation`` (``train``, ``val``, ``trainval``).
    """

    def __init__(self, root: PathLike, split: str = "train"):
        self.root = _voc_root(Path(root).expanduser())
        self.split = split
        self.name = f"voc/{split}"
        list_path = self.root / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not list_path.is_file():
            known = sorted(p.stem for p in list_path.parent.glob("*.txt"))
            raise DatasetError(
                Problem(
                    list_path,
                    f"split list for {split!r} is missing"
                    f" (lists found: {', '.join(known) or 'none'})",
                    "missing",
                )
            )
        self.ids = [
            line.strip()
            for line in list_path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        if not self.ids:
            raise DatasetError(Problem(list_path, "split list is empty", "format"))
        missing = [
            Problem(path, f"listed in {list_path.name} but missing", "missing")
            for stem in self.ids
            for path in (self._image_path(stem), self._mask_path(stem))
            if not path.is_file()
        ]
        if missing:
            raise DatasetError(_problems_capped(missing))

    def _image_path(self, stem: str) -> Path:
        return self.root / "JPEGImages" / f"{stem}.jpg"

    def _mask_path(self, stem: str) -> Path:
        return self.root / "SegmentationObject" / f"{stem}.png"

    def __len__(self) -> int:
        return len(self.ids)

    def key(self, index: int) -> str:
        return self.ids[index]

    def read(self, index: int) -> StaticImage:
        stem = self.ids[index]
        image_path, mask_path = self._image_path(stem), self._mask_path(stem)
        return _checked_pair(
            read_frame(image_path), read_mask(mask_path), image_path, mask_path, stem
        )


def _voc_root(root: Path) -> Path:
    """The folder holding JPEGImages/, SegmentationObject/ and ImageSets/Segmentation/."""
    _require_dir(root, "Pascal VOC")
    for candidate in (root, root / "VOC2012", root / "VOCdevkit" / "VOC2012"):
        if (candidate / "JPEGImages").is_dir() or (candidate / "SegmentationObject").is_dir():
            absent = [name for name in VOC_SUBFOLDERS if not (candidate / name).is_dir()]
            if absent:
                raise DatasetError(
                    Problem(
                        candidate,
                        f"is not a Pascal VOC 2012 folder: {', '.join(absent)} "
                        "missing (SegmentationObject/ comes with the "
                        "VOCtrainval_11-May-2012 archive)",
                        "layout",
                    )
                )
            return candidate
    raise DatasetError(
        Problem(
            root,
            "is not a Pascal VOC 2012 folder: expected VOC2012/ (or VOCdevkit/VOC2012/) "
            f"holding {', '.join(name + '/' for name in VOC_SUBFOLDERS)}",
            "layout",
        )
    )


# --------------------------------------------------------------------------------------------
# Saliency sets


@dataclass(frozen=True)
class SaliencyLayout:
    """Where a saliency set keeps its images and masks, relative to its root.

    Images and masks are paired by file stem; suffixes are matched case-insensitively.
    """

    images: str
    masks: str
    image_suffixes: tuple[str, ...] = (".jpg", ".jpeg")
    mask_suffixes: tuple[str, ...] = (".png",)
    example: str = ""


SALIENCY_LAYOUTS: Mapping[str, SaliencyLayout] = {
    # MSRA10K_Imgs_GT/Imgs/: 75.jpg next to 75.png
    "msra10k": SaliencyLayout(".", ".", example="MSRA10K_Imgs_GT/Imgs"),
    # ECSSD/images/0001.jpg and ECSSD/ground_truth_mask/0001.png
    "ecssd": SaliencyLayout("images", "ground_truth_mask", example="ECSSD"),
}


class SaliencyFolder(ImageSet):
    """A binary saliency set: each image's mask becomes object 1 where it is >= 128.

    Masks are read by the one mask reader (grey, palette, bilevel, or RGB with equal
    channels); a mask holding only 0 and 1 is taken as 0/1 rather than thresholded to nothing.

    Args:
        root: the set's folder (for ``msra10k`` the folder holding the images and masks).
        layout: ``msra10k``, ``ecssd`` or a :class:`SaliencyLayout`.
        name: the set's name in clip sources (default: the layout's name or the folder's).
    """

    def __init__(
        self, root: PathLike, layout: str | SaliencyLayout = "msra10k", name: str | None = None
    ):
        self.root = Path(root).expanduser()
        if isinstance(layout, str):
            if layout not in SALIENCY_LAYOUTS:
                raise ConfigError(
                    f"unknown saliency layout {layout!r}; choose one of "
                    f"{', '.join(SALIENCY_LAYOUTS)} or pass a SaliencyLayout"
                )
            self.name = name or layout
            layout = SALIENCY_LAYOUTS[layout]
        else:
            self.name = name or self.root.name
        self.layout = layout
        _require_dir(self.root, "saliency set")
        image_dir, mask_dir = self.root / layout.images, self.root / layout.masks
        for folder, what in ((image_dir, "image"), (mask_dir, "mask")):
            if not folder.is_dir():
                raise DatasetError(
                    Problem(
                        folder, f"{what} folder does not exist; {self._layout_hint()}", "layout"
                    )
                )
        images = _files_by_stem(image_dir, layout.image_suffixes)
        masks = _files_by_stem(mask_dir, layout.mask_suffixes)
        if not images:
            raise DatasetError(
                Problem(
                    image_dir,
                    f"holds no images ({'/'.join(layout.image_suffixes)}); {self._layout_hint()}",
                    "layout",
                )
            )
        problems = [
            Problem(
                path,
                f"image has no mask {path.stem}{layout.mask_suffixes[0]} in {mask_dir}",
                "missing",
            )
            for stem, path in images.items()
            if stem not in masks
        ]
        problems += [
            Problem(
                path,
                f"mask has no image {path.stem}{layout.image_suffixes[0]} in {image_dir}",
                "missing",
            )
            for stem, path in masks.items()
            if stem not in images
        ]
        if problems:
            raise DatasetError(_problems_capped(problems))
        self.stems = sorted(images)
        self._images, self._masks = images, masks

    def _layout_hint(self) -> str:
        layout = self.layout
        where = (
            "images (*.jpg) and masks (*.png) with the same stem in one folder"
            if layout.images == layout.masks
            else f"images in {layout.images}/ and masks in {layout.masks}/"
        )
        hint = f"expected {where}"
        if layout.example:
            hint += f", e.g. {layout.example}"
        below = (
            sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []
        )
        return hint + (f" (sub-folders here: {', '.join(below[:5])})" if below else "")

    def __len__(self) -> int:
        return len(self.stems)

    def key(self, index: int) -> str:
        return self.stems[index]

    def read(self, index: int) -> StaticImage:
        stem = self.stems[index]
        image_path, mask_path = self._images[stem], self._masks[stem]
        return _checked_pair(
            read_frame(image_path),
            binarise_saliency(read_mask(mask_path, grey_rgb=True)),
            image_path,
            mask_path,
            stem,
        )


def binarise_saliency(mask: np.ndarray) -> np.ndarray:
    """Object 1 where a grey saliency mask is >= 128; a 0/1 mask is kept as it is."""
    if int(mask.max(initial=0)) <= 1:
        return mask.astype(np.uint8, copy=False)
    return (mask >= SALIENCY_THRESHOLD).view(np.uint8)


def _files_by_stem(folder: Path, suffixes: Sequence[str]) -> dict:
    wanted = {s.lower() for s in suffixes}
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in wanted)
    by_stem: dict = {}
    for path in files:
        if path.stem in by_stem:
            raise DatasetError(
                Problem(
                    path,
                    f"two files share the stem {path.stem!r} "
                    f"({by_stem[path.stem].name} and {path.name})",
                    "layout",
                )
            )
        by_stem[path.stem] = path
    return by_stem


def msra10k(root: PathLike, **options) -> SaliencyFolder:
    """MSRA10K in its distributed layout: ``MSRA10K_Imgs_GT/Imgs/<n>.jpg`` + ``<n>.png``."""
    return SaliencyFolder(root, "msra10k", **options)


def ecssd(root: PathLike, **options) -> SaliencyFolder:
    """ECSSD: ``images/<n>.jpg`` + ``ground_truth_mask/<n>.png``."""
    return SaliencyFolder(root, "ecssd", **options)


# --------------------------------------------------------------------------------------------
# Frames of a vosbench dataset (the synthetic generator included)


class DatasetFrames(ImageSet):
    """The annotated frames of a vosbench :class:`~vosbench.datasets.base.Dataset` as still
    images."""

    def __init__(self, dataset, stride: int = 1):
        if stride < 1:
            raise ConfigError(f"stride must be >= 1, got {stride}")
        self.dataset = dataset
        self.name = f"{dataset.name}/{dataset.split}"
        self._items = [
            (sequence, stem) for sequence in dataset for stem in sequence.annotated[::stride]
        ]
        if not self._items:
            raise DatasetError(
                Problem(dataset.root, f"{self.name} has no annotated frames", "missing")
            )

    def __len__(self) -> int:
        return len(self._items)

    def key(self, index: int) -> str:
        sequence, stem = self._items[index]
        return f"{sequence.name}/{stem}"

    def read(self, index: int) -> StaticImage:
        sequence, stem = self._items[index]
        return _checked_pair(
            sequence.read_frame(stem),
            sequence.read_annotation(stem),
            sequence.frame_path(stem),
            sequence.annotation_path(stem),
            self.key(index),
        )


def dataset_frames(
    root: PathLike | None, dataset: str, split: str | None = None, *, stride: int = 1, **options
) -> DatasetFrames:
    """Annotated frames of a catalogue dataset (``davis2017``, ``synthetic``, …) as still images."""
    from vosbench.datasets import load_dataset

    return DatasetFrames(load_dataset(dataset, root, split, **options), stride=stride)


def synthetic_images(
    root: PathLike | None = None, split: str = "train", *, stride: int = 1, **options
) -> DatasetFrames:
    """Frames rendered by the synthetic generator (in memory without ``root``; ``preset`` and
    generator options as for the ``synthetic`` dataset)."""
    return dataset_frames(root, "synthetic", split, stride=stride, **options)


class ConcatImageSet(ImageSet):
    """Several image sets as one (RGMP pre-trains on VOC, ECSSD and MSRA10K together)."""

    def __init__(self, sets: Sequence[ImageSet]):
        self.sets = [s for s in sets if len(s)]
        if not self.sets:
            raise ConfigError("ConcatImageSet needs at least one non-empty image set")
        self.name = "+".join(s.name for s in self.sets)
        self._ends = np.cumsum([len(s) for s in self.sets]).tolist()

    def __len__(self) -> int:
        return self._ends[-1]

    def _locate(self, index: int) -> tuple[ImageSet, int]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        k = bisect.bisect_right(self._ends, index)
        return self.sets[k], index - (self._ends[k - 1] if k else 0)

    def key(self, index: int) -> str:
        image_set, local = self._locate(index)
        return image_set.key(local)

    def describe(self, index: int) -> str:
        image_set, local = self._locate(index)
        return image_set.describe(local)

    def read(self, index: int) -> StaticImage:
        image_set, local = self._locate(index)
        return image_set.read(local)


IMAGE_SETS: Registry = Registry("static image set", entry_point_group="vosbench.image_sets")
IMAGE_SETS.register(
    "voc",
    PascalVOCObjects,
    aliases=("pascal-voc", "voc2012"),
    description="Pascal VOC 2012 SegmentationObject: instances 1…N, 255 void boundaries",
)
IMAGE_SETS.register(
    "msra10k", msra10k, description="MSRA10K: <n>.jpg and <n>.png in one folder, masks >= 128"
)
IMAGE_SETS.register(
    "ecssd", ecssd, description="ECSSD: images/ and ground_truth_mask/, masks >= 128"
)
IMAGE_SETS.register("saliency", SaliencyFolder, description="any saliency set in a SaliencyLayout")
IMAGE_SETS.register(
    "synthetic", synthetic_images, description="frames of the synthetic generator (no files)"
)
IMAGE_SETS.register(
    "frames", dataset_frames, description="annotated frames of any catalogue dataset"
)


def open_image_set(name: str, root: PathLike | None = None, **options) -> ImageSet:
    """An image set by name: ``open_image_set("voc", "/data/VOCdevkit", split="train")``."""
    return IMAGE_SETS.get(name)(root, **options)


# --------------------------------------------------------------------------------------------
# The clip simulator


def simulate_clip(
    item: StaticImage,
    length: int,
    size: tuple[int, int],
    params: StaticAugmentation,
    rng: np.random.Generator,
    *,
    background: StaticImage | None = None,
    occluder: StaticImage | None = None,
) -> Clip | None:
    """A clip of ``length`` frames simulated from one image and its mask; None when the
    reference frame ends up showing no object (the caller draws again).

    Per clip: optional mirroring, the objects kept (``max_objects``), the occluder's placement.
    Per frame (reference included): a random affine + TPS warp of the image and its mask; with
    ``background`` the objects (and the void around them) are pasted onto that image under its
    own per-frame warp; with ``occluder`` that image's objects move over the frame, labelled
    background; colour jitter. Ids missing from the reference become void in every frame.
    ``previous[0]`` is the reference mask, ``previous[t]`` the target mask deformed
    (:func:`~vosbench.train.augment.deform_previous`).
    """
    if length < 2:
        raise ConfigError(f"a training clip needs at least 2 frames, got {length}")
    height, width = size
    labels = _keep_objects(item.labels, params.max_objects, rng)
    placement = _placement(rng, params, item.image.shape[:2], size)
    background_placement = (
        _placement(rng, params, background.image.shape[:2], size)
        if background is not None
        else None
    )
    occluder_placement = (
        _occluder_placement(rng, params, occluder.image.shape[:2], size)
        if occluder is not None
        else None
    )
    frames = np.empty((length, height, width, 3), dtype=np.uint8)
    masks = np.empty((length, height, width), dtype=np.uint8)
    for t in range(length):
        maps = random_frame_map(rng, params, placement, size)
        frame, mask = remap_image(item.image, maps), remap_labels(labels, maps)
        if background is not None:
            behind = remap_image(
                background.image, random_frame_map(rng, params, background_placement, size)
            )
            cv2.copyTo(behind, (mask == 0).view(np.uint8), frame)
        if occluder is not None:
            occluder_maps = random_frame_map(rng, params, occluder_placement, size)
            cover = remap_labels(occluder.labels, occluder_maps)
            cover = ((cover != 0) & (cover != VOID_LABEL)).view(np.uint8)
            cv2.copyTo(remap_image(occluder.image, occluder_maps), cover, frame)
            mask[cover.view(bool)] = 0
        frames[t] = colour_jitter(frame, rng, params)
        masks[t] = mask
    kept = object_ids(masks[0])
    if not kept:
        return None
    lost = [oid for oid in object_ids(labels) if oid not in kept]
    if lost:
        masks[np.isin(masks, lost)] = VOID_LABEL
    previous = np.empty_like(masks)
    previous[0] = np.where(masks[0] == VOID_LABEL, 0, masks[0])
    for t in range(1, length):
        previous[t] = deform_previous(masks[t], rng, params)
    parts = [item.key]
    if background is not None:
        parts.append(f"background {background.key}")
    if occluder is not None:
        parts.append(f"occluder {occluder.key}")
    return Clip(frames, masks, previous, source=" + ".join(parts))


def _keep_objects(labels: np.ndarray, max_objects: int, rng: np.random.Generator) -> np.ndarray:
    ids = object_ids(labels)
    if not max_objects or len(ids) <= max_objects:
        return labels
    dropped = [int(i) for i in rng.permutation(ids)[max_objects:]]
    return np.where(np.isin(labels, dropped), 0, labels).astype(np.uint8)


def _placement(
    rng: np.random.Generator,
    params: StaticAugmentation,
    source_hw: tuple[int, int],
    size: tuple[int, int],
) -> np.ndarray:
    """Source → output: optional mirror, then the scale that covers the output, centred."""
    mirror = rng.random() < params.mirror_probability
    fit = cover_matrix(source_hw, size)
    return fit @ mirror_matrix(source_hw[1]) if mirror else fit


def _occluder_placement(
    rng: np.random.Generator,
    params: StaticAugmentation,
    source_hw: tuple[int, int],
    size: tuple[int, int],
) -> np.ndarray:
    """The occluder's image shrunk by ``occluder_scale`` about a random point of the output."""
    base = _placement(rng, params, source_hw, size)
    height, width = size
    shrink = float(rng.uniform(*params.occluder_scale))
    cx, cy = rng.uniform(0.2, 0.8) * (width - 1), rng.uniform(0.2, 0.8) * (height - 1)
    centre = translation_matrix((width - 1) / 2, (height - 1) / 2)
    return (
        translation_matrix(cx, cy) @ np.diag([shrink, shrink, 1.0]) @ np.linalg.inv(centre) @ base
    )


# --------------------------------------------------------------------------------------------
# The sampler


class StaticClipSampler:
    """Clips simulated from an image set: ``sample(rng)`` one clip, iteration an endless
    deterministic stream from ``seed``.

    Args:
        source: the image set.
        length: frames per clip (T >= 2; frame 0 is the reference).
        size: output (H, W).
        augmentation: the simulation parameters.
        seed: seed of the stream :meth:`__iter__` yields.
        max_attempts: images tried before giving up on a set whose masks hold no object.
    """

    def __init__(
        self,
        source: ImageSet,
        length: int = 3,
        size: tuple[int, int] = (384, 384),
        augmentation: StaticAugmentation | None = None,
        seed: int = 0,
        *,
        max_attempts: int = 50,
    ):
        if length < 2:
            raise ConfigError(f"a training clip needs at least 2 frames, got {length}")
        if len(size) != 2 or min(size) < 8:
            raise ConfigError(f"output size must be (H, W) of at least 8 px, got {size!r}")
        if len(source) == 0:
            raise ConfigError(f"image set {source.name!r} is empty")
        self.source = source
        self.length = int(length)
        self.size = (int(size[0]), int(size[1]))
        self.augmentation = augmentation if augmentation is not None else StaticAugmentation()
        self.seed = seed
        self.max_attempts = max_attempts

    def sample(self, rng: np.random.Generator) -> Clip:
        """One simulated clip; every random choice comes from ``rng``."""
        params = self.augmentation
        for _ in range(self.max_attempts):
            index = int(rng.integers(len(self.source)))
            item = self._read(index)
            if not object_ids(item.labels):
                continue
            background = self._other(rng, index, params.paste_probability, need_objects=False)
            occluder = self._other(rng, index, params.occluder_probability, need_objects=True)
            clip = simulate_clip(
                item, self.length, self.size, params, rng, background=background, occluder=occluder
            )
            if clip is not None:
                return clip
        raise DatasetError(
            Problem(
                None,
                f"{self.max_attempts} draws from {self.source.name!r} gave no clip with an "
                "object in its reference frame: are the masks empty?",
                "empty",
            )
        )

    def _other(
        self, rng: np.random.Generator, index: int, probability: float, need_objects: bool
    ) -> StaticImage | None:
        """Another image of the set with ``probability`` (never the same image)."""
        if rng.random() >= probability or len(self.source) < 2:
            return None
        other = int(rng.integers(len(self.source) - 1))
        item = self._read(other + (other >= index))
        return item if not need_objects or object_ids(item.labels) else None

    def _read(self, index: int) -> StaticImage:
        item = self.source.read(index)
        return StaticImage(item.image, item.labels, self.source.describe(index))

    def __iter__(self) -> Iterator[Clip]:
        rng = np.random.Generator(np.random.PCG64(self.seed))
        while True:
            yield self.sample(rng)


class StaticClips(StaticClipSampler):
    """The ``static`` clip source of training configs: an image set by name plus simulation options.

    A config entry ``{kind: static, images: voc, root: /data/VOC2012, frames: 3, size: [384, 384],
    augmentation: {rotation: 20}, options: {split: train}}`` becomes
    ``StaticClipSampler(open_image_set("voc", root, split="train"), 3, (384, 384), ...)``.

    Args:
        images: a registered image set (:data:`IMAGE_SETS`: voc, msra10k, ecssd, saliency,
            synthetic, frames).
        root: its folder (None for ``synthetic``).
        frames: T, frames per clip (the same name as the video source's).
        size: output (H, W).
        augmentation: :class:`StaticAugmentation` fields to change.
        options: the image set's own options (``split``, ``layout`` …).
        seed: seed of :meth:`__iter__`.
    """

    def __init__(
        self,
        images: str = "synthetic",
        root: PathLike | None = None,
        *,
        frames: int = 3,
        size: Sequence[int] = (384, 384),
        augmentation: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        seed: int = 0,
    ):
        changes = dict(augmentation or {})
        known = {f.name for f in dataclasses.fields(StaticAugmentation)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(
                f"augmentation: unknown option(s) {', '.join(unknown)} (options: "
                f"{', '.join(sorted(known))})"
            )
        super().__init__(
            open_image_set(images, root, **dict(options or {})),
            frames,
            tuple(size),
            StaticAugmentation(**changes),
            seed,
        )


__all__ = [
    "IMAGE_SETS",
    "SALIENCY_LAYOUTS",
    "SALIENCY_THRESHOLD",
    "ConcatImageSet",
    "DatasetFrames",
    "ImageSet",
    "PascalVOCObjects",
    "SaliencyFolder",
    "SaliencyLayout",
    "StaticAugmentation",
    "StaticClipSampler",
    "StaticClips",
    "StaticImage",
    "binarise_saliency",
    "dataset_frames",
    "ecssd",
    "msra10k",
    "open_image_set",
    "simulate_clip",
    "synthetic_images",
]
