"""The results layout of one run, its manifest and its completion markers.

A run folder (default ``results/<dataset>-<split>/<method>/``) holds::

    manifest.json            what ran: method, card, config + hash, weights checksum, dataset,
                             device, precision, environment (written when the run starts)
    masks/<seq>/<frame>.png  the answers, in the official layout (palette PNGs)
    sequences/<seq>.json     completion marker and timing record of one sequence
    failures/<seq>.json      the error of a sequence whose method crashed
    timing.csv               per-frame times of every completed sequence (rebuilt from markers)
    summary.json             speed summary over the completed sequences
    global_results-<split>.csv, per-*.csv, evaluation-<split>.json
                             the evaluation (``vosbench eval``'s outputs)
    evaluation-state.json    which completed sequences (and mask digests) that evaluation saw

A sequence counts as done only when its marker exists: its masks are written into a
temporary folder that is renamed into place, then the marker is written atomically. A run
killed at any moment therefore leaves whole sequences or nothing, and a resumed run redoes
exactly the unfinished ones. A folder whose manifest names another configuration is never
reused (:class:`RunMismatchError`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

from vosbench.errors import ConfigError
from vosbench.io.atomic import atomic_write_text

RUN_FORMAT = "vosbench-run/1"
MANIFEST = "manifest.json"
TIMING_COLUMNS = ("sequence", "frame", "index", "init", "num_objects", "model_ms", "e2e_ms")
# Files a run writes at the top of its folder (what --force deletes).
RUN_FILES = (MANIFEST, "summary.json", "timing.csv", "evaluation-state.json", "evaluation-*.json",
             "global_results-*.csv", "per-*_results-*.csv")
# Manifest fields that identify a run: a folder is reused only when all of them match.
IDENTITY_FIELDS = ("method", "config_hash", "dataset_id")


class RunMismatchError(ConfigError):
    """The output folder holds a run with a different method, configuration or dataset."""


def write_json(path: Path, record: Mapping[str, Any]) -> Path:
    return atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None


class RunStore:
    """One run folder: paths, manifest, markers, and the atomic sequence commit."""

    def __init__(self, root: Path | str, worker: str = "0-of-1"):
        self.root = Path(root)
        self.worker = worker  # shards writing into one folder stage their sequences apart

    @property
    def staging_root(self) -> Path:
        return self.root / ".tmp" / self.worker

    # -- paths ------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def masks_dir(self) -> Path:
        return self.root / "masks"

    def marker_path(self, sequence: str) -> Path:
        return self.root / "sequences" / f"{sequence}.json"

    def failure_path(self, sequence: str) -> Path:
        return self.root / "failures" / f"{sequence}.json"

    # -- manifest ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def manifest(self) -> Dict[str, Any]:
        return read_json(self.manifest_path)

    def open(self, manifest: Mapping[str, Any], *, force: bool = False) -> None:
        """Claim the folder for the run described by ``manifest``.

        An existing run with the same identity is resumed; one with another identity is a
        :class:`RunMismatchError` unless ``force`` (then the folder's run outputs are deleted).
        """
        if self.exists() or (self.root.is_dir() and any(self.root.iterdir())):
            old = self.manifest() if self.exists() else None
            if force:
                self.clear()
            elif old is None:
                raise RunMismatchError(f"{self.root}: the folder is not empty and holds no vosbench run "
                                       f"({MANIFEST} missing); choose another --output or pass --force to overwrite it")
            else:
                different = [key for key in IDENTITY_FIELDS if old.get(key) != manifest.get(key)]
                if different:
                    raise RunMismatchError(_mismatch_message(self.root, old, manifest, different))
                manifest = _with_all_sequences(manifest, old)
        self.root.mkdir(parents=True, exist_ok=True)
        write_json(self.manifest_path, manifest)
        self.discard_partial()

    def clear(self) -> None:
        """Delete the run outputs in the folder (``--force``); other files are left alone."""
        for name in ("masks", "sequences", "failures", "viz", ".tmp"):
            shutil.rmtree(self.root / name, ignore_errors=True)
        for pattern in RUN_FILES:
            for path in self.root.glob(pattern):
                path.unlink()

    # -- sequences --------------------------------------------------------------------------
    def is_done(self, sequence: str, config_hash: str) -> bool:
        path = self.marker_path(sequence)
        if not path.is_file() or not (self.masks_dir / sequence).is_dir():
            return False
        try:
            return read_json(path).get("config_hash") == config_hash
        except (OSError, ConfigError):
            return False

    def records(self) -> List[Dict[str, Any]]:
        """The markers of every completed sequence, sorted by name."""
        folder = self.root / "sequences"
        if not folder.is_dir():
            return []
        return [read_json(path) for path in sorted(folder.glob("*.json"))]

    def failures(self) -> List[Dict[str, Any]]:
        folder = self.root / "failures"
        return [read_json(path) for path in sorted(folder.glob("*.json"))] if folder.is_dir() else []

    def staging(self, sequence: str) -> "SequenceWriter":
        """A writer whose masks become visible only at :meth:`SequenceWriter.commit`."""
        return SequenceWriter(self, sequence)

    def record_failure(self, sequence: str, record: Mapping[str, Any]) -> None:
        write_json(self.failure_path(sequence), record)

    def discard_partial(self) -> None:
        """Remove the staging folders an interrupted run of this worker left behind.

        Mask folders without a marker (a kill between rename and marker) stay until their
        sequence is run again, which replaces them; other shards' staging is left alone.
        """
        shutil.rmtree(self.staging_root, ignore_errors=True)
        _remove_empty(self.root / ".tmp")

    # -- derived files ----------------------------------------------------------------------
    def state_digest(self) -> str:
        """A digest of the completed sequences and their mask digests (what an evaluation saw)."""
        items = sorted((r["sequence"], r.get("digest", "")) for r in self.records())
        return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]

    def evaluation_is_current(self) -> bool:
        """Whether the stored evaluation was computed from exactly the current masks."""
        path = self.root / "evaluation-state.json"
        if not path.is_file():
            return False
        try:
            return read_json(path).get("state") == self.state_digest()
        except ConfigError:
            return False

    def invalidate_evaluation(self) -> None:
        """The stored evaluation no longer describes the run (a subset or non-official settings)."""
        (self.root / "evaluation-state.json").unlink(missing_ok=True)

    def mark_evaluated(self, state: Optional[str] = None, **extra: Any) -> None:
        """Record that the stored evaluation saw ``state`` (default: the current masks)."""
        write_json(self.root / "evaluation-state.json", {"state": state or self.state_digest(), **extra})

    def write_timing_csv(self, records: Optional[List[Dict[str, Any]]] = None) -> Path:
        """``timing.csv``: one row per frame of every completed sequence."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(TIMING_COLUMNS)
        for record in records if records is not None else self.records():
            for index, (stem, model, e2e) in enumerate(zip(record["frames"], record["model_ms"], record["e2e_ms"])):
                writer.writerow((record["sequence"], stem, index, int(index == 0), record["num_objects"],
                                 f"{model:.4f}", f"{e2e:.4f}"))
        return atomic_write_text(self.root / "timing.csv", buffer.getvalue())


class SequenceWriter:
    """Writes one sequence's masks into a staging folder, then commits them atomically."""

    def __init__(self, store: RunStore, sequence: str):
        self.store, self.sequence = store, sequence
        self.folder = store.staging_root / f"{sequence}.{uuid.uuid4().hex[:8]}"
        self.folder.mkdir(parents=True)
        self.digest = hashlib.blake2b(digest_size=16)

    def write(self, stem: str, png: bytes) -> None:
        """Store one frame's encoded PNG (plain write: the folder is invisible until commit)."""
        with open(self.folder / f"{stem}.png", "wb") as handle:
            handle.write(png)
        self.digest.update(png)

    def commit(self, record: Dict[str, Any]) -> None:
        """Move the masks into place and write the completion marker (``record`` + digest)."""
        target = self.store.masks_dir / self.sequence
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        os.replace(self.folder, target)
        _remove_empty(self.store.staging_root)
        _remove_empty(self.store.root / ".tmp")
        self.store.failure_path(self.sequence).unlink(missing_ok=True)
        write_json(self.store.marker_path(self.sequence), {**record, "digest": self.digest.hexdigest()})

    def abandon(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        _remove_empty(self.store.staging_root)
        _remove_empty(self.store.root / ".tmp")


def dataset_spec(dataset: Any, options: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """How to load ``dataset`` again (a manifest's ``dataset`` record): name, root, split, task, options."""
    return {"name": dataset.name, "root": str(Path(dataset.root).resolve()) if dataset.root else None,
            "split": dataset.split, "task": dataset.task, "options": dict(options or {})}


def load_dataset_spec(spec: Mapping[str, Any]) -> Any:
    """The dataset a manifest's ``dataset`` record describes (only its ``sequences``, if listed)."""
    from vosbench.datasets import load_dataset

    return load_dataset(str(spec["name"]), spec.get("root"), spec.get("split"), task=spec.get("task"),
                        sequences=spec.get("sequences") or None, **dict(spec.get("options") or {}))


def find_runs(results_dir: Path | str) -> Iterator[RunStore]:
    """Every run folder (one holding a ``manifest.json``) under ``results_dir``, sorted."""
    for path in sorted(Path(results_dir).rglob(MANIFEST)):
        if ".tmp" not in path.parts and "masks" not in path.parts:
            yield RunStore(path.parent)


def _with_all_sequences(manifest: Mapping[str, Any], old: Mapping[str, Any]) -> Dict[str, Any]:
    """The manifest listing the sequences of every run into the folder (a subset, then more)."""
    before = (old.get("dataset") or {}).get("sequences") or []
    now = (manifest.get("dataset") or {}).get("sequences") or []
    merged = list(before) + [name for name in now if name not in set(before)]
    return {**manifest, "dataset": {**manifest["dataset"], "sequences": merged}}


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # absent, or still in use by another shard


def _mismatch_message(root: Path, old: Mapping[str, Any], new: Mapping[str, Any], different: List[str]) -> str:
    lines = [f"{root} holds another run ({old.get('method')} {old.get('config_hash')} on "
             f"{old.get('dataset', {}).get('label', '?')}); this run differs in {', '.join(different)}:"]
    for key in ("config", "weights", "precision"):
        if old.get(key) != new.get(key):
            lines.append(f"  {key}: {json.dumps(old.get(key), default=str)} → {json.dumps(new.get(key), default=str)}")
    lines.append("Choose another --output, or pass --force to replace it.")
    return "\n".join(lines)
