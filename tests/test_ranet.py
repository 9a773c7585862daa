"""RANet: layout against the spec's key list, the crop-and-track geometry, conversion, runner
runs."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from spec_keys import spec_keys
from vosbench_methods.ranet import RANet, RANetConfig, RANetNet
from vosbench_methods.ranet.card import DEAD_MODULES
from vosbench_methods.ranet.method import Letterbox, _labels, crop_box, crop_resize, uncrop
from vosbench_methods.ranet.network import select_top

from vosbench.datasets import load_dataset
from vosbench.errors import ConfigError
from vosbench.runner import RunSettings, SequenceMeta, WeightsError, convert_checkpoint, run


def test_state_dict_matches_the_released_layout():
    with torch.device("meta"):
        state = RANetNet().state_dict()
    assert [(k, tuple(v.shape)) for k, v in state.items()] == spec_keys("RANet_state_dict_keys.txt")
    assert sum(v.numel() for v in state.values()) == 64_521_236
    dead = sum(v.numel() for k, v in state.items() if k.split(".")[0] in DEAD_MODULES)
    assert dead == 1_098_146


def test_crop_box_follows_the_released_rule():
    mask = torch.zeros(480, 864, dtype=torch.bool)
    assert crop_box(mask) == (0, 0, 480, 864)  # empty: whole frame
    mask[100:200, 200:400] = True
    # rows 100-199, cols 200-399: centre (149, 299); half-sizes 74.25 and 149.25; widened to the
    # aspect: max(74.25, 480/864 * 149.25 = 82.92) → 82 rows, int(82.92 / (480/864)) = 149 columns
    assert crop_box(mask) == (67, 150, 231, 448)
    tiny = torch.zeros(480, 864, dtype=torch.bool)
    tiny[10:14, 10:14] = True
    assert crop_box(tiny) == (0, 0, 480, 864)  # under 32 px after clamping
    edge = torch.zeros(480, 864, dtype=torch.bool)
    edge[0:100, 800:864] = True
    top, left, bottom, right = crop_box(edge)
    assert top == 0 and right == 864 and bottom > 0 and left < 800


def _mask(*boxes):
    mask = torch.zeros(480, 864, dtype=torch.bool)
    for r0, r1, c0, c1 in boxes:  # inclusive
        mask[r0 : r1 + 1, c0 : c1 + 1] = True
    return mask


@pytest.mark.parametrize(
    "boxes, expected",
    [  # boxes the authors' msk2bbox gives (run side by side)
        (((100, 139, 200, 299),), (78, 175, 160, 323)),
        (((100, 140, 400, 410),), (90, 352, 150, 458)),  # 30 / (480/864) truncates to 53 in float32
        (((0, 59, 800, 863),), (0, 752, 73, 864)),
        (((50, 60, 50, 60), (300, 310, 600, 610)), (0, 0, 413, 750)),
        (((200, 205, 400, 405),), (0, 0, 480, 864)),
    ],
)
def test_crop_box_equals_the_authors(boxes, expected):
    assert crop_box(_mask(*boxes)) == expected


@pytest.mark.parametrize(
    "size, scaled, offset, restore, restore_offset",
    [
        (
            (480, 854),
            (480, 854),
            (0, 5),
            (480, 854),
            (0, 5),
        ),  # DAVIS: no resampling, 5 columns each side
        ((480, 910), (455, 864), (12, 0), (506, 910), (13, 0)),  # wider: 864x455, 12 rows on top
        ((480, 1152), (360, 864), (60, 0), (640, 1152), (80, 0)),
        ((360, 640), (480, 854), (0, 5), (480, 854), (0, 5)),  # SegTrackv2 bmx: enlarged to 854x480
    ],
)
def test_letterbox_uses_the_released_arithmetic(size, scaled, offset, restore, restore_offset):
    box = Letterbox.fit(*size)
    assert (box.scaled, box.offset, box.restore, box.restore_offset) == (
        scaled,
        offset,
        restore,
        restore_offset,
    )
    labels = torch.zeros(1, 1, *size)
    labels[..., size[0] // 4 : size[0] // 2, size[1] // 4 : size[1] // 2] = 1
    back = box.remove(box.place(labels, "nearest"))
    assert back.shape == labels.shape
    if size[1] <= 864:  # the exact way back (enlarged frames too, unlike the released code)
        mismatch = float((back != labels).float().mean())
        assert mismatch == 0 if box.scaled == size else mismatch < 0.01


def test_full_box_crop_and_uncrop_are_the_identity():
    x = torch.rand(1, 3, 480, 864)
    full = (0, 0, 480, 864)
    assert torch.equal(crop_resize(x, full, "bilinear"), x)
    torch.testing.assert_close(uncrop(x, full), x)
    box = (67, 150, 231, 448)
    out = uncrop(torch.ones(1, 1, 480, 864), box)
    assert out.sum() == (231 - 67) * (448 - 150) and out[0, 0, 66].sum() == 0


def test_labels_threshold_and_largest():
    probs = torch.tensor([[0.6, 0.4, 0.9, 0.2], [0.7, 0.3, 0.51, 0.1]]).view(2, 1, 4)
    assert _labels(probs).flatten().tolist() == [2, 0, 1, 0]


def test_select_top_keeps_the_highest_ranked_maps():
    maps = torch.zeros(1, 4, 2, 2)
    maps[0, :, 0, 0] = torch.tensor([0.1, 0.5, 0.3, 0.0])
    scores = torch.tensor([[0.0, 0.0, 0.4, 0.0]])
    picked = select_top(maps, scores, k=2)
    assert picked[0, :, 0, 0].tolist() == pytest.approx([0.3, 0.5])


def test_conversion_consumes_every_key_including_dead_ones(tmp_path):
    state = OrderedDict(
        (k, torch.full((), 0.5).expand(shape))
        for k, shape in spec_keys("RANet_state_dict_keys.txt")
    )
    torch.save(state, tmp_path / "RANet_video_single.pth")
    done = convert_checkpoint("ranet", tmp_path / "RANet_video_single.pth", tmp_path / "ranet.pth")
    assert done.tensors == 396
    net = RANet.build_network(RANetConfig(), tmp_path / "ranet.pth")
    assert torch.all(net.rank_A[0].weight == 0.5)
    del state["rank_A.1.weight"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(WeightsError, match=r"missing keys \(1\): rank_A.1.weight"):
        convert_checkpoint("ranet", tmp_path / "broken.pth", tmp_path / "out.pth")


def _clip(objects: int, frames: int = 3):
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (frames, 480, 854, 3), dtype=np.uint8)
    labels = np.zeros((480, 854), np.uint8)
    labels[100:300, 200:400] = 1
    if objects > 1:
        labels[320:420, 500:700] = 2
    return video, labels


@pytest.mark.parametrize("objects", [1, 2])
def test_propagation_answers_with_a_half_background(objects):
    video, labels = _clip(objects)
    method = RANet(RANetConfig())
    ids = tuple(range(1, objects + 1))
    method.reset(SequenceMeta("clip", len(video), labels.shape, ids))
    with torch.inference_mode():
        first = method.step(torch.from_numpy(video[0]), torch.from_numpy(labels), ids)
        later = method.step(torch.from_numpy(video[1]))
    assert first.shape == later.shape == (objects + 1, 480, 854)
    assert np.array_equal(first.max(0).indices.numpy(), labels)
    assert torch.all(later[0] == 0.5) and later[1:].min() >= 0 and later[1:].max() <= 1
    assert method.describe()["head"] == ("single" if objects == 1 else "multi")


def test_single_head_refuses_several_objects():
    video, labels = _clip(2)
    method = RANet(RANetConfig(head="single"))
    method.reset(SequenceMeta("clip", 2, labels.shape, (1, 2)))
    with pytest.raises(ConfigError, match="head=single"):
        method.step(torch.from_numpy(video[0]), torch.from_numpy(labels), (1, 2))


def test_runner_runs_ranet_on_synthetic_data(tmp_path):
    data = load_dataset("synthetic", None, "val", preset="small", num_sequences=1, num_frames=3)
    result = run(
        "ranet",
        data,
        settings=RunSettings(random_init=True, warmup_frames=0),
        results_root=tmp_path,
    )
    assert result.ok and result.evaluation is not None
    assert len(list((result.store.masks_dir / data.names[0]).glob("*.png"))) == 3


def test_fp16_casts_the_whole_model_and_keeps_close_to_fp32():
    half = RANet(precision="fp16")  # the release's --fp16: weights, inputs and masks in half
    assert {p.dtype for p in half.net.parameters()} == {torch.float16}
    assert half.channels_last and half.net.base_model.conv1.weight.is_contiguous(
        memory_format=torch.channels_last
    )
    full_precision = RANet()
    assert not full_precision.channels_last  # fp32 keeps the released NCHW arithmetic
    x = torch.randn(1, 3, 128, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        reference = full_precision.net.backbone(x)[:2]  # same seed, same weights
        features = half.net.backbone(half._layout(x.half()))[:2]
    for level, (ours, full) in enumerate(zip(features, reference)):
        assert ours.dtype == torch.float16 and ours.shape == full.shape
        error = (ours.float() - full).abs().max() / full.abs().max()
        # half rounding (8e-4 and 3e-3 here), not another computation; deeper levels of a
        # random-weight ResNet-101 amplify any rounding (even fp32 NHWC drifts there)
        assert 0 < error < 1e-2, level
