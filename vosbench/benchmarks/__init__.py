"""Benchmark rules: how each benchmark scores, aggregates and writes its official files.

A dataset's registry entry names its rules lazily (``rules="vosbench.benchmarks.lvos:LVOS_RULES"``
in :data:`vosbench.datasets.DATASETS`' metadata), so loading one dataset never imports another
benchmark's code; an entry without ``rules`` (and a dataset not in the catalogue) gets the
DAVIS rules, :data:`~vosbench.benchmarks.rules.DAVIS_RULES`. The same metadata may name a
synthetic writer (``synthetic="module:function"``), which ``vosbench synth --layout NAME``
calls: see :func:`synthetic_writer`. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vosbench.benchmarks.rules import DAVIS_RULES, BenchmarkRules, ScoredObject, object_means
from vosbench.errors import ConfigError, PluginError, UnknownNameError
from vosbench.registry import import_object


def rules_for(dataset: Any) -> BenchmarkRules:
    """The rules of ``dataset`` (a Dataset or a catalogue name): its registry entry's ``rules``,
    else the DAVIS rules."""
    from vosbench.datasets import DATASETS

    name = dataset if isinstance(dataset, str) else getattr(dataset, "name", "")
    try:
        entry = DATASETS.entry(name)
    except UnknownNameError:
        return DAVIS_RULES
    target = entry.info.get("rules")
    if target is None:
        return DAVIS_RULES
    rules = _load(target, f"the rules of dataset {entry.name!r}")
    if not isinstance(rules, BenchmarkRules):
        raise PluginError(
            f"the rules of dataset {entry.name!r} ({target!r}) are not a "
            "vosbench.benchmarks.BenchmarkRules instance"
        )
    return rules


SyntheticWriter = Callable[..., Any]
"""``writer(out_dir, preset, *, split) -> Path``: a synthetic split in one benchmark's layout."""


def synthetic_layouts() -> dict[str, str]:
    """Catalogue name → the lazy spec of its synthetic writer, for every dataset that has one
    (what ``vosbench synth --layout`` offers)."""
    from vosbench.datasets import DATASETS

    return {
        entry.name: entry.info["synthetic"]
        for entry in DATASETS.entries()
        if entry.info.get("synthetic")
    }


def synthetic_writer(layout: str) -> SyntheticWriter:
    """The writer of ``layout`` (a catalogue name with a ``synthetic`` entry)."""
    from vosbench.datasets import DATASETS

    entry = DATASETS.entry(layout)  # unknown names fail here, with suggestions
    spec = entry.info.get("synthetic")
    if not spec:
        known = ", ".join(synthetic_layouts())
        raise ConfigError(f"dataset {entry.name!r} has no synthetic layout; choose one of {known}")
    return _load(spec, f"the synthetic writer of {entry.name!r}")


def synthetic_predictions_writer(layout: str) -> Callable[..., Any]:
    """``write(root, split, out_dir, *, overwrite)``: demo predictions for a synthetic folder of
    ``layout``, in the layout its benchmark reads. The catalogue entry's
    ``synthetic_predictions`` names it; the default loads the folder with the layout's own
    loader and writes one id map per annotated frame (``<out>/<sequence>/<stem>.png``)."""
    from vosbench.datasets import DATASETS

    entry = DATASETS.entry(layout)
    spec = entry.info.get("synthetic_predictions")
    if spec:
        return _load(spec, f"the synthetic predictions writer of {entry.name!r}")

    def write(root: Any, split: str, out_dir: Any, *, overwrite: bool = False) -> Any:
        from vosbench.datasets import load_dataset
        from vosbench.datasets.synthetic import write_predictions

        dataset = load_dataset(entry.name, root, split)
        return write_predictions(dataset, out_dir, overwrite=overwrite)

    return write


def _load(target: Any, what: str) -> Any:
    if not isinstance(target, str):
        return target
    try:
        return import_object(target)
    except Exception as error:  # a plug-in's import may fail in any way; the caller gets one type
        raise PluginError(
            f"{what} cannot be loaded from {target!r}: {type(error).__name__}: {error}"
        ) from error


__all__ = [
    "BenchmarkRules",
    "DAVIS_RULES",
    "ScoredObject",
    "object_means",
    "rules_for",
    "synthetic_layouts",
    "synthetic_predictions_writer",
    "synthetic_writer",
]
