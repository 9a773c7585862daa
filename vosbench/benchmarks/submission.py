"""Submission files for server-scored benchmarks (YouTube-VOS valid/test, MOSE v1 valid).

The CodaLab servers read one zip whose top level is a folder ``Annotations``, holding
``Annotations/<video>/<frame>.png``: 8-bit palette PNGs whose pixel values are object ids,
at the size of the video's frames, for exactly the frames the server scores (for YouTube-VOS
the frames ``meta.json`` lists for some object, the 6 fps ones even when the method ran on all
30 fps frames; for MOSE every frame). ``vosbench run`` lays these files out in the run folder
(``submission/Annotations/``, hard links to the run's masks where the file system allows) and
:func:`write_submission` packs them, checked, into the zip (``vosbench submission``).
"""

from __future__ import annotations

import os
import shutil
import struct
import uuid
import zipfile
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vosbench.datasets.base import Dataset, Sequence
from vosbench.datasets.folder import preview
from vosbench.errors import ConfigError, EvaluationError, InputError, Problem
from vosbench.io.masks import encode_mask, read_mask

ANNOTATIONS = "Annotations"
SUBMISSION_FOLDER = "submission"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same masks give the same zip bytes
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PALETTE_COLOUR_TYPE = 3


def is_server_scored(dataset: Dataset) -> bool:
    """Whether ``dataset``'s split is scored by an evaluation server (its GT is not public)."""
    return dataset.info.get("scoring") == "server"


def required_frames(sequence: Sequence) -> tuple[str, ...]:
    """The frames the server scores for ``sequence`` (its ``required`` frames, else all)."""
    required = getattr(sequence, "required", None)
    return tuple(required) if required else tuple(sequence.frames)


@dataclass
class Submission:
    """What a submission holds: ``files`` (name inside the zip → mask file) and videos."""

    files: dict[str, Path] = field(default_factory=dict)
    videos: list[str] = field(default_factory=list)
    missing_videos: list[str] = field(default_factory=list)
    converted: int = 0  # masks re-encoded as palette PNGs when packed


def collect(masks_dir: Path, dataset: Dataset, *, allow_partial: bool = False) -> Submission:
    """The submission's files from ``masks_dir/<video>/<frame>.png``, every one checked present.

    Videos with no mask folder are an error (the server needs every video of the split) unless
    ``allow_partial``; a video with some required frames missing is always an error, naming them.
    """
    submission = Submission()
    problems: list[Problem] = []
    for sequence in dataset:
        folder = masks_dir / sequence.name
        if not folder.is_dir():
            submission.missing_videos.append(sequence.name)
            continue
        stems = required_frames(sequence)
        absent = [s for s in stems if not (folder / f"{s}.png").is_file()]
        if absent:
            problems.append(
                Problem(
                    folder,
                    f"{len(absent)} of the {len(stems)} frames the server scores have no mask: "
                    f"{preview(absent)}",
                    "missing",
                )
            )
            continue
        submission.videos.append(sequence.name)
        for stem in stems:
            submission.files[f"{ANNOTATIONS}/{sequence.name}/{stem}.png"] = folder / f"{stem}.png"
    if submission.missing_videos and not allow_partial:
        problems.insert(
            0,
            Problem(
                masks_dir,
                f"{len(submission.missing_videos)} of the {len(dataset)} videos of "
                f"{dataset.label} have no masks: {preview(submission.missing_videos)}; the "
                "server scores every video (allow_partial=True / --allow-partial packs the rest)",
                "missing",
            ),
        )
    if problems:
        raise EvaluationError(problems)
    if not submission.files:
        raise EvaluationError(Problem(masks_dir, "no mask to submit", "empty"))
    return submission


