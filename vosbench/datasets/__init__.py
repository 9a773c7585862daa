"""Dataset catalogue: names → lazy loaders, plus the entry-point group ``vosbench.datasets``.

An entry's metadata may name, lazily as ``"module:Object"`` strings (see
:mod:`vosbench.benchmarks`): ``rules`` (the benchmark's scoring rules; default DAVIS's),
``synthetic`` (``writer(out_dir, preset, *, split)``, what ``vosbench synth --layout NAME``
calls) and ``synthetic_predictions`` (``write(root, split, out_dir, *, overwrite)``).

A loader is called as ``loader(root, split, task=..., **options)`` and returns a
:class:`~vosbench.datasets.base.Dataset`. ``root`` may be None only for datasets that need no
files (``synthetic``). Loaders report listed sequences absent on disk as problems;
:func:`load_dataset` is where a partial split becomes an error unless allowed.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from pathlib import Path
from typing import Any

from vosbench.datasets.base import TASKS, Dataset, FileSequence, Sequence, require_task
from vosbench.errors import DatasetError, Problem
from vosbench.registry import Registry

DATASETS: Registry = Registry("dataset", entry_point_group="vosbench.datasets")
DATASETS.register(
    "davis2016",
    "vosbench.datasets.davis:load_davis2016",
    description="DAVIS-2016: single object, 0/255 masks, 480p or 1080p",
    splits=("train", "val", "trainval"),
    default_split="val",
    default_task="semi-supervised",
)
DATASETS.register(
    "davis2017",
    "vosbench.datasets.davis:load_davis2017",
    description="DAVIS-2017: multi-object palette masks with void 255; Annotations_unsupervised "
    "for the unsupervised task",
    splits=("train", "val", "test-dev", "test-challenge"),
    default_split="val",
    default_task="semi-supervised",
    synthetic="vosbench.datasets.synthetic:write_synthetic",
    synthetic_predictions="vosbench.datasets.synthetic:write_davis_predictions",
)
DATASETS.register(
    "segtrackv2",
    "vosbench.datasets.segtrack:load_segtrackv2",
    aliases=("segtrack",),
    description="SegTrackv2: mixed extensions, soft RGB masks binarised at 128, objects in "
    "numbered sub-folders",
    splits=("all",),
    default_split="all",
    default_task="semi-supervised",
)
DATASETS.register(
    "lvos",
    "vosbench.datasets.lvos:load_lvos",
    description="LVOS v1/v2 (long-term): <split>_meta.json frame ranges per object, "
    "annotations every 5th frame, seen/unseen videos",
    splits=("valid", "test", "train"),
    default_split="valid",
    default_task="semi-supervised",
    rules="vosbench.benchmarks.lvos:LVOS_RULES",
    synthetic="vosbench.benchmarks.lvos:write_synthetic",
)
DATASETS.register(
    "mosev2",
    "vosbench.datasets.mose_v2:load_mosev2",
    aliases=("mose-v2", "mose2"),
    description="MOSEv2 with every frame annotated: valid/{JPEGImages,Annotations}, "
    "meta_valid.json; scored locally as its official score.py",
    splits=("valid",),
    default_split="valid",
    default_task="semi-supervised",
    rules="vosbench.benchmarks.mose_v2:MOSEV2_RULES",
    synthetic="vosbench.benchmarks.mose_v2:write_synthetic",
)
DATASETS.register(
    "folder",
    "vosbench.datasets.folder:load_folder",
    description="any JPEGImages/<seq> + Annotations/<seq> folder with indexed masks",
    splits=("all",),
    default_split="all",
    default_task="semi-supervised",
)
DATASETS.register(
    "synthetic",
    "vosbench.datasets.synthetic:load_synthetic",
    description="seeded procedural videos, in memory or written in the DAVIS-2017 layout (the "
    "embedded default)",
    splits=("val", "train"),
    default_split="val",
    default_task="semi-supervised",
)

# Both YouTube-VOS releases share one layout, hence one split list (listed here, not imported from
# the loader, so that the catalogue loads no loader module).
YOUTUBE_VOS_SPLITS = (
    "valid",
    "test",
    "train",
    "valid_all_frames",
    "test_all_frames",
    "train_all_frames",
    "holdout",
    "holdout_all_frames",
    "train_rest",
)
DATASETS.register(
    "youtube-vos",
    "vosbench.datasets.youtube_vos:load_youtube_vos_2019",
    aliases=("youtube-vos-2019", "ytvos"),
    description="YouTube-VOS 2019: meta.json, annotations every 5th frame, objects that appear "
    "late; valid/test scored by the CodaLab server (vosbench submission), holdout locally",
    splits=YOUTUBE_VOS_SPLITS,
    default_split="valid",
    default_task="semi-supervised",
    rules="vosbench.benchmarks.youtube_vos:YOUTUBE_VOS_RULES",
    synthetic="vosbench.benchmarks.youtube_vos:write_synthetic",
)
DATASETS.register(
    "youtube-vos-2018",
    "vosbench.datasets.youtube_vos:load_youtube_vos_2018",
    aliases=("ytvos-2018",),
    description="YouTube-VOS 2018: the 2019 layout and rules, the 2018 videos",
    splits=YOUTUBE_VOS_SPLITS,
    default_split="valid",
    default_task="semi-supervised",
    rules="vosbench.benchmarks.youtube_vos:YOUTUBE_VOS_RULES",
    synthetic="vosbench.benchmarks.youtube_vos:write_synthetic",
)
DATASETS.register(
    "mose",
    "vosbench.datasets.mose_v1:load_mose",
    aliases=("mose-v1", "mosev1"),
    description="MOSE v1: DAVIS-2017-like folders, every frame annotated in train, the first in "
    "valid (scored by the CodaLab server: vosbench submission)",
    splits=("valid", "train"),
    default_split="valid",
    default_task="semi-supervised",
    rules="vosbench.benchmarks.mose_v1:MOSE_V1_RULES",
    synthetic="vosbench.benchmarks.mose_v1:write_synthetic",
)
DATASETS.register(
    "vost",
    "vosbench.datasets.vost:load_vost",
    description="VOST: objects of the first annotation, J and J_last (last quarter), no F; "
    "255 = ignore, scored as background",
    splits=("train", "val", "test"),
    default_split="val",
    default_task="semi-supervised",
    synthetic="vosbench.benchmarks.vost:write_synthetic",
    rules="vosbench.benchmarks.vost:VOST_RULES",
)
DATASETS.register(
    "sav",
    "vosbench.datasets.sav:load_sav",
    description="SA-V: one binary PNG per object (masks may overlap), 24 fps frames, 6 fps "
    "ground truth; J&F per object without each object's first and last annotated frame",
    splits=("sav_val", "sav_test"),
    default_split="sav_val",
    default_task="semi-supervised",
    synthetic="vosbench.benchmarks.sav:write_synthetic",
    export="vosbench.benchmarks.sav:export_predictions",
    rules="vosbench.benchmarks.sav:SAV_RULES",
)


def load_dataset(
    name: str,
    root: str | Path | None = None,
    split: str | None = None,
    *,
    task: str | None = None,
    sequences: Seq[str] | None = None,
    allow_missing: bool = False,
    **options: Any,
) -> Dataset:
    """Load a dataset by catalogue name.

    A split whose list names sequences absent on disk is an error: scoring the rest under the
    split's name would pass a partial benchmark off as the whole one.

    Args:
        name: catalogue name (see ``vosbench datasets``).
        root: dataset folder; required except for ``synthetic``.
        split: split name; defaults to the dataset's usual evaluation split.
        task: ``semi-supervised`` (default), ``unsupervised`` or, where the benchmark's rules
            score it (LVOS), ``unsupervised-single``.
        sequences: restrict to these sequence names; names outside the split or missing on
            disk are an error, and other missing sequences no longer matter.
        allow_missing: score the sequences present even though the split lists more
            (``Dataset.missing`` names the rest, ``Dataset.listed`` the whole split).
        options: loader-specific options (``resolution``, ``seed`` …).
    """
    from vosbench.benchmarks import rules_for

    entry = DATASETS.entry(name)
    split = split or entry.info.get("default_split")
    task = require_task(task or entry.info.get("default_task", "semi-supervised"), TASKS)
    tasks = rules_for(entry.name).tasks
    if task not in tasks:
        raise DatasetError(
            Problem(
                None,
                f"dataset {entry.name!r} has no {task!r} task; choose one of {', '.join(tasks)}",
                "config",
            )
        )
    dataset = entry.load()(root, split, task=task, **options)  # each loader checks its root
    if sequences:
        return dataset.select(sequences)
    if dataset.missing and not allow_missing:
        raise DatasetError(missing_problem(dataset))
    return dataset


def missing_problem(dataset: Dataset) -> Problem:
    """One short problem for the listed sequences a dataset lacks: count, preview, where, remedy."""
    from vosbench.datasets.folder import preview

    missing = dataset.missing
    split_list = dataset.info.get("split_list")
    listed_in = f" listed in {split_list}" if split_list else ""
    return Problem(
        dataset.root,
        f"{len(missing)} of {len(dataset.listed)} sequences of {dataset.label}{listed_in} are "
        f"missing under {' or '.join(_looked_in(dataset, missing))}: {preview(missing)}; pass "
        f"allow_missing=True (--allow-missing) to score the {len(dataset)} present, or choose "
        "with sequences=[...] (--sequences)",
        "missing",
    )


def _looked_in(dataset: Dataset, missing: Seq[str]) -> list[str]:
    """The folders searched for the missing sequences (from the loader's problems), relative to
    the dataset root that the problem's path names."""
    names = set(missing)
    folders = [
        p.path.parent
        for p in dataset.problems
        if p.kind == "missing" and p.path is not None and p.path.name in names
    ]
    if dataset.root is not None and "image_folder" in dataset.info:
        folders.append(dataset.root / str(dataset.info["image_folder"]))
    shown = [_relative(folder, dataset.root) for folder in dict.fromkeys(folders)]
    return shown or ["the dataset folder"]


def _relative(folder: Path, root: Path | None) -> str:
    if root is not None and folder.is_relative_to(root):
        return folder.relative_to(root).as_posix() or "."
    return str(folder)


def validate_dataset(dataset: Dataset) -> list:
    """Every problem found in a dataset folder, at once (see :mod:`vosbench.datasets.validate`)."""
    from vosbench.datasets.validate import validate_dataset as _validate

    return _validate(dataset)


__all__ = [
    "DATASETS",
    "Dataset",
    "FileSequence",
    "Sequence",
    "TASKS",
    "load_dataset",
    "validate_dataset",
]
