"""Every registered method runs: built with random weights at its tiniest size, two frames of a
tiny synthetic video through the real runner. A method that stops importing or running fails
here."""

from __future__ import annotations

import numpy as np
import pytest

from vosbench.datasets import load_dataset
from vosbench.io import read_mask
from vosbench.runner import RunSettings, run
from vosbench.runner.methods import METHODS, method_card

# The smallest network each config allows; a method not listed runs with its defaults.
TINY = {
    "rgmp": {"size": "tiny", "scales": "1.0"},
    "fan": {"size": "tiny", "scales": "1.0"},
    "cosnet": {"input_size": "33", "references": "1"},
    "ranet": {"crop": "false"},  # a fixed 480x864 input: no smaller size exists
}
HEAVY = {"ranet", "cosnet"}  # ResNet-101 networks: seconds to build on a CPU
SETTINGS = RunSettings(
    random_init=True, warmup_frames=0, io_workers=0, evaluate=False, device="cpu"
)


def _cases():
    return [
        pytest.param(name, marks=pytest.mark.slow) if name in HEAVY else name
        for name in METHODS.names()
    ]


@pytest.mark.parametrize("name", _cases())
def test_every_method_runs_two_frames_from_random_weights(name, tmp_path):
    card = method_card(name)
    objects = 2 if card.multi_object else 1
    data = load_dataset(
        "synthetic",
        None,
        "val",
        task=card.task,
        num_sequences=1,
        num_frames=2,
        height=64,
        width=96,
        min_objects=objects,
        max_objects=objects,
    )
    result = run(name, data, config=TINY.get(name), settings=SETTINGS, output=tmp_path / name)
    assert result.ok, result.failures
    sequence = data.sequences[0]
    allowed = {0, *sequence.object_ids} if card.task == "semi-supervised" else None
    for stem in sequence.frames:
        mask = read_mask(result.store.masks_dir / sequence.name / f"{stem}.png")
        assert mask.shape == (64, 96)
        assert allowed is None or set(np.unique(mask)) <= allowed, f"{stem}: ids {np.unique(mask)}"
    manifest = result.store.manifest()
    assert manifest["method"] == name and manifest["random_init"] is True
    assert manifest["card"]["name"] == name and manifest["card"]["task"] == card.task
