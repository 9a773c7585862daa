"""DAVIS-2016 and DAVIS-2017 loaders (datasets.md §1, §2, §6).

Both years share one reader: a split list names the sequences, frames and masks are the
files of ``JPEGImages/<res>/<seq>/`` and ``<annotations>/<res>/<seq>/`` matched by stem. The
years differ only in their annotation convention (:class:`_Convention`): DAVIS-2016 stores
one binary 0/255 object per sequence, DAVIS-2017 palette indices with void 255.

Sequences named by the split but absent on disk (partial downloads) are reported in
``Dataset.problems`` and left out, while ``Dataset.listed`` keeps the whole split:
:func:`vosbench.datasets.load_dataset` refuses such a partial split unless told to score what
is present.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import yaml

from vosbench.datasets.base import Dataset, FileSequence, decode_index, decode_nonzero, require_task
from vosbench.datasets.folder import (
    PathArg,
    dataset_root,
    folder_sequence,
    present_sequences,
    preview,
    read_lines,
    require_safe_lines,
    unsafe_line,
)
from vosbench.errors import DatasetError, Problem

HIGH_RESOLUTIONS: tuple[str, ...] = ("1080p", "Full-Resolution")
_DB_INFO_FILES = (
    "Annotations/db_info.yml",
    "db_info.yml",
    "Annotations/db_info.yaml",
    "db_info.yaml",
)
_TEST_SPLITS = ("test-dev", "test-challenge")
DB_INFO_MAX_BYTES = 256 << 10  # 50x DAVIS-2016's 5 KB file; parsing the most is still seconds


@dataclass(frozen=True)
class _Convention:
    """What differs between the DAVIS years: folder names and how masks become object ids."""

    name: str
    year: int
    high_resolution: str
    decode: Callable[[Path], np.ndarray]
    void_label: int | None
    mask_rule: str
    object_ids: tuple[int, ...] | None  # None: the official rule, from the first annotation
    binary: bool


_DAVIS2016 = _Convention("davis2016", 2016, "1080p", decode_nonzero, None, "nonzero", (1,), True)
_DAVIS2017 = _Convention(
    "davis2017", 2017, "Full-Resolution", decode_index, 255, "index", None, False
)


def load_davis2016(
    root: PathArg, split: str, *, task: str = "semi-supervised", resolution: str = "480p"
) -> Dataset:
    """DAVIS-2016 (one binary object per sequence, 255 = object, no void).

    The split list is ``ImageSets/<res>/<split>.txt`` (path-pair lines) or, as shipped with
    the DAVIS-2017 package, ``ImageSets/2016/<split>.txt`` (names). Attributes come from
    ``db_info.yml`` when present.
    """
    root = dataset_root(root, _DAVIS2016.name)
    task = require_task(task)
    folders = _resolution_folders(resolution, _DAVIS2016.high_resolution)
    lists = [root / "ImageSets" / folder / f"{split}.txt" for folder in folders]
    lists.append(root / "ImageSets" / "2016" / f"{split}.txt")
    return _load_davis(root, split, task, _DAVIS2016, folders, lists, "Annotations")


def load_davis2017(
    root: PathArg, split: str, *, task: str = "semi-supervised", resolution: str = "480p"
) -> Dataset:
    """DAVIS-2017 semi-supervised (``Annotations``) or unsupervised (``Annotations_unsupervised``).

    Palette masks: pixel value = object id, 255 = void. Test splits annotate only their first
    frame; frames then come from ``JPEGImages``. The unsupervised test splits are listed in
    ``ImageSets/2019`` (as the official evaluator does).
    """
    root = dataset_root(root, _DAVIS2017.name)
    task = require_task(task)
    folders = _resolution_folders(resolution, _DAVIS2017.high_resolution)
    unsupervised = task == "unsupervised"
    year = "2019" if unsupervised and split in _TEST_SPLITS else "2017"
    lists = [root / "ImageSets" / year / f"{split}.txt"]
    annotation_set = "Annotations_unsupervised" if unsupervised else "Annotations"
    # Only the unsupervised test splits come without annotations.
    return _load_davis(
        root,
        split,
        task,
        _DAVIS2017,
        folders,
        lists,
        annotation_set,
        require_annotations=year == "2017",
    )


def _load_davis(
    root: Path,
    split: str,
    task: str,
    convention: _Convention,
    folders: Seq[str],
    list_candidates: Seq[Path],
    annotation_set: str,
    require_annotations: bool = False,
) -> Dataset:
    """The shared reader: split list → present sequences → FileSequences + problems."""
    list_file = _split_list_file(list_candidates, root, f"{convention.name}/{split}")
    listed = read_split_list(list_file)
    if not listed:
        raise DatasetError(Problem(list_file, "split list names no sequence", "empty"))
    image_root = _resolution_dir(root / "JPEGImages", folders)
    annotation_root = _resolution_dir(root / annotation_set, folders)
    if require_annotations and not annotation_root.is_dir():
        raise DatasetError(
            Problem(
                annotation_root,
                f"folder not found; the {task} task reads its annotations there",
                "missing",
            )
        )
    present, problems = present_sequences(
        list(listed),
        lambda name: (annotation_root / name, image_root / name),
        f"{convention.name}/{split}",
    )
    db_info, db_problems = read_db_info(root)
    problems += db_problems
    list_name = list_file.relative_to(root).as_posix()
    sequences: list[FileSequence] = []
    for name in present:
        sequence = folder_sequence(
            name,
            image_root / name,
            annotation_root / name,
            decode=convention.decode,
            void_label=convention.void_label,
            mask_rule=convention.mask_rule,
            attributes=db_info.get(name),
            object_ids=convention.object_ids,
        )
        problems += _listed_frame_problems(
            sequence, listed[name], annotation_root / name, list_name
        )
        problems += _frame_count_problems(sequence, db_info.get(name), image_root / name)
        sequences.append(sequence)
    info = {
        "year": convention.year,
        "resolution": folders[0],
        "mask_rule": convention.mask_rule,
        "annotation_folder": annotation_root.relative_to(root).as_posix(),
        "image_folder": image_root.relative_to(root).as_posix(),
        "split_list": list_name,
    }
    return Dataset(
        convention.name,
        split,
        task,
        sequences,
        root,
        binary=convention.binary,
        problems=problems,
        info=info,
        listed=tuple(listed),
    )


def read_split_list(path: Path) -> dict[str, list[str]]:
    """Sequence name → frame stems listed for it, in first-appearance order.

    Accepts name-only lines (``bear``) and DAVIS-2016 path-pair lines
    (``/JPEGImages/480p/bear/00000.jpg /Annotations/480p/bear/00000.png``), whose sequence is
    the image path's folder. Lines are stripped, never cut: 480p lists end in a space and the
    last line may lack its newline. Any unsafe name (``..``, ``.``, a control character …)
    refuses the whole list, each bad line named: the names become run folders.
    """
    listed: dict[str, list[str]] = {}
    problems: list[Problem | None] = []
    for number, entry in read_lines(path, "split list"):
        if not entry:
            continue
        if "/" in entry:
            sequence, stem = _pair_line_names(entry)
            problems.append(unsafe_line(path, number, sequence))
            problems.append(unsafe_line(path, number, stem, "frame"))
            listed.setdefault(sequence, []).append(stem)
        else:
            problems.append(unsafe_line(path, number, entry))
            listed.setdefault(entry, [])
    require_safe_lines(problems)
    return listed


def read_db_info(root: Path) -> tuple[dict[str, dict[str, object]], list[Problem]]:
    """Per-sequence ``{"attributes", "eval_t", "num_frames"}`` from ``db_info.yml``, if any.

    The file is optional (the README and the toolkit disagree on where it lives, so both
    places are tried); an unreadable one is reported, not fatal, since only reports use it.
    So that a hostile file cannot hang a run, files above :data:`DB_INFO_MAX_BYTES` and YAML
    aliases (nine nested ones in 500 bytes stand for 9**9 entries, the "billion laughs") are
    refused; DAVIS files use neither.
    """
    path = next((root / name for name in _DB_INFO_FILES if (root / name).is_file()), None)
    if path is None:
        return {}, []
    try:
        entries = yaml.load(_read_db_info_text(path), Loader=_NoAliasLoader)["sequences"]
        return {str(entry["name"]): _db_record(entry) for entry in entries}, []
    except _DbInfoRefused as error:
        return {}, [Problem(path, f"{error}; attributes left empty", "invalid")]
    except RecursionError:
        return {}, [Problem(path, "YAML nested too deeply; attributes left empty", "invalid")]
    except (
        OSError,
        UnicodeDecodeError,
        yaml.YAMLError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
    ) as error:
        return {}, [
            Problem(
                path, f"cannot read sequence metadata ({error!r}); attributes left empty", "invalid"
            )
        ]


class _DbInfoRefused(ValueError):
    """A db_info.yml refused before or while parsing: too large, or using YAML aliases."""


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, so nothing can expand beyond the file's own size."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            alias = self.peek_event()
            where = f"*{alias.anchor} at line {alias.start_mark.line + 1}"
            raise _DbInfoRefused(f"YAML aliases are not allowed ({where})")
        return super().compose_node(parent, index)


def _read_db_info_text(path: Path) -> str:
    """The file's text, read no further than one byte past the size limit."""
    with path.open("rb") as handle:
        data = handle.read(DB_INFO_MAX_BYTES + 1)
    if len(data) > DB_INFO_MAX_BYTES:
        raise _DbInfoRefused(f"larger than the {DB_INFO_MAX_BYTES:,} bytes a db_info.yml may have")
    return data.decode("utf-8")


