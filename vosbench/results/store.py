"""The results layout of one run: its manifest, completion markers and the atomic sequence commit.

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
    evaluation-state.json    what that evaluation saw: a fingerprint of every mask file of
                             every sequence, and a digest of each output (written last)
    evaluations/<id>/        evaluations of a subset or with non-official settings
    .locks/, .tmp/           locks of the processes writing here; their staging folders

A sequence counts as done only when its marker exists and is whole: its masks are written into
a temporary folder that is renamed into place, then the marker is written atomically. A run
killed at any moment therefore leaves whole sequences or nothing, and a resumed run redoes
exactly the unfinished ones. Every name that becomes a path (sequence, frame) is checked by
:mod:`vosbench.names`; every file read back is checked before it is believed, and a damaged
one is named with the way to recover.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vosbench.errors import ConfigError, InputError, Problem
from vosbench.io.atomic import atomic_write_text
from vosbench.names import check_name

RUN_FORMAT = "vosbench-run/1"
RUN_FORMAT_PREFIX = RUN_FORMAT.split("/")[0] + "/"  # any version of the run format
MANIFEST = "manifest.json"
STATE_FILE = "evaluation-state.json"
TIMING_COLUMNS = ("sequence", "frame", "index", "init", "num_objects", "model_ms", "e2e_ms")
# What a run writes at the top of its folder; --force deletes exactly these (and STORE_FOLDERS).
RUN_FILES = (
    MANIFEST,
    "summary.json",
    "timing.csv",
    STATE_FILE,
    "evaluation-*.json",
    "global_results-*.csv",
    "global_metrics-*.csv",
    "per-*_results-*.csv",
    "youtube-vos_results-*.csv",
    "submission.zip",
)
STORE_FOLDERS = ("masks", "sequences", "failures", "viz", "evaluations", "submission", ".tmp")
# Manifest fields that identify a run: a folder is reused only when all of them match.
IDENTITY_FIELDS = ("method", "config_hash", "dataset_id")
MAX_RECORD_BYTES = 64 * 2**20  # a marker of a 100,000-frame sequence is a few MB


class RunMismatchError(ConfigError):
    """The output folder holds a run with a different method, configuration or dataset."""


class DamagedFileError(InputError):
    """A file of a run folder cannot be believed (not JSON, wrong shape, unsafe names)."""


class ForeignFileError(DamagedFileError):
    """A ``manifest.json`` that another program wrote (not a vosbench run manifest)."""


# -- JSON records -----------------------------------------------------------------------------
def write_json(path: Path, record: Mapping[str, Any]) -> Path:
    return atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path | str, recovery: str = "") -> Any:
    """A JSON file's value; unreadable, oversized, non-UTF-8 or invalid JSON is a
    DamagedFileError."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_RECORD_BYTES:
            raise _damaged(
                path, f"{path.stat().st_size} bytes, more than a record can hold", recovery
            )
        return json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise DamagedFileError(Problem(path, "file not found", "missing")) from None
    except OSError as error:
        raise _damaged(path, f"cannot be read ({error.strerror or error})", recovery) from None
    except UnicodeDecodeError:
        raise _damaged(path, "not UTF-8 text", recovery) from None
    except json.JSONDecodeError as error:
        raise _damaged(
            path, f"not valid JSON ({error.msg} at line {error.lineno})", recovery
        ) from None


def read_object(path: Path, fields: Mapping[str, Any], recovery: str) -> dict[str, Any]:
    """A JSON object with ``fields`` (name → type or tuple of types); anything else is damaged."""
    value = read_json(path, recovery)
    if not isinstance(value, dict):
        raise _damaged(path, f"holds {_json_kind(value)} where a JSON object is expected", recovery)
    for name, kind in fields.items():
        if name not in value:
            raise _damaged(path, f"has no {name!r} field", recovery)
        if (
            not isinstance(value[name], kind)
            or isinstance(value[name], bool)
            and bool not in _types(kind)
        ):
            raise _damaged(path, f"field {name!r} holds {_json_kind(value[name])}", recovery)
    return value


