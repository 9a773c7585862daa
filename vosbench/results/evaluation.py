"""The evaluation of a run folder, and the one rule that decides whether it is current.

An evaluation is current only when all of these hold, checked against the files as they are
now (never against what a marker says about them):

* ``evaluation-state.json`` is whole and says the evaluation followed the official protocol;
* it covers exactly the sequences whose completion markers are whole;
* each sequence's mask files (names, sizes and bytes) have the fingerprint it recorded;
* each output file it lists (``global_results-<split>.csv`` …) still has the digest it recorded.

``evaluation-state.json`` is written last, after every output is in place: a reader that
finds it whole finds the outputs it describes. ``run``, ``eval``, ``report`` and ``viz`` all
go through :func:`evaluation_status` and :func:`evaluate_run`; nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vosbench.errors import ConfigError, InputError, Problem
from vosbench.results.lock import RunLocks
from vosbench.results.store import (
    MANIFEST,
    STATE_FILE,
    DamagedFileError,
    RunStore,
    load_dataset_spec,
    read_object,
    write_json,
)

STATE_FORMAT = "vosbench-evaluation/1"
_CHUNK = 1 << 20
_MAX_DEPTH = 1  # <sequence>/<object>/<frame>.png: one level of sub-folders


class StaleEvaluationError(InputError):
    """The masks changed while they were being evaluated; the result was not stored."""


@dataclass(frozen=True)
class EvaluationStatus:
    """Whether a run's stored evaluation describes its masks now, and if not, why."""

    current: bool
    reason: str = ""
    sequences: int = 0  # sequences the stored evaluation covers

    def __bool__(self) -> bool:
        return self.current


# -- fingerprints -----------------------------------------------------------------------------
def sequence_fingerprint(folder: Path) -> str:
    """A digest of every file in a sequence's mask folder: names, sizes and bytes.

    Reading the bytes (not only sizes and times) is what makes a replaced mask visible even
    when a copy kept its time stamps; masks are small, so this costs a fraction of decoding.
    Sub-folders (one per object, as SA-V stores predictions) are digested the same way, so a
    flat folder's fingerprint is what it always was.
    """
    digest = hashlib.blake2b(digest_size=16)
    if not _digest_folder(Path(folder), digest):
        return "absent"
    return digest.hexdigest()


