"""Dataset validation: every problem at once, each tied to the file it concerns.

A user fixing a dataset folder wants the whole list in one run, so nothing here stops at the
first problem. Masks are read once each, one at a time; frame sizes come from image headers
without decoding pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from vosbench.datasets.base import Dataset, Sequence
from vosbench.datasets.folder import preview
from vosbench.errors import InputError, Problem


def validate_dataset(dataset: Dataset) -> list[Problem]:
    """Everything wrong with ``dataset``: loader problems, then per-sequence file checks.

    Kinds: ``missing``, ``empty``, ``size``, ``format``/``unreadable`` (from the mask
    reader), ``invalid``, and ``warning`` for what evaluation survives but a user should know
    (ids that appear only after the first frame, which the official rule ignores).
    """
    problems = list(dataset.problems)
    if not dataset.sequences:
        problems.append(Problem(dataset.root, f"{dataset.label} has no sequences", "empty"))
    annotation_root = (
        dataset.root / str(dataset.info.get("annotation_folder", ".")) if dataset.root else None
    )
    for sequence in dataset.sequences:
        problems += validate_sequence(sequence, task=dataset.task, annotation_root=annotation_root)
    return problems


def validate_sequence(
    sequence: Sequence, *, task: str = "semi-supervised", annotation_root: Path | None = None
) -> list[Problem]:
    """Every problem of one sequence: stems, first-frame annotation, mask files, sizes, ids.

    ``annotation_root`` (the folder holding the sequence folders) only names the place of a
    sequence that has no file at all.
    """
    where = _folder(sequence, annotation_root)
    if not sequence.frames:
        return [
            Problem(
                where, f"sequence {sequence.name!r} is empty: no frames and no annotations", "empty"
            )
        ]
    if not sequence.annotated:
        return [Problem(where, f"sequence {sequence.name!r} has no annotation files", "missing")]
    problems = _stem_problems(sequence, task, where)
    problems += _mask_problems(sequence, task)
    problems += sequence.layout_problems()
    return problems


def _stem_problems(sequence: Sequence, task: str, where: Path | None) -> list[Problem]:
    """First-frame annotation, annotations without a frame, and gaps in dense annotation."""
    problems = []
    first = sequence.frames[0]
    if task == "semi-supervised" and first not in sequence.annotated and not sparse(sequence):
        problems.append(
            Problem(
                where,
                f"sequence {sequence.name!r} has no annotation for its first "
                f"frame {first!r}; the semi-supervised task needs it",
                "missing",
            )
        )
    frames = set(sequence.frames)
    for stem in sequence.annotated:
        if stem not in frames:
            problems.append(
                Problem(
                    sequence.annotation_path(stem) or where,
                    f"annotation {stem!r} of {sequence.name!r} has no matching frame",
                    "missing",
                )
            )
    gaps = _annotation_gaps(sequence)
    if gaps:
        problems.append(
            Problem(
                where,
                f"{len(gaps)} frame(s) of {sequence.name!r} between annotated frames "
                f"have no annotation: {preview(gaps)}",
                "missing",
            )
        )
    return problems


def sparse(sequence: Sequence) -> bool:
    return bool(getattr(sequence, "sparse_annotations", False))


def _annotation_gaps(sequence: Sequence) -> list[str]:
    """Frames inside the annotated span that lack a mask (sparse first-frame-only GT has none)."""
    if sparse(sequence):
        return []
    annotated = set(sequence.annotated)
    positions = [i for i, stem in enumerate(sequence.frames) if stem in annotated]
    if not positions:
        return []
    span = sequence.frames[positions[0] : positions[-1] + 1]
    return [stem for stem in span if stem not in annotated]


def _mask_problems(sequence: Sequence, task: str) -> list[Problem]:
    """Read every annotation once: unreadable files, sizes, empty first frame, late ids."""
    problems: list[Problem] = []
    reference: tuple[tuple[int, int], str] | None = None
    top = _first_frame_top_id(sequence)
    late_ids: dict = {}
    for index, stem in enumerate(sequence.annotated):
        path = sequence.annotation_path(stem)
        try:
            labels = sequence.read_annotation(stem)
        except InputError as error:
            problems += error.problems
            continue
        shape = (int(labels.shape[0]), int(labels.shape[1]))
        if reference is None:
            reference = (shape, stem)
        elif shape != reference[0]:
            problems.append(
                Problem(
                    path,
                    f"annotation is {_wh(shape)} but annotation {reference[1]!r} of "
                    f"{sequence.name!r} is {_wh(reference[0])}",
                    "size",
                )
            )
        problems += _frame_size_problems(sequence, stem, shape)
        ids = _object_ids_in(labels, sequence.void_label)
        if index == 0 and task == "semi-supervised" and not ids:
            problems.append(Problem(path, "first annotation holds no object", "invalid"))
        if top is not None:
            for extra in (i for i in ids if i > top):
                late_ids.setdefault(extra, path)
    if late_ids:
        problems.append(_late_id_problem(sequence, late_ids, top or 0))
    return problems


def _first_frame_top_id(sequence: Sequence) -> int | None:
    """Largest evaluated object id, or None when the first annotation cannot be read."""
    try:
        return max(sequence.object_ids, default=0)
    except InputError:
        return None  # the read failure itself is reported by the per-file loop


def _object_ids_in(labels: np.ndarray, void_label: int | None) -> list[int]:
    counts = np.bincount(labels.ravel(), minlength=256)
    return [int(i) for i in np.flatnonzero(counts) if i != 0 and i != void_label]


def _frame_size_problems(sequence: Sequence, stem: str, shape: tuple[int, int]) -> list[Problem]:
    """Compare with the frame's header size; reading it does not decode the image."""
    frame = sequence.frame_path(stem)
    if frame is None:
        return []
    try:
        with Image.open(frame) as image:
            width, height = image.size
    except (OSError, ValueError, SyntaxError) as error:
        return [Problem(frame, f"frame cannot be read as an image ({error})", "unreadable")]
    if (height, width) == shape:
        return []
    return [
        Problem(
            sequence.annotation_path(stem),
            f"annotation is {_wh(shape)} but its frame {frame} is {width}×{height}",
            "size",
        )
    ]


def _late_id_problem(sequence: Sequence, late_ids: dict, top: int) -> Problem:
    ids = sorted(late_ids)
    first_path = late_ids[ids[0]]
    return Problem(
        first_path,
        f"object id(s) {', '.join(map(str, ids))} of {sequence.name!r} appear after the "
        f"first frame, which defines {top} object(s); the official evaluation ignores them",
        "warning",
    )


def _folder(sequence: Sequence, annotation_root: Path | None) -> Path | None:
    """The sequence's annotation (else frame) folder, to point problems without one file at."""
    for stem in sequence.annotated[:1]:
        path = sequence.annotation_path(stem)
        if path is not None:
            return path.parent
    for stem in sequence.frames[:1]:
        path = sequence.frame_path(stem)
        if path is not None:
            return path.parent
    return annotation_root / sequence.name if annotation_root is not None else None


def _wh(shape: tuple[int, int]) -> str:
    return f"{shape[1]}×{shape[0]}"
