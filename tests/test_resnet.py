"""The shared ResNet backbone: torchvision key layout, strides/dilation, frozen BN, weight files."""

from __future__ import annotations

import copy
import functools

import pytest
import torch
from torch import nn
from vosbench_methods.common import (
    FrozenBatchNorm2d,
    ResNet,
    WeightsError,
    freeze_batchnorm,
    load_state_dict_file,
    read_state_dict,
    resnet50,
    resnet101,
)

from vosbench.errors import ConfigError

BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn(prefix: str, c: int) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{prefix}.{k}", () if k == "num_batches_tracked" else (c,)) for k in BN_KEYS]


def expected_torchvision_keys(layers: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    """torchvision's ResNet state-dict (key, shape) list, written from the architecture rules."""
    keys = [("conv1.weight", (64, 3, 7, 7)), *_bn("bn1", 64)]
    cin = 64
    widths = (64, 128, 256, 512)
    for stage, blocks in enumerate(layers, start=1):
        width = widths[stage - 1]
        for b in range(blocks):
            p = f"layer{stage}.{b}"
            keys += [(f"{p}.conv1.weight", (width, cin, 1, 1)), *_bn(f"{p}.bn1", width)]
            keys += [(f"{p}.conv2.weight", (width, width, 3, 3)), *_bn(f"{p}.bn2", width)]
            keys += [(f"{p}.conv3.weight", (4 * width, width, 1, 1)), *_bn(f"{p}.bn3", 4 * width)]
            if b == 0:
                keys += [(f"{p}.downsample.0.weight", (4 * width, cin, 1, 1))]
                keys += _bn(f"{p}.downsample.1", 4 * width)
            cin = 4 * width
    return keys + [("fc.weight", (1000, 2048)), ("fc.bias", (1000,))]


@pytest.fixture(scope="module")
def r50() -> ResNet:
    return resnet50().eval()


def small(**kw) -> ResNet:
    """One block per stage: same key patterns, a fraction of the size (fast file tests)."""
    return copy.deepcopy(_small(tuple(sorted(kw.items()))))


@functools.cache
def _small(kw: tuple) -> ResNet:
    return ResNet((1, 1, 1, 1), with_fc=False, **dict(kw)).eval()


def shapes(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def test_resnet50_has_exact_torchvision_keys_and_shapes(r50: ResNet) -> None:
    assert shapes(r50) == expected_torchvision_keys((3, 4, 6, 3))
    sd = r50.state_dict()
    assert sd["conv1.weight"].shape == (64, 3, 7, 7)
    assert sd["layer1.0.downsample.0.weight"].shape == (256, 64, 1, 1)
    assert sd["layer4.2.conv3.weight"].shape == (2048, 512, 1, 1)
    assert sd["fc.weight"].shape == (1000, 2048)
    assert sd["layer3.5.bn2.num_batches_tracked"].dtype == torch.int64


def test_parameter_counts_match_torchvision(r50: ResNet) -> None:
    assert sum(p.numel() for p in r50.parameters()) == 25_557_032
    r101 = resnet101()
    assert sum(p.numel() for p in r101.parameters()) == 44_549_160
    assert [k for k, _ in shapes(r101)] == [k for k, _ in expected_torchvision_keys((3, 4, 23, 3))]


def test_without_fc_has_no_classifier_keys() -> None:
    keys = small().state_dict().keys()
    assert not any(k.startswith("fc.") for k in keys)


@torch.no_grad()
def test_feature_strides_and_channels(r50: ResNet) -> None:
    feats = r50.features(torch.randn(1, 3, 64, 64))
    assert {k: tuple(v.shape) for k, v in feats.items()} == {
        "conv1": (1, 64, 32, 32),
        "res2": (1, 256, 16, 16),
        "res3": (1, 512, 8, 8),
        "res4": (1, 1024, 4, 4),
        "res5": (1, 2048, 2, 2),
    }
    assert r50(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


@torch.no_grad()
def test_features_subset_and_unknown_name(r50: ResNet) -> None:
    assert list(r50.features(torch.randn(1, 3, 64, 64), names=("res3",))) == ["res3"]
    with pytest.raises(ConfigError, match="layer9"):
        r50.features(torch.randn(1, 3, 64, 64), names=("layer9",))


@torch.no_grad()
@pytest.mark.parametrize(
    "dilate, strides", [((False, False, True), (8, 16, 16)), ((False, True, True), (8, 8, 8))]
)
def test_dilation_keeps_output_stride(dilate: tuple[bool, ...], strides: tuple[int, ...]) -> None:
    model = small(replace_stride_with_dilation=dilate)
    feats = model.features(torch.randn(1, 3, 64, 64))
    assert tuple(64 // feats[n].shape[-1] for n in ("res3", "res4", "res5")) == strides


def test_dilation_of_first_block_torchvision_vs_deeplab() -> None:
    tv = ResNet((2, 2, 2, 2), with_fc=False, replace_stride_with_dilation=(False, True, True))
    dl = ResNet(
        (2, 2, 2, 2),
        with_fc=False,
        replace_stride_with_dilation=(False, True, True),
        dilate_first_block=True,
    )
    assert [tv.layer3[i].conv2.dilation[0] for i in (0, 1)] == [1, 2]
    assert [tv.layer4[i].conv2.dilation[0] for i in (0, 1)] == [2, 4]
    assert [dl.layer3[i].conv2.dilation[0] for i in (0, 1)] == [2, 2]
    assert [dl.layer4[i].conv2.dilation[0] for i in (0, 1)] == [4, 4]
    assert dl.layer4[0].conv2.padding == (4, 4)


def test_stride_position_option() -> None:
    tv, caffe = small(), small(stride_in_1x1=True)
    assert (tv.layer2[0].conv1.stride, tv.layer2[0].conv2.stride) == ((1, 1), (2, 2))
    assert (caffe.layer2[0].conv1.stride, caffe.layer2[0].conv2.stride) == ((2, 2), (1, 1))
    assert shapes(tv) == shapes(caffe)
    out = caffe.features(torch.randn(1, 3, 64, 64), names=("res5",))["res5"]
    assert out.shape[-1] == 2


@torch.no_grad()
def test_ceil_mode_maxpool_matches_deeplab_sizes() -> None:
    model = small(maxpool_ceil_mode=True)
    assert model.features(torch.randn(1, 3, 64, 64), names=("res2",))["res2"].shape[-1] == 17
    assert small().features(torch.randn(1, 3, 64, 64), names=("res2",))["res2"].shape[-1] == 16


@torch.no_grad()
def test_stem_extra_is_added_before_bn1() -> None:
    model = small()
    x = torch.randn(1, 3, 32, 32)
    extra = torch.randn(1, 64, 16, 16)
    got = model.features(x, stem_extra=extra, names=("conv1",))["conv1"]
    want = model.relu(model.bn1(model.conv1(x) + extra))
    torch.testing.assert_close(got, want)


def test_instance_norm_variant_has_affine_keys_only() -> None:
    model = small(norm_layer=lambda c: nn.InstanceNorm2d(c, affine=True))
    keys = set(model.state_dict())
    assert {"bn1.weight", "bn1.bias", "layer1.0.downsample.1.weight"} <= keys
    assert not any("running" in k or "num_batches" in k for k in keys)


@torch.no_grad()
def test_frozen_batchnorm_equals_eval_batchnorm() -> None:
    bn = nn.BatchNorm2d(8)
    bn.weight.uniform_(0.5, 2)
    bn.bias.normal_()
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2)
    bn.eval()
    frozen = FrozenBatchNorm2d.from_batchnorm(bn)
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(frozen(x), bn(x))
    assert list(frozen.parameters()) == []
    assert list(frozen.state_dict()) == list(bn.state_dict())
    frozen.train()
    torch.testing.assert_close(frozen(x), bn(x))  # train() changes nothing


@torch.no_grad()
def test_frozen_batchnorm_tolerates_missing_counter() -> None:
    bn = FrozenBatchNorm2d(4)
    state = {k: v for k, v in nn.BatchNorm2d(4).state_dict().items() if "num_batches" not in k}
    bn.load_state_dict(state, strict=True)


@torch.no_grad()
def test_freeze_batchnorm_converts_model_without_changing_output() -> None:
    model = small()
    x = torch.randn(1, 3, 32, 32)
    before, keys = model(x), list(model.state_dict())
    frozen = freeze_batchnorm(model).train()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in frozen.modules())
    assert list(frozen.state_dict()) == keys
    torch.testing.assert_close(frozen(x), before)
    assert sum(p.numel() for p in small(norm_layer=FrozenBatchNorm2d).parameters()) == sum(
        p.numel()
        for n, p in small().named_parameters()
        if "bn" not in n and "downsample.1" not in n
    )


@torch.no_grad()
def test_round_trip_through_dataparallel_file(tmp_path) -> None:
    src, dst = small(), small()
    for p in src.parameters():
        p.normal_()
    path = tmp_path / "weights.pth"
    wrapped = {"module." + k: v for k, v in src.state_dict().items()}
    torch.save({"epoch": 3, "state_dict": wrapped}, path)
    assert load_state_dict_file(dst, path) == ([], [])
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(dst(x), src(x))


def test_missing_key_fails_naming_key_and_file(tmp_path) -> None:
    state = small().state_dict()
    del state["layer2.0.conv2.weight"]
    path = tmp_path / "missing.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match="layer2.0.conv2.weight") as err:
        load_state_dict_file(small(), path)
    assert str(path) in str(err.value) and "missing" in str(err.value)
    assert err.value.missing == ["layer2.0.conv2.weight"]
    assert isinstance(err.value, ConfigError)
    missing, _ = load_state_dict_file(small(), path, strict=False)
    assert missing == ["layer2.0.conv2.weight"]


def test_extra_key_fails_naming_key_and_file(tmp_path) -> None:
    state = small().state_dict()
    state["layer9.0.conv1.weight"] = torch.zeros(1)
    path = tmp_path / "extra.pth"
    torch.save({"model": state}, path)
    with pytest.raises(WeightsError, match="layer9.0.conv1.weight") as err:
        load_state_dict_file(small(), path)
    assert str(path) in str(err.value) and "unexpected" in str(err.value)
    assert err.value.unexpected == ["layer9.0.conv1.weight"]


def test_shape_mismatch_fails_even_when_not_strict(tmp_path) -> None:
    state = small().state_dict()
    state["conv1.weight"] = torch.zeros(64, 4, 7, 7)
    path = tmp_path / "shape.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"conv1.weight file \(64, 4, 7, 7\)"):
        load_state_dict_file(small(), path, strict=False)


def test_legacy_file_without_counters_loads_strictly(tmp_path) -> None:
    state = {k: v for k, v in small().state_dict().items() if "num_batches" not in k}
    path = tmp_path / "legacy.pth"
    torch.save(state, path)
    load_state_dict_file(small(), path)
    load_state_dict_file(small(norm_layer=FrozenBatchNorm2d), path)


def test_imagenet_file_into_headless_encoder_with_renamed_stages(tmp_path) -> None:
    full = ResNet((1, 1, 1, 1))
    path = tmp_path / "imagenet.pth"
    torch.save(full.state_dict(), path)
    with pytest.raises(WeightsError, match="fc.weight"):
        load_state_dict_file(small(), path)
    load_state_dict_file(small(), path, drop=("fc.",))
    state = read_state_dict(path, drop=("fc.",), rename={"layer1.": "res2."})
    assert "res2.0.conv1.weight" in state and not any(k.startswith("fc.") for k in state)


def test_unreadable_or_absent_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_state_dict_file(small(), tmp_path / "nope.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="bad.pth"):
        load_state_dict_file(small(), bad)
    odd = tmp_path / "list.pth"
    torch.save([1, 2], odd)
    with pytest.raises(WeightsError, match="no state dict"):
        load_state_dict_file(small(), odd)
