"""RGMP and FAN: network layout against the spec's key and shape lists, checkpoint conversion,
the released test protocol's pieces, determinism, and runs through the runner."""

from __future__ import annotations

import ast
import json
from collections import OrderedDict

import numpy as np
import pytest
import torch
from legacy_pickle import save_like_pytorch03
from spec_keys import KEYS, spec_keys
from vosbench_methods.fan import FAN, FANConfig, FANNet
from vosbench_methods.fan.network import ChannelAttention, SpatialAttention
from vosbench_methods.rgmp import RGMP, RGMPConfig, RGMPNet
from vosbench_methods.rgmp.method import aggregate, pad_amounts, scaled_size

from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.runner import RunSettings, SequenceMeta, WeightsError, convert_checkpoint, run
from vosbench.runner.checkpoint import CHECKPOINT_FORMAT, COUNTER


def layer_shapes(name: str) -> list[tuple[str, str, tuple, tuple]]:
    rows = []
    for line in (KEYS / name).read_text().splitlines():
        stage, module, shape_in, shape_out = line.split("\t")
        if not module.startswith("p "):
            rows.append((stage, module, ast.literal_eval(shape_in), ast.literal_eval(shape_out)))
    return rows


# -- network layout --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "net_class, keys, values",
    [
        (RGMPNet, "RGMP_DataParallel_state_dict_keys.txt", 51_518_920),
        (FANNet, "FAN_state_dict_keys.txt", 51_543_790),
    ],
)
def test_state_dict_matches_the_released_layout(net_class, keys, values):
    with torch.device("meta"):
        state = net_class().state_dict()
    expected = [(k.removeprefix("module."), shape) for k, shape in spec_keys(keys)]
    assert [(k, tuple(v.shape)) for k, v in state.items()] == expected  # names, shapes and order
    weights = sum(
        v.numel()
        for k, v in state.items()
        if not k.endswith(("running_mean", "running_var", COUNTER, "Encoder.mean", "Encoder.std"))
    )
    assert weights == values


@pytest.mark.parametrize(
    "net_class, shapes", [(RGMPNet, "RGMP_layer_shapes.txt"), (FANNet, "FAN_layer_shapes.txt")]
)
def test_layer_shapes_at_the_padded_davis_size(net_class, shapes):
    """Every module's input/output shape at 512×864, per the spec (computed on the meta device)."""
    rows = layer_shapes(shapes)
    with torch.device("meta"):
        net = net_class()
        seen: dict[str, list] = {}
        modules = dict(net.named_modules())
        for name in {module for _, module, _, _ in rows}:
            modules[name].register_forward_hook(
                lambda mod, args, out, name=name: seen.setdefault(name, []).append(
                    (tuple(args[0].shape), tuple(out.shape))
                )
            )
        rgb, mask = torch.empty(1, 3, 512, 864), torch.empty(1, 1, 512, 864)
        reference = net.Encoder(rgb, mask).r5
        logits = net(rgb, mask, reference)
    assert tuple(logits.shape) == (1, 2, 512, 864)
    calls = {name: list(found) for name, found in seen.items()}
    for _stage, module, shape_in, shape_out in rows:  # encoder rows come twice: reference, target
        assert calls[module].pop(0) == (shape_in, shape_out), module


def test_small_inputs_and_deep_supervision_heads():
    torch.manual_seed(0)
    net = RGMPNet().eval()
    rgb, masks = torch.rand(1, 3, 64, 96), torch.rand(3, 1, 64, 96)
    with torch.inference_mode():
        features = net.Encoder(rgb, masks)
        assert [tuple(f.shape) for f in features] == [
            (3, 2048, 2, 3),
            (3, 1024, 4, 6),
            (3, 512, 8, 12),
            (3, 256, 16, 24),
        ]
        p, p2, p3, p4, p5 = net.Decoder(features, features.r5, deep=True)
    assert tuple(p.shape) == (3, 2, 64, 96)
    assert [tuple(x.shape[2:]) for x in (p2, p3, p4, p5)] == [(16, 24), (8, 12), (4, 6), (2, 3)]