def _digest_folder(folder: Path, digest: Any, depth: int = 0) -> bool:
    """Feed ``folder``'s entries to ``digest``; False when it does not exist."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return False
    for entry in entries:
        digest.update(entry.name.encode("utf-8", "surrogateescape") + b"\0")
        if entry.is_dir(follow_symlinks=False) and depth < _MAX_DEPTH:
            digest.update(b"<folder>\0")
            _digest_folder(Path(entry.path), digest, depth + 1)
            digest.update(b"</folder>\0")
            continue
        if not entry.is_file(follow_symlinks=False):
            digest.update(b"<not a file>\0")
            continue
        with open(entry.path, "rb") as handle:
            data = handle.read()
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return True


def mask_fingerprints(store: RunStore, sequences: Seq[str]) -> dict[str, str]:
    return {name: sequence_fingerprint(store.sequence_dir(name)) for name in sequences}


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


# -- status -----------------------------------------------------------------------------------
STATE_FIELDS = {"format": str, "official": bool, "sequences": dict, "outputs": dict}


def read_state(store: RunStore) -> dict[str, Any]:
    """The evaluation record (DamagedFileError when it cannot be believed)."""
    return read_object(
        store.state_path, STATE_FIELDS, "run `vosbench eval` on the run folder to evaluate it again"
    )


def evaluation_status(store: RunStore, completed: Seq[str] | None = None) -> EvaluationStatus:
    """Whether the stored evaluation was computed from exactly the current masks (see module
    doc)."""
    if not store.state_path.is_file():
        return EvaluationStatus(False, "not evaluated yet")
    try:
        state = read_state(store)
    except DamagedFileError as error:
        return EvaluationStatus(False, str(error))
    if state["format"] != STATE_FORMAT or not state["official"]:
        return EvaluationStatus(False, "the stored evaluation is not an official one of this run")
    seen: dict[str, Any] = state["sequences"]
    names = list(completed) if completed is not None else [r["sequence"] for r in store.records()]
    added, removed = sorted(set(names) - set(seen)), sorted(set(seen) - set(names))
    if added or removed:
        parts = (
            [f"{len(added)} sequence(s) completed since ({_preview(added)})"] if added else []
        ) + (
            [f"{len(removed)} evaluated sequence(s) no longer complete ({_preview(removed)})"]
            if removed
            else []
        )
        return EvaluationStatus(False, "stale: " + "; ".join(parts), len(seen))
    changed = [
        name for name in names if sequence_fingerprint(store.sequence_dir(name)) != seen[name]
    ]
    if changed:
        return EvaluationStatus(
            False,
            f"stale: masks changed since the evaluation in {len(changed)} "
            f"sequence(s) ({_preview(changed)})",
            len(seen),
        )
    for name, digest in state["outputs"].items():
        path = store.root / Path(str(name)).name
        if not path.is_file() or file_digest(path) != digest:
            return EvaluationStatus(
                False, f"stale: {path.name} was changed or removed after the evaluation", len(seen)
            )
    return EvaluationStatus(True, "", len(seen))


def _preview(names: Seq[str], count: int = 4) -> str:
    return ", ".join(names[:count]) + (", …" if len(names) > count else "")


# -- evaluating -------------------------------------------------------------------------------
def run_dataset(spec: Mapping[str, Any], names: Seq[str], dataset: Any = None) -> Any:
    """The ground truth of ``names``: from ``dataset`` when it holds them all, else from ``spec``
    (a manifest's ``dataset`` record)."""
    if dataset is not None and set(names) <= set(dataset.names):
        return dataset.select(list(names))
    return load_dataset_spec(spec, sequences=list(names))


def evaluate_run(
    store: RunStore,
    *,
    dataset: Any = None,
    workers: int | None = None,
    collect_problems: bool = False,
    progress: Callable[[Any], None] | None = None,
) -> Any:
    """Evaluate every completed sequence of a run, store the outputs in its folder, mark them
    current.

    ``dataset`` (optional) is the loaded ground truth; sequences it lacks are loaded from the
    manifest. The masks are fingerprinted before and after scoring: when they changed in
    between, nothing is stored (:class:`StaleEvaluationError`). Returns the
    :class:`~vosbench.metrics.EvaluationResult`.
    """
    from vosbench.metrics import Protocol, evaluate, write_outputs

    scan = store.scan()
    names = scan.names
    if not names:
        raise InputError(Problem(store.root, "no completed sequence to evaluate", "empty"))
    with RunLocks(store.root).evaluation():
        spec = store.manifest()["dataset"]
        data = run_dataset(spec, names, dataset)
        protocol = Protocol.for_dataset(data)
        before = mask_fingerprints(store, names)
        result = evaluate(
            data,
            store.masks_dir,
            protocol,
            workers=workers,
            collect_problems=collect_problems,
            progress=progress,
        )
        if mask_fingerprints(store, names) != before:
            raise StaleEvaluationError(
                Problem(
                    store.masks_dir,
                    "masks changed while they were being evaluated "
                    "(is a run still writing?); nothing was stored",
                    "stale",
                )
            )
        store.state_path.unlink(
            missing_ok=True
        )  # the old record must not outlive the outputs it described
        files = write_outputs(result, store.root)
        write_json(
            store.state_path,
            {
                "format": STATE_FORMAT,
                "official": protocol.official_under(result.rules),
                "split": data.split,
                "protocol": json.loads(json.dumps(result.protocol_record(), default=str)),
                "sequences": before,
                "listed": spec.get("listed"),
                "outputs": {path.name: file_digest(path) for path in files.values()},
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
    return result


def is_run_protocol(options: Mapping[str, Any]) -> bool:
    """Whether evaluation ``options`` (Protocol fields) are the ones :func:`evaluate_run` uses:
    every field at its default and the dataset's own metric set (no ``metrics`` named)."""
    from vosbench.metrics import Protocol

    defaults = {f.name: f.default for f in dataclasses.fields(Protocol)}
    return all(
        value == defaults[name] for name, value in options.items() if name != "metrics"
    ) and not options.get("metrics")


def subset_folder(store: RunStore, key: Mapping[str, Any]) -> Path:
    """Where an evaluation of a subset, or with non-official settings, of a run is written.

    Such an evaluation never replaces the run's own: it goes to ``evaluations/<digest>/``,
    one folder per distinct request, so reruns of the same request overwrite only themselves.
    """
    text = json.dumps(key, sort_keys=True, default=str)
    return store.root / "evaluations" / hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass
class EvaluationPlan:
    """What ``vosbench eval RESULTS`` scores, against which dataset, and where it writes.

    ``own`` is True when the request is the run's own official evaluation (every completed
    sequence, default settings, into the run folder): it then goes through
    :func:`evaluate_run` and becomes the run's current evaluation. Any other request on a run
    folder writes into :func:`subset_folder` and leaves the run's evaluation alone.
    """

    masks_dir: Path
    dataset: dict[str, Any]  # load_dataset arguments: name, root, split, task, sequences, options
    output: Path
    store: RunStore | None = None
    own: bool = False
    notes: list[str] = field(default_factory=list)


def plan_evaluation(
    results_dir: Path | str,
    *,
    dataset: str | None = None,
    root: Any = None,
    split: str | None = None,
    task: str | None = None,
    sequences: Seq[str] | None = None,
    options: Mapping[str, Any] | None = None,
    output: Path | str | None = None,
    official: bool = True,
) -> EvaluationPlan:
    """Decide what an evaluation request means (see :class:`EvaluationPlan`).

    A run folder (or its ``masks/``) names its dataset in its manifest; a plain results
    folder needs ``dataset``: nothing is assumed.
    """
    results_dir = Path(results_dir)
    folder = (
        results_dir.parent
        if results_dir.name == "masks" and (results_dir.parent / MANIFEST).is_file()
        else results_dir
    )
    store = RunStore(folder)
    if not store.exists():
        if dataset is None:
            raise ConfigError(
                f"{results_dir}: a plain results folder (no {MANIFEST}); pass --dataset (and "
                "--root) to say which ground truth to score it against"
            )
        args = {
            "name": dataset,
            "root": root,
            "split": split,
            "task": task,
            "sequences": list(sequences) if sequences else None,
            "options": dict(options or {}),
        }
        return EvaluationPlan(
            results_dir, args, Path(output) if output is not None else results_dir
        )
    return _plan_run(
        store,
        dataset=dataset,
        root=root,
        split=split,
        task=task,
        sequences=sequences,
        options=options,
        output=output,
        official=official,
    )


def _plan_run(
    store: RunStore,
    *,
    dataset: str | None,
    root: Any,
    split: str | None,
    task: str | None,
    sequences: Seq[str] | None,
    options: Mapping[str, Any] | None,
    output: Path | str | None,
    official: bool,
) -> EvaluationPlan:
    spec = store.manifest()["dataset"]
    scan = store.scan()
    notes = [f"{problem} (that sequence is not evaluated)" for problem in scan.damaged]
    completed = scan.names
    if not completed:
        raise InputError(
            Problem(store.root, "the run has no completed sequence to evaluate", "empty")
        )
    chosen = list(sequences) if sequences else completed
    unfinished = [name for name in chosen if name not in set(completed)]
    if unfinished:
        raise InputError(
            Problem(
                store.root / "sequences",
                f"{len(unfinished)} requested sequence(s) are not "
                f"complete in this run: {_preview(unfinished)}",
                "missing",
            )
        )
    args = {
        "name": dataset or spec["name"],
        "root": root if root is not None else spec.get("root"),
        "split": split or spec.get("split"),
        "task": task or spec.get("task"),
        "sequences": chosen,
        "options": {**dict(spec.get("options") or {}), **dict(options or {})},
    }
    overridden = _differs(args, spec)
    own = (
        official
        and not overridden
        and set(chosen) == set(completed)
        and (output is None or Path(output).resolve() == store.root.resolve())
    )
    if own:
        return EvaluationPlan(store.masks_dir, args, store.root, store, True, notes)
    target = (
        Path(output) if output is not None else subset_folder(store, {**args, "official": official})
    )
    notes.append(
        f"a subset or non-official evaluation: written to {target}; the run's own evaluation is "
        "unchanged"
    )
    return EvaluationPlan(store.masks_dir, args, target, store, False, notes)


def _differs(args: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    """Whether the requested ground truth is another than the run's (naming the same one is not)."""

    def where(root: Any) -> str | None:
        return None if root is None else str(Path(root).expanduser().resolve())

    return (
        args["name"] != spec.get("name")
        or where(args["root"]) != where(spec.get("root"))
        or args["split"] != spec.get("split")
        or args["task"] != spec.get("task")
        or args["options"] != dict(spec.get("options") or {})
    )


__all__ = [
    "EvaluationPlan",
    "EvaluationStatus",
    "plan_evaluation",
    "StaleEvaluationError",
    "evaluate_run",
    "evaluation_status",
    "mask_fingerprints",
    "read_state",
    "run_dataset",
    "sequence_fingerprint",
    "subset_folder",
    "STATE_FILE",
]
