"""Hostile config values: declared option ranges, training clip sizes, missing annotation folders."""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Optional, Tuple

import pytest

from vosbench.cli import main
from vosbench.errors import ConfigError
from vosbench.runner import METHODS, get_method, make_config
from vosbench.runner.methods import describe_options
from vosbench.runner.options import OptionRangeError, ValidRange, check_options, option, valid_range

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


@pytest.mark.parametrize("method, key, value", [
    ("flow", "algorithm", "lucas-kanade"), ("flow", "preset", "slow"), ("flow", "border", "wrap"),
    ("rgmp", "size", "huge"), ("fan", "reference", "last"), ("ranet", "head", "both"),
    ("cosnet", "reference_rule", "evenly")])
def test_choices_are_listed(method, key, value):
    cls = config_class(method)
    field = next(f for f in dataclasses.fields(cls) if f.name == key)
    choices = ", ".join(valid_range(field).choices)
    with pytest.raises(ConfigError, match=f"^{cls.__name__}.{key}: {value} is not one of {choices}$"):
        make_config(cls, {key: value})


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf"])
@pytest.mark.parametrize("method, key", [("flow", "smooth"), ("flow", "downscale"), ("cosnet", "crf_gaussian_sxy")])
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
    with pytest.raises(ConfigError, match=r"^RGMPConfig.scales: 3.0 \(item 2\) is outside 0.1 … 2$"):
        make_config(cls, {"scales": "0.5,3.0"})
    with pytest.raises(ConfigError, match=r"^RGMPConfig.scales: 9 values given; the valid range is "
                                          r"1 … 8 values, each 0.1 … 2$"):
        make_config(cls, {"scales": ",".join(["1.0"] * 9)})
    with pytest.raises(ConfigError, match="RGMPConfig.scales: 0 values given"):
        make_config(cls, {"scales": ""})
    with pytest.raises(ConfigError, match=r"FANConfig.scales: nan \(item 1\) is outside"):
        make_config(config_class("fan"), {"scales": "nan"})


def test_in_range_overrides_are_kept_as_given():
    flow = make_config(config_class("flow"), {"smooth": "50", "downscale": "0.01", "variational": "-1"})
    assert (flow.smooth, flow.downscale, flow.variational) == (50.0, 0.01, -1)
    cosnet = make_config(config_class("cosnet"), {"input_size": "33", "feature_cache": "0", "crf_iterations": "none"})
    assert (cosnet.input_size, cosnet.feature_cache, cosnet.crf_iterations) == (33, 0, None)


def _unwrapped(kind):
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if typing.get_origin(kind) is typing.Union and len(args) == 1 else kind


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
    assert ValidRange(low=0, high=2, length=(2, 2)).problem((1, 1, 1)) == \
        "3 values given; the valid range is 2 values, each 0 … 2"
    with pytest.raises(ValueError, match="either choices"):
        option("a", choices=("a",), low=0)
    with pytest.raises(ValueError, match="empty"):
        option(1, low=2, high=1)


def test_describe_options_lists_defaults_and_ranges():
    lines = describe_options(config_class("flow"))
    assert lines == ["algorithm=dis (one of dis, farneback)", "preset=medium (one of ultrafast, fast, medium)",
                     "downscale=1.0 (0.01 … 1)", "smooth=0.0 (0 … 50)", "soft=true (true or false)",
                     "border=replicate (one of replicate, background)", "variational=0 (-1 … 50)"]
    rgmp = describe_options(config_class("rgmp"))
    assert rgmp[0] == "scales=0.5,0.75,1.0 (1 … 8 values, each 0.1 … 2)"
    assert "size=full (one of full, small, tiny)" in rgmp
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
    code = main(["run", "-m", "flow", "-c", "smooth=1e9", "--dataset", "synthetic", "-o", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 1
    assert "FlowConfig.smooth: 1e9 is outside 0 … 50" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out").exists()  # refused before anything was written