def write_submission_folder(run_dir: Path, dataset: Dataset) -> Path:
    """``<run_dir>/submission/Annotations/…`` for the videos complete so far; returns the folder.

    Files are hard links to ``masks/`` (copies where links fail); the folder is built aside
    and swapped in, so it never mixes two states.
    """
    masks = run_dir / "masks"
    present = [s.name for s in dataset if (masks / s.name).is_dir()]
    submission = collect(masks, dataset.select(present) if present else dataset, allow_partial=True)
    target = run_dir / SUBMISSION_FOLDER
    staging = run_dir / ".tmp" / f"submission.{uuid.uuid4().hex[:8]}"
    for name, source in submission.files.items():
        destination = staging / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, destination)
        except OSError:
            shutil.copyfile(source, destination)
    old = run_dir / ".tmp" / f"old-submission.{uuid.uuid4().hex[:8]}"
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    for folder in (run_dir / ".tmp",):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return target


def write_submission(
    source: str | Path,
    output: str | Path,
    *,
    dataset: Dataset | None = None,
    allow_partial: bool = False,
    overwrite: bool = False,
) -> Submission:
    """Pack a run (or a folder of ``<video>/<frame>.png`` masks) into the zip the server takes.

    Args:
        source: a run folder of ``vosbench run`` (its dataset comes from the manifest), or a
            results folder with ``dataset`` given.
        output: the zip to write (atomically); an existing file is kept unless ``overwrite``.
        dataset: the split the masks answer (default: the run's).
        allow_partial: pack the videos present even when some are missing.

    Every mask is checked to be a PNG at its video's size; masks that are not 8-bit palette
    PNGs (greyscale, 16-bit …) are re-encoded as palette PNGs with the same ids.
    """
    source, output = Path(source), Path(output)
    masks_dir, dataset = _source(source, dataset)
    if output.exists() and not overwrite:
        raise ConfigError(f"{output} exists; pass --force (overwrite=True) to replace it")
    if output.suffix.lower() != ".zip":
        raise ConfigError(f"{output}: the server takes a .zip file")
    if not is_server_scored(dataset):
        raise ConfigError(
            f"{dataset.label} is scored locally (`vosbench eval`), not by a server; submissions "
            "are for server-scored splits (youtube-vos valid/test, mose valid)"
        )
    submission = collect(masks_dir, dataset, allow_partial=allow_partial)
    sizes = {s.name: s.size for s in dataset if s.name in set(submission.videos)}
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(submission.files):
                video = name.split("/")[1]
                data, converted = _checked_png(submission.files[name], sizes[video])
                submission.converted += converted
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return submission


def _source(source: Path, dataset: Dataset | None) -> tuple[Path, Dataset]:
    """(masks folder, dataset) of a run folder or a plain results folder."""
    if (source / "manifest.json").is_file():
        from vosbench.results import RunStore, load_dataset_spec

        store = RunStore(source)
        spec: dict[str, Any] = store.manifest()["dataset"]
        if dataset is None:
            dataset = load_dataset_spec(spec, allow_missing=True)
        return store.masks_dir, dataset
    if dataset is None:
        raise ConfigError(
            f"{source} is no run folder (no manifest.json): name its dataset (--dataset, --root, "
            "--split)"
        )
    if not source.is_dir():
        raise InputError(Problem(source, "results folder not found", "missing"))
    return source, dataset


def _checked_png(path: Path, size: Seq[int]) -> tuple[bytes, int]:
    """The bytes to store for one mask (re-encoded unless an 8-bit palette PNG) and 1 if so."""
    data = path.read_bytes()
    header = _png_header(data)
    if header is None or header[2:] != (8, _PALETTE_COLOUR_TYPE):
        labels = read_mask(path, data=data)  # names the file when it is no mask at all
        _check_size(path, labels.shape[1], labels.shape[0], size)
        return encode_mask(labels), 1
    _check_size(path, header[0], header[1], size)
    return data, 0


def _png_header(data: bytes) -> tuple[int, int, int, int] | None:
    """(width, height, bit depth, colour type) from a PNG's IHDR, None for anything else."""
    if len(data) < 33 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour


def _check_size(path: Path, width: int, height: int, size: Seq[int]) -> None:
    if (height, width) != tuple(size):
        raise EvaluationError(
            Problem(
                path,
                f"mask is {width}×{height} (W×H) but the video's frames are {size[1]}×{size[0]}",
                "size",
            )
        )
