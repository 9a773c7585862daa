"""SA-V (Segment Anything Video) val and test: its layout, rules and official file.

Rules learnt from the official evaluator, github facebookresearch/sam2 at commit
``2b90b9f5ceec907a1c18123530e92e794ad901a4`` (``sav_dataset/sav_evaluator.py``,
``sav_dataset/utils/sav_benchmark.py``; the per-object output layout from
``tools/vos_inference.py --per_obj_png_file``); ``docs/benchmarks/sav.md`` writes every one
of them down:

* layout: ``<split>.txt``, ``JPEGImages_24fps/<video>/NNNNN.jpg``,
  ``Annotations_6fps/<video>/<object>/NNNNN.png``: one binary PNG per object and annotated
  frame (every 4th frame), so masks may overlap; objects are folders ``000``, ``001`` …;
* predictions: the same per-object layout (``<video>/<object>/NNNNN.png``, any non-zero
  value is the object, at most one non-zero value per file);
* frames: each object's own annotated frames without its first and its last;
* per object, a frame counts from the first evaluated frame where the ground truth or the
  prediction is non-empty (earlier frames where both are empty are not averaged); J and F
  are the means over those frames, times 100; an object whose ground truth is empty on every
  evaluated frame has no score (the evaluator stops on an assertion);
* global J and F: the means over every object of every video; J&F = (J + F) / 2;
* file: ``results.csv`` in the predictions folder: ``sequence,obj, J&F, J, F``, a ``Global
  score`` row, one row per object (``<video>,<object folder>``), one decimal.

vosbench's object ids are the folder numbers plus one (``000`` → id 1), so the id maps a
method receives and returns keep the folder numbers; where masks overlap in a prompt, the
lowest id is drawn on top (as ``tools/vos_inference.py`` composes them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vosbench.benchmarks.layout_files import (
    claim_folder,
    generator_split,
    save_record,
    write_jpeg,
)
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
from vosbench.io import atomic_write_text, read_frame, read_mask, write_mask

__all__ = [
    "ANNOTATION_STEP",
    "COMMIT",
    "SPLITS",
    "SavSequence",
    "binary_object_mask",
    "load_sav",
    "object_folder",
    "write_synthetic",
]

COMMIT = "2b90b9f5ceec907a1c18123530e92e794ad901a4"
SPLITS = ("sav_val", "sav_test")
IMAGE_FOLDER = "JPEGImages_24fps"
ANNOTATION_FOLDER = "Annotations_6fps"
ANNOTATION_STEP = 4  # 6 fps annotations of 24 fps videos
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

    def read_annotation(self, stem: str) -> np.ndarray:
        """An id map of the objects annotated at ``stem`` (lowest id on top)."""
        if stem not in self.annotated:
            raise DatasetError(
                Problem(None, f"video {self.name!r} has no annotation for {stem!r}", "missing")
            )
        labels: np.ndarray | None = None
        for object_id in reversed(self.object_ids):
            mask = self.read_object(stem, object_id)
            if mask is None:
                continue
            if labels is None:
                labels = np.zeros(mask.shape, np.uint8)
            elif mask.shape != labels.shape:
                raise DatasetError(
                    Problem(
                        self.object_path(stem, object_id),
                        f"is {mask.shape[1]}×{mask.shape[0]} (W×H) but the other objects' "
                        f"masks of frame {stem} are {labels.shape[1]}×{labels.shape[0]}",
                        "size",
                    )
                )
            labels[mask] = object_id
        assert labels is not None  # stem is annotated, so some object has a mask there
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


def write_synthetic(
    out_dir: str | Path,
    preset: Any = "val",
    *,
    split: str = "sav_val",
    step: int = ANNOTATION_STEP,
    parts: bool = True,
    overwrite: bool = False,
) -> Path:
    """A synthetic split in the SA-V layout: every frame as ``NNNNN.jpg``, every ``step``-th
    annotated with one binary PNG per object (``NNN/NNNNN.png``, 0/1 with the DAVIS palette, as
    ``tools/vos_inference.py`` writes them). ``parts`` adds, per video, a masklet for the upper
    half of the first object (a part of a whole, so the two masks overlap, as SA-V's do).
    Videos are named ``sav_<synthetic name>``."""
    from vosbench.datasets.synthetic import resolve_config, synthetic_dataset

    if step < 1:
        raise DatasetError(Problem(None, "the annotation step must be >= 1", "config"))
    config = resolve_config(preset)
    source = generator_split(split, {"sav_val": "val", "sav_test": "train"})
    dataset = synthetic_dataset(config, source)
    out = Path(out_dir).expanduser()
    record = claim_folder(out, config, "sav")
    out.mkdir(parents=True, exist_ok=True)
    save_record(out, record)
    names = []
    for sequence in dataset:
        video = f"sav_{sequence.name}"
        names.append(video)
        for t, stem in enumerate(sequence.frames):
            frame = out / IMAGE_FOLDER / video / f"{t:05d}.jpg"
            if overwrite or not frame.is_file():
                write_jpeg(frame, sequence.read_frame(stem))
            if t % step:
                continue
            labels = sequence.read_annotation(stem)
            for number, mask in enumerate(_masklets(labels, sequence.num_objects, parts)):
                path = out / ANNOTATION_FOLDER / video / f"{number:03d}" / f"{t:05d}.png"
                if overwrite or not path.is_file():
                    write_mask(path, mask.view(np.uint8))
    atomic_write_text(out / f"{split}.txt", "\n".join(names) + "\n")
    record["splits"] = {**record.get("splits", {}), split: names}
    record["annotation_step"] = step
    record["parts"] = parts
    save_record(out, record)
    return out


def _masklets(labels: np.ndarray, count: int, parts: bool) -> list[np.ndarray]:
    """Each object's visible mask (void dropped), then the part masklet if asked."""
    masks = [labels == k for k in range(1, count + 1)]
    if parts:
        whole = masks[0]
        rows = np.flatnonzero(whole.any(axis=1))
        part = np.zeros_like(whole)
        if rows.size:
            middle = (int(rows[0]) + int(rows[-1]) + 1) // 2
            part[:middle] = whole[:middle]
        masks.append(part)
    return masks


OFFICIAL_FOLDER = "official"


def export_predictions(sequence: Sequence, masks_dir: Path, out_dir: Path) -> None:
    """Write one sequence's id-map predictions in the SA-V layout the official evaluator reads.

    ``masks_dir/<stem>.png`` (one id map per frame, as ``vosbench run`` writes them) becomes
    ``out_dir/<video>/<object>/<stem>.png`` for every object and each of its annotated frames
    (first and last included, so ``--do_not_skip_first_and_last_frame`` works too): a 0/1
    palette PNG whose 1 is ``id map == object id``, as ``tools/vos_inference.py
    --per_obj_png_file`` writes. Masks written from one id map never overlap.
    """
    from vosbench.io import atomic_write_bytes, encode_mask
    from vosbench.names import safe_join

    if not isinstance(sequence, SavSequence):
        raise TypeError(f"SA-V export needs a SavSequence, got {type(sequence).__name__}")
    video = safe_join(out_dir, sequence.name)
    for stem in sequence.annotated:
        labels = read_mask(masks_dir / f"{stem}.png")
        for object_id in sequence.object_ids:
            if stem in sequence.object_frames(object_id):
                mask = (labels == object_id).view(np.uint8)
                path = video / object_folder(object_id) / f"{stem}.png"
                atomic_write_bytes(path, encode_mask(mask))
