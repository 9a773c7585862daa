"""Checkpoints that carry their network configuration (architecture options), and runs that
apply it."""

from __future__ import annotations

import json

import pytest
import torch
from vosbench_methods.rgmp import RGMPConfig, RGMPNet

from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.errors import ConfigError
from vosbench.runner import RunSettings, WeightsError, run
from vosbench.runner.checkpoint import read_architecture, save_checkpoint
from vosbench.runner.methods import (
    architecture_record,
    config_with_checkpoint,
    describe_options,
    make_config,
)
from vosbench.runner.options import architecture_options

TINY = {"size": "tiny", "align_corners": True}


def _tiny_state() -> dict:
    torch.manual_seed(0)
    return RGMPNet(size="tiny").state_dict()


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """A random-init tiny RGMP saved as vosbench saves trained weights (with the record)."""
    path = tmp_path_factory.mktemp("weights") / "tiny.pth"
    config = make_config(RGMPConfig, {"size": "tiny"})
    save_checkpoint(path, _tiny_state(), method="rgmp", architecture=architecture_record(config))
    return path


@pytest.fixture(scope="module")
def old_weights(tmp_path_factory):
    """The same weights in the format of vosbench before the record existed."""
    path = tmp_path_factory.mktemp("old") / "tiny-old.pth"
    save_checkpoint(path, _tiny_state(), method="rgmp")
    return path


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    assert main(["synth", str(root), "--preset", "small"]) == 0
    return root


def _run_args(weights, root, *extra) -> list[str]:
    return [
        "run",
        "--method",
        "rgmp",
        "--weights",
        str(weights),
        "--dataset",
        "synthetic",
        "--root",
        str(root),
        "-s",
        "synth-001",
        "--warmup",
        "0",
        "-j",
        "1",
        *extra,
    ]


def test_the_configs_declare_their_architecture_options():
    from vosbench_methods.cosnet.card import COSNetConfig
    from vosbench_methods.fan.card import FANConfig
    from vosbench_methods.ranet.card import RANetConfig

    assert architecture_options(RGMPConfig) == ("align_corners", "size")
    assert architecture_options(FANConfig) == ("align_corners", "size")
    assert architecture_options(RANetConfig) == () and architecture_options(COSNetConfig) == ()
    assert architecture_record(make_config(RGMPConfig, {"size": "tiny"})) == TINY
    lines = describe_options(RGMPConfig)
    assert "size=full (one of full, small, tiny) [architecture: from the checkpoint]" in lines
    assert "align_corners=true (true or false) [architecture: from the checkpoint]" in lines
    assert not any("architecture" in line for line in lines if line.startswith("scales="))


def test_the_record_is_read_without_the_tensors(tiny_weights, old_weights):
    assert read_architecture(tiny_weights, method="rgmp") == TINY
    assert read_architecture(old_weights, method="rgmp") is None
    with pytest.raises(WeightsError, match="for 'rgmp', not 'fan'"):
        read_architecture(tiny_weights, method="fan")


def test_a_run_takes_the_size_from_the_checkpoint(tiny_weights, data_root, tmp_path, capsys):
    code = main(_run_args(tiny_weights, data_root, "--results", str(tmp_path)))
    err = capsys.readouterr().err
    assert code == 0, err
    (folder,) = [p.parent for p in tmp_path.rglob("manifest.json")]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["config"]["size"] == "tiny" and manifest["config"]["align_corners"] is True
    assert manifest["weights"]["architecture"] == TINY
    assert len(list((folder / "masks" / "synth-001").glob("*.png"))) == 12
    # the explicit -c size=tiny is the same run: same identity, same folder, nothing rerun
    code = main(_run_args(tiny_weights, data_root, "--results", str(tmp_path), "-c", "size=tiny"))
    err = capsys.readouterr().err
    assert code == 0, err
    assert "0 sequence(s) run, 1 already done" in err and f"output {folder}" in err
    assert [p.parent for p in tmp_path.rglob("manifest.json")] == [folder]


