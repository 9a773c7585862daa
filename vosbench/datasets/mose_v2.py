"""MOSEv2 loader: ``<split>/JPEGImages``, ``<split>/Annotations`` (every frame) and
``meta_<split>.json``.

The layout MOSEv2's local scorer reads (henghuiding/MOSE-api ``MOSEv2/sam2_rcms/tools/score.py``,
commit 241977ae2ceceee054fa2a2c8a2690838c451369)::

    ROOT/meta_valid.json                 {"videos": {<video>: {"length", "height", "width",
                                                               "objects"}}}
    ROOT/valid/JPEGImages/<video>/00000.jpg …
    ROOT/valid/Annotations/<video>/00000.png …   palette PNGs, pixel value = object id

``objects`` is a list of ids or an object keyed by them (the scorer iterates either and
compares pixels with ``int(id)``); the scorer checks ``length`` against the number of files in
each annotation folder and scores the objects of the meta on frames 1 … length − 2. The meta
is also accepted inside the split folder (``ROOT/valid/meta_valid.json``).

Everything read from the meta is checked where it enters: a malformed file, a video name that
is no safe path component, a missing field, an id that is not a number 1 … 255 or repeats,
a frame count that disagrees with the annotation folder, and an annotation folder the meta
does not describe each give a :class:`~vosbench.errors.DatasetError` naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vosbench.datasets.base import Dataset, FileSequence, decode_index, require_task
from vosbench.datasets.folder import (
    IMAGE_EXTENSIONS,
    MASK_EXTENSIONS,
    PathArg,
    dataset_root,
    index_files,
    present_sequences,
    preview,
    require_split,
    subfolders,
)
from vosbench.errors import DatasetError, Problem
from vosbench.names import check_name

SPLITS = ("valid",)
META_MAX_BYTES = 64 << 20  # the real meta is a few hundred KB; refuse before parsing a huge one
MAX_OBJECT_ID = 255  # ids are pixel values of 8-bit PNGs


def meta_path(root: Path, split: str) -> Path:
    """Where ``meta_<split>.json`` is: the dataset root (as released), else the split folder."""
    name = f"meta_{split}.json"
    for candidate in (root / name, root / split / name):
        if candidate.is_file():
            return candidate
    raise DatasetError(
        Problem(
            root / name,
            f"MOSEv2 meta file not found (looked for {name} in {root} and in {root / split})",
            "missing",
        )
    )


def read_meta(path: Path) -> dict[str, dict[str, Any]]:
    """Video name → ``{"length", "height", "width", "objects": ((id, name), …)}``, all checked.

    ``height`` / ``width`` may be null (the scorer then takes them from the first mask);
    object names keep the meta's spelling, as the official per-object rows do
    (``<video>_<name>``).
    """
    data = _read_json(path)
    videos = data.get("videos") if isinstance(data, dict) else None
    if not isinstance(videos, dict):
        raise DatasetError(Problem(path, 'is not a MOSEv2 meta file: no "videos" object', "format"))
    problems: list[Problem] = []
    records: dict[str, dict[str, Any]] = {}
    for name, entry in videos.items():
        record = _video_record(path, name, entry, problems)
        if record is not None:
            records[name] = record
    if problems:
        raise DatasetError(problems)
    if not records:
        raise DatasetError(Problem(path, "the meta file lists no video", "empty"))
    return records


def _read_json(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            data = handle.read(META_MAX_BYTES + 1)
    except OSError as error:
        problem = Problem(path, f"cannot read the meta file ({error})", "unreadable")
        raise DatasetError(problem) from None
    if len(data) > META_MAX_BYTES:
        raise DatasetError(
            Problem(path, f"larger than the {META_MAX_BYTES:,} bytes a meta file may have", "size")
        )
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise DatasetError(Problem(path, f"is not UTF-8 text ({error})", "format")) from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        problem = Problem(path, f"is not valid JSON ({error.msg} at {where})", "format")
        raise DatasetError(problem) from None
    except RecursionError:
        raise DatasetError(Problem(path, "JSON nested too deeply", "format")) from None


def _video_record(
    path: Path, name: Any, entry: Any, problems: list[Problem]
) -> dict[str, Any] | None:
    reason = check_name(name, what="video")
    if reason is not None:
        problems.append(Problem(path, f"video name {name!r} {reason}", "invalid"))
        return None
    where = f"video {name!r}"
    if not isinstance(entry, dict):
        problems.append(Problem(path, f"{where}: entry is not an object", "format"))
        return None
    length = entry.get("length")
    if not _is_int(length) or length < 1:
        problems.append(Problem(path, f"{where}: 'length' must be a positive integer", "format"))
        return None
    size = {}
    for key in ("height", "width"):
        value = entry.get(key)
        if value is not None and (not _is_int(value) or value < 1):
            problems.append(Problem(path, f"{where}: {key!r} must be a positive integer", "format"))
            return None
        size[key] = value
    objects = _objects(path, where, entry.get("objects"), problems)
    if objects is None:
        return None
    return {"length": length, **size, "objects": objects}


def _objects(
    path: Path, where: str, value: Any, problems: list[Problem]
) -> tuple[tuple[int, str], ...] | None:
    """(id, name) per object, in the meta's order; None (with a problem) when malformed."""
    if isinstance(value, dict):
        keys: list[Any] = list(value)
    elif isinstance(value, list):
        keys = value
    else:
        problems.append(
            Problem(path, f"{where}: 'objects' must be a list of ids or an object keyed by id")
        )
        return None
    objects: list[tuple[int, str]] = []
    for key in keys:
        number = _object_id(key)
        if number is None:
            problems.append(
                Problem(
                    path,
                    f"{where}: object id {key!r} is not a whole number 1 … {MAX_OBJECT_ID}",
                    "format",
                )
            )
            return None
        if any(number == seen for seen, _ in objects):
            problems.append(Problem(path, f"{where}: object id {number} is listed twice", "format"))
            return None
        objects.append((number, str(key)))
    if not objects:
        problems.append(Problem(path, f"{where}: lists no object", "format"))
        return None
    return tuple(objects)


