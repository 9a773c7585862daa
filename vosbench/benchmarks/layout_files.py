"""What every benchmark's synthetic writer shares: claiming the output folder, writing frames.

The scenes come from :mod:`vosbench.datasets.synthetic` (the one generator); a benchmark's
writer only lays them out in its own format. The output folder is claimed by the generator's
one rule (:func:`~vosbench.datasets.synthetic.claim_folder`, re-exported here, as is
:func:`~vosbench.datasets.synthetic.save_record`): its record (``synthetic.json``) names the
layout as well as the generator config, so a folder written in one layout or config is never
silently extended in another.
"""

from __future__ import annotations

from vosbench.datasets.synthetic import SPLIT_CODES, _write_jpeg, claim_folder, save_record
from vosbench.errors import DatasetError, Problem

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
