"""Hostile config values: declared option ranges, training clip sizes, missing annotation
folders."""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass

import pytest

from vosbench.cli import main
from vosbench.errors import ConfigError
from vosbench.runner import METHODS, get_method, make_config
from vosbench.runner.methods import describe_options
from vosbench.runner.options import (
    OptionRangeError,
    ValidRange,
    check_options,
    is_union,
    option,
    valid_range,
)

# One out-of-range override per method (several for the float options), with the range the
# message must name.
OUT_OF_RANGE = [
    ("flow", "smooth", "1e9", "0 … 50"),
    ("flow", "smooth", "-0.5", "0 … 50"),
    ("flow", "downscale", "0", "0.01 … 1"),
    ("flow", "variational", "1000000", "-1 … 50"),
    ("rgmp", "scales", "4.0", "0.1 … 2"),  # a tuple: the message names the item
    ("rgmp", "seed", "-1", "0 … 4294967295"),
    ("fan", "scales", "0.05", "0.1 … 2"),
    ("ranet", "seed", "4294967296", "0 … 4294967295"),
    ("cosnet", "input_size", "100000", "33 … 640"),
    ("cosnet", "references", "0", "1 … 10"),
    ("cosnet", "feature_cache", "1000000", "0 … 256"),
    ("cosnet", "crf_iterations", "1000000000", "0 … 100"),
    ("cosnet", "crf_bilateral_sxy", "0", "0.1 … 200"),
]


def config_class(method: str) -> type:
    return get_method(method).Config


@pytest.mark.parametrize("method, key, text, valid", OUT_OF_RANGE)
def test_out_of_range_override_names_option_value_and_range(method, key, text, valid):
    cls = config_class(method)
    with pytest.raises(ConfigError) as raised:
        make_config(cls, {key: text})
    shown = f"{text} (item 1)" if key == "scales" else text
    assert str(raised.value) == f"{cls.__name__}.{key}: {shown} is outside {valid}"


@pytest.mark.parametrize(
    "method, key, value",
    [
        ("flow", "algorithm", "lucas-kanade"),
        ("flow", "preset", "slow"),
        ("flow", "border", "wrap"),
        ("rgmp", "size", "huge"),
        ("fan", "reference", "last"),
        ("ranet", "head", "both"),
        ("cosnet", "reference_rule", "evenly"),
    ],
)
def test_choices_are_listed(method, key, value):
    cls = config_class(method)
    field = next(f for f in dataclasses.fields(cls) if f.name == key)
    choices = ", ".join(valid_range(field).choices)
    with pytest.raises(
        ConfigError, match=f"^{cls.__name__}.{key}: {value} is not one of {choices}$"
    ):
        make_config(cls, {key: value})


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf"])
@pytest.mark.parametrize(
    "method, key", [("flow", "smooth"), ("flow", "downscale"), ("cosnet", "crf_gaussian_sxy")]
)
def test_nan_and_infinity_are_refused(method, key, text):
    with pytest.raises(ConfigError, match=f"{key}: {text} is outside"):
        make_config(config_class(method), {key: text})


def test_nan_and_infinity_are_refused_in_tuples_and_direct_construction():
    from vosbench_methods.baselines.flow import FlowConfig
    from vosbench_methods.rgmp.method import RGMPConfig

    for bad in (math.nan, math.inf):
        with pytest.raises(OptionRangeError, match="scales"):
            RGMPConfig(scales=(1.0, bad))
        with pytest.raises(OptionRangeError, match="smooth"):
            FlowConfig(smooth=bad)


def test_tuple_items_are_each_checked():
    cls = config_class("rgmp")
    assert make_config(cls, {"scales": "0.5,1.0"}).scales == (0.5, 1.0)
    assert make_config(cls, {"scales": "0.1,2"}).scales == (0.1, 2.0)  # bounds are inclusive
    with pytest.raises(
        ConfigError, match=r"^RGMPConfig.scales: 3.0 \(item 2\) is outside 0.1 … 2$"
    ):
        make_config(cls, {"scales": "0.5,3.0"})
    with pytest.raises(
        ConfigError,
        match=r"^RGMPConfig.scales: 9 values given; the valid range is "
        r"1 … 8 values, each 0.1 … 2$",
    ):
        make_config(cls, {"scales": ",".join(["1.0"] * 9)})
    with pytest.raises(ConfigError, match="RGMPConfig.scales: 0 values given"):
        make_config(cls, {"scales": ""})
    with pytest.raises(ConfigError, match=r"FANConfig.scales: nan \(item 1\) is outside"):
        make_config(config_class("fan"), {"scales": "nan"})


def test_in_range_overrides_are_kept_as_given():
    flow = make_config(
        config_class("flow"), {"smooth": "50", "downscale": "0.01", "variational": "-1"}
    )
    assert (flow.smooth, flow.downscale, flow.variational) == (50.0, 0.01, -1)
    cosnet = make_config(
        config_class("cosnet"), {"input_size": "33", "feature_cache": "0", "crf_iterations": "none"}
    )
    assert (cosnet.input_size, cosnet.feature_cache, cosnet.crf_iterations) == (33, 0, None)


