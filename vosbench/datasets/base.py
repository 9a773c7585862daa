"""Dataset and Sequence: the one abstraction every loader fills.

A dataset yields sequences; a sequence knows its frame stems, which frames are annotated and
its object ids, and reads frames (RGB ``uint8``) and annotations (``uint8`` object-id maps)
lazily, one at a time: nothing ever loads a whole video. Loaders differ only in how they
find files and decode masks.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from vosbench.errors import DatasetError, Problem
from vosbench.io import read_frame, read_mask

# ``unsupervised``: object proposals (an id map), matched to the ground truth's objects;
# ``unsupervised-single``: one foreground mask per frame, scored against every object (LVOS's
# ``unsupervised_single``). Most datasets have only the first two (COMMON_TASKS).
TASKS = ("semi-supervised", "unsupervised", "unsupervised-single")
COMMON_TASKS = TASKS[:2]

# How stored annotation values become object ids (recorded in result metadata).
MASK_RULES = {
    "index": "pixel value = object id, 255 = void",
    "nonzero": "binary: any non-zero value is the object (id 1)",
    "threshold128": "binary: channel 0 >= 128 is the object; several objects come from numbered "
    "sub-folders",
}


def require_task(task: str, allowed: Seq[str] = COMMON_TASKS) -> str:
    """The task name, or a DatasetError (checked early: it selects annotation folders).

    ``allowed``: the tasks the caller reads (a loader: those of its dataset)."""
    if task not in TASKS:
        raise DatasetError(
            Problem(None, f"unknown task {task!r}; choose one of {', '.join(TASKS)}", "config")
        )
    if task not in allowed:
        raise DatasetError(
            Problem(
                None,
                f"the {task!r} task is not available for this dataset; choose one of "
                f"{', '.join(allowed)}",
                "config",
            )
        )
    return task


def ids_from_first_frame(labels: np.ndarray, void_label: int | None) -> tuple[int, ...]:
    """Official DAVIS rule: objects are 1 … max id of the first annotation (void excluded)."""
    values = labels[labels != void_label] if void_label is not None else labels
    top = int(values.max()) if values.size else 0
    return tuple(range(1, top + 1))


class Sequence:
    """One video: ordered frame stems, annotated stems, object ids, lazy readers.

    Subclasses implement :meth:`read_frame` and :meth:`read_annotation`; everything else
    derives from the stems and the first annotation.
    """

    name: str
    frames: tuple[str, ...]
    annotated: tuple[str, ...]
    void_label: int | None = None
    mask_rule: str = "index"
    attributes: Mapping[str, object] = {}
    # Annotations deliberately sparse (YouTube-VOS: every 5th frame, or only where objects first
    # appear): frames between annotated ones are no gap, and frame 0 may have none.
    sparse_annotations: bool = False
    # Ground truth stored one mask per object, so masks may overlap (SA-V): the evaluator then
    # reads each object's mask with read_objects instead of comparing one id map.
    overlapping_objects: bool = False

    def read_frame(self, stem: str) -> np.ndarray:
        """RGB ``uint8`` image of shape (H, W, 3)."""
        raise NotImplementedError

    def read_annotation(self, stem: str) -> np.ndarray:
        """``uint8`` object-id map of shape (H, W); 255 marks void where ``void_label`` is 255."""
        raise NotImplementedError

    def annotation_path(self, stem: str) -> Path | None:
        """The file behind an annotation, for error messages (None for in-memory data)."""
        return None

    def read_objects(self, stem: str, object_ids: Seq[int]) -> np.ndarray:
        """Boolean (len(object_ids), H, W) masks of the objects at ``stem``, layer ``i`` being
        ``object_ids[i]``: from the id map here; a layout whose objects may overlap overrides
        it (and sets :attr:`overlapping_objects`)."""
        labels = self.read_annotation(stem)
        return np.stack([labels == object_id for object_id in object_ids])

    def frame_path(self, stem: str) -> Path | None:
        return None

    @cached_property
    def object_ids(self) -> tuple[int, ...]:
        if not self.annotated:
            return ()
        return ids_from_first_frame(self.read_annotation(self.annotated[0]), self.void_label)

    @cached_property
    def size(self) -> tuple[int, int]:
        """(H, W) of the annotations (a DatasetError for a sequence without any: no size to answer
        at)."""
        if not self.annotated:
            raise DatasetError(
                Problem(
                    None,
                    f"sequence {self.name!r} has no annotated frame (its annotation "
                    "folder is missing or empty); its size comes from its annotations",
                    "missing",
                )
            )
        return tuple(self.read_annotation(self.annotated[0]).shape[:2])  # type: ignore[return-value]

    def prompts(self) -> dict[str, tuple[int, ...]]:
        """Annotated frames handed to a semi-supervised method → the object ids that appear there.

        The DAVIS protocol gives the first annotated frame with every object; a dataset whose
        objects appear later (YouTube-VOS style) overrides this with one entry per first
        appearance.
        """
        return {self.annotated[0]: self.object_ids} if self.annotated else {}

    def layout_problems(self) -> list[Problem]:
        """What this layout's own rules find wrong (``vosbench validate``); none by default."""
        return []

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, {len(self.frames)} frames, "
            f"{len(self.annotated)} annotated)"
        )


Decoder = Callable[[Path], np.ndarray]


