"""LVOS v1 / v2 (long-term VOS): one folder per split, objects with their own frame ranges.

Layout, as the official evaluator (github LingyiHongfd/lvos-evaluation) reads it::

    <root>/<split>/JPEGImages/<video>/<8 digits>.jpg     every frame
    <root>/<split>/Annotations/<video>/<8 digits>.png    every 5th frame, id maps (255 void)
    <root>/<split>/<split>_meta.json                     {"videos": {video: {"objects":
                                                          {"<id>": {"frame_range": {"start",
                                                          "end", "frame_nums"}}}}}}
    <root>/<split>/unseen_videos.txt                     the videos of the unseen group
    <root>/<split>/unsupervised_videos.txt               the videos of the unsupervised-single
                                                         task (that task only)

``root`` may also be the split folder itself (what the official ``--lvos_path`` names). An
object is annotated on ``start, start+5, … end``: ``frame_nums`` such frames. A semi-supervised
method is given each object's mask on its ``start`` frame (:meth:`LVOSSequence.prompts`). All
three tasks read the same ``Annotations``; the ``unsupervised-single`` task scores only the
videos of its list, in the list's order.
Everything read from the files is checked here (names, ids, ranges against the frames on
disk), so scoring never meets a malformed range.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vosbench.datasets.base import TASKS, Dataset, FileSequence, decode_index, require_task
from vosbench.datasets.folder import (
    IMAGE_EXTENSIONS,
    MASK_EXTENSIONS,
    dataset_root,
    index_files,
    present_sequences,
    read_lines,
    require_safe_lines,
    require_split,
    unsafe_line,
)
from vosbench.errors import DatasetError, Problem
from vosbench.names import check_name

SPLITS = ("valid", "test", "train")
STEP = 5  # LVOS annotates every 5th frame
UNSEEN_FILE = "unseen_videos.txt"
UNSUPERVISED_FILE = "unsupervised_videos.txt"
MAX_META_BYTES = 64 << 20
STEM_DIGITS = 8


@dataclass(frozen=True)
class FrameRange:
    """One object's annotated range: ``start, start+5, … end`` (``count`` frames)."""

    start: int
    end: int
    count: int

    def stems(self) -> tuple[str, ...]:
        return tuple(stem(t) for t in range(self.start, self.end + 1, STEP))


def stem(index: int) -> str:
    """The file stem of frame ``index`` (``00000005``)."""
    return f"{index:0{STEM_DIGITS}d}"


class LVOSSequence(FileSequence):
    """A video whose objects come from the meta file, each with its own frame range."""

    ranges: dict[int, FrameRange]
    group: str

    def prompts(self) -> dict[str, tuple[int, ...]]:
        """Each object is given on the first frame of its range (objects may start late)."""
        prompts: dict[str, list[int]] = {}
        for object_id, frames in self.ranges.items():
            prompts.setdefault(stem(frames.start), []).append(object_id)
        return {s: tuple(ids) for s, ids in sorted(prompts.items())}


def load_lvos(
    root: Any,
    split: str | None = "valid",
    *,
    task: str = "semi-supervised",
    unseen: Any = None,
    unsupervised: Any = None,
) -> Dataset:
    """LVOS (v1 or v2: the same layout) ``split`` under ``root``.

    Args:
        root: the LVOS folder (holding ``valid/`` …) or one split's folder.
        split: ``valid`` (default), ``test`` or ``train``.
        task: ``semi-supervised`` (default), ``unsupervised`` (the official
            ``unsupervised_multiple``) or ``unsupervised-single`` (``unsupervised_single``).
        unseen: the unseen-videos list (default: ``unseen_videos.txt`` in the split folder,
            then in ``root``); required for ``valid`` and ``test``, whose global numbers
            average the seen and unseen groups.
        unsupervised: the ``unsupervised-single`` task's list of videos (default:
            ``unsupervised_videos.txt`` in the split folder, then in ``root``); its videos
            that the meta file lacks are left out, as the official evaluator does.
    """
    split = require_split(split, "lvos", SPLITS)
    task = require_task(task, TASKS)
    base = dataset_root(root, "lvos")
    folder = base / split if (base / split).is_dir() else base
    meta_path = _meta_file(folder, split)
    # a range needs frames left once the semi-supervised rule drops its first and last
    videos = read_meta(meta_path, min_frames=3 if task == "semi-supervised" else 1)
    listed = sorted(videos)  # the official evaluator walks the videos in sorted order
    info_list: dict[str, str] = {}
    if task == "unsupervised-single":
        list_path = _list_file(folder, base, unsupervised, UNSUPERVISED_FILE)
        listed = _single_task_videos(list_path, videos, meta_path)
        info_list["unsupervised_list"] = _shown(list_path, base)
    unseen_names = _unseen(folder, base, unseen, split)
    images, annotations = folder / "JPEGImages", folder / "Annotations"
    present, problems = present_sequences(
        listed, lambda name: (annotations / name, images / name), f"lvos/{split}"
    )
    sequences = []
    for name in present:
        sequence = _sequence(name, images, annotations, videos[name], name in unseen_names)
        problems += _range_problems(sequence, meta_path, annotations / name)
        sequences.append(sequence)
    errors = [p for p in problems if p.kind != "missing"]
    if errors:
        raise DatasetError(errors)
    info = {
        "mask_rule": "index",
        "annotation_folder": annotations.relative_to(base).as_posix(),
        "image_folder": images.relative_to(base).as_posix(),
        "split_list": meta_path.relative_to(base).as_posix(),
        "unseen": sorted(unseen_names & set(listed)),
        **info_list,
    }
    return Dataset(
        "lvos", split, task, sequences, base, problems=problems, info=info, listed=listed
    )


