"""Masks drawn over frames: one :func:`overlay` for the HTML thumbnails and the videos.

Objects take their DAVIS palette colour (the colours of the official annotations), blended
with the frame inside and drawn solid on a contour so that thin or small objects stay
visible. Videos are MP4 (OpenCV, ``mp4v``) or GIF (Pillow), chosen by the file extension.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from vosbench.errors import VosbenchError
from vosbench.io import DAVIS_PALETTE, atomic_write_bytes, read_mask
from vosbench.report.collect import DatasetCache, ReportError, read_manifest
from vosbench.results import RunStore

VIDEO_SUFFIXES = (".mp4", ".gif")


def overlay(
    frame_rgb: np.ndarray, labels: np.ndarray, alpha: float = 0.5, contour: int = 1
) -> np.ndarray:
    """The frame with each object (label > 0) tinted by its palette colour and outlined.

    ``labels`` of another size than the frame is resized (nearest neighbour). ``contour`` is
    the outline width in pixels (0 for none). Returns a new RGB ``uint8`` array.
    """
    frame = np.asarray(frame_rgb)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be (H, W, 3) RGB, got shape {frame.shape}")
    labels = fit_labels(np.asarray(labels), frame.shape[:2])
    objects = labels > 0
    out = frame.astype(np.float32)
    colours = DAVIS_PALETTE[labels].astype(np.float32)
    out[objects] = (1.0 - alpha) * out[objects] + alpha * colours[objects]
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if contour > 0:
        edges = label_edges(labels, contour)
        out[edges] = DAVIS_PALETTE[labels[edges]]
    return out


def fit_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``labels`` as uint8 at (H, W) = ``size`` (nearest neighbour keeps ids intact)."""
    labels = labels.astype(np.uint8, copy=False)
    if labels.shape[:2] == tuple(size):
        return labels
    return cv2.resize(labels, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)


def label_edges(labels: np.ndarray, width: int = 1) -> np.ndarray:
    """Object pixels within ``width`` px of a different label (image borders do not count)."""
    padded = np.pad(labels, 1, mode="edge")
    centre = padded[1:-1, 1:-1]
    edge = (
        (padded[:-2, 1:-1] != centre)
        | (padded[2:, 1:-1] != centre)
        | (padded[1:-1, :-2] != centre)
        | (padded[1:-1, 2:] != centre)
    )
    if width > 1:
        kernel = np.ones((2 * width - 1, 2 * width - 1), np.uint8)
        edge = cv2.dilate(edge.view(np.uint8), kernel).astype(bool)
    return edge & (labels > 0)


def thumbnail(
    frame_rgb: np.ndarray, labels: np.ndarray | None, width: int, alpha: float = 0.5
) -> np.ndarray:
    """A small overlay: frame and labels are shrunk first, so the contour stays one pixel."""
    h, w = frame_rgb.shape[:2]
    size = (max(1, round(h * width / w)), width)
    small = (
        cv2.resize(frame_rgb, (size[1], size[0]), interpolation=cv2.INTER_AREA)
        if width < w
        else frame_rgb
    )
    if labels is None:
        return np.ascontiguousarray(small)
    return overlay(small, fit_labels(labels, small.shape[:2]), alpha)


def encode_jpeg(rgb: np.ndarray, quality: int = 80) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


