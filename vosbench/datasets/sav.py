"""SA-V (Segment Anything Video) val and test: the layout and its loader.

The layout as the official evaluator reads it, github facebookresearch/sam2 at commit
``2b90b9f5ceec907a1c18123530e92e794ad901a4`` (``sav_dataset/sav_evaluator.py``,
``sav_dataset/utils/sav_benchmark.py``): ``<split>.txt``, ``JPEGImages_24fps/<video>/NNNNN.jpg``,
``Annotations_6fps/<video>/<object>/NNNNN.png``: one binary PNG per object and annotated frame
(every 4th frame), so masks may overlap; objects are folders ``000``, ``001`` … The scoring
rules, the official file and the synthetic layout are in :mod:`vosbench.benchmarks.sav`;
``docs/benchmarks/sav.md`` writes every rule down.

vosbench's object ids are the folder numbers plus one (``000`` → id 1), so the id maps a
method receives and returns keep the folder numbers; where masks overlap in a prompt, the
lowest id is drawn on top (as ``tools/vos_inference.py`` composes them). The evaluator reads
each object's own mask (:meth:`SavSequence.read_objects`), overlaps included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence as Seq
from pathlib import Path

import numpy as np

from vosbench.datasets.base import Dataset, Sequence, require_task
from vosbench.datasets.davis import read_split_list
from vosbench.datasets.folder import (
    IMAGE_EXTENSIONS,
    MASK_EXTENSIONS,
    PathArg,
    dataset_root,
    index_files,
    present_sequences,
    require_split,
    subfolders,
)
from vosbench.errors import DatasetError, MaskFormatError, Problem
from vosbench.io import read_frame, read_mask

__all__ = [
    "ANNOTATION_FOLDER",
    "COMMIT",
    "IMAGE_FOLDER",
    "SPLITS",
    "SavSequence",
    "binary_object_mask",
    "load_sav",
    "object_folder",
]

COMMIT = "2b90b9f5ceec907a1c18123530e92e794ad901a4"
SPLITS = ("sav_val", "sav_test")
IMAGE_FOLDER = "JPEGImages_24fps"
ANNOTATION_FOLDER = "Annotations_6fps"
MAX_OBJECT_NUMBER = 254  # folder 254 is id 255, the largest an 8-bit id map holds
_OBJECT_FOLDER = re.compile(r"[0-9]{3}")


def object_folder(object_id: int) -> str:
    """The folder of vosbench object ``object_id``: ``f"{object_id - 1:03d}"`` (id 1 → ``000``)."""
    return f"{object_id - 1:03d}"


def binary_object_mask(path: Path, data: bytes | None = None) -> np.ndarray:
    """One object's mask from a SA-V PNG: non-zero is the object; a file holding more than one
    non-zero value is refused, as the official evaluator refuses it (one object per file)."""
    labels = read_mask(path, data=data)
    top = int(labels.max()) if labels.size else 0
    if top and bool(np.any((labels != 0) & (labels != top))):
        values = [int(v) for v in np.unique(labels) if v]
        raise MaskFormatError(
            Problem(
                path,
                f"holds several non-zero values {values[:5]}; SA-V stores one object per PNG "
                "(0 = background, one non-zero value = the object)",
                "format",
            )
        )
    return labels != 0


class SavSequence(Sequence):
    """One SA-V video: frames from ``JPEGImages_24fps``, one folder of masks per object.

    Objects may be annotated on different frames; :attr:`annotated` is the union, and
    :meth:`object_frames` each object's own. :meth:`read_annotation` composes an id map for
    methods (lowest id on top where masks overlap); scoring reads each object's mask.
    """

    def __init__(
        self,
        name: str,
        frame_paths: Mapping[str, Path],
        objects: Mapping[int, Mapping[str, Path]],
        folder: Path,
    ):
        self.name = name
        self.folder = folder
        self._frame_paths = dict(frame_paths)
        self._objects = {oid: dict(sorted(stems.items())) for oid, stems in sorted(objects.items())}
        self.annotated = tuple(sorted({s for stems in self._objects.values() for s in stems}))
        self.frames = tuple(self._frame_paths) or self.annotated
        self.void_label = None
        self.overlapping_objects = True
        self.mask_rule = "one binary PNG per object (non-zero = object); masks may overlap"
        self.attributes = {}
        self.__dict__["object_ids"] = tuple(self._objects)

    def object_frames(self, object_id: int) -> tuple[str, ...]:
        """The annotated stems of one object, in order."""
        return tuple(self._objects.get(object_id, ()))

    def object_path(self, stem: str, object_id: int) -> Path:
        return self.folder / object_folder(object_id) / f"{stem}.png"

    def read_object(self, stem: str, object_id: int) -> np.ndarray | None:
        """The boolean mask of one object at ``stem`` (None where it has no annotation)."""
        path = self._objects.get(object_id, {}).get(stem)
        return None if path is None else binary_object_mask(path)

    def read_frame(self, stem: str) -> np.ndarray:
        path = self._frame_paths.get(stem)
        if path is None:
            raise DatasetError(
                Problem(None, f"video {self.name!r} has no frame {stem!r}", "missing")
            )
        return read_frame(path)

    def read_objects(self, stem: str, object_ids: Seq[int]) -> np.ndarray:
        """Each object's own mask at ``stem``, overlaps kept (what the evaluator scores): a
        boolean (len(object_ids), H, W) stack; an object without an annotation there is a
        DatasetError naming it, masks of different sizes one naming the file."""
        masks: list[np.ndarray] = []
        for object_id in object_ids:
            mask = self.read_object(stem, object_id)
            if mask is None:
                raise DatasetError(
                    Problem(
                        self.object_path(stem, object_id),
                        f"object {object_folder(object_id)} of video {self.name!r} has no mask "
                        f"for frame {stem}",
                        "missing",
                    )
                )
            if masks and mask.shape != masks[0].shape:
                raise DatasetError(
                    Problem(
                        self.object_path(stem, object_id),
                        f"is {mask.shape[1]}×{mask.shape[0]} (W×H) but the other objects' "
                        f"masks of frame {stem} are {masks[0].shape[1]}×{masks[0].shape[0]}",
                        "size",
                    )
                )
            masks.append(mask)
        return np.stack(masks) if masks else np.zeros((0, *self.size), bool)

    def read_annotation(self, stem: str) -> np.ndarray:
        """An id map of the objects annotated at ``stem`` (lowest id on top), what a method is
        given."""
        if stem not in self.annotated:
            raise DatasetError(
                Problem(None, f"video {self.name!r} has no annotation for {stem!r}", "missing")
            )
        present = [oid for oid in self.object_ids if stem in self._objects[oid]]
        masks = self.read_objects(stem, present)
        labels = np.zeros(masks.shape[1:], np.uint8)
        for object_id, mask in zip(reversed(present), masks[::-1]):
            labels[mask] = object_id
        return labels

    def annotation_path(self, stem: str) -> Path | None:
        for stems in self._objects.values():
            if stem in stems:
                return stems[stem]
        return None

    def frame_path(self, stem: str) -> Path | None:
        return self._frame_paths.get(stem)

    def prompts(self) -> dict[str, tuple[int, ...]]:
        """Each object at its first annotated frame where its mask is not empty (SA-V's objects
        all start at frame 0; one that starts later is handed over when it appears)."""
        prompts: dict[str, list[int]] = {}
        for object_id in self.object_ids:
            for stem in self.object_frames(object_id):
                mask = self.read_object(stem, object_id)
                if mask is not None and mask.any():
                    prompts.setdefault(stem, []).append(object_id)
                    break
        return {stem: tuple(ids) for stem, ids in sorted(prompts.items())}


def load_sav(
    root: PathArg, split: str | None = "sav_val", *, task: str = "semi-supervised"
) -> Dataset:
    """SA-V val or test: ``root`` is the split's folder (``sav_val/``), holding
    ``<split>.txt``, ``JPEGImages_24fps/`` and ``Annotations_6fps/``."""
    root = dataset_root(root, "sav")
    split = require_split(split, "sav", SPLITS)
    if require_task(task) != "semi-supervised":
        raise DatasetError(
            Problem(None, "SA-V val/test define only the semi-supervised task", "config")
        )
    list_file = root / f"{split}.txt"
    if not list_file.is_file():
        found = sorted(p.stem for p in root.glob("*.txt"))
        hint = f"; lists found there: {', '.join(found)}" if found else ""
        raise DatasetError(
            Problem(
                list_file, f"no split list for sav/{split} (a video id per line){hint}", "missing"
            )
        )
    names = list(read_split_list(list_file))
    if not names:
        raise DatasetError(Problem(list_file, "split list names no video", "empty"))
    image_root, annotation_root = root / IMAGE_FOLDER, root / ANNOTATION_FOLDER
    if not annotation_root.is_dir():
        raise DatasetError(
            Problem(annotation_root, "folder not found; SA-V reads its masks there", "missing")
        )
    present, problems = present_sequences(
        names, lambda name: (annotation_root / name,), f"sav/{split}"
    )
    sequences = [_read_video(name, image_root / name, annotation_root / name) for name in present]
    info = {
        "mask_rule": "one binary PNG per object; masks may overlap",
        "annotation_folder": ANNOTATION_FOLDER,
        "image_folder": IMAGE_FOLDER,
        "split_list": list_file.relative_to(root).as_posix(),
        "official": f"github facebookresearch/sam2 sav_dataset/ @ {COMMIT[:7]}",
    }
    return Dataset(
        "sav", split, task, sequences, root, problems=problems, info=info, listed=tuple(names)
    )


def _read_video(name: str, image_dir: Path, folder: Path) -> SavSequence:
    """A video's frames and object folders; anything that is not a ``NNN`` folder is refused."""
    stray = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    objects: dict[int, dict[str, Path]] = {}
    bad: list[Problem] = []
    if stray:
        bad.append(
            Problem(
                folder,
                f"holds files ({', '.join(stray[:3])}{', …' if len(stray) > 3 else ''}) where SA-V "
                "keeps one folder per object (000, 001, …)",
                "format",
            )
        )
    for entry in subfolders(folder, "object"):
        if not _OBJECT_FOLDER.fullmatch(entry) or int(entry) > MAX_OBJECT_NUMBER:
            bad.append(
                Problem(
                    folder / entry,
                    f"object folder {entry!r}: SA-V object folders are three digits, 000 … "
                    f"{MAX_OBJECT_NUMBER}",
                    "format",
                )
            )
            continue
        objects[int(entry) + 1] = index_files(folder / entry, MASK_EXTENSIONS)
    if bad:
        raise DatasetError(bad)
    frames = index_files(image_dir, IMAGE_EXTENSIONS)
    return SavSequence(name, dict(sorted(frames.items())), objects, folder)