def _meta_file(folder: Path, split: str) -> Path:
    for name in (f"{split}_meta.json", "meta.json"):
        if (folder / name).is_file():
            return folder / name
    raise DatasetError(
        Problem(folder / f"{split}_meta.json", "LVOS meta file not found", "missing")
    )


def read_meta(path: Path, *, min_frames: int = 3) -> dict[str, dict[int, FrameRange]]:
    """Video → object id → frame range, in the file's object order; every problem at once.

    ``min_frames``: the fewest annotated frames a range may have (the semi-supervised rule
    drops two; the unsupervised tasks score ranges of any length)."""
    try:
        if path.stat().st_size > MAX_META_BYTES:
            raise DatasetError(Problem(path, f"larger than {MAX_META_BYTES >> 20} MiB", "invalid"))
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(Problem(path, f"cannot read the meta file ({error})", "unreadable"))
    videos = data.get("videos") if isinstance(data, dict) else None
    if not isinstance(videos, dict) or not videos:
        raise DatasetError(Problem(path, 'needs a non-empty "videos" object', "invalid"))
    problems: list[Problem] = []
    result: dict[str, dict[int, FrameRange]] = {}
    for video, record in videos.items():
        reason = check_name(video)
        if reason is not None:
            problems.append(Problem(path, f"video name {video!r} {reason}", "invalid"))
            continue
        objects = record.get("objects") if isinstance(record, dict) else None
        if not isinstance(objects, dict) or not objects:
            problems.append(Problem(path, f'video {video!r}: needs a non-empty "objects"'))
            continue
        ranges = {}
        for key, entry in objects.items():
            parsed = _object_range(video, key, entry, min_frames)
            if isinstance(parsed, str):
                problems.append(Problem(path, parsed, "invalid"))
            else:
                ranges[int(key)] = parsed
        result[video] = ranges
    if problems:
        raise DatasetError(problems)
    return result


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def _object_range(video: str, key: Any, entry: Any, min_frames: int = 3) -> FrameRange | str:
    """The object's range, or why it is not one (the message of a Problem)."""
    where = f"video {video!r}, object {key!r}"
    object_id = _integer(key)
    if object_id is None or not 1 <= object_id <= 254:
        return f"{where}: object ids are integers 1 … 254 (255 is void)"
    frame_range = entry.get("frame_range") if isinstance(entry, dict) else None
    if not isinstance(frame_range, dict):
        return f'{where}: needs "frame_range" with start, end and frame_nums'
    start, end, count = (_integer(frame_range.get(k)) for k in ("start", "end", "frame_nums"))
    if start is None or end is None or count is None:
        return f"{where}: start, end and frame_nums must be non-negative integers"
    if end < start or (end - start) % STEP:
        return f"{where}: end {end} must follow start {start} by a multiple of {STEP}"
    if count != (end - start) // STEP + 1:
        return (
            f"{where}: frame_nums {count} disagrees with start {start} and end {end} "
            f"(every {STEP}th frame gives {(end - start) // STEP + 1})"
        )
    if count < min_frames:
        return (
            f"{where}: {count} annotated frame(s); the semi-supervised rule needs 3 (first and "
            "last dropped)"
        )
    return FrameRange(start, end, count)


