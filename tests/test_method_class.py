"""``run`` and ``get_method`` take a VOSMethod subclass as well as a registered name."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from vosbench.datasets import load_dataset
from vosbench.errors import ConfigError, UnknownNameError
from vosbench.runner import MethodCard, RunSettings, VOSMethod, get_method, run

FAST = RunSettings(device="cpu", warmup_frames=0, io_workers=0)


@dataclass(frozen=True)
class HoldConfig:
    keep: bool = True


class Hold(VOSMethod):
    """Holds the first annotation (first-frame, written as a user would)."""

    card = MethodCard(
        name="test-hold", task="semi-supervised", summary="holds the first mask", config=HoldConfig
    )
    Config = HoldConfig

    def reset(self, meta) -> None:
        self.labels = None

    def step(self, frame, mask=None, obj_ids=None):
        if mask is not None:
            self.labels = mask if self.labels is None else torch.where(mask > 0, mask, self.labels)
        return self.labels


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(
        "synthetic", None, "val", num_sequences=2, num_frames=4, height=48, width=64
    )


def test_a_class_runs_without_registration_and_resumes(dataset, tmp_path):
    result = run(Hold, dataset, settings=FAST, results_root=tmp_path)
    assert result.store.root == tmp_path / "synthetic-val" / "test-hold"
    assert result.manifest["method"] == "test-hold" and result.ok
    assert sorted(result.ran) == sorted(dataset.names)
    assert result.evaluation is not None and 0 <= result.evaluation.global_metrics()["J-Mean"] <= 1
    again = run(Hold, dataset, settings=FAST, results_root=tmp_path)
    assert again.ran == [] and sorted(again.resumed) == sorted(dataset.names)
    other = run(Hold, dataset, config={"keep": "false"}, settings=FAST, results_root=tmp_path)
    assert (
        other.store.root != result.store.root
    )  # non-default options get their own folder, as by name


def test_the_class_and_its_registered_name_are_the_same_method(dataset, tmp_path, scoped_methods):
    scoped_methods.register("test-hold", Hold)
    assert get_method("test-hold") is Hold is get_method(Hold)
    by_name = run("test-hold", dataset, settings=FAST, results_root=tmp_path)
    by_class = run(Hold, dataset, settings=FAST, results_root=tmp_path)
    assert by_class.store.root == by_name.store.root and by_class.ran == []


def test_classes_that_cannot_run_are_refused_with_the_reason():
    class NoCard(VOSMethod):
        def reset(self, meta): ...

        def step(self, frame, mask=None, obj_ids=None): ...

    class NoStep(VOSMethod):
        card = MethodCard(name="test-nostep", task="semi-supervised", summary="x")

        def reset(self, meta): ...

    class OtherConfig(Hold):
        card = MethodCard(name="test-other", task="semi-supervised", summary="x", config=HoldConfig)
        Config = dict

    class Impostor(Hold):
        card = MethodCard(name="flow", task="semi-supervised", summary="not the flow baseline")

    with pytest.raises(ConfigError, match="has no card"):
        get_method(NoCard)
    with pytest.raises(ConfigError, match="does not implement step"):
        get_method(NoStep)
    with pytest.raises(ConfigError, match="must be the same"):
        get_method(OtherConfig)
    with pytest.raises(ConfigError, match="not a vosbench.runner.VOSMethod"):
        get_method(dict)
    with pytest.raises(ConfigError, match="registered method 'flow'"):
        get_method(Impostor)
    with pytest.raises(
        ConfigError, match="registered name or a vosbench.runner.VOSMethod subclass"
    ):
        get_method(Hold())  # an instance, not the class
    with pytest.raises(UnknownNameError, match="did you mean"):
        get_method("flwo")
