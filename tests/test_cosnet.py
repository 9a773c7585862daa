"""COSNet: layout against the spec's key and shape lists, the co-attention formulas, conversion of
the release and of the DeepLabv3 initialisation, the test protocol's pieces and runner runs."""

from __future__ import annotations

import ast
import copy
import json
import random
from collections import OrderedDict

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from spec_keys import KEYS, spec_keys
from vosbench_methods.common.pillow import pillow_resize
from vosbench_methods.common.resize import bilinear_resize
from vosbench_methods.cosnet import COSNet, COSNetConfig, COSNetNet, DeepLabV3
from vosbench_methods.cosnet.method import FeatureCache, draw_references

from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.errors import ConfigError
from vosbench.runner import RunSettings, SequenceMeta, WeightsError, convert_checkpoint, run
from vosbench.runner.checkpoint import COUNTER

SMALL = 65  # network input of the protocol tests (stub encoder): V is 9x9
REAL = 33  # network input of the tests running the real encoder: V is 5x5


# -- network layout --------------------------------------------------------------------------


def test_state_dict_matches_the_released_layout():
    with torch.device("meta"):
        state = COSNetNet().state_dict()
    rows = [(k, tuple(v.shape)) for k, v in state.items()]
    assert rows == spec_keys("COSNet_state_dict_keys.txt")  # names, shapes and order
    assert rows == spec_keys(
        "COSNet_group_state_dict_keys.txt"
    )  # the group variant: same file layout
    assert [(f"module.{k}", s) for k, s in rows] == spec_keys(
        "COSNet_DataParallel_state_dict_keys.txt"
    )
    assert sum(1 for k in state if k.endswith(COUNTER)) == 112
    values = {
        k: v.numel()
        for k, v in state.items()
        if not k.endswith(("running_mean", "running_var", COUNTER))
    }
    assert sum(values.values()) == 81_242_436
    assert sum(n for k, n in values.items() if k.startswith("encoder.")) == 78_815_810
    assert sum(n for k, n in values.items() if k.startswith("linear_e.")) == 65_536


def test_layer_shapes_at_473():
    """Every listed module's input/output shape at 473x473 (spec list), on the meta device."""
    rows = []
    for line in (KEYS / "COSNet_layer_shapes.txt").read_text().splitlines():
        _stage, module, shape_in, shape_out = line.split("\t")
        rows.append((module, ast.literal_eval(shape_in), ast.literal_eval(shape_out)))
    with torch.device("meta"):
        net = COSNetNet().eval()
        modules = dict(net.named_modules())
        seen: dict[str, list] = {}
        for name in {module for module, _, _ in rows}:
            modules[name].register_forward_hook(
                lambda mod, args, out, name=name: seen.setdefault(name, []).append(
                    (tuple(args[0].shape), tuple(out.shape))
                )
            )
        frame, reference = torch.empty(1, 3, 473, 473), torch.empty(1, 3, 473, 473)
        va, _ = net.encoder(frame)  # the released forward runs the whole encoder on both inputs
        vb, _ = net.encoder(reference)
        za, _zb = net.coattention(va, vb)
        x1 = net.head1(za, va, (473, 473))
    assert tuple(va.shape) == (1, 256, 60, 60) and tuple(x1.shape) == (1, 1, 473, 473)
    for module, shape_in, shape_out in rows:
        assert seen[module].pop(0) == (shape_in, shape_out), module


def test_encoder_is_caffe_style_and_dilated():
    net = DeepLabV3()
    first = net.layer2[0]
    assert first.conv1.stride == (2, 2) and first.conv2.stride == (1, 1)  # stride in the 1x1
    assert net.maxpool.ceil_mode
    assert [
        net.layer3[0].conv2.dilation,
        net.layer3[22].conv2.dilation,
        net.layer4[0].conv2.dilation,
    ] == [(2, 2), (2, 2), (4, 4)]
    assert all(getattr(net, f"layer{i}")[0].downsample is not None for i in range(1, 5))
    frozen = [
        p.requires_grad
        for i in range(1, 5)
        for p in getattr(net, f"layer{i}")[0].downsample[1].parameters()
    ]
    assert frozen == [False] * 8  # downsample BatchNorms do not train, as released
    assert net.layer1[0].bn1.weight.requires_grad