def _db_record(entry: dict[str, object]) -> dict[str, object]:
    record: dict[str, object] = {
        "attributes": [str(code) for code in entry.get("attributes") or []]
    }
    if "eval_t" in entry:
        record["eval_t"] = bool(entry["eval_t"])
    if "num_frames" in entry:
        record["num_frames"] = int(entry["num_frames"])  # type: ignore[arg-type]
    return record


def _resolution_folders(resolution: str, high_resolution: str) -> tuple[str, ...]:
    """Folder names to try, native first (2016 says ``1080p``, 2017 ``Full-Resolution``)."""
    if resolution == "480p":
        return ("480p",)
    if resolution in HIGH_RESOLUTIONS:
        return (high_resolution,) + tuple(
            name for name in HIGH_RESOLUTIONS if name != high_resolution
        )
    raise DatasetError(
        Problem(
            None, f"unknown resolution {resolution!r}; choose 480p or {high_resolution}", "config"
        )
    )


def _resolution_dir(parent: Path, folders: Seq[str]) -> Path:
    """The first existing ``parent/<folder>``; the native name when none exists (for messages)."""
    return next(
        (parent / name for name in folders if (parent / name).is_dir()), parent / folders[0]
    )


def _split_list_file(candidates: Seq[Path], root: Path, label: str) -> Path:
    found = next((path for path in candidates if path.is_file()), None)
    if found is not None:
        return found
    expected = " or ".join(path.relative_to(root).as_posix() for path in candidates)
    known = sorted(
        {
            p.stem
            for folder in {c.parent for c in candidates}
            if folder.is_dir()
            for p in folder.glob("*.txt")
        }
    )
    hint = f"; lists found there: {', '.join(known)}" if known else ""
    raise DatasetError(
        Problem(candidates[0], f"no split list for {label}: expected {expected}{hint}", "missing")
    )