def _find_list(folder: Path, base: Path, given: Any, name: str) -> tuple[Path, Path | None]:
    """(where it was looked for first, the list found or None): ``given``, else ``name`` in
    the split folder, then in ``root``."""
    candidates = [Path(given).expanduser()] if given is not None else [folder / name, base / name]
    return candidates[0], next((c for c in candidates if c.is_file()), None)


def _list_file(folder: Path, base: Path, given: Any, name: str) -> Path:
    first, path = _find_list(folder, base, given, name)
    if path is None:
        raise DatasetError(
            Problem(
                first,
                f"{name} not found: the list of the videos LVOS's unsupervised-single task "
                f"scores; put the official {name} (github LingyiHongfd/lvos-evaluation) here, "
                "or pass unsupervised=PATH",
                "missing",
            )
        )
    return path


def _shown(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)


def _names(path: Path, what: str) -> list[tuple[int, str]]:
    """(line number, name) of every non-empty line; unsafe names refuse the whole list."""
    lines = [(n, line) for n, line in read_lines(path, what) if line]
    require_safe_lines(unsafe_line(path, n, line) for n, line in lines)
    return lines


def _single_task_videos(path: Path, videos: Mapping[str, Any], meta: Path) -> list[str]:
    """The videos the unsupervised-single task scores: those of its list that the meta file
    has, in the list's order (the official evaluator walks the list, and a video the meta
    lacks has no object to score). A name listed twice would count twice there: an error."""
    lines = _names(path, "unsupervised-videos list")
    first: dict[str, int] = {}
    problems = []
    for number, name in lines:
        if name in first:
            problems.append(
                Problem(path, f"line {number}: video {name!r} listed again (line {first[name]})")
            )
        first.setdefault(name, number)
    if problems:
        raise DatasetError(problems)
    chosen = [name for name in first if name in videos]
    if not chosen:
        raise DatasetError(
            Problem(path, f"none of its {len(first)} videos is in {meta.name}", "empty")
        )
    return chosen


def _unseen(folder: Path, base: Path, given: Any, split: str) -> set[str]:
    first, path = _find_list(folder, base, given, UNSEEN_FILE)
    if path is None:
        if split == "train":
            return set()
        raise DatasetError(
            Problem(
                first,
                "unseen-videos list not found: LVOS's global numbers average the seen and "
                "unseen groups; put the official unseen_videos.txt (github "
                "LingyiHongfd/lvos-evaluation) here, or pass unseen=PATH",
                "missing",
            )
        )
    return {name for _n, name in _names(path, "unseen-videos list")}


def _sequence(
    name: str, images: Path, annotations: Path, ranges: Mapping[int, FrameRange], unseen: bool
) -> LVOSSequence:
    sequence = LVOSSequence(
        name,
        index_files(images / name, IMAGE_EXTENSIONS),
        index_files(annotations / name, MASK_EXTENSIONS),
        decode=decode_index,
        void_label=255,
        attributes={"group": "unseen" if unseen else "seen"},
        object_ids=tuple(ranges),
    )
    sequence.ranges = dict(ranges)
    sequence.group = "unseen" if unseen else "seen"
    return sequence


def _range_problems(sequence: LVOSSequence, meta: Path, folder: Path) -> list[Problem]:
    """Ranges that leave the video, or whose annotations are missing."""
    problems = []
    frames = set(sequence.frames)
    annotated = set(sequence.annotated)
    for object_id, frames_range in sequence.ranges.items():
        stems = frames_range.stems()
        where = f"video {sequence.name!r}, object {object_id}"
        outside = [s for s in stems if s not in frames]
        if outside:
            problems.append(
                Problem(
                    meta,
                    f"{where}: frame range {stems[0]} … {stems[-1]} leaves the video "
                    f"({len(outside)} frame(s) not in JPEGImages, first {outside[0]})",
                    "invalid",
                )
            )
            continue
        absent = [s for s in stems[:-1] if s not in annotated]  # the official never reads `end`
        if absent:
            problems.append(
                Problem(
                    folder,
                    f"{where}: {len(absent)} annotation(s) of its frame range missing, "
                    f"first {absent[0]}.png",
                    "missing-annotation",
                )
            )
    return problems