# -- co-attention against the formulas -------------------------------------------------------


@pytest.fixture(scope="module")
def net() -> COSNetNet:
    torch.manual_seed(0)
    network = COSNetNet().eval()
    with torch.no_grad():  # an affinity of order one: neither uniform nor one-hot attention
        network.linear_e.weight.copy_(torch.randn(256, 256) * 0.02)
        network.gate.weight.copy_(torch.randn(1, 256, 1, 1) * 0.2)
        network.conv1.weight.copy_(torch.randn(256, 512, 3, 3) * 0.03)
        network.main_classifier1.weight.copy_(torch.randn(1, 256, 1, 1) * 0.3)
    return network


def _softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    e = torch.exp(x - x.max(dim=dim, keepdim=True).values)
    return e / e.sum(dim=dim, keepdim=True)


def test_coattention_follows_the_spec_formulas(net):
    """A = Va^T W^T Vb; Za = Vb softmax over Vb's positions; Zb = Va softmax over Va's positions;
    one shared gate; computed here by hand in float64 from the definitions."""
    generator = torch.Generator().manual_seed(1)
    va, vb = (
        torch.randn(1, 256, 3, 4, generator=generator),
        torch.randn(1, 256, 5, 2, generator=generator),
    )
    with torch.no_grad():
        za, zb = net.coattention(va, vb)
    a, b, w = (
        va[0].flatten(1).double(),
        vb[0].flatten(1).double(),
        net.linear_e.weight.detach().double(),
    )
    affinity = a.T @ w.T @ b  # (12 positions of a, 10 of b)
    assert 0.5 < float(affinity.std()) < 20
    za_hand = (
        b @ _softmax(affinity, dim=1).T
    )  # for each position i of a: weights over b's positions
    zb_hand = a @ _softmax(affinity, dim=0)  # for each position j of b: weights over a's positions
    gate = net.gate.weight.detach().double().view(1, 256)
    za_gated = za_hand * torch.sigmoid(gate @ za_hand)
    zb_gated = zb_hand * torch.sigmoid(gate @ zb_hand)
    for ours, hand in ((za, za_gated), (zb, zb_gated)):  # float32 against float64
        assert (ours[0].flatten(1).double() - hand).abs().max() <= 1e-5 * hand.abs().max()
    assert not torch.allclose(
        b @ _softmax(affinity, dim=0).T, za_hand, atol=1e-3
    )  # the other axis differs
    assert sum(1 for name, _ in net.named_modules() if name.startswith("gate")) == 1


def test_head_puts_the_attended_features_first(net):
    generator = torch.Generator().manual_seed(2)
    va, vb = (
        torch.randn(1, 256, 4, 4, generator=generator),
        torch.randn(1, 256, 4, 4, generator=generator),
    )
    with torch.no_grad():
        za, _ = net.coattention(va, vb)
        x = net.conv1(torch.cat([za, va], 1))
        x = F.batch_norm(
            x, net.bn1.running_mean, net.bn1.running_var, net.bn1.weight, net.bn1.bias, eps=1e-5
        )
        logits = net.main_classifier1(torch.relu(x))
        expected = torch.sigmoid(
            F.interpolate(logits, size=(32, 32), mode="bilinear", align_corners=False)
        )
        swapped = torch.sigmoid(
            F.interpolate(
                net.main_classifier1(torch.relu(net.bn1(net.conv1(torch.cat([va, za], 1))))),
                size=(32, 32),
                mode="bilinear",
                align_corners=False,
            )
        )
        got = net.segment(va, vb, (32, 32))
    torch.testing.assert_close(got, expected)
    assert (got - swapped).abs().max() > 1e-3


def test_group_variant_normalises_twice_over_the_concatenated_references(net):
    generator = torch.Generator().manual_seed(3)
    va = torch.randn(1, 256, 3, 3, generator=generator)
    refs = [torch.randn(1, 256, 3, 3, generator=generator) for _ in range(2)]
    with torch.no_grad():
        got = net.segment_group(va, refs, (16, 16))
        a = va[0].flatten(1).double()
        b = (
            torch.cat([r[0] for r in refs], dim=1).flatten(1).double()
        )  # along the height: 6x3 positions
        affinity = a.T @ net.linear_e.weight.double().T @ b  # (9, 18)
        weights = _softmax(
            _softmax(affinity, dim=0), dim=1
        )  # over the frame, then over the references
        za = b @ weights.T
        za = za * torch.sigmoid(net.gate.weight.double().view(1, 256) @ za)
        expected = net.head1(za.float().view(1, 256, 3, 3), va, (16, 16))
    assert 0.05 < float(expected.std()) and (got - expected).abs().max() <= 1e-5