def _listed_frame_problems(
    sequence: FileSequence, listed: Iterable[str], annotation_dir: Path, list_name: str
) -> list[Problem]:
    """One problem per sequence whose pair-list frames lack an annotation file."""
    annotated = set(sequence.annotated)
    missing = [stem for stem in listed if stem not in annotated]
    if not missing:
        return []
    return [
        Problem(
            annotation_dir / f"{missing[0]}.png",
            f"{len(missing)} frame(s) of {sequence.name!r} listed in {list_name} have no "
            f"annotation: {preview(missing)}",
            "missing",
        )
    ]


def _frame_count_problems(
    sequence: FileSequence, record: dict[str, object] | None, folder: Path
) -> list[Problem]:
    """A frame count that disagrees with db_info.yml usually means an incomplete download."""
    expected = (record or {}).get("num_frames")
    if expected is None or expected == len(sequence.frames):
        return []
    return [
        Problem(
            folder,
            f"sequence {sequence.name!r} has {len(sequence.frames)} frames; "
            f"db_info lists {expected}",
            "warning",
        )
    ]


def _pair_line_names(entry: str) -> tuple[str, str]:
    """(sequence folder, frame stem) of a path line, split on ``/`` as written (``..`` kept)."""
    parts = entry.split()[0].split("/")
    folder = parts[-2] if len(parts) > 1 else ""
    stem = parts[-1] if parts[-1] in (".", "..") else PurePosixPath(parts[-1]).stem
    return folder, stem
