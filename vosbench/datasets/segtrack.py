"""SegTrackv2 loader (datasets.md §3).

SegTrackv2 masks are soft: 3-channel grey with anti-aliased edges (values 1 … 254). vosbench's
documented rule (recorded as ``mask_rule`` and ``threshold`` in ``Dataset.info``): a pixel
belongs to an object iff channel 0 ≥ ``threshold`` (128). Several objects live in numbered
sub-folders whose number is the object id; where two objects claim a pixel, the larger soft
value wins, ties to the lower id. ``soft_as_void`` turns the remaining soft pixels into void.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Sequence as Seq
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np

from vosbench.datasets.base import Dataset, FileSequence, require_task
from vosbench.datasets.folder import (
    IMAGE_EXTENSIONS,
    PathArg,
    dataset_root,
    index_files,
    present_sequences,
    preview,
    read_lines,
    require_safe_lines,
    require_split,
    subfolders,
    unsafe_line,
)
from vosbench.errors import DatasetError, MaskFormatError, Problem
from vosbench.io import read_mask

logger = logging.getLogger(__name__)

MASK_RULE = "threshold128"
AnnotationFiles = Path | tuple[Path, ...]


def load_segtrackv2(
    root: PathArg,
    split: str | None = "all",
    *,
    task: str = "semi-supervised",
    threshold: int = 128,
    soft_as_void: bool = False,
) -> Dataset:
    """Load SegTrackv2 from ``JPEGImages/<seq>/`` and ``GroundTruth/<seq>/[<id>/]``.

    Sequences come from ``ImageSets/all.txt`` when present (else the folders on disk); frame
    order from ``ImageSets/<seq>.txt`` when present (else sorted stems). Listed sequences that
    are absent are reported in ``Dataset.problems`` (``Dataset.listed`` keeps them all); an
    unsafe name in a list or on disk refuses the load.
    """
    root = dataset_root(root, "segtrackv2")
    split = require_split(split, "segtrackv2")
    task = require_task(task)
    if not 1 <= threshold <= 255:
        raise DatasetError(
            Problem(None, f"threshold must lie in 1..255, got {threshold}", "config")
        )
    names = _sequence_names(root)
    present, problems = present_sequences(
        names,
        lambda name: (root / "GroundTruth" / name, root / "JPEGImages" / name),
        f"segtrackv2/{split}",
    )
    decode = partial(decode_threshold, threshold=threshold, soft_as_void=soft_as_void)
    void_label = 255 if soft_as_void else None
    sequences: list[FileSequence] = []
    for name in present:
        sequence, sequence_problems = _sequence(root, name, decode, void_label)
        sequences.append(sequence)
        problems += sequence_problems
    info = {
        "mask_rule": MASK_RULE,
        "threshold": threshold,
        "soft_as_void": soft_as_void,
        "annotation_folder": "GroundTruth",
    }
    binary = all(len(sequence.object_ids) == 1 for sequence in sequences)
    return Dataset(
        "segtrackv2",
        split,
        task,
        sequences,
        root,
        binary=binary,
        problems=problems,
        info=info,
        listed=tuple(names),
    )


def decode_threshold(
    files: AnnotationFiles, *, threshold: int = 128, soft_as_void: bool = False
) -> np.ndarray:
    """Soft grey masks of one frame → ``uint8`` object-id map.

    ``files`` is one mask (object 1) or a tuple of masks whose parent folder names are their
    object ids.
    """
    paths = [Path(files)] if isinstance(files, (str, Path)) else [Path(p) for p in files]
    ids = [1] if isinstance(files, (str, Path)) else [int(p.parent.name) for p in paths]
    softs = [read_mask(path, grey_rgb=True) for path in paths]
    _check_same_size(paths, softs)
    stack = np.stack(softs)
    best = stack.argmax(axis=0)  # first maximum: ties go to the lower id
    top = np.take_along_axis(stack, best[None], axis=0)[0]
    labels = np.where(top >= threshold, np.asarray(ids, dtype=np.uint8)[best], 0).astype(np.uint8)
    if soft_as_void:
        labels[(labels == 0) & (top > 0)] = 255
    if len(paths) > 1:
        contested = int(np.count_nonzero((stack >= threshold).sum(axis=0) > 1))
        if contested:
            logger.debug(
                "%s: %d pixels claimed by several objects, given to the larger soft value",
                paths[0].name,
                contested,
            )
    return labels


def _check_same_size(paths: Seq[Path], masks: Seq[np.ndarray]) -> None:
    for path, mask in zip(paths[1:], masks[1:]):
        if mask.shape != masks[0].shape:
            raise MaskFormatError(
                Problem(
                    path,
                    f"mask is {mask.shape[1]}×{mask.shape[0]} but {paths[0]} is "
                    f"{masks[0].shape[1]}×{masks[0].shape[0]}",
                    "size",
                )
            )


def _sequence_names(root: Path) -> list[str]:
    """Names from ``ImageSets/all.txt`` (``*``-prefixed), else every sequence folder on disk."""
    listing = root / "ImageSets" / "all.txt"
    if listing.is_file():
        lines = [(n, line.lstrip("*").strip()) for n, line in read_lines(listing)]
        lines = [(n, name) for n, name in lines if name]
        require_safe_lines(unsafe_line(listing, n, name) for n, name in lines)
        return list(dict.fromkeys(name for _, name in lines))
    names = sorted(set(subfolders(root / "GroundTruth")) | set(subfolders(root / "JPEGImages")))
    if not names:
        raise DatasetError(
            Problem(
                root,
                "no sequences found: expected GroundTruth/<seq>/ and JPEGImages/<seq>/",
                "empty",
            )
        )
    return names


def _sequence(
    root: Path,
    name: str,
    decode: Callable[[AnnotationFiles], np.ndarray],
    void_label: int | None,
) -> tuple[FileSequence, list[Problem]]:
    frames = index_files(root / "JPEGImages" / name, IMAGE_EXTENSIONS)
    object_ids, annotations, problems = _annotations(root / "GroundTruth" / name)
    order, order_problems = _frame_order(
        root / "ImageSets" / f"{name}.txt", set(frames) | set(annotations)
    )
    if order is not None:
        frames = {stem: frames[stem] for stem in order if stem in frames}
        annotations = {stem: annotations[stem] for stem in order if stem in annotations}
    attributes = {"object_folders": [str(i) for i in object_ids]} if object_ids != (1,) else {}
    sequence = FileSequence(
        name,
        frames,
        annotations,
        decode=decode,
        void_label=void_label,
        mask_rule=MASK_RULE,
        attributes=attributes,
        object_ids=object_ids,
    )
    return sequence, problems + order_problems


def _annotations(folder: Path) -> tuple[tuple[int, ...], dict[str, AnnotationFiles], list[Problem]]:
    """Object ids and stem → mask file(s); numbered sub-folders make a multi-object sequence."""
    numbered = {
        int(n): folder / n
        for n in subfolders(folder, "object folder")
        if n.isdigit() and 0 < int(n) < 255
    }
    if not numbered:
        return (1,), dict(index_files(folder, IMAGE_EXTENSIONS)), []
    ids = tuple(sorted(numbered))
    tables = {i: index_files(numbered[i], IMAGE_EXTENSIONS) for i in ids}
    stems = sorted(set().union(*tables.values()))
    annotations: dict[str, AnnotationFiles] = {
        stem: tuple(tables[i][stem] for i in ids if stem in tables[i]) for stem in stems
    }
    problems = []
    for i in ids:
        missing = [stem for stem in stems if stem not in tables[i]]
        if missing:
            problems.append(
                Problem(
                    numbered[i],
                    f"object {i} has no mask for {len(missing)} of "
                    f"{len(stems)} annotated frames ({preview(missing)}); "
                    "it counts as absent there",
                    "missing",
                )
            )
    return ids, annotations, problems


def _frame_order(listing: Path, on_disk: set) -> tuple[list[str] | None, list[Problem]]:
    """Frame stems from ``ImageSets/<seq>.txt`` (line 1 is a header), or None without a list."""
    if not listing.is_file():
        return None, []
    lines = [(n, _stem(line)) for n, line in read_lines(listing)[1:] if line]
    require_safe_lines(unsafe_line(listing, n, stem, "frame") for n, stem in lines)
    order = list(dict.fromkeys(stem for _, stem in lines))
    problems = []
    missing = [stem for stem in order if stem not in on_disk]
    if missing:
        problems.append(
            Problem(
                listing,
                f"{len(missing)} listed frame(s) have neither image nor mask: {preview(missing)}",
                "missing",
            )
        )
    unlisted = sorted(on_disk - set(order))
    if unlisted:
        problems.append(
            Problem(
                listing,
                f"{len(unlisted)} file stem(s) on disk are not listed and are "
                f"left out: {preview(unlisted)}",
                "warning",
            )
        )
    return order, problems


def _stem(entry: str) -> str:
    """A listed frame: its stem, with any folder prefix or image extension removed."""
    name = PurePosixPath(entry).name
    suffix = PurePosixPath(name).suffix[1:].lower()
    return PurePosixPath(name).stem if suffix in IMAGE_EXTENSIONS else name
