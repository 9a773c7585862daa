"""Plain folder datasets, and the file-indexing helpers every file-based loader shares.

Three layouts are read, tried in this order:

* ``root/JPEGImages/<seq>/*`` + ``root/Annotations/<seq>/*.png`` (DAVIS-like, no resolution level);
* ``root/JPEGImages/*`` + ``root/Annotations/*.png``: one sequence named after ``root``;
* ``root/<seq>/*.png``: annotation folders only; frames are the annotation stems.

Masks are indexed PNGs (pixel value = object id, 255 = void), as written by
:func:`vosbench.io.write_mask`.

Every name read from disk (folder and file names, list lines) passes
:func:`vosbench.names.check_name` before it becomes a sequence or frame: the runner turns those
names into folders it replaces and deletes. An unsafe one refuses the load rather than being
skipped, since skipping would score the dataset without it and exit 0.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Sequence as Seq
from pathlib import Path

from vosbench.datasets.base import Dataset, FileSequence, decode_index, require_task
from vosbench.errors import DatasetError, Problem
from vosbench.names import check_name, require_name

IMAGE_EXTENSIONS: tuple[str, ...] = ("jpg", "jpeg", "png", "bmp")
MASK_EXTENSIONS: tuple[str, ...] = ("png",)

PathArg = str | Path | None


def index_files(folder: Path, extensions: Seq[str]) -> dict[str, Path]:
    """Stem → file for the files of ``folder`` with one of ``extensions`` (any case), by stem.

    Hidden files (``._00000.png`` left by macOS) are skipped. When two files share a stem, the
    extension listed first wins, so the choice never depends on directory order. A stem that is
    no safe name (a control character, edge whitespace) refuses the folder: it would become a
    prediction file name.
    """
    if not folder.is_dir():
        return {}
    rank = {ext.lower(): i for i, ext in enumerate(extensions)}
    files: list[tuple[str, int, str]] = []  # (stem, rank of the extension, name)
    with os.scandir(folder) as entries:  # the entry's type comes with the listing: no stat each
        for entry in entries:
            stem, suffix = os.path.splitext(entry.name)  # as Path.stem / Path.suffix split
            ext = suffix[1:].lower()
            if not entry.name.startswith(".") and ext in rank and entry.is_file():
                files.append((stem, rank[ext], entry.name))
    refuse_unsafe_entries(folder, [stem for stem, _, _ in files], "frame")
    files.sort()
    table: dict[str, Path] = {}
    for stem, _, name in files:
        if stem not in table:
            table[stem] = folder / name
    return table


def subfolders(folder: Path, what: str = "sequence") -> list[str]:
    """Names of the visible sub-folders of ``folder``, sorted (empty when it does not exist).

    An unsafe name refuses the listing (see the module docstring for why it is not skipped).
    """
    if not folder.is_dir():
        return []
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    refuse_unsafe_entries(folder, names, what)
    return names


def refuse_unsafe_entries(folder: Path, names: Iterable[str], what: str) -> None:
    """A DatasetError naming every unsafe entry of ``folder`` at once: one rename pass fixes all."""
    problems = [
        Problem(folder, f"{what} name {name!r} in this folder {reason}; rename it", "invalid")
        for name in names
        if (reason := check_name(name, what=what)) is not None
    ]
    if problems:
        raise DatasetError(problems)


def read_lines(path: Path, what: str = "list") -> list[tuple[int, str]]:
    """(line number, stripped text) of every line of a text list; unreadable → DatasetError.

    A UTF-8 byte-order mark is dropped; lines are stripped, never cut (DAVIS 480p lists end in
    a space, and the last line may lack its newline).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(Problem(path, f"cannot read {what} ({error})", "unreadable")) from None
    return [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)]


def unsafe_line(path: Path, number: int, name: str, what: str = "sequence") -> Problem | None:
    """The Problem of a list line whose name is unsafe, or None.

    Callers collect these and refuse the whole list: a malformed list is the user's to fix, and
    loading the rest would silently score a different set of sequences.
    """
    reason = check_name(name, what=what)
    if reason is None:
        return None
    return Problem(path, f"line {number}: {what} name {name!r} {reason}", "invalid")


def require_safe_lines(problems: Iterable[Problem | None]) -> None:
    """Raise every :func:`unsafe_line` problem of one list together."""
    found = [problem for problem in problems if problem is not None]
    if found:
        raise DatasetError(found)


