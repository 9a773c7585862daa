"""MOSE v1 loader (``mose``): the DAVIS-2017-like layout of github henghuiding/MOSE-api.

One download per split, unpacked as ``<root>/<split>/{JPEGImages,Annotations}/<video>/``
(``train.tar.gz``, ``valid.tar.gz``); the layout of the authors' DeAOT / XMem loaders,
``<root>/{JPEGImages,Annotations}/<split>/<video>/``, is read too. There is no split list or
meta file: the videos are the folders of ``JPEGImages``. Frames are ``%05d.jpg``; masks are
palette PNGs (pixel value = object id) for every frame in ``train`` and for the first frame
only in ``valid``, whose scores come from the CodaLab server alone (every frame submitted).
Object ids follow the DAVIS-2017 rule: 1 … the largest id of the first annotation.

MOSEv2 (local scoring with its own measures) is a different dataset with its own module.
"""

from __future__ import annotations

from pathlib import Path

from vosbench.datasets.base import Dataset, decode_index, require_task
from vosbench.datasets.folder import PathArg, dataset_root, folder_sequence, subfolders
from vosbench.errors import DatasetError, Problem

SPLITS = ("train", "valid")
SERVER_SPLITS = ("valid",)


def load_mose(root: PathArg, split: str | None, *, task: str = "semi-supervised") -> Dataset:
    """One split of MOSE v1 (see the module docstring for the layouts read)."""
    split = split or "valid"
    if split not in SPLITS:
        raise DatasetError(
            Problem(
                None, f"mose has no split {split!r}; choose one of {', '.join(SPLITS)}", "config"
            )
        )
    if require_task(task) != "semi-supervised":
        raise DatasetError(
            Problem(None, f"mose defines the semi-supervised task only, not {task!r}", "config")
        )
    root = dataset_root(root, "mose")
    images, annotations = _folders(root, split)
    names = subfolders(images)
    if not names:
        raise DatasetError(Problem(images, f"no video folder for mose/{split}", "empty"))
    sequences = []
    problems: list[Problem] = []
    for name in names:
        sequence = folder_sequence(
            name, images / name, annotations / name, decode=decode_index, void_label=255
        )
        if not sequence.annotated:
            problems.append(
                Problem(annotations / name, f"video {name!r} has no annotation", "missing")
            )
            continue
        if sequence.annotated[0] != sequence.frames[0]:
            problems.append(
                Problem(
                    annotations / name,
                    f"video {name!r}: the first annotation is {sequence.annotated[0]!r}, "
                    f"not the first frame {sequence.frames[0]!r}",
                    "invalid",
                )
            )
        sequences.append(sequence)
    if problems:
        raise DatasetError(problems)
    info = {
        "version": 1,
        "mask_rule": "index",
        "annotation_folder": annotations.relative_to(root).as_posix(),
        "image_folder": images.relative_to(root).as_posix(),
        "scoring": "server" if split in SERVER_SPLITS else "none",
    }
    return Dataset("mose", split, task, sequences, root, info=info)


def _folders(root: Path, split: str) -> tuple[Path, Path]:
    """(JPEGImages, Annotations) of ``split`` in whichever of the two layouts is on disk."""
    layouts = [
        (root / split / "JPEGImages", root / split / "Annotations"),
        (root / "JPEGImages" / split, root / "Annotations" / split),
    ]
    for images, masks in layouts:
        if images.is_dir():
            if not masks.is_dir():
                raise DatasetError(
                    Problem(masks, "folder not found; mose reads its masks there", "missing")
                )
            return images, masks
    expected = " or ".join(str(images.relative_to(root)) for images, _ in layouts)
    raise DatasetError(Problem(root, f"mose/{split}: expected {expected}", "missing"))