def test_folded_channels_last_network_equals_the_plain_one():
    torch.manual_seed(0)
    net = FANNet().eval()
    fast = net.for_inference().to(memory_format=torch.channels_last)
    rgb, masks = torch.rand(1, 3, 96, 128), torch.rand(2, 1, 96, 128)
    with torch.inference_mode():
        plain = net(rgb, masks, net.Encoder(rgb, masks).r5.flip(0))
        quick = fast(
            rgb.contiguous(memory_format=torch.channels_last),
            masks,
            fast.Encoder(rgb, masks).r5.flip(0),
        )
    assert (plain - quick).abs().max() <= 1e-5 * plain.abs().max()
    assert set(net.state_dict()) != set(fast.state_dict())  # the folded copy is not for saving
    assert torch.equal(
        net.state_dict()["Encoder.bn1.weight"], net.Encoder.bn1.weight
    )  # original intact


def test_cbam_matches_its_definition():
    torch.manual_seed(0)
    x = torch.randn(2, 256, 5, 7)
    ca, sa = ChannelAttention(256), SpatialAttention()

    def mlp(v):
        return ca.fc2(torch.relu(ca.fc1(v)))

    expected_ca = torch.sigmoid(
        mlp(x.mean((2, 3), keepdim=True)) + mlp(x.amax((2, 3), keepdim=True))
    )
    torch.testing.assert_close(ca(x), expected_ca)
    expected_sa = torch.sigmoid(
        sa.conv1(torch.cat([x.mean(1, keepdim=True), x.max(1, keepdim=True).values], 1))
    )
    torch.testing.assert_close(sa(x), expected_sa)


# -- protocol pieces -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, padded, pads",
    [  # rgmp.md §4.2
        ((480, 854), (512, 864), (16, 16, 5, 5)),
        ((480, 910), (512, 928), (16, 16, 9, 9)),
        ((480, 911), (512, 928), (16, 16, 8, 9)),
        ((480, 1130), (512, 1152), (16, 16, 11, 11)),
        ((480, 1138), (512, 1152), (16, 16, 7, 7)),
        ((480, 1152), (512, 1184), (16, 16, 16, 16)),
        ((360, 640), (384, 672), (12, 12, 16, 16)),
    ],
)
def test_padding_always_adds_1_to_32_pixels(size, padded, pads):
    top, bottom, left, right = pad_amounts(*size)
    assert (top, bottom, left, right) == pads
    assert (size[0] + top + bottom, size[1] + left + right) == padded


def test_scale_sizes_are_forced_up_to_multiples_of_32():
    assert scaled_size(512, 864, 0.5) == (288, 448)
    assert scaled_size(512, 864, 0.75) == (416, 672)
    assert scaled_size(512, 864, 1.0) == (512, 864)
    assert scaled_size(96, 128, 0.75) == (96, 128)  # 72 → 96, 96 → 128


def test_soft_aggregation_normalises_the_odds():
    background_pass = torch.tensor([[[0.9]], [[0.0]]]).reshape(2, 1, 1)
    objects = torch.tensor([0.2, 0.5, 1.0]).reshape(3, 1, 1)
    out = aggregate(torch.cat([background_pass[:1], objects]))
    odds = torch.tensor([0.1 / 0.9, 0.2 / 0.8, 1.0, (1 - 1e-7) / 1e-7])
    torch.testing.assert_close(out.flatten(), (odds / odds.sum()).float())
    assert torch.allclose(out.sum(0), torch.ones(1, 1))


def _clip(num_objects: int, size=(40, 72), frames=4, seed=0):
    rng = np.random.default_rng(seed)
    video = rng.integers(0, 256, (frames, *size, 3), dtype=np.uint8)
    labels = np.zeros(size, np.uint8)
    for k in range(1, num_objects + 1):
        labels[5 * k : 5 * k + 12, 10 * k : 10 * k + 20] = k
    return video, labels


def _propagate(method, video, labels, late=None):
    ids = tuple(int(i) for i in np.unique(labels) if i)
    method.reset(
        SequenceMeta("clip", len(video), labels.shape, ids + tuple(late[1]) if late else ids)
    )
    outputs = []
    with torch.inference_mode():
        for t, frame in enumerate(video):
            mask, handed = (torch.from_numpy(labels), ids) if t == 0 else (None, None)
            if late and t == late[0]:
                mask, handed = torch.from_numpy(late[2]), tuple(late[1])
            outputs.append(method.step(torch.from_numpy(frame), mask, handed).clone())
    return outputs


@pytest.mark.parametrize("objects", [1, 2])
def test_first_frame_is_the_annotation_and_probabilities_sum_to_one(objects):
    video, labels = _clip(objects)
    outputs = _propagate(RGMP(RGMPConfig(scales=(0.5, 1.0))), video, labels)
    assert outputs[0].shape == (objects + 1, *labels.shape)
    assert np.array_equal(outputs[0].max(0).indices.numpy(), labels)
    for out in outputs:
        assert out.dtype == torch.float32 and out.min() >= 0 and out.max() <= 1
        torch.testing.assert_close(out.sum(0), torch.ones(labels.shape))