def test_x1_alone_equals_the_released_forward(net):
    generator = torch.Generator().manual_seed(4)
    a, b = (torch.randn(1, 3, REAL, REAL, generator=generator) * 50 for _ in range(2))
    with torch.no_grad():
        x1, x2, temp = net(a, b)
        va, (vb, saliency) = net.encoder.encode(a), net.encoder(b)
        alone = net.segment(va, vb, (REAL, REAL))
    assert tuple(va.shape) == (1, 256, 5, 5) and tuple(x1.shape) == tuple(x2.shape) == (
        1,
        1,
        REAL,
        REAL,
    )
    assert torch.equal(alone, x1) and torch.equal(temp, saliency)


# -- pre-processing and output ---------------------------------------------------------------


@pytest.mark.parametrize("size", [(480, 854), (360, 640), (240, 320), (1080, 1920), (473, 500)])
def test_warp_equals_pillow_bilinear(size):
    """The released imresize is PIL's bilinear resize of the uint8 frame; ours gives its bytes."""
    image = np.random.default_rng(sum(size)).integers(0, 256, (*size, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(image).resize((473, 473), Image.BILINEAR))
    assert np.array_equal(pillow_resize(torch.from_numpy(image), (473, 473)).numpy(), expected)


@pytest.mark.parametrize(
    "size, out, kind",
    [
        ((37, 91), (13, 91), "bilinear"),
        ((37, 91), (37, 200), "bilinear"),
        ((37, 91), (100, 91), "bicubic"),
        ((64, 48), (64, 7), "bicubic"),
    ],
)
def test_each_resampling_pass_equals_pillow(size, out, kind):
    image = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    filters = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
    expected = np.asarray(Image.fromarray(image).resize(out[::-1], filters[kind]))
    assert np.array_equal(pillow_resize(torch.from_numpy(image), out, kind).numpy(), expected)


def test_prepare_is_bgr_minus_caffe_means(base):
    method = copy.copy(base)
    method.config = COSNetConfig(input_size=473)
    frame = np.random.default_rng(1).integers(0, 256, (480, 854, 3), dtype=np.uint8)
    x = method.prepare(torch.from_numpy(frame))
    warped = np.asarray(Image.fromarray(frame).resize((473, 473), Image.BILINEAR)).astype(
        np.float32
    )
    expected = (
        warped[:, :, ::-1] - np.array([104.00699, 116.66877, 122.67892], np.float32)
    ).transpose(2, 0, 1)
    assert x.shape == (1, 3, 473, 473) and np.array_equal(x[0].numpy(), expected)


@pytest.mark.parametrize("size", [(480, 854), (360, 640), (300, 200), (473, 473)])
def test_output_resize_is_opencv_linear(size):
    """Half-pixel bilinear as OpenCV's INTER_LINEAR; OpenCV rounds the source coordinates to float32
    (a 2^-15 step near 473), hence up to ~3e-5 apart on a random map, far less on smooth ones."""
    p = torch.rand(1, 1, 473, 473, generator=torch.Generator().manual_seed(5))
    expected = cv2.resize(p[0, 0].numpy(), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    got = bilinear_resize(p, size)[0, 0].numpy()
    assert (bilinear_resize(p, size) is p) == (size == (473, 473)), "the same grid is the identity"
    assert got.shape == size and np.abs(got - expected).max() < 5e-5
    smooth = F.interpolate(p[..., ::8, ::8], size=(473, 473), mode="bilinear", align_corners=False)
    expected = cv2.resize(smooth[0, 0].numpy(), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    assert np.abs(bilinear_resize(smooth, size)[0, 0].numpy() - expected).max() < 1e-5


# -- references ------------------------------------------------------------------------------


def test_reference_rules():
    rng = random.Random("0/clip")
    draws = [draw_references("random", 5, 10, rng) for _ in range(20)]
    assert all(len(d) == len(set(d)) == 5 and all(0 <= i < 10 for i in d) for d in draws)
    assert len({tuple(d) for d in draws}) > 15  # a fresh draw per frame
    again = random.Random("0/clip")
    assert [draw_references("random", 5, 10, again) for _ in range(20)] == draws
    assert draw_references("random", 5, 3, random.Random(0)) in (
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    )  # all of a short video
    assert draw_references("deterministic", 5, 10, rng) == [0, 2, 5, 7, 9]
    assert draw_references("deterministic", 5, 5, rng) == [0, 1, 2, 3, 4]
    assert draw_references("deterministic", 3, 100, rng) == [0, 50, 99]
    assert draw_references("deterministic", 1, 7, rng) == [3]
    assert draw_references("deterministic", 4, 2, rng) == [0, 1]


def test_feature_cache_drops_the_least_recently_used():
    cache = FeatureCache(2)
    for index in (0, 1):
        cache.put(index, torch.tensor(float(index)))
    assert cache.get(0) is not None  # 0 becomes the most recent
    cache.put(2, torch.tensor(2.0))
    assert cache.get(1) is None and cache.get(0) is not None and cache.get(2) is not None
    off = FeatureCache(0)
    off.put(0, torch.tensor(0.0))
    assert off.get(0) is None


# -- the method ------------------------------------------------------------------------------


class StubEncoder:
    """A cheap stand-in for the 78M-parameter encoder in the protocol tests (the real one costs
    seconds per frame even at 33x33 on a small CPU): 8x8 average pooling and a fixed random
    projection to 256 channels; deterministic and image-dependent, as the tests need."""

    def __init__(self, seed: int = 0):
        self.projection = torch.randn(256, 3, generator=torch.Generator().manual_seed(seed)) / 30
        self.calls = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        pooled = F.avg_pool2d(x, 8, ceil_mode=True)
        return torch.tanh(torch.einsum("oc,nchw->nohw", self.projection, pooled))


@pytest.fixture(scope="module")
def base() -> COSNet:
    """One COSNet (random weights) whose encoder is the stub and whose head is scaled so the
    affinity, the gate and the logits are of order one: maps that vary across pixels and pairs."""
    method = COSNet(COSNetConfig(input_size=SMALL))
    net = method.net
    net.encoder.encode = StubEncoder()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        probe = [torch.randn(1, 3, SMALL, SMALL, generator=generator) * 50 for _ in range(2)]
        va, vb = (net.encoder.encode(p) for p in probe)
        net.linear_e.weight.mul_(3.0 / float(net.affinity(va, vb).std()))
        za, _ = net.coattention(va, vb)
        net.gate.weight.mul_(2.0 / float(net.gate(za).std()))
        za, _ = net.coattention(va, vb)
        net.conv1.weight.mul_(30.0)
        logits = net.main_classifier1(net.prelu(net.bn1(net.conv1(torch.cat([za, va], 1)))))
        net.main_classifier1.weight.mul_(2.0 / float(logits.std()))
        net.main_classifier1.bias.fill_(0.0)
    return method


def _method(base: COSNet, **config) -> COSNet:
    """``base`` (sharing its network) under another configuration."""
    method = copy.copy(base)
    method.config = COSNetConfig(input_size=SMALL, **config)
    return method


def _video(frames: int = 4, size=(40, 72), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    video = rng.integers(0, 256, (frames, *size, 3), dtype=np.uint8)
    video[:, size[0] // 4 : size[0] // 2, size[1] // 4 : size[1] // 2] = 200  # a bright square
    return video


def _segment(method: COSNet, video: np.ndarray, name: str = "clip") -> list[torch.Tensor]:
    reads: list[int] = []

    def reader(index: int) -> torch.Tensor:
        reads.append(index)
        return torch.from_numpy(video[index])

    method.reset(SequenceMeta(name, len(video), video.shape[1:3], frame_reader=reader))
    method.reads = reads
    with torch.inference_mode():
        return [method.step(torch.from_numpy(frame)).clone() for frame in video]


def test_cached_features_give_exactly_the_unfused_x1(base):
    video = _video(frames=4)
    cached = _method(base, references=3)
    outputs = _segment(cached, video)
    drawn = cached.describe()["references_drawn"]
    assert cached.describe()["encoder_passes"] == 4 and cached.describe()["head_passes"] == 12
    assert all(0.02 < float(o[1].std()) for o in outputs)  # informative maps, not a constant
    unfused = _method(base, references=3, feature_cache=0)
    again = _segment(unfused, video)
    assert (
        unfused.describe()["encoder_passes"] == 2 * 3 * 4
    )  # both frames of every pair, as released
    assert unfused.describe()["references_drawn"] == drawn
    assert all(torch.equal(a, b) for a, b in zip(outputs, again))
    tiny = _method(base, references=3, feature_cache=1)
    assert all(torch.equal(a, b) for a, b in zip(outputs, _segment(tiny, video)))
    # and the released computation by hand: forward(frame, reference)[0] per pair, averaged, resized
    net = cached.net
    with torch.inference_mode():
        for t, refs in enumerate(drawn):
            total = None
            for r in refs:
                x1 = net(
                    cached.prepare(torch.from_numpy(video[t])),
                    cached.prepare(torch.from_numpy(video[r])),
                )[0]
                total = x1 if total is None else total + x1
            p = F.interpolate(
                total / len(refs), size=video.shape[1:3], mode="bilinear", align_corners=False
            )[0, 0]
            assert torch.equal(outputs[t][1], p) and torch.equal(outputs[t][0], 1.0 - p)


def test_answers_are_probabilities_at_each_videos_size(base):
    for size in [(40, 72), (50, 30)]:
        video = _video(frames=3, size=size)
        method = _method(base, references=2)
        outputs = _segment(method, video)
        for out in outputs:
            assert out.shape == (2, *size) and out.dtype == torch.float32
            torch.testing.assert_close(out.sum(0), torch.ones(size))
            labels = out.max(
                0
            ).indices  # the runner's argmax: object 1 where p > 0.5, ties to background
            assert torch.equal(labels == 1, out[1] > 0.5)


def test_references_are_seeded_and_recorded(base):
    video = _video(frames=6)
    first = _method(base, references=2, seed=3)
    _segment(first, video)
    drawn = first.describe()["references_drawn"]
    assert len(drawn) == 6 and all(len(d) == 2 for d in drawn)
    second = _method(base, references=2, seed=3)
    _segment(second, video)
    assert second.describe()["references_drawn"] == drawn
    other = _method(base, references=2, seed=4)
    _segment(other, video)
    assert other.describe()["references_drawn"] != drawn
    renamed = _method(base, references=2, seed=3)
    _segment(renamed, video, name="another")
    assert renamed.describe()["references_drawn"] != drawn  # each sequence its own draws
    fixed = _method(base, references=3, reference_rule="deterministic")
    _segment(fixed, video)
    assert fixed.describe()["references_drawn"] == [[0, 3, 5]] * 6


def test_reader_reads_each_reference_once_with_the_cache(base):
    video = _video(frames=5)
    method = _method(base, references=3)
    _segment(method, video)
    drawn = method.describe()["references_drawn"]
    # a reference not yet seen as a frame is read once; later frames come from step itself
    expected = []
    seen: set[int] = set()
    for t, refs in enumerate(drawn):
        seen.add(t)
        for r in refs:
            if r not in seen:
                seen.add(r)
                expected.append(r)
    assert method.reads == expected


def test_group_variant_runs_one_head_per_frame(base):
    video = _video(frames=3)
    method = _method(base, references=2, group=True)
    outputs = _segment(method, video)
    assert method.describe()["head_passes"] == 3 and method.describe()["group"] is True
    assert outputs[0].shape == (2, 40, 72)


def test_offline_method_needs_a_frame_reader(base):
    method = _method(base)
    with pytest.raises(ConfigError, match="frame_reader"):
        method.reset(SequenceMeta("clip", 3, (40, 72)))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"references": 0}, "references"),
        ({"reference_rule": "evenly"}, "reference_rule"),
        ({"feature_cache": -1}, "feature_cache"),
        ({"input_size": 8}, "input_size"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        COSNetConfig(**options)


def test_autocast_runs_and_stays_close(base):
    video = _video(frames=2)
    exact = _segment(_method(base, references=2), video)[1]
    method = _method(base, references=2)
    method.precision = "amp-bf16"
    mixed = _segment(method, video)[1]
    assert mixed.dtype == torch.float32 and (mixed - exact).abs().mean() < 0.05


# -- checkpoint conversion -------------------------------------------------------------------


def _release(keys: str, value: float = 0.5) -> OrderedDict:
    """A state dict with the spec's keys and shapes, one broadcast value per tensor (tiny files)."""
    state = OrderedDict()
    for key, shape in spec_keys(keys):
        dtype = torch.long if key.endswith(COUNTER) else torch.float32
        state[key] = torch.full((), value, dtype=dtype).expand(shape)
    return state


def _deeplab_init(value: float = 0.25) -> OrderedDict:
    """deeplab_davis_12_0.pth's layout: the encoder's keys without ``encoder.``,
    DataParallel-prefixed."""
    return OrderedDict(
        (f"module.{k[len('module.encoder.') :]}", v)
        for k, v in _release("COSNet_DataParallel_state_dict_keys.txt", value).items()
        if k.startswith("module.encoder.")
    )


def test_convert_the_release_consumes_every_key(tmp_path):
    state = _release("COSNet_DataParallel_state_dict_keys.txt")
    state["module.linear_e.weight"] = torch.full((), 0.125).expand(256, 256)
    torch.save(
        {"epoch": 12, "model": state},
        tmp_path / "co_attention.pth",
        _use_new_zipfile_serialization=False,
    )
    done = convert_checkpoint("cosnet", tmp_path / "co_attention.pth", tmp_path / "cosnet.pth")
    assert (
        done.tensors == 687
        and done.values
        == 81_242_436
        + 2
        * sum(
            s[0] for k, s in spec_keys("COSNet_state_dict_keys.txt") if k.endswith("running_mean")
        )
        + 112
    )
    net = COSNet.build_network(COSNetConfig(), tmp_path / "cosnet.pth")
    assert torch.all(net.linear_e.weight == 0.125) and torch.all(
        net.encoder.layer5.prelu.weight == 0.5
    )


def test_convert_the_deeplab_initialisation_to_an_encoder_only_file(tmp_path):
    torch.save(
        {"model": _deeplab_init()},
        tmp_path / "deeplab_davis_12_0.pth",
        _use_new_zipfile_serialization=False,
    )
    done = convert_checkpoint("cosnet", tmp_path / "deeplab_davis_12_0.pth", tmp_path / "init.pth")
    saved = torch.load(tmp_path / "init.pth", weights_only=True)["state_dict"]
    assert done.tensors == 669 and all(k.startswith("encoder.") for k in saved)
    with pytest.raises(WeightsError, match="only COSNet's encoder") as error:
        COSNet.build_network(COSNetConfig(), tmp_path / "init.pth")
    assert "init.pth" in str(error.value) and "linear_e.weight" in error.value.missing
    net = COSNetNet()
    head = net.conv1.weight.clone()
    for source in (
        tmp_path / "init.pth",
        tmp_path / "deeplab_davis_12_0.pth",
    ):  # training initialisation
        with torch.no_grad():
            net.encoder.layer3[22].conv2.weight.zero_()
        net.load_encoder(source)
        assert torch.all(net.encoder.layer3[22].conv2.weight == 0.25) and torch.equal(
            net.conv1.weight, head
        )


@pytest.mark.parametrize("which", ["release", "deeplab"])
@pytest.mark.parametrize(
    "change, message",
    [
        ("missing", r"missing keys \(1\): encoder.layer5.prelu.weight"),
        ("extra", r"unexpected keys \(1\): encoder.layer6.weight"),
        (
            "shape",
            r"encoder.layer5.bottleneck.weight file \(256, 2048, 3, 3\) model \(256, 2560, 3, 3\)",
        ),
    ],
)
def test_convert_refuses_a_file_that_does_not_fit(tmp_path, which, change, message):
    if which == "release":
        state, prefix, wrapper = (
            _release("COSNet_DataParallel_state_dict_keys.txt"),
            "module.encoder.",
            {"epoch": 3},
        )
    else:
        state, prefix, wrapper = _deeplab_init(), "module.", {}
        message = message.replace("encoder.", "")
    if change == "missing":
        del state[f"{prefix}layer5.prelu.weight"]
    elif change == "extra":
        state[f"{prefix}layer6.weight"] = torch.zeros(1)
    else:
        state[f"{prefix}layer5.bottleneck.weight"] = torch.zeros(256, 2048, 3, 3)
    torch.save({**wrapper, "model": state}, tmp_path / "weights.pth")
    with pytest.raises(WeightsError, match=message) as error:
        convert_checkpoint("cosnet", tmp_path / "weights.pth", tmp_path / "out.pth")
    assert str(tmp_path / "weights.pth") in str(error.value)
    assert ("DeepLabv3" in str(error.value)) == (which == "deeplab")
    assert not (tmp_path / "out.pth").exists()


# -- through the runner ----------------------------------------------------------------------


def test_runner_runs_cosnet_in_the_unsupervised_task(tmp_path):
    data = load_dataset(
        "synthetic", None, "val", preset="small", num_sequences=1, num_frames=3, task="unsupervised"
    )
    result = run(
        "cosnet",
        data,
        config={"input_size": str(REAL), "references": "2"},
        settings=RunSettings(random_init=True, warmup_frames=0),
        results_root=tmp_path,
    )
    assert result.ok and result.evaluation is not None
    name = data.names[0]
    record = json.loads((result.store.root / "sequences" / f"{name}.json").read_text())
    settings = record["method_settings"]
    assert len(settings["references_drawn"]) == 3 and settings["encoder_passes"] == 3
    assert settings["computes_x2"] is False and result.manifest["card"]["offline"] is True
    assert len(list((result.store.masks_dir / name).glob("*.png"))) == 3


def test_cli_runs_and_scores_cosnet(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "data"), "--preset", "small"]) == 0
    for folder in ("JPEGImages", "Annotations"):  # keep 2 frames: the encoder is costly on a CPU
        for path in sorted((tmp_path / "data" / folder / "480p" / "synth-002").iterdir())[2:]:
            path.unlink()
    common = [
        "--dataset",
        "synthetic",
        "--root",
        str(tmp_path / "data"),
        "-s",
        "synth-002",
        "--task",
        "unsupervised",
    ]
    code = main(
        [
            "run",
            "--method",
            "cosnet",
            "--random-init",
            *common,
            "-c",
            f"input_size={REAL}",
            "-c",
            "references=1",
            "-c",
            "reference_rule=deterministic",
            "--warmup",
            "0",
            "--output",
            str(tmp_path / "run"),
            "--no-eval",
        ]
    )
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["eval", *common, str(tmp_path / "run" / "masks")]) == 0
    assert "J&F-Mean" in capsys.readouterr().out
    assert (tmp_path / "run" / "global_results-val.csv").is_file(), (
        "a run's masks/ are scored as the run"
    )


def test_runner_refuses_cosnet_without_weights(tmp_path):
    data = load_dataset(
        "synthetic", None, "val", preset="small", num_sequences=1, num_frames=2, task="unsupervised"
    )
    with pytest.raises(ConfigError, match="vosbench convert --method cosnet"):
        run("cosnet", data, settings=RunSettings(), results_root=tmp_path)


def test_crf_refines_the_quantised_map_of_each_frame(base):
    from vosbench_methods.common.densecrf import DenseCRFParams, dense_crf

    video = _video(frames=3)
    plain = _segment(_method(base, references=2, seed=1), video)
    method = _method(
        base, references=2, seed=1, crf=True, crf_bilateral_sxy=10.0, crf_bilateral_compat=8.0
    )
    method.crf_params = method._crf_params()
    assert method.crf_params == DenseCRFParams(bilateral_sxy=10.0, bilateral_compat=8.0)
    refined = _segment(method, video)
    for frame, probs, labels in zip(video, plain, refined):
        assert labels.dtype == torch.uint8 and labels.shape == video.shape[1:3]
        saved = (probs[1] * 255.0).to(torch.uint8).numpy().astype(
            np.float32
        ) / 255.0  # the released PNG
        expected = dense_crf(frame, saved, method.crf_params)
        assert np.array_equal(labels.numpy(), expected)
    assert any(
        not torch.equal(lab.bool(), p[1] > 0.5) for lab, p in zip(refined, plain)
    )  # the CRF changed something
    assert method.describe()["crf_params"]["bilateral_sxy"] == 10.0
