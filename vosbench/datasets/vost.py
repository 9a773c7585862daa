"""VOST (Video Object Segmentation under Transformations): its layout and loader.

The layout as the official evaluator reads it, github TRI-ML/VOST ``evaluation/`` at commit
``fe274574cb03c8a3ea83e121dd76e20b703781fd``: ``JPEGImages/<video>/<frame>.jpg`` (30 fps, or
``JPEGImages_10fps``), ``Annotations/<video>/<frame>.png`` (palette ids, 255 = ignore; every
6th frame), ``ImageSets/<split>.txt``. The scoring rules, the official files and the synthetic
layout are in :mod:`vosbench.benchmarks.vost`; ``docs/benchmarks/vost.md`` writes them down.
"""

from __future__ import annotations

from vosbench.datasets.base import Dataset, FileSequence, decode_index, require_task
from vosbench.datasets.davis import read_split_list
from vosbench.datasets.folder import (
    PathArg,
    dataset_root,
    folder_sequence,
    present_sequences,
    require_split,
)
from vosbench.errors import DatasetError, Problem

__all__ = ["ANNOTATION_FOLDER", "COMMIT", "IMAGE_FOLDERS", "SPLITS", "VOID_LABEL", "load_vost"]

COMMIT = "fe274574cb03c8a3ea83e121dd76e20b703781fd"
SPLITS = ("train", "val", "test")
IMAGE_FOLDERS = ("JPEGImages", "JPEGImages_10fps")
ANNOTATION_FOLDER = "Annotations"
VOID_LABEL = 255


def load_vost(
    root: PathArg,
    split: str | None = "val",
    *,
    task: str = "semi-supervised",
    images: str = "JPEGImages",
) -> Dataset:
    """VOST: ``ImageSets/<split>.txt`` names the videos, ``Annotations/<video>/*.png`` hold
    palette ids (255 = ignore), frames come from ``images`` (``JPEGImages`` at 30 fps, or
    ``JPEGImages_10fps``, which the authors' baseline runs on; every annotated frame is in
    both)."""
    root = dataset_root(root, "vost")
    split = require_split(split, "vost", SPLITS)
    if require_task(task) != "semi-supervised":
        raise DatasetError(Problem(None, "VOST defines only the semi-supervised task", "config"))
    if images not in IMAGE_FOLDERS:
        raise DatasetError(
            Problem(
                None,
                f"unknown VOST image folder {images!r}; choose one of {', '.join(IMAGE_FOLDERS)}",
                "config",
            )
        )
    list_file = root / "ImageSets" / f"{split}.txt"
    if not list_file.is_file():
        found = sorted(p.stem for p in (root / "ImageSets").glob("*.txt"))
        hint = f"; lists found there: {', '.join(found)}" if found else ""
        raise DatasetError(Problem(list_file, f"no split list for vost/{split}{hint}", "missing"))
    names = list(read_split_list(list_file))  # name lines, checked; duplicates once
    if not names:
        raise DatasetError(Problem(list_file, "split list names no video", "empty"))
    image_root, annotation_root = root / images, root / ANNOTATION_FOLDER
    if split != "test" and not annotation_root.is_dir():
        raise DatasetError(
            Problem(
                annotation_root, "folder not found; VOST reads its annotations there", "missing"
            )
        )
    present, problems = present_sequences(
        names, lambda name: (annotation_root / name, image_root / name), f"vost/{split}"
    )
    sequences: list[FileSequence] = [
        folder_sequence(
            name,
            image_root / name,
            annotation_root / name,
            decode=decode_index,
            void_label=VOID_LABEL,
            mask_rule="index",
        )
        for name in present
    ]
    info = {
        "mask_rule": "index",
        "void_label": VOID_LABEL,
        "annotation_folder": ANNOTATION_FOLDER,
        "image_folder": images,
        "split_list": list_file.relative_to(root).as_posix(),
        "official": f"github TRI-ML/VOST evaluation/ @ {COMMIT[:7]}",
    }
    return Dataset(
        "vost", split, task, sequences, root, problems=problems, info=info, listed=tuple(names)
    )