def _object_id(key: Any) -> int | None:
    if _is_int(key):
        number = key
    elif isinstance(key, str) and key.isascii() and key.isdigit():
        number = int(key)
    else:
        return None
    return number if 1 <= number <= MAX_OBJECT_ID else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def load_mosev2(
    root: PathArg, split: str | None = "valid", *, task: str = "semi-supervised"
) -> Dataset:
    """MOSEv2 with every frame annotated (the layout the official local scorer reads).

    The meta file is the split: its videos are the sequences, in its order, and those absent
    on disk are reported (``Dataset.missing``). Objects are the meta's ids; each video's
    frames are its annotation PNGs (the images may be absent for evaluation alone).
    """
    root = dataset_root(root, "mosev2")
    split = require_split(split, "mosev2", SPLITS)
    task = require_task(task)
    path = meta_path(root, split)
    meta = read_meta(path)
    image_root, annotation_root = root / split / "JPEGImages", root / split / "Annotations"
    if not annotation_root.is_dir():
        raise DatasetError(
            Problem(
                annotation_root,
                "annotation folder not found; MOSEv2 scoring reads every frame's mask there",
                "missing",
            )
        )
    _refuse_unlisted(annotation_root, meta, path)
    present, problems = present_sequences(
        list(meta),
        lambda name: (annotation_root / name, image_root / name),
        f"mosev2/{split}",
    )
    sequences = [
        _sequence(name, meta[name], image_root / name, annotation_root / name, path)
        for name in present
    ]
    info: dict[str, object] = {
        "mask_rule": "index",
        "annotation_folder": annotation_root.relative_to(root).as_posix(),
        "image_folder": image_root.relative_to(root).as_posix(),
        "meta_file": path.relative_to(root).as_posix(),
    }
    spelled = _unusual_spellings(meta, present)
    if spelled:  # the official rows keep the meta's spelling of an id ("<video>_01")
        info["object_names"] = spelled
    return Dataset(
        "mosev2", split, task, sequences, root, problems=problems, info=info, listed=tuple(meta)
    )


def _unusual_spellings(meta: Mapping[str, Any], names: list[str]) -> dict[str, dict[str, str]]:
    """Video → {id: spelling} for the ids the meta spells other than as plain numbers."""
    spelled = {}
    for name in names:
        odd = {str(number): text for number, text in meta[name]["objects"] if text != str(number)}
        if odd:
            spelled[name] = odd
    return spelled


def _refuse_unlisted(annotation_root: Path, meta: Mapping[str, Any], path: Path) -> None:
    """Annotation folders the meta does not describe: the official scorer stops on them."""
    unlisted = [name for name in subfolders(annotation_root, "video") if name not in meta]
    if unlisted:
        raise DatasetError(
            Problem(
                annotation_root,
                f"{len(unlisted)} annotation folder(s) are not videos of {path.name}: "
                f"{preview(unlisted)}",
                "invalid",
            )
        )


def _sequence(
    name: str, record: Mapping[str, Any], image_dir: Path, annotation_dir: Path, meta: Path
) -> FileSequence:
    annotations = _numbered(index_files(annotation_dir, MASK_EXTENSIONS), annotation_dir)
    if len(annotations) != record["length"]:
        raise DatasetError(
            Problem(
                annotation_dir,
                f"{len(annotations)} annotation PNG(s) but {meta.name} gives video {name!r} "
                f"length {record['length']}; MOSEv2 annotates every frame",
                "frames",
            )
        )
    frames = _numbered(index_files(image_dir, IMAGE_EXTENSIONS), image_dir)
    if frames and list(frames) != list(annotations):
        missing = [stem for stem in frames if stem not in annotations]
        extra = [stem for stem in annotations if stem not in frames]
        detail = f"frames without a mask: {preview(missing)}" if missing else ""
        detail = detail or f"masks without a frame: {preview(extra)}"
        raise DatasetError(
            Problem(annotation_dir, f"masks and frames of {name!r} differ ({detail})", "frames")
        )
    objects = record["objects"]
    attributes = {
        "length": record["length"],
        "meta_size": (record["height"], record["width"]),
        "object_names": tuple(text for _, text in objects),
    }
    return FileSequence(
        name,
        frames,
        annotations,
        decode=decode_index,
        void_label=None,
        mask_rule="index",
        attributes=attributes,
        object_ids=tuple(number for number, _ in objects),
    )


def _numbered(files: dict[str, Path], folder: Path) -> dict[str, Path]:
    """``files`` in frame order; stems must be zero-padded numbers, as the scorer sorts by value."""
    bad = [stem for stem in files if not (stem.isascii() and stem.isdigit())]
    if bad:
        raise DatasetError(
            Problem(folder, f"frame names must be numbers (found {preview(bad)})", "invalid")
        )
    if len({len(stem) for stem in files}) > 1:
        raise DatasetError(
            Problem(folder, "frame numbers must be zero-padded to one width", "invalid")
        )
    return {stem: files[stem] for stem in sorted(files)}