def _types(kind: Any) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _damaged(path: Path, reason: str, recovery: str) -> DamagedFileError:
    return DamagedFileError(
        Problem(path, f"damaged: {reason}" + (f"; {recovery}" if recovery else ""), "damaged")
    )


def child_path(folder: Path, name: str, what: str, suffix: str = "") -> Path:
    """``folder/<name><suffix>`` for a name that :func:`vosbench.names.check_name` accepts.

    Names reach the store from datasets and markers that were checked where they entered;
    this check stands in the one place every path of a run folder is built, so that no
    ``..`` can ever turn a write or a removal towards another folder.
    """
    reason = check_name(name, what=what) if isinstance(name, str) else "not a string"
    if reason is not None:
        raise InputError(Problem(folder, f"refusing {what} name {name!r}: {reason}", "invalid"))
    return folder / f"{name}{suffix}"


def _unsafe(path: Path, what: str, value: Any, recovery: str) -> DamagedFileError | None:
    reason = (
        check_name(value, what=what)
        if isinstance(value, str)
        else f"not a string ({_json_kind(value)})"
    )
    return None if reason is None else _damaged(path, f"{what} name {value!r}: {reason}", recovery)


# -- manifests ----------------------------------------------------------------------------------
MANIFEST_FIELDS = {"format": str, "method": str, "config_hash": str, "dataset": dict}


def check_manifest(path: Path, manifest: Any) -> dict[str, Any]:
    """``manifest`` if it is a vosbench run manifest whose names are safe to build paths from."""
    recovery = (
        "restore it, or pass --force to `vosbench run` to start the run over "
        "(its masks and markers are replaced)"
    )
    if not isinstance(manifest, dict):
        raise _damaged(
            path, f"holds {_json_kind(manifest)} where a run manifest is expected", recovery
        )
    if not str(manifest.get("format", "")).startswith(RUN_FORMAT_PREFIX):
        raise ForeignFileError(
            Problem(
                path, f"not a vosbench run manifest (format {manifest.get('format')!r})", "foreign"
            )
        )
    for name, kind in MANIFEST_FIELDS.items():
        if not isinstance(manifest.get(name), kind):
            raise _damaged(
                path,
                f"field {name!r} is missing or holds {_json_kind(manifest.get(name))}",
                recovery,
            )
    dataset = manifest["dataset"]
    for key, what in (("name", "dataset"), ("split", "split")):
        error = _unsafe(path, what, dataset.get(key), recovery)
        if error is not None:
            raise error
    error = _unsafe(path, "method", manifest["method"], recovery)
    if error is not None:
        raise error
    listed = dataset.get("sequences")
    if listed is not None and not (
        isinstance(listed, list)
        and all(isinstance(n, str) and check_name(n) is None for n in listed)
    ):
        raise _damaged(path, "dataset.sequences is not a list of safe sequence names", recovery)
    return manifest


# -- markers ------------------------------------------------------------------------------------
MARKER_FIELDS = {
    "sequence": str,
    "frames": list,
    "model_ms": list,
    "e2e_ms": list,
    "num_objects": int,
    "config_hash": str,
}


