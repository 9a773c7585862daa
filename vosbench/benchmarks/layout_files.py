"""What every benchmark's synthetic writer shares: claiming the output folder, writing frames.

The scenes come from :mod:`vosbench.datasets.synthetic` (the one generator); a benchmark's
writer only lays them out in its own format. The folder's record (``synthetic.json``) names
the layout as well as the generator config, so a folder written in one layout is never
silently extended in another.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vosbench.datasets.synthetic import (
    GENERATOR_VERSION,
    META_FILE,
    SPLIT_CODES,
    SyntheticConfig,
    _write_jpeg,
)
from vosbench.errors import DatasetError, Problem
from vosbench.io import atomic_write_text

__all__ = ["claim_folder", "generator_split", "save_record", "write_jpeg"]

write_jpeg = _write_jpeg


def generator_split(split: str, splits: dict[str, str]) -> str:
    """The generator's split (``val`` / ``train``) that a benchmark's split name is drawn from."""
    if split not in splits:
        raise DatasetError(
            Problem(
                None,
                f"the synthetic layout has no split {split!r}; choose one of {', '.join(splits)}",
                "config",
            )
        )
    chosen = splits[split]
    assert chosen in SPLIT_CODES
    return chosen


def claim_folder(out: Path, config: SyntheticConfig, layout: str) -> dict[str, Any]:
    """The record of ``out`` (existing or new) for ``layout``; refuses a folder holding
    anything else (other files, another layout, another config or generator version)."""
    record_path = out / META_FILE
    wanted = {
        "generator": "vosbench.datasets.synthetic",
        "generator_version": GENERATOR_VERSION,
        "layout": layout,
        "config": _config(config),
    }
    if out.exists() and not out.is_dir():
        raise DatasetError(Problem(out, "exists and is not a folder", "exists"))
    if record_path.is_file():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise DatasetError(
                Problem(record_path, f"cannot be read as a synthetic record ({error})", "exists")
            ) from None
        if not isinstance(record, dict):
            raise DatasetError(Problem(record_path, "is not a synthetic record", "exists"))
        found = {key: record.get(key) for key in wanted}
        found["layout"] = record.get("layout", "davis2017")
        if found != wanted:
            differ = ", ".join(k for k in wanted if found[k] != wanted[k])
            raise DatasetError(
                Problem(
                    out,
                    f"holds another synthetic dataset (its {differ} differ); choose another "
                    "folder or delete this one",
                    "exists",
                )
            )
        return record
    if out.is_dir() and any(out.iterdir()):
        raise DatasetError(
            Problem(
                out,
                f"is not empty and holds no {META_FILE}; refusing to write a synthetic "
                "dataset over other files",
                "exists",
            )
        )
    return {**wanted, "splits": {}}


def save_record(out: Path, record: dict[str, Any]) -> None:
    atomic_write_text(out / META_FILE, json.dumps(record, indent=2) + "\n")


def _config(config: SyntheticConfig) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(config)