def test_batched_passes_equal_one_pass_per_object():
    """The method's batched M+1 passes equal the released per-object loop done by hand."""
    video, labels = _clip(2, frames=2)
    method = RGMP(RGMPConfig(scales=(1.0,), fold_bn=False, channels_last=False))
    with torch.no_grad():  # random weights saturate the softmax; keep the logits of order one
        method.net.Decoder.pred2.weight.mul_(0.01)
        method.net.Decoder.pred2.bias.mul_(0.01)
    out = _propagate(method, video, labels)[1]
    assert 0.05 < out[1:].max() < 0.95
    net, pad = method.net, pad_amounts(*labels.shape)

    def padded(x):
        return torch.nn.functional.pad(x, (pad[2], pad[3], pad[0], pad[1]))

    rgb0 = padded(torch.from_numpy(video[0]).permute(2, 0, 1)[None].float() / 255)
    rgb1 = padded(torch.from_numpy(video[1]).permute(2, 0, 1)[None].float() / 255)
    masks = [padded(torch.from_numpy((labels == k).astype(np.float32))[None, None]) for k in (1, 2)]
    with torch.inference_mode():
        refs = [net.Encoder(rgb0, m).r5 for m in [masks[0] + masks[1], *masks]]
        prev = [masks[0] + masks[1], *masks]
        fg = [torch.softmax(net(rgb1, p, r), 1)[0, 1] for p, r in zip(prev, refs)]
    expected = aggregate(torch.stack(fg))[
        :, pad[0] : pad[0] + labels.shape[0], pad[2] : pad[2] + labels.shape[1]
    ]
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def test_random_init_is_deterministic_and_seeded():
    video, labels = _clip(2)
    first = _propagate(RGMP(RGMPConfig(scales=(1.0,))), video, labels)
    again = _propagate(RGMP(RGMPConfig(scales=(1.0,))), video, labels)
    other = _propagate(RGMP(RGMPConfig(scales=(1.0,), seed=1)), video, labels)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[-1], other[-1])


def test_late_objects_get_their_own_channel():
    video, labels = _clip(1, frames=4)
    late = np.zeros_like(labels)
    late[25:35, 40:60] = 2
    outputs = _propagate(RGMP(RGMPConfig(scales=(1.0,))), video, labels, late=(2, (2,), late))
    assert [o.shape[0] for o in outputs] == [2, 2, 3, 3]
    assert np.array_equal(outputs[2].max(0).indices.numpy() == 2, late == 2)
    torch.testing.assert_close(outputs[3].sum(0), torch.ones(labels.shape))


def test_fan_previous_reference_differs_from_first():
    video, labels = _clip(1, frames=4)
    first = _propagate(FAN(FANConfig()), video, labels)
    previous = _propagate(FAN(FANConfig(reference="previous")), video, labels)
    torch.testing.assert_close(first[1], previous[1])  # the reference is still frame 0 at frame 1
    assert not torch.equal(first[3], previous[3])


@pytest.mark.parametrize("precision", ["amp-bf16"])
def test_autocast_runs_and_stays_close(precision):
    video, labels = _clip(1, frames=2)
    exact = _propagate(RGMP(RGMPConfig(scales=(1.0,))), video, labels)[1]
    mixed = _propagate(RGMP(RGMPConfig(scales=(1.0,)), precision=precision), video, labels)[1]
    assert mixed.dtype == torch.float32
    assert (mixed - exact).abs().mean() < 0.05


# -- checkpoint conversion -------------------------------------------------------------------


def _release_state(keys: str, values=None) -> OrderedDict:
    """A state dict with the spec's keys and shapes (random values, or one broadcast value: tiny
    files)."""
    generator = torch.Generator().manual_seed(0)
    state = OrderedDict()
    for key, shape in spec_keys(keys):
        if key.endswith(COUNTER):
            continue
        if values is None:
            state[key] = torch.rand(shape, generator=generator) + (
                0.5 if key.endswith("running_var") else 0.0
            )
        else:
            state[key] = torch.full((), float(values)).expand(shape)
    return state