def check_marker(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """A completion marker whose names are safe and whose per-frame lists agree."""
    recovery = f"run `vosbench run` again with the same options to redo sequence {path.stem!r}"
    if record["sequence"] != path.stem:
        raise _damaged(path, f"names sequence {record['sequence']!r}, not {path.stem!r}", recovery)
    error = _unsafe(path, "sequence", record["sequence"], recovery)
    if error is not None:
        raise error
    frames = record["frames"]
    for stem in frames:
        error = _unsafe(path, "frame", stem, recovery)
        if error is not None:
            raise error
    for key in ("model_ms", "e2e_ms"):
        values = record[key]
        if len(values) != len(frames) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            raise _damaged(path, f"{key} does not hold one number per frame", recovery)
    return record


@dataclass
class MarkerScan:
    """The completion markers of a run folder: the whole ones, and the problems of the others."""

    records: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[Problem] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [r["sequence"] for r in self.records]


class RunStore:
    """One run folder: paths, manifest, markers, and the atomic sequence commit."""

    def __init__(self, root: Path | str, worker: str = "shard-0-of-1"):
        self.root = Path(root)
        if check_name(worker, what="worker") is not None:
            raise ConfigError(f"invalid worker name {worker!r}")
        self.worker = worker  # shards writing into one folder stage their sequences apart

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    @property
    def staging_root(self) -> Path:
        return self.root / ".tmp" / self.worker

    @property
    def locks_dir(self) -> Path:
        return self.root / ".locks"

    # -- paths ------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def masks_dir(self) -> Path:
        return self.root / "masks"

    @property
    def state_path(self) -> Path:
        return self.root / STATE_FILE

    def sequence_dir(self, sequence: str) -> Path:
        """``masks/<sequence>``; an unsafe name is refused before any path is built from it."""
        return child_path(self.masks_dir, sequence, "sequence")

    def marker_path(self, sequence: str) -> Path:
        return child_path(self.root / "sequences", sequence, "sequence", ".json")

    def failure_path(self, sequence: str) -> Path:
        return child_path(self.root / "failures", sequence, "sequence", ".json")

    # -- manifest ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def manifest(self) -> dict[str, Any]:
        """The run manifest, checked (ForeignFileError / DamagedFileError name the file)."""
        return check_manifest(
            self.manifest_path, read_json(self.manifest_path, "restore it or rerun with --force")
        )

    def open(self, manifest: Mapping[str, Any], *, force: bool = False) -> dict[str, Any]:
        """Claim the folder for the run described by ``manifest``; returns the manifest written.

        An existing run with the same identity is resumed; one with another identity is a
        :class:`RunMismatchError` unless ``force`` (then the folder's run outputs are deleted).
        A non-empty folder that holds no vosbench run is never touched, ``force`` or not.
        The caller holds the folder's lock (:mod:`vosbench.results.lock`).
        """
        self.refuse_foreign(force=force)
        if self.exists():
            manifest = self._reuse(manifest, force)
        self.root.mkdir(parents=True, exist_ok=True)
        write_json(self.manifest_path, manifest)
        self.discard_partial()
        return dict(manifest)

    def _reuse(self, manifest: Mapping[str, Any], force: bool) -> Mapping[str, Any]:
        try:
            old = self.manifest()
        except DamagedFileError as error:  # foreign too: only completion markers prove a run
            if not (force and self._has_run_outputs()):
                hint = (
                    "; choose another --output (nothing there was changed)"
                    if isinstance(error, ForeignFileError)
                    else ""
                )
                raise RunMismatchError(f"{error}{hint}") from None
            old = None
        if force:
            self.clear()
            return manifest
        assert old is not None
        different = [key for key in IDENTITY_FIELDS if old.get(key) != manifest.get(key)]
        old_root, new_root = (
            (old.get("dataset") or {}).get("root"),
            (manifest.get("dataset") or {}).get("root"),
        )
        if old_root != new_root:
            different.append("dataset root")
        if different:
            raise RunMismatchError(_mismatch_message(self.root, old, manifest, different))
        return _with_all_sequences(manifest, old)

    def refuse_foreign(self, *, force: bool = False) -> None:
        """Raise RunMismatchError when the folder is not ours to write into (checked before
        anything, a lock included, is created there)."""
        if self.holds_foreign_files():
            raise RunMismatchError(
                f"{self.root}: the folder is not empty and holds no vosbench run "
                f"({MANIFEST} missing); choose another --output (nothing there was changed)"
            )
        if not self.exists():
            return
        try:
            self.manifest()
        except ForeignFileError as error:
            if not (force and self._has_run_outputs()):
                raise RunMismatchError(
                    f"{error}; choose another --output (nothing there was changed)"
                ) from None
        except DamagedFileError:
            pass  # reported by open(), under the lock

    def _has_run_outputs(self) -> bool:
        """Evidence beyond a damaged manifest that the folder is a run: completion markers."""
        return any((self.root / "sequences").glob("*.json"))

    def holds_foreign_files(self) -> bool:
        """A non-empty folder without a manifest: not ours to write into."""
        return (
            not self.exists()
            and self.root.is_dir()
            and any(p.name != ".locks" for p in self.root.iterdir())
        )

    def clear(self) -> None:
        """Delete the run outputs in the folder (``--force``); other files are left alone."""
        if not self.exists():
            return
        try:
            self.manifest()
        except DamagedFileError:
            if not self._has_run_outputs():
                return
        for name in STORE_FOLDERS:
            shutil.rmtree(self.root / name, ignore_errors=True)
        for pattern in RUN_FILES:
            for path in self.root.glob(pattern):
                if path.is_file():
                    path.unlink()

    # -- sequences --------------------------------------------------------------------------
    def scan(self) -> MarkerScan:
        """Every completion marker, checked; damaged ones are listed apart with their file."""
        scan = MarkerScan()
        folder = self.root / "sequences"
        if not folder.is_dir():
            return scan
        for path in sorted(folder.glob("*.json")):
            try:
                scan.records.append(
                    check_marker(
                        path,
                        read_object(
                            path,
                            MARKER_FIELDS,
                            f"run `vosbench run` again to redo sequence {path.stem!r}",
                        ),
                    )
                )
            except DamagedFileError as error:
                scan.damaged.extend(error.problems)
        return scan

    def records(self) -> list[dict[str, Any]]:
        """The whole markers of every completed sequence, sorted by name."""
        return self.scan().records

    def marker(self, sequence: str) -> dict[str, Any]:
        """The checked completion marker of ``sequence`` (DamagedFileError names what is wrong)."""
        path = self.marker_path(sequence)
        return check_marker(
            path, read_object(path, MARKER_FIELDS, f"run `vosbench run` again to redo {sequence!r}")
        )

    def is_done(self, sequence: str, config_hash: str) -> bool:
        """Whether ``sequence`` has a whole marker of this configuration and its masks folder."""
        if not self.marker_path(sequence).is_file() or not self.sequence_dir(sequence).is_dir():
            return False
        try:
            return self.marker(sequence).get("config_hash") == config_hash
        except DamagedFileError:
            return False

    def failures(self) -> list[dict[str, Any]]:
        """Failure records (damaged ones are reported as such rather than dropped)."""
        folder = self.root / "failures"
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.glob("*.json")):
            try:
                found.append(read_object(path, {"sequence": str}, "rerun the sequence"))
            except DamagedFileError as error:
                found.append({"sequence": path.stem, "error": str(error)})
        return found

    def staging(self, sequence: str) -> SequenceWriter:
        """A writer whose masks become visible only at :meth:`SequenceWriter.commit`."""
        return SequenceWriter(self, sequence)

    def record_failure(self, sequence: str, record: Mapping[str, Any]) -> None:
        write_json(self.failure_path(sequence), record)

    def discard_partial(self) -> None:
        """Remove the staging folders an interrupted run of this worker left behind.

        Only this worker's staging folder (which only it writes, under its lock) is removed;
        mask folders without a marker (a kill between rename and marker) stay until their
        sequence is run again, which replaces them.
        """
        shutil.rmtree(self.staging_root, ignore_errors=True)
        _remove_empty(self.root / ".tmp")

    def write_timing_csv(self, records: list[dict[str, Any]] | None = None) -> Path:
        """``timing.csv``: one row per frame of every completed sequence."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(TIMING_COLUMNS)
        for record in records if records is not None else self.records():
            for index, (stem, model, e2e) in enumerate(
                zip(record["frames"], record["model_ms"], record["e2e_ms"])
            ):
                writer.writerow(
                    (
                        record["sequence"],
                        stem,
                        index,
                        int(index == 0),
                        record["num_objects"],
                        f"{model:.4f}",
                        f"{e2e:.4f}",
                    )
                )
        return atomic_write_text(self.root / "timing.csv", buffer.getvalue())


class SequenceWriter:
    """Writes one sequence's masks into a staging folder, then commits them atomically."""

    def __init__(self, store: RunStore, sequence: str):
        self.store, self.sequence = store, sequence
        self.target = store.sequence_dir(sequence)  # checks the name
        self.folder = store.staging_root / f"{sequence}.{uuid.uuid4().hex[:8]}"
        self.folder.mkdir(parents=True)
        self.digest = hashlib.blake2b(digest_size=16)

    def write(self, stem: str, png: bytes) -> None:
        """Store one frame's encoded PNG (plain write: the folder is invisible until commit)."""
        with open(child_path(self.folder, stem, "frame", ".png"), "wb") as handle:
            handle.write(png)
        self.digest.update(png)

    def commit(self, record: dict[str, Any]) -> None:
        """Move the masks into place and write the completion marker (``record`` + digest).

        The marker goes first out of the way, so a kill between the steps never leaves a marker
        describing other masks than those on disk.
        """
        self.store.marker_path(self.sequence).unlink(missing_ok=True)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        if self.target.exists():
            shutil.rmtree(self.target)
        os.replace(self.folder, self.target)
        _remove_empty(self.store.staging_root)
        _remove_empty(self.store.root / ".tmp")
        self.store.failure_path(self.sequence).unlink(missing_ok=True)
        write_json(
            self.store.marker_path(self.sequence), {**record, "digest": self.digest.hexdigest()}
        )

    def abandon(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        _remove_empty(self.store.staging_root)
        _remove_empty(self.store.root / ".tmp")


# -- datasets of runs ---------------------------------------------------------------------------
def dataset_spec(dataset: Any, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """How to load ``dataset`` again (a manifest's ``dataset`` record): name, root, split, task,
    options, and how many sequences its split lists (``listed``)."""
    listed = getattr(dataset, "listed", None) or dataset.names
    return {
        "name": dataset.name,
        "root": str(Path(dataset.root).resolve()) if dataset.root else None,
        "split": dataset.split,
        "task": dataset.task,
        "options": dict(options or {}),
        "listed": len(listed),
    }


def load_dataset_spec(
    spec: Mapping[str, Any], sequences: list[str] | None = None, *, allow_missing: bool = False
) -> Any:
    """The dataset a manifest's ``dataset`` record describes, restricted to ``sequences``."""
    from vosbench.datasets import load_dataset

    options = spec.get("options") or {}
    if not isinstance(options, dict):
        raise ConfigError(f"dataset options {options!r} are not a mapping")
    return load_dataset(
        str(spec["name"]),
        spec.get("root"),
        spec.get("split"),
        task=spec.get("task"),
        sequences=sequences,
        allow_missing=allow_missing,
        **options,
    )


def find_runs(results_dir: Path | str, warnings: list[str] | None = None) -> Iterator[RunStore]:
    """Every vosbench run folder under ``results_dir``, sorted.

    A ``manifest.json`` that another program wrote is skipped (with a line in ``warnings``);
    a damaged vosbench manifest is yielded, for the caller to report.
    """
    for path in sorted(Path(results_dir).rglob(MANIFEST)):
        if ".tmp" in path.parts or "masks" in path.parts:
            continue
        store = RunStore(path.parent)
        try:
            store.manifest()
        except ForeignFileError as error:
            if warnings is not None:
                warnings.append(f"skipped {error}")
            continue
        except DamagedFileError:
            pass
        yield store


def _with_all_sequences(manifest: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
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


def _mismatch_message(
    root: Path, old: Mapping[str, Any], new: Mapping[str, Any], different: list[str]
) -> str:
    lines = [
        f"{root} holds another run ({old.get('method')} {old.get('config_hash')} on "
        f"{(old.get('dataset') or {}).get('label', '?')}); this run differs in "
        f"{', '.join(different)}:"
    ]
    for key in ("config", "weights", "precision"):
        if old.get(key) != new.get(key):
            lines.append(
                f"  {key}: {json.dumps(old.get(key), default=str)} → "
                f"{json.dumps(new.get(key), default=str)}"
            )
    old_root, new_root = (
        (old.get("dataset") or {}).get("root"),
        (new.get("dataset") or {}).get("root"),
    )
    if old_root != new_root:
        lines.append(f"  dataset root: {old_root} → {new_root}")
    lines.append("Choose another --output, or pass --force to replace it.")
    return "\n".join(lines)