def test_the_library_gives_the_same_folder_with_or_without_the_option(tiny_weights, tmp_path):
    data = load_dataset(
        "synthetic", None, "val", num_sequences=1, num_frames=3, height=64, width=96
    )
    settings = RunSettings(weights=tiny_weights, warmup_frames=0, eval_workers=1)
    first = run("rgmp", data, config={"scales": "1.0"}, settings=settings, results_root=tmp_path)
    again = run(
        "rgmp",
        data,
        config={"scales": "1.0", "size": "tiny"},
        settings=settings,
        results_root=tmp_path,
    )
    assert first.ok and first.ran == data.names and again.resumed == data.names
    assert first.store.root == again.store.root
    assert first.manifest["config_hash"] == again.manifest["config_hash"]


def test_a_conflicting_option_names_both_values(tiny_weights, data_root, tmp_path, capsys):
    code = main(
        _run_args(tiny_weights, data_root, "--output", str(tmp_path / "run"), "-c", "size=small")
    )
    err = capsys.readouterr().err
    assert code == 1
    assert str(tiny_weights) in err and "size=tiny" in err and "size=small" in err
    assert "-c size=small" in err and "missing keys" not in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()  # refused before the run folder is made
    code = main(
        _run_args(
            tiny_weights, data_root, "--output", str(tmp_path / "run"), "-c", "align_corners=0"
        )
    )
    err = capsys.readouterr().err
    assert code == 1 and "align_corners=true" in err and "align_corners=false" in err


def test_an_older_checkpoint_loads_as_before(old_weights, data_root, tmp_path, capsys):
    code = main(_run_args(old_weights, data_root, "--output", str(tmp_path / "a")))
    err = capsys.readouterr().err
    assert code == 1 and "does not fit rgmp" in err and "missing keys" in err
    assert "records no network configuration" in err and "size=full" in err
    assert "the weights fit size=tiny: pass it with -c" in err
    code = main(
        _run_args(
            old_weights,
            data_root,
            "--output",
            str(tmp_path / "b"),
            "-c",
            "size=tiny",
            "-c",
            "scales=1.0",
        )
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "records no network configuration" not in err
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["config"]["size"] == "tiny" and manifest["weights"]["architecture"] is None


@pytest.mark.parametrize(
    "record, message",
    [
        ({"size": "huge"}, r"recorded config is invalid: RGMPConfig.size: huge is not one of"),
        ({"width": 3}, r"records option\(s\) width, which RGMPConfig does not have"),
        ("size=tiny", "architecture record is not a mapping"),
        ({"size": {"nested": 1}}, "architecture record is not a mapping"),
    ],
)
def test_a_damaged_record_is_a_clear_error(tmp_path, record, message):
    path = tmp_path / "odd.pth"
    torch.save(
        {
            "format": "vosbench-weights/1",
            "method": "rgmp",
            "state_dict": {"x": torch.zeros(1)},
            "architecture": record,
        },
        path,
    )
    data = load_dataset(
        "synthetic", None, "val", num_sequences=1, num_frames=3, height=32, width=32
    )
    with pytest.raises(ConfigError, match=message) as error:
        run("rgmp", data, settings=RunSettings(weights=path), output=tmp_path / "run")
    assert str(path) in str(error.value) and not (tmp_path / "run").exists()


def test_options_the_record_leaves_out_stay_the_users():
    config, taken = config_with_checkpoint(RGMPConfig, {"scales": "1.0"}, {"size": "tiny"}, "w.pth")
    assert (config.size, config.scales, config.align_corners) == ("tiny", (1.0,), True)
    assert taken == {"size": "tiny"}
    config, taken = config_with_checkpoint(RGMPConfig, {"size": "tiny"}, None, "w.pth")
    assert config.size == "tiny" and taken == {}
    # a recorded test-time option (not an architecture one) is not imposed
    config, taken = config_with_checkpoint(RGMPConfig, {}, {"scales": [0.5]}, "w.pth")
    assert config.scales == (0.5, 0.75, 1.0) and taken == {}
