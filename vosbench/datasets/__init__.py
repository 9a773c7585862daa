"""Dataset catalogue: names → lazy loaders, plus the entry-point group ``vosbench.datasets``.

A loader is called as ``loader(root, split, task=..., **options)`` and returns a
:class:`~vosbench.datasets.base.Dataset`. ``root`` may be None only for datasets that need no
files (``synthetic``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence as Seq, Union

from vosbench.datasets.base import TASKS, Dataset, FileSequence, Sequence, require_task
from vosbench.registry import Registry

DATASETS: Registry = Registry("dataset", entry_point_group="vosbench.datasets")
DATASETS.register(
    "davis2016", "vosbench.datasets.davis:load_davis2016",
    description="DAVIS-2016: single object, 0/255 masks, 480p or 1080p",
    splits=("train", "val", "trainval"), default_split="val", default_task="semi-supervised",
)
DATASETS.register(
    "davis2017", "vosbench.datasets.davis:load_davis2017",
    description="DAVIS-2017: multi-object palette masks with void 255; Annotations_unsupervised for the unsupervised task",
    splits=("train", "val", "test-dev", "test-challenge"), default_split="val", default_task="semi-supervised",
)
DATASETS.register(
    "segtrackv2", "vosbench.datasets.segtrack:load_segtrackv2", aliases=("segtrack",),
    description="SegTrackv2: mixed extensions, soft RGB masks binarised at 128, objects in numbered sub-folders",
    splits=("all",), default_split="all", default_task="semi-supervised",
)
DATASETS.register(
    "folder", "vosbench.datasets.folder:load_folder",
    description="any JPEGImages/<seq> + Annotations/<seq> folder with indexed masks",
    splits=("all",), default_split="all", default_task="semi-supervised",
)
DATASETS.register(
    "synthetic", "vosbench.datasets.synthetic:load_synthetic",
    description="seeded procedural videos, in memory or written in the DAVIS-2017 layout (the embedded default)",
    splits=("val", "train"), default_split="val", default_task="semi-supervised",
)


def load_dataset(name: str, root: Union[str, Path, None] = None, split: Optional[str] = None, *,
                 task: Optional[str] = None, sequences: Optional[Seq[str]] = None,
                 **options: Any) -> Dataset:
    """Load a dataset by catalogue name.

    Args:
        name: catalogue name (see ``vosbench datasets``).
        root: dataset folder; required except for ``synthetic``.
        split: split name; defaults to the dataset's usual evaluation split.
        task: ``semi-supervised`` (default) or ``unsupervised``.
        sequences: restrict to these sequence names (unknown names are an error).
        options: loader-specific options (``resolution``, ``seed`` …).
    """
    entry = DATASETS.entry(name)
    split = split or entry.info.get("default_split")
    task = require_task(task or entry.info.get("default_task", "semi-supervised"))
    dataset = entry.load()(root, split, task=task, **options)  # each loader checks its root
    return dataset.select(sequences)


def validate_dataset(dataset: Dataset) -> list:
    """Every problem found in a dataset folder, at once (see :mod:`vosbench.datasets.validate`)."""
    from vosbench.datasets.validate import validate_dataset as _validate

    return _validate(dataset)


__all__ = ["DATASETS", "Dataset", "FileSequence", "Sequence", "TASKS", "load_dataset", "validate_dataset"]