def folder_sequence(
    name: str,
    image_dir: Path | None,
    annotation_dir: Path,
    *,
    decode: Callable[[Path], object] = decode_index,
    void_label: int | None = 255,
    mask_rule: str = "index",
    attributes: Mapping[str, object] | None = None,
    object_ids: Seq[int] | None = None,
) -> FileSequence:
    """A sequence whose frames and masks are the files of two folders, matched by stem.

    Frame order is the sorted image stems; without images (evaluation needs none) it is the
    sorted annotation stems.
    """
    frames = index_files(image_dir, IMAGE_EXTENSIONS) if image_dir is not None else {}
    annotations = index_files(annotation_dir, MASK_EXTENSIONS)
    return FileSequence(
        name,
        frames,
        annotations,
        decode=decode,
        void_label=void_label,
        mask_rule=mask_rule,
        attributes=attributes,
        object_ids=object_ids,
    )


def dataset_root(root: PathArg, label: str) -> Path:
    """``root`` as a Path, or a DatasetError saying why it cannot be a dataset root."""
    if root is None:
        raise DatasetError(Problem(None, f"{label} needs a dataset root folder", "config"))
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetError(
            Problem(path, f"dataset root for {label} does not exist or is not a folder", "missing")
        )
    return path


def present_sequences(
    names: Seq[str], folders: Callable[[str], Seq[Path]], label: str
) -> tuple[list[str], list[Problem]]:
    """Split listed names into those on disk and a "missing" Problem for each of the others.

    A sequence is present when any of ``folders(name)`` exists. Partial downloads are common,
    so missing sequences are reported, not fatal, unless none at all is present.
    """
    present: list[str] = []
    problems: list[Problem] = []
    for name in names:
        candidates = list(folders(name))
        if any(folder.is_dir() for folder in candidates):
            present.append(name)
        else:
            expected = " or ".join(str(folder) for folder in candidates)
            problems.append(
                Problem(
                    candidates[0],
                    f"sequence {name!r} of {label} is missing: expected folder {expected}",
                    "missing",
                )
            )
    if names and not present:
        lead = Problem(
            problems[0].path.parent,
            f"none of the {len(names)} sequences of {label} is on disk",
            "missing",
        )
        raise DatasetError([lead] + problems)
    return present, problems


def require_split(split: str | None, label: str, known: Seq[str] = ("all",)) -> str:
    """The split name, or a DatasetError for a split this dataset does not define."""
    split = split or known[0]
    if split not in known:
        raise DatasetError(
            Problem(
                None, f"{label} has no split {split!r}; choose one of {', '.join(known)}", "config"
            )
        )
    return split


def preview(items: Seq[str], count: int = 5) -> str:
    """The first few names of a long list, for one-line problem messages."""
    return ", ".join(items[:count]) + (", …" if len(items) > count else "")


def load_folder(
    root: PathArg, split: str | None = "all", *, task: str = "semi-supervised"
) -> Dataset:
    """Load any folder of indexed annotations (and optionally frames) as a dataset.

    Sequences are sorted by name. Raises DatasetError when the root holds no sequence.
    """
    root = dataset_root(root, "folder")
    split = require_split(split, "folder")
    task = require_task(task)
    entries, annotation_folder = _layout(root)
    sequences = [
        folder_sequence(name, image_dir, annotation_dir)
        for name, image_dir, annotation_dir in entries
    ]
    if not sequences:
        raise DatasetError(
            Problem(
                root,
                "no sequences found: expected JPEGImages/<seq>/ and "
                "Annotations/<seq>/, or <seq>/ folders of PNG masks",
                "empty",
            )
        )
    info = {"mask_rule": "index", "annotation_folder": annotation_folder}
    return Dataset("folder", split, task, sequences, root, info=info)


def _layout(root: Path) -> tuple[list[tuple[str, Path | None, Path]], str]:
    """(name, image folder, annotation folder) per sequence, and the annotation folder's name."""
    images, annotations = root / "JPEGImages", root / "Annotations"
    if images.is_dir() or annotations.is_dir():
        names = sorted(set(subfolders(images)) | set(subfolders(annotations)))
        if names:
            return [(name, images / name, annotations / name) for name in names], "Annotations"
        # Lexically absolute, so "." names the current folder rather than becoming "".
        name = require_name(Path(os.path.abspath(root)).name, root)
        return [(name, images, annotations)], "Annotations"
    return [(name, None, root / name) for name in subfolders(root)], "."