def _unwrapped(kind):
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if is_union(kind) and len(args) == 1 else kind


@pytest.mark.parametrize("name", METHODS.names())
def test_every_default_lies_in_its_range_and_every_option_has_one(name):
    cls = get_method(name).Config
    check_options(cls())  # the defaults
    make_config(cls)  # what a run without -c builds
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if _unwrapped(hints[field.name]) is not bool:
            assert valid_range(field) is not None, f"{cls.__name__}.{field.name} declares no range"


def test_a_default_outside_its_range_is_caught():
    @dataclass(frozen=True)
    class Broken:  # no __post_init__: make_config itself checks the defaults
        size: int = option(5000, low=1, high=640)

    with pytest.raises(ConfigError, match="^Broken.size: 5000 is outside 1 … 640$"):
        make_config(Broken)
    with pytest.raises(ConfigError, match="^Broken.size: 0 is outside 1 … 640$"):
        make_config(Broken, {"size": 0})  # non-string values are checked too


def test_range_mechanism_details():
    valid = ValidRange(low=0.0, high=1.0)
    assert valid.problem(0.0) is None and valid.problem(1) is None
    assert valid.problem(True) == "true is not a number (0 … 1)"
    assert valid.problem("x") == "x is not a number (0 … 1)"
    assert valid.problem(None) is None  # Optional fields
    assert ValidRange(low=3).describe() == ">= 3" and ValidRange(high=3).describe() == "<= 3"
    assert (
        ValidRange(low=0, high=2, length=(2, 2)).problem((1, 1, 1))
        == "3 values given; the valid range is 2 values, each 0 … 2"
    )
    with pytest.raises(ValueError, match="either choices"):
        option("a", choices=("a",), low=0)
    with pytest.raises(ValueError, match="empty"):
        option(1, low=2, high=1)


def test_describe_options_lists_defaults_and_ranges():
    lines = describe_options(config_class("flow"))
    assert lines == [
        "algorithm=dis (one of dis, farneback)",
        "preset=medium (one of ultrafast, fast, medium)",
        "downscale=1.0 (0.01 … 1)",
        "smooth=0.0 (0 … 50)",
        "soft=true (true or false)",
        "border=replicate (one of replicate, background)",
        "variational=0 (-1 … 50)",
    ]
    rgmp = describe_options(config_class("rgmp"))
    assert rgmp[0] == "scales=0.5,0.75,1.0 (1 … 8 values, each 0.1 … 2)"
    assert "size=full (one of full, small, tiny) [architecture: from the checkpoint]" in rgmp
    assert "crf_iterations=none (none or 0 … 100)" in describe_options(config_class("cosnet"))
    assert "channels_last=none (none or true or false)" in describe_options(config_class("ranet"))
    assert describe_options(config_class("first-frame")) == []


def test_options_module_does_not_import_torch():
    import subprocess
    import sys
    from pathlib import Path

    import vosbench

    code = "import sys, vosbench.runner.options; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(vosbench.__file__).parents[1])