@pytest.fixture(scope="module")
def rgmp_release(tmp_path_factory):
    """The authors' file as released: ``module.`` keys, PyTorch 0.3 legacy pickle, no BN
    counters."""
    folder = tmp_path_factory.mktemp("rgmp-release")
    state = _release_state("RGMP_DataParallel_state_dict_keys.txt")
    save_like_pytorch03(state, folder / "weights.pth")
    return folder / "weights.pth", state


def test_convert_rgmp_release_consumes_every_key(rgmp_release, tmp_path):
    source, state = rgmp_release
    done = convert_checkpoint("rgmp", source, tmp_path / "rgmp.pth")
    assert done.tensors == 372 and done.source_sha256 != done.sha256
    saved = torch.load(tmp_path / "rgmp.pth", weights_only=True)
    assert saved["format"] == CHECKPOINT_FORMAT and saved["method"] == "rgmp"
    assert saved["source"] == {"file": "weights.pth", "sha256": done.source_sha256}
    assert saved["architecture"] == {"align_corners": True, "size": "full"}  # the released net
    converted = saved["state_dict"]
    assert [k for k in converted if not k.endswith(COUNTER)] == [
        k.removeprefix("module.") for k in state
    ]
    assert all(torch.equal(converted[k.removeprefix("module.")], v) for k, v in state.items())
    net = RGMP.build_network(RGMPConfig(), tmp_path / "rgmp.pth")
    assert torch.equal(net.Decoder.pred2.bias, state["module.Decoder.pred2.bias"])
    with pytest.raises(WeightsError, match="for 'rgmp', not 'fan'"):
        FAN.build_network(FANConfig(), tmp_path / "rgmp.pth")


@pytest.mark.parametrize(
    "change, message",
    [
        ("missing", r"missing keys \(1\): Decoder.pred2.bias"),
        ("extra", r"unexpected keys \(1\): Decoder.pred6.weight"),
        ("shape", r"Decoder.pred2.weight file \(3, 256, 3, 3\) model \(2, 256, 3, 3\)"),
    ],
)
def test_convert_refuses_a_file_that_does_not_fit(tmp_path, change, message):
    state = _release_state("RGMP_DataParallel_state_dict_keys.txt", values=0.5)
    if change == "missing":
        del state["module.Decoder.pred2.bias"]
    elif change == "extra":
        state["module.Decoder.pred6.weight"] = torch.zeros(2, 256, 3, 3)
    else:
        state["module.Decoder.pred2.weight"] = torch.zeros(3, 256, 3, 3)
    torch.save(state, tmp_path / "weights.pth")
    with pytest.raises(WeightsError, match=message) as error:
        convert_checkpoint("rgmp", tmp_path / "weights.pth", tmp_path / "out.pth")
    assert str(tmp_path / "weights.pth") in str(error.value)
    assert not (tmp_path / "out.pth").exists()


def test_convert_cli_errors_name_the_file(rgmp_release, tmp_path, capsys):
    source, _ = rgmp_release
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(source.read_bytes()[:100_000])
    assert main(["convert", "--method", "rgmp", str(truncated), str(tmp_path / "out.pth")]) == 1
    error = capsys.readouterr().err
    assert "truncated.pth" in error and "truncated or corrupt" in error
    (tmp_path / "taken.pth").write_bytes(b"keep me")
    assert main(["convert", "-m", "rgmp", str(source), str(tmp_path / "taken.pth")]) == 1
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "taken.pth").read_bytes() == b"keep me"
    assert main(["convert", "-m", "first-frame", str(source), str(tmp_path / "x.pth")]) == 1
    assert "no weights conversion" in capsys.readouterr().err
    assert main(["convert", "-m", "rgmpp", str(source), str(tmp_path / "x.pth")]) == 1
    assert "did you mean" in capsys.readouterr().err.lower()


