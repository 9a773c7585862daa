"""YouTube-VOS 2018 / 2019 loaders: ``meta.json``, sparse annotations, objects that appear late.

Layout of one year's download (``root``)::

    train/JPEGImages/<video>/<frame>.jpg     6 fps: every 5th frame of the 30 fps video
    train/Annotations/<video>/<frame>.png    palette PNG, pixel value = object id (every frame)
    train/meta.json                          videos.<video>.objects.<id>.{category, frames}
    valid/...  test/...                      Annotations only where each object first appears
    <split>_all_frames/JPEGImages/<video>/   30 fps frames (also read under all_frames/)

An object's first appearance is the first of its ``meta.json`` frames whose annotation holds
the object: ``meta.json`` names a few first frames wrongly, and the masks are the truth.
:meth:`YouTubeVOSSequence.prompts` hands each object to a method at that frame. Every name
from ``meta.json`` passes :mod:`vosbench.names` before it becomes a path; a malformed file is
refused whole, each problem named with the file.

Local scoring: the server keeps the valid and test ground truth, so ``holdout`` is a seeded part
of ``train`` built as valid is built (a set of categories held out as "unseen", the videos
showing them, and a share of the other videos), and ``train_rest`` is the remainder to train on
(:func:`holdout_split`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from vosbench.datasets.base import Dataset, FileSequence, decode_index, require_task
from vosbench.datasets.folder import (
    PathArg,
    dataset_root,
    index_files,
    present_sequences,
    preview,
)
from vosbench.errors import DatasetError, Problem
from vosbench.names import check_name

YEARS = (2018, 2019)
BASE_SPLITS = ("train", "valid", "test")
LOCAL_SPLITS = ("holdout", "train_rest")
SPLITS = (
    "train",
    "valid",
    "test",
    "train_all_frames",
    "valid_all_frames",
    "test_all_frames",
    "holdout",
    "holdout_all_frames",
    "train_rest",
)
SERVER_SPLITS = ("valid", "test")  # scored by the CodaLab server only
ALL_FRAMES_SUFFIX = "_all_frames"
META_FILE = "meta.json"
META_MAX_BYTES = 64 << 20  # far above any released meta.json
MAX_FRAMES_PER_OBJECT = 100_000
MAX_PROBLEMS_SHOWN = 20
IMAGE_EXTENSIONS = ("jpg", "jpeg")

# The local held-out split (see holdout_split): fixed so every user scores the same videos.
HOLDOUT_SEED = 0
UNSEEN_CATEGORY_FRACTION = 0.1
SEEN_VIDEO_FRACTION = 0.05


@dataclass(frozen=True)
class ObjectMeta:
    """One object of ``meta.json``: its category ("" when the file gives none) and frames."""

    category: str
    frames: tuple[str, ...]


VideoMeta = Mapping[int, ObjectMeta]


# --------------------------------------------------------------------------------------------
# meta.json


def read_meta(path: Path) -> dict[str, dict[int, ObjectMeta]]:
    """``videos.<video>.objects.<id>.{category, frames}`` checked and typed; a DatasetError
    naming ``path`` lists every problem (at most :data:`MAX_PROBLEMS_SHOWN`) otherwise."""
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("videos"), dict):
        raise DatasetError(Problem(path, 'expected an object {"videos": {...}}', "format"))
    problems: list[Problem] = []
    videos: dict[str, dict[int, ObjectMeta]] = {}
    for name, record in data["videos"].items():
        reason = check_name(name, what="video")
        if reason is not None:
            problems.append(Problem(path, f"video name {name!r} {reason}", "invalid"))
            continue
        objects = _video_objects(path, name, record, problems)
        if objects is not None:
            videos[name] = objects
    if problems:
        raise DatasetError(_capped(problems))
    return videos


def _load_json(path: Path) -> Any:
    if not path.is_file():
        raise DatasetError(
            Problem(
                path,
                f"{META_FILE} not found; YouTube-VOS lists each split's videos and objects there",
                "missing",
            )
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(META_MAX_BYTES + 1)
    except OSError as error:
        raise DatasetError(Problem(path, f"cannot be read ({error.strerror})", "unreadable"))
    if len(data) > META_MAX_BYTES:
        raise DatasetError(
            Problem(
                path,
                f"larger than the {META_MAX_BYTES:,} bytes a {META_FILE} may have",
                "too_large",
            )
        )
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise DatasetError(Problem(path, f"is not valid JSON ({error})", "format")) from None
    except RecursionError:
        raise DatasetError(Problem(path, "JSON nested too deeply", "format")) from None


def _video_objects(
    path: Path, video: str, record: Any, problems: list[Problem]
) -> dict[int, ObjectMeta] | None:
    where = f"videos.{video}"
    if not isinstance(record, dict) or not isinstance(record.get("objects"), dict):
        problems.append(Problem(path, f'{where}: expected {{"objects": {{...}}}}', "format"))
        return None
    objects: dict[int, ObjectMeta] = {}
    for key, entry in record["objects"].items():
        label = f"{where}.objects.{key}"
        object_id = _object_id(key)
        if object_id is None:
            problems.append(
                Problem(
                    path, f"{label}: object ids are whole numbers 1 … 254 (PNG values)", "format"
                )
            )
            continue
        parsed = _object_meta(path, label, entry, problems)
        if parsed is not None:
            objects[object_id] = parsed
    if not objects and not problems:
        problems.append(Problem(path, f"{where}: lists no object", "empty"))
    return objects


def _object_id(key: Any) -> int | None:
    if not isinstance(key, str) or not key.isascii() or not key.isdigit() or len(key) > 3:
        return None
    value = int(key)
    return value if 1 <= value <= 254 else None


def _object_meta(path: Path, label: str, entry: Any, problems: list[Problem]) -> ObjectMeta | None:
    if not isinstance(entry, dict):
        problems.append(Problem(path, f"{label}: expected an object with 'frames'", "format"))
        return None
    category = entry.get("category", "")
    frames = entry.get("frames")
    if not isinstance(category, str) or len(category) > 200:
        problems.append(Problem(path, f"{label}.category: expected a short text", "format"))
        return None
    if not isinstance(frames, list) or not frames or len(frames) > MAX_FRAMES_PER_OBJECT:
        problems.append(
            Problem(path, f"{label}.frames: expected a non-empty list of frame names", "format")
        )
        return None
    bad = [f for f in frames if check_name(f, what="frame") is not None]
    if bad:
        reason = check_name(bad[0], what="frame")
        problems.append(Problem(path, f"{label}.frames: frame name {bad[0]!r} {reason}", "invalid"))
        return None
    return ObjectMeta(category, tuple(sorted(set(frames))))


def _capped(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS_SHOWN:
        return problems
    rest = len(problems) - MAX_PROBLEMS_SHOWN
    return problems[:MAX_PROBLEMS_SHOWN] + [
        Problem(problems[0].path, f"… and {rest} more problem(s)", problems[0].kind)
    ]


# --------------------------------------------------------------------------------------------
# The local held-out split


@dataclass(frozen=True)
class Holdout:
    """The local held-out split of ``train``: which categories are unseen, which videos held out."""

    seed: int
    unseen_categories: tuple[str, ...]
    videos: tuple[str, ...]

    def group(self, category: str) -> str:
        return "unseen" if category in self.unseen_categories else "seen"


def _rank(seed: int, kind: str, name: str) -> str:
    """A stable pseudo-random order key (the same on every machine and Python version)."""
    return hashlib.sha256(f"vosbench-youtube-vos-holdout:{seed}:{kind}:{name}".encode()).hexdigest()


def _share(fraction: float, count: int) -> int:
    """round(fraction × count), half up, and at least one when there is anything to take."""
    return 0 if count == 0 else max(1, math.floor(fraction * count + 0.5))


def holdout_split(meta: Mapping[str, VideoMeta], seed: int = HOLDOUT_SEED) -> Holdout:
    """The held-out part of ``train`` scored locally, built as the valid split is.

    Rule: order the categories of ``train`` by SHA-256 of ``seed`` and name and take the first
    ``round(0.1 × categories)`` (at least one when there are two or more) as *unseen*; every
    video showing an unseen category is held out (so training never sees those categories);
    of the other videos, ordered the same way by name, the first ``round(0.05 × videos)`` (at
    least one) are held out too and give the *seen* objects. An object's group is its own
    category's; a held-out video can hold both groups, as valid videos do.
    """
    categories = sorted({o.category for objects in meta.values() for o in objects.values()})
    count = _share(UNSEEN_CATEGORY_FRACTION, len(categories)) if len(categories) >= 2 else 0
    unseen = sorted(sorted(categories, key=lambda c: _rank(seed, "category", c))[:count])
    hidden = {
        name
        for name, objects in meta.items()
        if any(o.category in unseen for o in objects.values())
    }
    others = sorted((n for n in meta if n not in hidden), key=lambda n: _rank(seed, "video", n))
    hidden.update(others[: _share(SEEN_VIDEO_FRACTION, len(others))])
    return Holdout(seed, tuple(unseen), tuple(sorted(hidden)))


# --------------------------------------------------------------------------------------------
# Sequences


class YouTubeVOSSequence(FileSequence):
    """A video whose objects come from ``meta.json`` and may first appear after frame 0.

    Attributes beyond :class:`FileSequence`: ``objects`` (id → :class:`ObjectMeta`),
    ``groups`` (id → ``seen`` / ``unseen`` / ``""``), ``required`` (the frames the server
    scores: every frame ``meta.json`` lists for an object, as the official starter code reads
    it).
    """

    def __init__(
        self,
        name: str,
        frame_paths: Mapping[str, Path],
        annotation_paths: Mapping[str, Path],
        objects: Mapping[int, ObjectMeta],
        groups: Mapping[int, str],
        meta_path: Path,
        server_scored: bool = False,
    ):
        categories = {str(i): o.category for i, o in sorted(objects.items())}
        super().__init__(
            name,
            frame_paths,
            annotation_paths,
            decode=decode_index,
            void_label=None,
            mask_rule="index",
            attributes={"categories": categories},
            object_ids=sorted(objects),
        )
        self.objects = dict(sorted(objects.items()))
        self.sparse_annotations = True
        self.server_scored = server_scored
        self.groups = dict(groups)
        self.meta_path = meta_path
        required = {f for o in objects.values() for f in o.frames}
        self.required = tuple(stem for stem in self.frames if stem in required)

    @cached_property
    def first_appearance(self) -> dict[int, str]:
        """Object id → the first frame whose annotation holds it (masks read once, lazily)."""
        found: dict[int, str] = {}
        cache: dict[str, np.ndarray] = {}
        annotated = set(self.annotated)
        for object_id, meta in self.objects.items():
            for stem in (f for f in meta.frames if f in annotated):
                if stem not in cache:
                    cache[stem] = self.read_annotation(stem)
                if (cache[stem] == object_id).any():
                    found[object_id] = stem
                    break
            else:
                raise DatasetError(
                    Problem(
                        self.meta_path,
                        f"video {self.name!r}: object {object_id} appears in none of its "
                        f"annotation masks under {self._annotation_folder()}",
                        "missing",
                    )
                )
        return found

    def layout_problems(self) -> list[Problem]:
        """An object of ``meta.json`` that none of its masks holds."""
        try:
            self.first_appearance
        except DatasetError as error:
            return list(error.problems)
        return []

    def prompts(self) -> dict[str, tuple[int, ...]]:
        """Each first-appearance frame → the objects that appear there, in frame order."""
        by_frame: dict[str, list[int]] = {}
        for object_id, stem in self.first_appearance.items():
            by_frame.setdefault(stem, []).append(object_id)
        order = {stem: i for i, stem in enumerate(self.frames)}
        return {s: tuple(sorted(by_frame[s])) for s in sorted(by_frame, key=order.__getitem__)}

    def _annotation_folder(self) -> str:
        path = self.annotation_path(self.annotated[0]) if self.annotated else None
        return str(path.parent) if path is not None else "Annotations"


# --------------------------------------------------------------------------------------------
# Loading


def load_youtube_vos_2019(
    root: PathArg,
    split: str | None,
    *,
    task: str = "semi-supervised",
    holdout_seed: int = HOLDOUT_SEED,
) -> Dataset:
    """YouTube-VOS 2019 (``youtube-vos``): see the module docstring for layout and splits."""
    return load_youtube_vos(root, split, task=task, year=2019, holdout_seed=holdout_seed)


def load_youtube_vos_2018(
    root: PathArg,
    split: str | None,
    *,
    task: str = "semi-supervised",
    holdout_seed: int = HOLDOUT_SEED,
) -> Dataset:
    """YouTube-VOS 2018 (``youtube-vos-2018``): the same layout as 2019, fewer videos."""
    return load_youtube_vos(root, split, task=task, year=2018, holdout_seed=holdout_seed)


def load_youtube_vos(
    root: PathArg,
    split: str | None,
    *,
    task: str = "semi-supervised",
    year: int = 2019,
    holdout_seed: int = HOLDOUT_SEED,
) -> Dataset:
    """One split of a YouTube-VOS download (``root`` holds ``train/``, ``valid/``, ``test/``)."""
    name = dataset_name(year)
    split = split or "valid"
    if split not in SPLITS:
        raise DatasetError(
            Problem(
                None, f"{name} has no split {split!r}; choose one of {', '.join(SPLITS)}", "config"
            )
        )
    if task != "semi-supervised":
        require_task(task)
        raise DatasetError(
            Problem(None, f"{name} defines the semi-supervised task only, not {task!r}", "config")
        )
    if isinstance(holdout_seed, bool) or not isinstance(holdout_seed, int) or holdout_seed < 0:
        raise DatasetError(Problem(None, "holdout_seed must be a whole number >= 0", "config"))
    root = dataset_root(root, name)
    base, all_frames = _base_split(split)
    split_dir = root / ("train" if base in LOCAL_SPLITS else base)
    meta_path = split_dir / META_FILE
    meta = read_meta(meta_path)
    holdout = holdout_split(meta, holdout_seed) if base in (*LOCAL_SPLITS, "train") else None
    names = _split_videos(split, meta, holdout)
    image_root = _image_root(root, base, all_frames)
    annotation_root = split_dir / "Annotations"
    label = f"{name}/{split}"
    present, problems = present_sequences(names, lambda n: (image_root / n,), label)
    sequences: list[YouTubeVOSSequence] = []
    errors: list[Problem] = []
    for video in present:
        frames = index_files(image_root / video, IMAGE_EXTENSIONS)
        annotations = index_files(annotation_root / video, ("png",))
        errors += _video_problems(video, meta[video], frames, annotations, meta_path, image_root)
        groups = {i: (holdout.group(o.category) if holdout else "") for i, o in meta[video].items()}
        sequences.append(
            YouTubeVOSSequence(
                video, frames, annotations, meta[video], groups, meta_path, base in SERVER_SPLITS
            )
        )
    if errors:
        raise DatasetError(_capped(errors))
    info: dict[str, object] = {
        "year": year,
        "mask_rule": "index",
        "meta": meta_path.relative_to(root).as_posix(),
        "annotation_folder": annotation_root.relative_to(root).as_posix(),
        "image_folder": image_root.relative_to(root).as_posix(),
        "scoring": "server" if base in SERVER_SPLITS else "local" if base == "holdout" else "none",
    }
    if holdout is not None:
        info["holdout"] = {
            "seed": holdout.seed,
            "unseen_categories": list(holdout.unseen_categories),
        }
    return Dataset(
        name, split, task, list(sequences), root, problems=problems, info=info, listed=tuple(names)
    )


def dataset_name(year: int) -> str:
    if year not in YEARS:
        raise DatasetError(
            Problem(None, f"YouTube-VOS has the years {YEARS}, not {year!r}", "config")
        )
    return "youtube-vos" if year == 2019 else "youtube-vos-2018"


def _base_split(split: str) -> tuple[str, bool]:
    """(``train`` / ``valid`` / ``test`` / ``holdout`` / ``train_rest``, whether all frames)."""
    all_frames = split.endswith(ALL_FRAMES_SUFFIX)
    base = split[: -len(ALL_FRAMES_SUFFIX)] if all_frames else split
    return base, all_frames


def _split_videos(split: str, meta: Mapping[str, VideoMeta], holdout: Holdout | None) -> list[str]:
    base, _ = _base_split(split)
    if base == "holdout":
        return list(holdout.videos) if holdout else []
    if base == "train_rest" and holdout is not None:
        hidden = set(holdout.videos)
        return [name for name in sorted(meta) if name not in hidden]
    return sorted(meta)


def _image_root(root: Path, base: str, all_frames: bool) -> Path:
    """``<base>/JPEGImages``, or the 30 fps ``<base>_all_frames/JPEGImages`` (either place)."""
    folder = "train" if base in LOCAL_SPLITS else base
    if not all_frames:
        return root / folder / "JPEGImages"
    candidates = [
        root / f"{folder}{ALL_FRAMES_SUFFIX}" / "JPEGImages",
        root / "all_frames" / f"{folder}{ALL_FRAMES_SUFFIX}" / "JPEGImages",
    ]
    found = next((path for path in candidates if path.is_dir()), None)
    if found is None:
        expected = " or ".join(str(path.relative_to(root)) for path in candidates)
        raise DatasetError(
            Problem(root, f"the 30 fps frames are missing: expected {expected}", "missing")
        )
    return found


def _video_problems(
    video: str,
    objects: VideoMeta,
    frames: Mapping[str, Path],
    annotations: Mapping[str, Path],
    meta_path: Path,
    image_root: Path,
) -> list[Problem]:
    """Frames meta.json lists that are not on disk; objects with no mask file at all."""
    problems = []
    for object_id, meta in objects.items():
        absent = [f for f in meta.frames if f not in frames]
        if absent:
            problems.append(
                Problem(
                    meta_path,
                    f"video {video!r} object {object_id} lists {len(absent)} frame(s) that are "
                    f"not in {image_root / video}: {preview(absent)}",
                    "missing",
                )
            )
        if not any(f in annotations for f in meta.frames):
            problems.append(
                Problem(
                    meta_path,
                    f"video {video!r} object {object_id} has no mask: none of its frames "
                    f"({preview(list(meta.frames))}) has an annotation PNG",
                    "missing",
                )
            )
    strays = [stem for stem in annotations if stem not in frames]
    if strays:
        problems.append(
            Problem(
                next(iter(annotations.values())).parent,
                f"{len(strays)} annotation(s) of {video!r} have no frame: {preview(strays)}",
                "invalid",
            )
        )
    return problems