def test_cli_refuses_a_huge_smooth_without_traceback(tmp_path, capsys):
    code = main(
        [
            "run",
            "-m",
            "flow",
            "-c",
            "smooth=1e9",
            "--dataset",
            "synthetic",
            "-o",
            str(tmp_path / "out"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "FlowConfig.smooth: 1e9 is outside 0 … 50" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out").exists()  # refused before anything was written


# -- training clip sizes --------------------------------------------------------------------
SYNTH = {"num_sequences": 2, "num_frames": 6, "height": 64, "width": 96}


def training_config(folder, method="rgmp", size=(100, 150), trainer=None, kind="video"):
    import yaml

    source = {"kind": kind, "frames": 2, "size": list(size)}
    source.update(
        {"dataset": "synthetic", "split": "train", "options": SYNTH}
        if kind == "video"
        else {"images": "synthetic", "options": SYNTH}
    )
    config = {
        "method": method,
        "model": {"size": "tiny"} if method in ("rgmp", "fan") else {},
        "trainer": trainer or {},
        "data": {"batch_size": 2, "sources": [source]},
        "train": {"steps": 1, "checkpoint_every": 1, "log_every": 1},
    }
    path = folder / f"{method}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.mark.parametrize("method", ["rgmp", "fan"])
def test_training_size_not_a_multiple_of_32_is_a_config_error(tmp_path, method):
    from vosbench.train.engine import train

    path = training_config(tmp_path, method)
    with pytest.raises(ConfigError) as raised:
        train(path, output=tmp_path / "run", device="cpu")
    assert str(raised.value) == (
        f"{path}: data.sources[0].size: [100, 150]: {method}'s network needs both sides "
        "a multiple of 32 (e.g. [96, 160]); or set trainer.pad: true to pad the clips "
        "as the test protocol pads frames"
    )
    assert not (tmp_path / "run").exists()  # refused before the run folder is made


def test_training_size_check_passes_multiples_of_32_and_padded_clips(tmp_path):
    from vosbench.train.engine import train

    for name, size, trainer in (("exact", (64, 96), {}), ("padded", (100, 150), {"pad": True})):
        folder = tmp_path / name
        folder.mkdir()
        result = train(
            training_config(folder, size=size, trainer=trainer), output=folder / "run", device="cpu"
        )
        assert result.step == 1


def test_static_source_sizes_are_checked_too(tmp_path):
    from vosbench.train.engine import train

    path = training_config(tmp_path, size=(96, 90), kind="static")
    with pytest.raises(
        ConfigError,
        match=r"data.sources\[0\].size: \[96, 90\]: rgmp's network needs both sides "
        r"a multiple of 32 \(e.g. \[96, 96\]\)",
    ):
        train(path, output=tmp_path / "run", device="cpu")


def test_ranet_training_size_must_be_its_input_size(tmp_path):
    from vosbench.train.engine import train

    path = training_config(tmp_path, "ranet", size=(256, 448))  # refused before ResNet-101 is built
    with pytest.raises(
        ConfigError, match=r"data.sources\[0\].size: \[256, 448\]: RANet trains at 480x864 only"
    ):
        train(path, output=tmp_path / "run", device="cpu")


def test_clip_size_check_without_a_fixed_size():
    from vosbench.train.config import check_clip_sizes

    seen = []
    check_clip_sizes({"a": None, "b": (64, 96)}, lambda size: seen.append(size), "cfg.yaml")
    assert seen == [(64, 96)]
    with pytest.raises(ConfigError, match=r"^cfg.yaml: b: \[7, 9\]: odd$"):
        check_clip_sizes({"b": [7, 9]}, lambda size: "odd", "cfg.yaml")


def test_trainer_option_ranges_name_the_file(tmp_path):
    from vosbench.train.engine import train

    path = training_config(tmp_path, size=(64, 96), trainer={"perturb_radius": 1000000000})
    with pytest.raises(
        ConfigError,
        match=r"rgmp.yaml: trainer: RecurrentOptions.perturb_radius: 1000000000 "
        r"is outside 1 … 32$",
    ):
        train(path, output=tmp_path / "run", device="cpu")


# -- a DAVIS-2017 folder without the unsupervised annotations ------------------------------
@pytest.fixture(scope="module")
def davis2017_root(tmp_path_factory):
    """A synthetic DAVIS-2017 layout as `vosbench synth` writes it: Annotations, no
    Annotations_unsupervised."""
    root = tmp_path_factory.mktemp("synth") / "davis"
    assert main(["synth", str(root), "--preset", "small"]) == 0
    assert (root / "Annotations" / "480p").is_dir() and not (
        root / "Annotations_unsupervised"
    ).exists()
    return root


def test_missing_unsupervised_annotations_is_a_dataset_error(davis2017_root):
    from vosbench.datasets import load_dataset
    from vosbench.errors import DatasetError

    with pytest.raises(DatasetError) as raised:
        load_dataset("davis2017", davis2017_root, "val", task="unsupervised")
    folder = davis2017_root / "Annotations_unsupervised" / "480p"
    assert (
        str(raised.value)
        == f"{folder}: folder not found; the unsupervised task reads its annotations there"
    )
    assert raised.value.problems[0].path == folder and raised.value.kind == "missing"
    assert (
        len(load_dataset("davis2017", davis2017_root, "val")) == 3
    )  # the semi-supervised task still loads


def test_cosnet_run_names_the_missing_folder_without_traceback(davis2017_root, tmp_path, capsys):
    code = main(
        [
            "run",
            "-m",
            "cosnet",
            "--random-init",
            "-c",
            "input_size=33",
            "-c",
            "references=1",
            "--dataset",
            "davis2017",
            "--root",
            str(davis2017_root),
            "--task",
            "unsupervised",
            "-o",
            str(tmp_path / "out"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    folder = davis2017_root / "Annotations_unsupervised" / "480p"
    assert (
        f"{folder}: folder not found; the unsupervised task reads its annotations there"
        in captured.err
    )
    assert (
        "Traceback" not in captured.err + captured.out
        and "IndexError" not in captured.err + captured.out
    )


def test_a_sequence_without_annotations_has_no_size_but_a_clear_error(tmp_path):
    from vosbench.datasets.base import FileSequence
    from vosbench.errors import DatasetError

    sequence = FileSequence("bare", {"00000": tmp_path / "00000.jpg"}, {}, decode=lambda path: None)
    assert sequence.object_ids == () and sequence.prompts() == {}
    with pytest.raises(
        DatasetError,
        match="^sequence 'bare' has no annotated frame .*its size comes from its annotations",
    ):
        sequence.size