# -- videos -------------------------------------------------------------------------------------
def write_overlay_video(
    store_or_run_dir: RunStore | str | Path,
    sequence: str,
    out_path: str | Path,
    fps: float = 10.0,
    dataset: Any = None,
    *,
    alpha: float = 0.5,
    max_width: int | None = None,
) -> Path:
    """Write the run's masks of ``sequence`` over its frames as an MP4 or GIF (by extension).

    Frames come from ``dataset`` or, by default, the dataset named in the run manifest.
    ``max_width`` shrinks wide videos. Returns ``out_path``.
    """
    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ReportError(
            f"{out_path}: unsupported video type; use one of {', '.join(VIDEO_SUFFIXES)}"
        )
    if fps <= 0:
        raise ReportError(f"{out_path}: fps must be positive, got {fps}")
    store = (
        store_or_run_dir if isinstance(store_or_run_dir, RunStore) else RunStore(store_or_run_dir)
    )
    if dataset is None:
        dataset = DatasetCache().get(read_manifest(store)["dataset"])
    frames = overlay_frames(store, dataset, sequence, alpha, max_width)
    if suffix == ".gif":
        return _write_gif(frames, out_path, fps)
    return _write_mp4(frames, out_path, fps)


def run_stems(store: RunStore, sequence: str) -> list[str]:
    """The frame stems of a completed sequence (from its marker, else its mask files)."""
    folder = store.sequence_dir(sequence)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no masks for sequence {sequence!r} in this run")
    if store.marker_path(sequence).is_file():
        try:
            frames = [str(stem) for stem in store.marker(sequence)["frames"]]
        except VosbenchError:
            frames = []
        if frames:
            return frames
    return sorted(path.stem for path in folder.glob("*.png"))


def overlay_frames(
    store: RunStore, dataset: Any, sequence: str, alpha: float = 0.5, max_width: int | None = None
) -> Iterator[np.ndarray]:
    """Overlaid RGB frames of ``sequence`` (lazily, one at a time)."""
    stems = run_stems(store, sequence)
    video = dataset[sequence]
    for stem in stems:
        path = store.masks_dir / sequence / f"{stem}.png"
        if not path.is_file():
            raise ReportError(f"{path}: mask missing")
        frame = video.read_frame(stem)
        labels = read_mask(path)
        if max_width and frame.shape[1] > max_width:
            yield thumbnail(frame, labels, max_width, alpha)
        else:
            yield overlay(frame, labels, alpha)


def _even(rgb: np.ndarray) -> np.ndarray:
    """Crop to even dimensions: MPEG-4 encoders refuse odd widths and heights."""
    h, w = rgb.shape[:2]
    return rgb[: h - h % 2, : w - w % 2]


def _write_mp4(frames: Iterator[np.ndarray], out_path: Path, fps: float) -> Path:
    """Encode into a private folder, then rename: a reader never sees a half-written file."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{out_path.name}.", dir=out_path.parent))
    temp = workdir / out_path.name  # OpenCV picks the container from the extension
    writer = None
    try:
        for rgb in frames:
            rgb = _even(rgb)
            if writer is None:
                size = (rgb.shape[1], rgb.shape[0])
                writer = cv2.VideoWriter(
                    str(temp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), size
                )
                if not writer.isOpened():
                    raise ReportError(f"{out_path}: OpenCV cannot write MP4 (mp4v) video here")
            writer.write(cv2.cvtColor(_fit(rgb, size), cv2.COLOR_RGB2BGR))
        if writer is None:
            raise ReportError(f"{out_path}: no frames to write")
        writer.release()
        os.replace(temp, out_path)
    finally:
        if writer is not None:
            writer.release()
        shutil.rmtree(workdir, ignore_errors=True)
    return out_path


def _fit(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Every frame must have the first frame's size (w, h)."""
    if (rgb.shape[1], rgb.shape[0]) == size:
        return np.ascontiguousarray(rgb)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _write_gif(frames: Iterator[np.ndarray], out_path: Path, fps: float) -> Path:
    """All frames are held in memory (Pillow writes a GIF in one go); Pillow merges a frame
    identical to the previous one into it (longer duration)."""
    images = [Image.fromarray(np.ascontiguousarray(rgb)) for rgb in frames]
    if not images:
        raise ReportError(f"{out_path}: no frames to write")
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(20, round(1000 / fps)),
        loop=0,
        optimize=False,
    )
    return atomic_write_bytes(out_path, buffer.getvalue())
