"""MOSE v1: its rules (the server scores valid) and the synthetic layout.

MOSEv2, whose scorer runs locally with its own measures, lives in its own module.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from vosbench.benchmarks.rules import BenchmarkRules
from vosbench.datasets.synthetic import (
    SyntheticConfig,
    SyntheticSequence,
    _write_jpeg,
    claim_folder,
    resolve_config,
    save_record,
)
from vosbench.errors import DatasetError, Problem
from vosbench.io import write_mask


class MoseV1Rules(BenchmarkRules):
    """The DAVIS-2017 rules (for ``train``); ``valid`` never reaches them: the server scores it."""

    name = "mose"
    description = (
        "valid: the CodaLab server (vosbench submission packs Annotations/<video>/<frame>.png, "
        "every frame); train: the DAVIS-2017 rule (annotated frames 1 … T-2)"
    )


MOSE_V1_RULES = MoseV1Rules()


def write_synthetic(
    out_dir: str | Path,
    config_or_preset: str | SyntheticConfig = "val",
    *,
    split: str = "valid",
    overwrite: bool = False,
) -> Path:
    """Write a synthetic split in MOSE v1's layout: ``<out>/<split>/{JPEGImages,Annotations}``.

    ``train`` annotates every frame, ``valid`` (``val``) the first frame only, as the release
    does. Every object is in the first frame (MOSE v1 gives all targets there).
    """
    split = {"val": "valid"}.get(split, split)
    if split not in ("train", "valid"):
        raise DatasetError(
            Problem(None, f"synthetic mose writes train or valid, not {split!r}", "config")
        )
    base = resolve_config(config_or_preset)
    config = dataclasses.replace(base, late_objects=False)
    out = Path(out_dir).expanduser()
    record = claim_folder(out, base, "mose")
    save_record(out, record)  # claim the folder first
    target = out / split
    generator_split = "train" if split == "train" else "val"
    names = []
    for index in range(config.num_sequences):
        sequence = SyntheticSequence(config, index, generator_split)
        names.append(sequence.name)
        for t, stem in enumerate(sequence.frames):
            frame = target / "JPEGImages" / sequence.name / f"{stem}.jpg"
            if overwrite or not frame.is_file():
                _write_jpeg(frame, sequence.read_frame(stem))
            if split == "train" or t == 0:
                mask = target / "Annotations" / sequence.name / f"{stem}.png"
                write_mask(mask, sequence.read_annotation(stem))
    save_record(out, record, split, names)
    return out