class FileSequence(Sequence):
    """A sequence backed by image and mask files on disk.

    Args:
        name: sequence name.
        frame_paths: stem → image path, in frame order.
        annotation_paths: stem → mask path (or several paths, one per object, for datasets
            that store objects in sub-folders), in frame order.
        decode: turns the annotation path(s) of one frame into an object-id map.
    """

    def __init__(
        self,
        name: str,
        frame_paths: Mapping[str, Path],
        annotation_paths: Mapping[str, object],
        *,
        decode: Callable[[object], np.ndarray],
        void_label: int | None = None,
        mask_rule: str = "index",
        attributes: Mapping[str, object] | None = None,
        object_ids: Seq[int] | None = None,
    ):
        self.name = name
        self._frame_paths = dict(frame_paths)
        self._annotation_paths = dict(annotation_paths)
        self._decode = decode
        stems = list(self._frame_paths) or list(self._annotation_paths)
        self.frames = tuple(stems)
        self.annotated = tuple(sorted(self._annotation_paths))
        self.void_label = void_label
        self.mask_rule = mask_rule
        self.attributes = dict(attributes or {})
        if object_ids is not None:
            self.__dict__["object_ids"] = tuple(object_ids)

    def read_frame(self, stem: str) -> np.ndarray:
        return read_frame(self._lookup(self._frame_paths, stem, "frame"))

    def read_annotation(self, stem: str) -> np.ndarray:
        return self._decode(self._lookup(self._annotation_paths, stem, "annotation"))

    def frame_path(self, stem: str) -> Path | None:
        return self._frame_paths.get(stem)

    def annotation_path(self, stem: str) -> Path | None:
        path = self._annotation_paths.get(stem)
        return path[0] if isinstance(path, (list, tuple)) else path  # type: ignore[return-value]

    def _lookup(self, table: Mapping[str, object], stem: str, what: str):
        try:
            return table[stem]
        except KeyError:
            raise DatasetError(
                Problem(None, f"sequence {self.name!r} has no {what} for frame {stem!r}", "missing")
            ) from None


def decode_index(path: Path) -> np.ndarray:
    """Indexed/greyscale mask: pixel value = object id (DAVIS-2017, folder datasets)."""
    return read_mask(path)


def decode_nonzero(path: Path) -> np.ndarray:
    """Binary mask, any non-zero value is the object (DAVIS-2016 0/255 annotations)."""
    return (read_mask(path) > 0).view(np.uint8)


@dataclass
class Dataset:
    """A named, split-specific collection of sequences plus what evaluation needs to know.

    Attributes:
        name: catalogue name (``davis2017``).
        split: split name (``val``).
        task: ``semi-supervised``, ``unsupervised`` or ``unsupervised-single`` (:data:`TASKS`).
        sequences: the sequences, in the split list's order.
        root: the folder it was read from (None for in-memory data).
        binary: single-object data; predictions are binarised with ``> 0`` (DAVIS-2016).
        problems: what indexing found wrong but could survive (e.g. sequences of the split
            list missing on disk); :func:`vosbench.datasets.validate_dataset` reports them.
        info: free metadata recorded with results (resolution, year, mask rule …).
        listed: every sequence name the split defines, loaded or not (defaults to the loaded
            names), so a partial dataset can say "k of N" and :attr:`missing` can name the rest.
    """

    name: str
    split: str
    task: str
    sequences: list[Sequence]
    root: Path | None = None
    binary: bool = False
    problems: list[Problem] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)
    listed: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_task(self.task, TASKS)
        self.listed = tuple(self.listed) or tuple(self.names)

    @property
    def missing(self) -> list[str]:
        """Names the split lists that were not loaded (absent on disk), in list order."""
        loaded = set(self.names)
        return [name for name in self.listed if name not in loaded]

    def __iter__(self) -> Iterator[Sequence]:
        return iter(self.sequences)

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sequences]

    def __getitem__(self, name: str) -> Sequence:
        for sequence in self.sequences:
            if sequence.name == name:
                return sequence
        raise DatasetError(Problem(self.root, _missing_message(name, self.names, self.label)))

    @property
    def label(self) -> str:
        return f"{self.name}/{self.split}"

    def select(self, names: Seq[str] | None) -> Dataset:
        """A copy restricted to ``names`` (in the given order), keeping :attr:`listed`.

        Names outside the split, and names the split lists but the disk lacks, are errors:
        asking for a sequence and scoring without it would be a silent loss.
        """
        if not names:
            return self
        known = set(self.names)
        problems = [self._absent(n) for n in names if n not in known]
        if problems:
            raise DatasetError(problems)
        chosen = [self[n] for n in names]
        return Dataset(
            self.name,
            self.split,
            self.task,
            chosen,
            self.root,
            self.binary,
            [],
            dict(self.info),
            listed=self.listed,
        )

    def _absent(self, name: str) -> Problem:
        """Why ``name`` cannot be selected: not in the split, or listed but missing on disk."""
        if name not in self.listed:
            return Problem(self.root, _missing_message(name, self.names, self.label), "missing")
        found = next((p for p in self.problems if _is_missing_sequence(p, name)), None)
        message = f"sequence {name!r} of {self.label} is listed but missing on disk"
        return found or Problem(self.root, message, "missing")


def _is_missing_sequence(problem: Problem, name: str) -> bool:
    """Whether ``problem`` is the loader's report of sequence ``name`` absent on disk."""
    return (
        problem.kind == "missing"
        and problem.path is not None
        and problem.path.name == name
        and problem.message.startswith(f"sequence {name!r} ")
    )


def _missing_message(name: str, known: Seq[str], label: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"sequence {name!r} is not in {label}{hint}"