def test_converted_weights_run_from_the_command_line(rgmp_release, tmp_path, capsys):
    source, _ = rgmp_release
    assert main(["convert", "--method", "rgmp", str(source), str(tmp_path / "rgmp.pth")]) == 0
    assert "372 tensors" in capsys.readouterr().out
    assert main(["synth", str(tmp_path / "data"), "--preset", "small"]) == 0
    code = main(
        [
            "run",
            "--method",
            "rgmp",
            "--weights",
            str(tmp_path / "rgmp.pth"),
            "--dataset",
            "synthetic",
            "--root",
            str(tmp_path / "data"),
            "-s",
            "synth-002",
            "-c",
            "scales=1.0",
            "--warmup",
            "0",
            "--output",
            str(tmp_path / "run"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["weights"]["sha256"] and manifest["config"]["scales"] == [1.0]
    assert len(list((tmp_path / "run" / "masks" / "synth-002").glob("*.png"))) == 12


def test_imagenet_initialisation_maps_torchvision_keys(tmp_path):
    from vosbench_methods.common import resnet50

    torch.manual_seed(3)
    imagenet = resnet50()  # torchvision's layout, fc included
    torch.save(imagenet.state_dict(), tmp_path / "resnet50.pth")
    net = RGMPNet()
    before = net.Encoder.conv1_p.weight.clone()
    net.Encoder.load_imagenet(tmp_path / "resnet50.pth")
    assert torch.equal(net.Encoder.res5[2].conv3.weight, imagenet.layer4[2].conv3.weight)
    assert torch.equal(net.Encoder.bn1.running_var, imagenet.bn1.running_var)
    assert torch.equal(net.Encoder.conv1_p.weight, before)
    state = imagenet.state_dict()
    del state["layer2.0.conv1.weight"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(WeightsError, match=r"missing keys \(1\): res3.0.conv1.weight"):
        RGMPNet().Encoder.load_imagenet(tmp_path / "broken.pth")


def test_fan_converts_an_authors_format_checkpoint(tmp_path):
    """FAN's scripts save ``{'epoch', 'model', 'optimizer'}``; the model part converts strictly."""
    state = _release_state("FAN_state_dict_keys.txt", values=0.25)
    torch.save(
        {"epoch": 945, "model": state, "optimizer": {"state": {}, "param_groups": []}},
        tmp_path / "945.pth",
    )
    done = convert_checkpoint("fan", tmp_path / "945.pth", tmp_path / "fan.pth")
    assert done.tensors == 381
    saved = torch.load(tmp_path / "fan.pth", weights_only=True)
    assert saved["architecture"] == {"align_corners": False, "size": "full"}
    net = FAN.build_network(FANConfig(), tmp_path / "fan.pth")
    assert torch.all(net.Decoder.RF2.sa.conv1.weight == 0.25)


# -- through the runner ----------------------------------------------------------------------


def test_runner_runs_rgmp_and_fan_on_synthetic_data(tmp_path):
    data = load_dataset("synthetic", None, "val", preset="small", num_sequences=2, num_frames=5)
    result = run(
        "rgmp", data, settings=RunSettings(random_init=True, warmup_frames=2), results_root=tmp_path
    )
    assert result.ok and sorted(result.ran) == sorted(data.names)
    assert result.evaluation is not None
    record = json.loads((result.store.root / "sequences" / f"{data.names[0]}.json").read_text())
    assert record["method_settings"]["scales"] == [0.5, 0.75, 1.0]
    assert record["method_settings"]["input_hw"] == [128, 192]
    assert (
        result.manifest["config"]["channels_last"] is True
        and result.manifest["random_init"] is True
    )
    masks = sorted((result.store.masks_dir / data.names[0]).glob("*.png"))
    assert len(masks) == 5
    again = run(
        "fan",
        data,
        config={"reference": "previous"},
        settings=RunSettings(random_init=True, warmup_frames=0),
        results_root=tmp_path,
    )
    assert again.ok and again.manifest["config"]["reference"] == "previous"


def test_compiled_methods_are_warmed_up_on_every_frame_size():
    from types import SimpleNamespace

    from vosbench.runner.runner import _warm_up_sequences

    sequences = [
        SimpleNamespace(name=n, size=s, prompts=lambda k=k: {"00000": tuple(range(1, k + 1))})
        for n, s, k in (
            ("a", (480, 854), 1),
            ("b", (480, 910), 1),
            ("c", (480, 854), 1),
            ("d", (360, 640), 2),
            ("e", (480, 854), 3),
        )
    ]
    eager = RGMP(RGMPConfig(scales=(1.0,)))
    compiled = object.__new__(RGMP)
    compiled.config = RGMPConfig(compile=True)
    assert [s.name for s in _warm_up_sequences(eager, sequences)] == ["a"]
    assert [s.name for s in _warm_up_sequences(compiled, sequences)] == ["a", "b", "d", "e"]


def test_runner_refuses_rgmp_without_weights(tmp_path):
    data = load_dataset("synthetic", None, "val", preset="small", num_sequences=1, num_frames=3)
    with pytest.raises(Exception, match="vosbench convert --method rgmp"):
        run("rgmp", data, settings=RunSettings(), results_root=tmp_path)
