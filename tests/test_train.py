"""Training: clip sampling, config errors, losses that learn, checkpoints, bit-identical resume,
CLI."""

from __future__ import annotations

import copy
import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from vosbench.cli import main
from vosbench.datasets import load_dataset
from vosbench.errors import ConfigError
from vosbench.runner import WeightsError
from vosbench.runner.checkpoint import load_state_dict_file, read_state_dict
from vosbench.runner.methods import get_method, make_config
from vosbench.train.clips import Clip
from vosbench.train.config import load_config
from vosbench.train.engine import (
    TrainingError,
    TrainProgress,
    checkpoints,
    config_digest,
    find_config,
    train,
)
from vosbench.train.sources import CLIP_SOURCES, ClipStream, batches, collate
from vosbench.train.trainers import get_trainer
from vosbench.train.video import VideoClips

SYNTH = {"num_sequences": 3, "num_frames": 10, "height": 64, "width": 96}
TINY = {
    "method": "rgmp",
    "model": {"size": "tiny"},
    "trainer": {
        "objects": "aggregate",
        "batchnorm": "train",
        "perturb_previous": 0.5,
        "confuse_previous": 0.5,
        "hard_pixels": 0.5,
        "aggregate_loss": 0.5,
    },
    "data": {
        "batch_size": 2,
        "sources": [
            {
                "kind": "video",
                "dataset": "synthetic",
                "split": "train",
                "options": SYNTH,
                "frames": 3,
                "size": [64, 96],
                "max_skip": 2,
            }
        ],
    },
    "optim": {
        "optimizer": "sgd",
        "lr": 0.01,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "scheduler": "poly",
        "warmup_steps": 1,
        "clip_grad_norm": 5.0,
    },
    "train": {"steps": 4, "seed": 3, "checkpoint_every": 2, "log_every": 1},
}


def write_config(folder: Path, changes: dict | None = None, name: str = "tiny.yaml") -> Path:
    config = copy.deepcopy(TINY)
    for key, value in (changes or {}).items():
        section, _, field = key.partition(".")
        if field:
            config.setdefault(section, {})[field] = value
        else:
            config[section] = value
    path = folder / name
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def tiny_trainer(method: str = "rgmp", **options):
    method_class = get_method(method)
    trainer_class = get_trainer(method)
    trainer = trainer_class(
        method_class,
        make_config(method_class.Config, {"size": "tiny"}),
        trainer_class.Options(**{"batchnorm": "train", **options}),
    )
    torch.manual_seed(0)
    return trainer, trainer.build_model().train()


def fixed_batch(size=(64, 96), frames=3, batch=2, seed=0):
    source = VideoClips(
        "synthetic", split="train", frames=frames, size=size, max_skip=2, options=SYNTH
    )
    return ClipStream([source], [1.0], seed).batch(0, batch)


# -- the video clip sampler -----------------------------------------------------------------


def _stems(clip: Clip) -> list[int]:
    return [int(s) for s in re.search(r"\[(.*)\]$", clip.source).group(1).split(",")]


def test_video_clips_are_deterministic_ordered_and_skip_within_bounds():
    source = VideoClips(
        "synthetic", split="train", frames=4, size=(48, 64), max_skip=3, options=SYNTH, flip=0.5
    )
    a = [source.sample(np.random.default_rng(seed)) for seed in range(30)]
    b = [source.sample(np.random.default_rng(seed)) for seed in range(30)]
    for x, y in zip(a, b):
        assert (
            x.source == y.source
            and np.array_equal(x.frames, y.frames)
            and np.array_equal(x.masks, y.masks)
        )
    gaps = set()
    for clip in a:
        stems = _stems(clip)
        steps = np.diff(stems)
        assert np.all(steps >= 1) and np.all(steps <= 3), stems
        gaps.update(int(s) for s in steps)
        assert clip.frames.shape == (4, 48, 64, 3) and clip.masks.shape == (4, 48, 64)
        assert set(np.unique(clip.masks)) <= {0, 1, 2, 3, 255}
        assert clip.object_ids, "the reference frame always holds an object"
    assert gaps == {1, 2, 3}  # every allowed skip occurs
    assert len({clip.source for clip in a}) > 20


def test_per_gap_skips_and_whole_video_gaps():
    source = VideoClips(
        "synthetic", split="train", frames=3, size=(48, 64), max_skip=[None, 2], options=SYNTH
    )
    first_gaps = []
    for seed in range(60):
        stems = _stems(source.sample(np.random.default_rng(seed)))
        assert 1 <= stems[2] - stems[1] <= 2
        first_gaps.append(stems[1] - stems[0])
    assert max(first_gaps) > 2  # the template gap is not limited


def test_clips_show_the_frames_of_the_dataset_resampled_and_flipped():
    dataset = load_dataset("synthetic", None, "train", **SYNTH)
    plain = VideoClips(dataset, frames=1, size=(64, 96), scale=(1.0, 1.0), flip=0.0, max_skip=1)
    flipped = VideoClips(dataset, frames=1, size=(64, 96), scale=(1.0, 1.0), flip=1.0, max_skip=1)
    for seed in range(5):
        clip = plain.sample(np.random.default_rng(seed))
        name, stem = re.match(r".*:(.*)\[(.*)\]$", clip.source).groups()
        sequence = next(s for s in dataset if s.name == name)
        assert np.array_equal(clip.masks[0], sequence.read_annotation(stem))  # same size: identity
        assert np.array_equal(clip.frames[0], sequence.read_frame(stem))
        mirror = flipped.sample(np.random.default_rng(seed))
        assert np.array_equal(mirror.masks[0], clip.masks[0][:, ::-1])


def test_zoomed_clips_keep_mask_ids_and_max_objects_renumbers():
    source = VideoClips(
        "synthetic",
        split="train",
        frames=2,
        size=(40, 40),
        scale=(1.5, 2.0),
        options={**SYNTH, "min_objects": 3, "max_objects": 3},
        max_objects=1,
    )
    for seed in range(10):
        clip = source.sample(np.random.default_rng(seed))
        assert clip.object_ids == (1,)
        assert set(np.unique(clip.masks)) <= {0, 1, 255}


@pytest.mark.parametrize(
    "options, message",
    [
        ({"max_skip": [1, 2, 3]}, "one gap per pair"),
        ({"scale": [0.5, 1.0]}, "scale must be"),
        ({"size": [64]}, "size must be"),
        ({"flip": 2.0}, "probabilities"),
    ],
)
def test_video_clip_options_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        VideoClips("synthetic", split="train", frames=3, options=SYNTH, **options)


def test_clip_stream_depends_only_on_seed_and_step():
    source = VideoClips("synthetic", split="train", frames=2, size=(32, 48), options=SYNTH)
    one, two = ClipStream([source], [1.0], 7), ClipStream([source, source], [1.0, 3.0], 7)
    a, b = one.batch(5, 3), ClipStream([source], [1.0], 7).batch(5, 3)
    assert torch.equal(a.frames, b.frames) and a.sources == b.sources
    assert not torch.equal(one.batch(6, 3).frames, a.frames)
    assert two.batch(5, 3).frames.shape == (3, 2, 32, 48, 3)
    loaded = list(batches(one, 4, 6, 3, workers=1))  # a loading process gives the same batches
    assert torch.equal(loaded[1].frames, a.frames) and torch.equal(loaded[1].masks, a.masks)


def test_collate_refuses_mixed_sizes_and_fills_missing_previous_masks():
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    masks = np.ones((2, 8, 8), np.uint8)
    batch = collate([Clip(frames, masks), Clip(frames, masks, previous=masks * 2)])
    assert batch.has_previous.tolist() == [False, True] and int(batch.previous[0].max()) == 0
    with pytest.raises(ConfigError, match="share frames and size"):
        collate([Clip(frames, masks), Clip(frames[:, :4], masks[:, :4])])


# -- configs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, where, message",
    [
        ({"optim": {"lrr": 0.1}}, "optim.lrr", "did you mean 'lr'"),
        ({"train": {"steps": "ten"}}, "train.steps", "expected an integer"),
        ({"train": {"precision": "fp8"}}, "train", "precision must be one of"),
        ({"optim": {"betas": [0.9]}}, "optim.betas", "expected 2 values"),
        (
            {"data": {"sources": [{"kind": "vidoe"}]}},
            "data.sources[0].kind",
            "did you mean 'video'",
        ),
        (
            {"data": {"sources": [{"kind": "video", "max_skp": 3}]}},
            "data.sources[0].max_skp",
            "unknown option",
        ),
        (
            {"data": {"sources": [{"kind": "video", "options": SYNTH, "frames": 0}]}},
            "data.sources[0]",
            "frames must be",
        ),
        (
            {"model": {"size": "huge"}},
            "model",
            "RGMPConfig.size: huge is not one of full, small, tiny",
        ),
        ({"trainer": {"objects": "all"}}, "trainer", "objects must be one of"),
        ({"trainer": {"trucate": 2}}, "trainer.trucate", "did you mean 'truncate'"),
        ({"validation": {"every": -1}}, "validation", "every must be"),
        (
            {"data": {"sources": [{"kind": "video", "root": "${VOSBENCH_UNSET_VARIABLE}"}]}},
            "data.sources[0].root",
            "VOSBENCH_UNSET_VARIABLE is not set",
        ),
        ({"method": "fan"}, "method", "the config is for 'fan'"),
    ],
)
def test_config_errors_name_the_file_and_the_key(tmp_path, change, where, message):
    config = {**copy.deepcopy(TINY), **change}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        train(path, method="rgmp", output=tmp_path / "run", device="cpu")
    text = str(raised.value)
    assert text.startswith(f"{path}: {where}") and message in text, text


def test_unreadable_configs_and_bundled_names(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="missing.yaml: training config not found"):
        load_config(tmp_path / "missing.yaml")
    assert find_config("rgmp_tiny").name == "rgmp_tiny.yaml"
    with pytest.raises(ConfigError, match="bundled: .*rgmp_tiny"):
        find_config("no-such-config")


def test_bundled_configs_parse(monkeypatch):
    monkeypatch.setenv("DAVIS", "/data/DAVIS")
    monkeypatch.setenv("DAVIS2016", "/data/DAVIS-2016")
    monkeypatch.setenv("IMAGENET", "/data/resnet50.pth")
    monkeypatch.setenv("MSRA10K", "/data/MSRA10K_Imgs_GT/Imgs")
    monkeypatch.setenv("DEEPLAB", "/data/deeplab_davis_12_0.pth")
    monkeypatch.setenv("VOC", "/data/VOCdevkit/VOC2012")
    monkeypatch.setenv("ECSSD", "/data/ECSSD")
    from vosbench.train.engine import config_names

    names = dict(config_names())
    assert {
        "rgmp_tiny",
        "fan_tiny",
        "rgmp_davis2017",
        "fan_davis2017",
        "ranet_davis2016",
        "ranet_davis2017",
        "cosnet_davis2016",
        "rgmp_static",
        "ranet_static",
    } <= set(names)
    for path in names.values():
        config, _ = load_config(path)
        method = config.method
        get_trainer(method).Options(**config.trainer)
        make_config(
            get_method(method).Config,
            {k: tuple(v) if isinstance(v, list) else v for k, v in config.model.items()},
        )
        for (
            source
        ) in config.data.sources:  # every option is one the source takes (no data here to build it)
            accepted = inspect.signature(CLIP_SOURCES.get(source.kind)).parameters
            assert set(source.options) <= set(accepted) - {"seed"}, (
                path,
                source.kind,
                source.options,
            )
    fan, _ = load_config(names["fan_davis2017"])  # FAN's released recipe
    assert (fan.optim.optimizer, fan.optim.lr, fan.optim.momentum, fan.optim.weight_decay) == (
        "sgd",
        1e-5,
        0.5,
        4e-5,
    )
    assert fan.trainer == {
        "objects": "merge",
        "truncate": 4,
        "batchnorm": "frozen",
        "reference": "first",
    }
    ranet, _ = load_config(names["ranet_davis2016"])
    assert ranet.optim.optimizer == "adam" and ranet.optim.lr == 1e-5
    assert ranet.data.sources[0].options["size"] == [480, 864]


# -- network sizes --------------------------------------------------------------------------


@pytest.mark.parametrize("method, full", [("rgmp", 51_518_920), ("fan", 51_543_790)])
def test_network_sizes_keep_the_released_key_names(method, full):
    network = get_method(method).network_class
    with torch.device("meta"):
        nets = {size: network(size=size) for size in ("full", "small", "tiny")}
    keys = {size: list(net.state_dict()) for size, net in nets.items()}
    counts = {
        size: sum(
            v.numel()
            for k, v in net.state_dict().items()  # learned values, as the spec counts
            if not k.endswith(("num_batches_tracked", "running_mean", "running_var"))
            and k not in ("Encoder.mean", "Encoder.std")
        )
        for size, net in nets.items()
    }
    assert counts["full"] == full  # the default is still exactly the released network
    assert counts["tiny"] < counts["small"] < counts["full"] / 5
    released = set(keys["full"])
    for size in ("small", "tiny"):  # fewer blocks per stage, every name from the released layout
        assert set(keys[size]) <= released and "Encoder.res5.0.downsample.0.weight" in keys[size]
    with pytest.raises(ConfigError, match="unknown network size 'huge'"):
        network(size="huge")


# -- trainers: losses that learn ------------------------------------------------------------


@pytest.mark.parametrize(
    "method, objects, pad",
    [("rgmp", "aggregate", False), ("rgmp", "each", True), ("fan", "merge", False)],
)
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(method, objects, pad):
    trainer, model = tiny_trainer(
        method, objects=objects, truncate=1 if objects == "each" else 0, pad=pad
    )
    batch = fixed_batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(8):
        loss = trainer.loss(model, batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.6 * losses[0], losses


def test_recurrent_passes_and_aggregated_previous_masks():
    from vosbench_methods.rgmp.train import _soft_aggregates

    trainer, _ = tiny_trainer(objects="aggregate")
    labels = torch.zeros(2, 2, 4, 4, dtype=torch.long)
    labels[0, 0, 0, 0], labels[0, 0, 1, 1], labels[0, 0, 2, 2] = 1, 2, 255
    labels[1, 0, 3, 3] = 4
    passes = trainer._passes(labels)
    assert passes.owner.tolist() == [0, 0, 0, 1] and passes.aggregated == [True, False]
    assert [p.tolist() for p in passes.ids] == [[1, 2], [1], [2], [4]]
    truth = trainer._targets(labels[:, 0], passes, void=True)
    assert (
        truth[0, 0, 0] == 1
        and truth[0, 1, 1] == 1
        and truth[1, 1, 1] == 0
        and truth[0, 2, 2] == 255
    )
    foreground = torch.rand(4, 4, 4)
    previous = trainer._next_previous(foreground, passes, _soft_aggregates(foreground, passes))
    objects = previous[1:3]
    background = 1 - objects.sum(0)
    assert torch.allclose(previous[0], objects.sum(0)) and bool((background > 0).all())
    assert torch.equal(previous[3], foreground[3])  # a single-object clip is not aggregated


def test_previous_mask_perturbations():
    from vosbench_methods.rgmp.train import _confuse, _perturb, _translate

    trainer, _ = tiny_trainer(objects="aggregate")
    labels = torch.zeros(2, 1, 9, 9, dtype=torch.long)
    labels[0, 0, 1:3, 1:3], labels[0, 0, 6:8, 6:8], labels[1, 0, 4, 4] = 1, 2, 1
    passes = trainer._passes(labels)
    previous = trainer._targets(labels[:, 0], passes)  # [union, 1, 2] of clip 0, [1] of clip 1
    confused = _confuse(previous, passes, 1.0)
    assert torch.equal(confused[1], confused[2]) and torch.equal(
        confused[1], previous[0]
    )  # each took the other
    assert torch.equal(confused[0], previous[0]) and torch.equal(confused[3], previous[3])
    assert torch.equal(_confuse(previous, passes, 0.0), previous)
    torch.manual_seed(0)
    changed = _perturb(previous, 1.0, 1)
    for before, after in zip(previous, changed):  # a 3x3 max pool: grown or shrunk by one pixel
        grown = torch.nn.functional.max_pool2d(before[None, None], 3, 1, 1)[0, 0]
        shrunk = -torch.nn.functional.max_pool2d(-before[None, None], 3, 1, 1)[0, 0]
        assert torch.equal(after, grown) or torch.equal(after, shrunk)
    assert torch.equal(_perturb(previous, 0.0, 3), previous)
    torch.manual_seed(1)
    moved = _perturb(previous, 1.0, 1, shift=2)
    offsets = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    unmoved = []
    for before, after in zip(
        previous, moved
    ):  # grown or shrunk, then moved by at most 2 px each way
        grown = torch.nn.functional.max_pool2d(before[None, None], 3, 1, 1)[0, 0]
        shrunk = -torch.nn.functional.max_pool2d(-before[None, None], 3, 1, 1)[0, 0]
        assert any(
            torch.equal(after, _translate(base, dy, dx))
            for base in (grown, shrunk)
            for dy, dx in offsets
        )
        unmoved.append(torch.equal(after, grown) or torch.equal(after, shrunk))
    assert not all(unmoved)
    assert torch.equal(
        _translate(previous[0], 1, -1)[2:4, 0:2], previous[0][1:3, 1:3]
    )  # the 2x2 square moved
    assert _translate(previous[0], 9, 0).sum() == 0


def test_bootstrapped_loss_keeps_each_pass_hardest_pixels():
    from vosbench_methods.rgmp.train import RecurrentOptions, _pixel_loss

    # two passes of 2x2 pixels; foreground logit l against background 0: per-pixel loss softplus(-l)
    # for truth 1 and softplus(l) for truth 0, so every pixel's loss is known in closed form
    margins = torch.tensor([[[0.0, 1.0], [2.0, -3.0]], [[4.0, 0.5], [-1.0, 2.5]]])
    logits = torch.stack([torch.zeros_like(margins), margins], dim=1)
    truth = torch.tensor([[[1, 1], [0, 255]], [[0, 1], [1, 1]]])
    softplus = torch.nn.functional.softplus
    per_pixel = [
        [softplus(-margins[0, 0, 0]), softplus(-margins[0, 0, 1]), softplus(margins[0, 1, 0])],
        [
            softplus(margins[1, 0, 0]),
            softplus(-margins[1, 0, 1]),
            softplus(-margins[1, 1, 0]),
            softplus(-margins[1, 1, 1]),
        ],
    ]
    plain = torch.stack(per_pixel[0] + per_pixel[1]).mean()  # void excluded from the mean
    assert torch.allclose(_pixel_loss(logits, truth, 1.0), plain)
    hardest = [max(row) for row in per_pixel]  # half of 4 pixels: the top 2 of each pass
    top2 = [sorted(row, reverse=True)[:2] for row in per_pixel]
    assert torch.allclose(_pixel_loss(logits, truth, 0.5), torch.stack(top2[0] + top2[1]).mean())
    assert torch.allclose(_pixel_loss(logits, truth, 0.25), torch.stack(hardest).mean())
    with pytest.raises(ValueError, match="hard_pixels"):
        RecurrentOptions(hard_pixels=0.0)


def test_aggregated_loss_scores_the_soft_aggregated_map_by_hand():
    from vosbench_methods.rgmp.train import (
        Passes,
        RecurrentOptions,
        _aggregated_nll,
        _soft_aggregates,
    )

    # one clip, two objects, a 1x2 image: passes [union, object 1, object 2]
    foreground = torch.tensor([[[0.9, 0.2]], [[0.8, 0.1]], [[0.3, 0.1]]])
    labels = torch.tensor([[[1, 0]]])
    passes = Passes(
        torch.tensor([0, 0, 0]),
        [torch.tensor([1, 2]), torch.tensor([1]), torch.tensor([2])],
        [[0, 1, 2]],
        [True],
    )
    # soft aggregation normalises the odds e / (1 - e) of [1 - union, object 1, object 2]:
    # pixel 0 (object 1): odds 1/9, 4, 3/7; pixel 1 (background): odds 4, 1/9, 1/9
    expected = (-np.log(4 / (1 / 9 + 4 + 3 / 7)) - np.log(4 / (4 + 2 / 9))) / 2
    assert (
        abs(float(_aggregated_nll(_soft_aggregates(foreground, passes), labels, passes)) - expected)
        < 1e-6
    )
    labels_void = torch.tensor([[[1, 255]]])  # void pixels do not count
    assert (
        abs(
            float(_aggregated_nll(_soft_aggregates(foreground, passes), labels_void, passes))
            + np.log(4 / (1 / 9 + 4 + 3 / 7))
        )
        < 1e-6
    )
    assert (
        float(
            _aggregated_nll(
                _soft_aggregates(foreground, passes), torch.full_like(labels, 255), passes
            )
        )
        == 0.0
    )  # all void
    single = Passes(torch.tensor([0]), [torch.tensor([1])], [[0]], [False])
    assert (
        float(_aggregated_nll(_soft_aggregates(foreground[1:2], single), labels, single)) == 0.0
    )  # no clip aggregates
    with pytest.raises(ValueError, match="aggregate_loss"):
        RecurrentOptions(objects="each", aggregate_loss=1.0)


def test_simulated_previous_masks_replace_the_prediction():
    trainer, model = tiny_trainer(objects="each")
    batch = fixed_batch()
    batch.previous = batch.masks.clone()
    batch.has_previous = torch.tensor([True, True])
    given = trainer.loss(model, batch)["loss"]
    batch.previous = torch.zeros_like(batch.masks)  # an empty simulated previous mask: worse
    assert float(trainer.loss(model, batch)["loss"].detach()) != pytest.approx(
        float(given.detach())
    )


class _RecordingRANet(torch.nn.Module):
    """Stands in for RANetNet: records what the trainer feeds it, answers a learnable constant
    map."""

    def __init__(self):
        super().__init__()
        self.logit = torch.nn.Parameter(torch.zeros(()))
        self.calls = []

    def template(self, x):
        self.calls.append(("template", x))
        return x[:, :1]

    def forward_single(self, x, kernels, template_mask, previous):
        self.calls.append(("single", x, template_mask, previous))
        return torch.sigmoid(self.logit).expand(x.shape[0], 1, *x.shape[-2:])

    def forward_multi(self, x, kernels, template_masks, previous):
        self.calls.append(("multi", x, template_masks, previous))
        return torch.sigmoid(self.logit).expand(1, previous.shape[1], *x.shape[-2:])


def _ranet_batch(seed=0):
    source = VideoClips(
        "synthetic",
        split="train",
        frames=3,
        size=(480, 864),
        max_skip=[None, 2],
        options={**SYNTH, "height": 240, "width": 432, "min_objects": 2, "max_objects": 2},
    )
    return ClipStream([source], [1.0], seed).batch(0, 2)


@pytest.mark.parametrize("head", ["single", "multi"])
def test_ranet_pairs_feed_template_previous_and_current_frames(head):
    method_class, trainer_class = get_method("ranet"), get_trainer("ranet")
    trainer = trainer_class(method_class, method_class.Config(), trainer_class.Options(head=head))
    model = _RecordingRANet()
    with pytest.raises(ValueError, match="480x864"):
        trainer.loss(model, fixed_batch())
    batch = _ranet_batch()
    batch.masks[0, -1, :10] = 255  # void rows are ignored
    terms = trainer.loss(model, batch)
    masks = batch.masks.long()
    calls = [c for c in model.calls if c[0] == head]
    if head == "single":
        ((_, x, template, previous),) = calls
        assert torch.equal(template[:, 0], ((masks[:, 0] > 0) & (masks[:, 0] < 255)).float())
        assert torch.equal(previous[:, 0], ((masks[:, 1] > 0) & (masks[:, 1] < 255)).float())
        rgb = batch.rgb()[:, -1]
        assert torch.allclose(
            x[:, 0] * 0.229 + 0.485, rgb[:, 0], atol=1e-5
        )  # the last frame, ImageNet-normalised
    else:
        assert len(calls) == 2
        _, x, template, previous = calls[0]
        assert template.shape == (1, 3, 480, 864) and previous.shape == (1, 2, 480, 864)
        assert torch.equal(template[0, 1], (masks[0, 0] == 1).float())
        assert torch.allclose(template[0, 0], 1 - template[0, 1:].sum(0))
    assert float(terms["loss"].detach()) == pytest.approx(
        float(np.log(2.0)), rel=1e-5
    )  # p = 0.5 everywhere
    terms["loss"].backward()
    assert model.logit.grad is not None
    simulated = _ranet_batch()
    simulated.previous = torch.zeros_like(simulated.masks)
    simulated.has_previous = torch.tensor([True, False])
    model.calls.clear()
    trainer.loss(model, simulated)
    previous = [c for c in model.calls if c[0] == head][0][3]
    assert float(previous[0].sum()) == 0.0  # the clip's simulated (empty) previous mask


def test_ranet_optimises_every_live_module_and_no_dead_one():
    from vosbench_methods.ranet.card import DEAD_MODULES

    trainer_class = get_trainer("ranet")
    trainer = trainer_class(get_method("ranet"), None, trainer_class.Options())
    with torch.device("meta"):
        model = trainer.build_model()
    live = {id(p) for g in trainer.parameter_groups(model) for p in g["params"]}
    for name, parameter in model.named_parameters():
        assert (id(parameter) in live) != name.startswith(DEAD_MODULES), name


@pytest.mark.slow
def test_ranet_pair_loss_runs_the_real_network_on_a_batch():
    method_class, trainer_class = get_method("ranet"), get_trainer("ranet")
    trainer = trainer_class(
        method_class, method_class.Config(), trainer_class.Options(head="single")
    )
    torch.manual_seed(0)
    model = trainer.build_model().eval()
    with torch.no_grad():
        loss = float(trainer.loss(model, _ranet_batch())["loss"])
    assert 0.05 < loss < 5.0


# -- the engine: checkpoints, export, resume ---------------------------------------------------


class _Interrupt(TrainProgress):
    def __init__(self, at: int):
        self.at = at

    def step(self, step, terms):
        if step == self.at:
            raise KeyboardInterrupt


def _weights(path: Path) -> dict:
    return read_state_dict(path, method="rgmp")


def test_resume_after_an_interruption_gives_bit_identical_weights(tmp_path):
    config = write_config(tmp_path)
    whole = train(config, output=tmp_path / "whole", device="cpu")
    assert whole.step == 4 and whole.stop_reason == "finished" and whole.resumed_from is None
    with pytest.raises(KeyboardInterrupt):  # killed during step 3, after the step-2 checkpoint
        train(config, output=tmp_path / "cut", device="cpu", progress=_Interrupt(3))
    assert [p.name for p in checkpoints(tmp_path / "cut")] == ["step-00000002.pt"]
    resumed = train(config, output=tmp_path / "cut", device="cpu")
    assert resumed.resumed_from == 2 and resumed.step == 4
    a, b = _weights(whole.weights), _weights(resumed.weights)
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    logs = [
        [json.loads(line) for line in (tmp_path / name / "log.jsonl").read_text().splitlines()]
        for name in ("whole", "cut")
    ]
    assert [r["step"] for r in logs[1]] == [1, 2, 3, 4]  # the interrupted step's line was dropped
    assert [r["loss"] for r in logs[0]] == [r["loss"] for r in logs[1]]
    assert [r["lr"] for r in logs[0]] == [r["lr"] for r in logs[1]]


def test_max_steps_stops_and_a_later_run_continues_the_same_schedule(tmp_path):
    config = write_config(tmp_path)
    whole = train(config, output=tmp_path / "whole", device="cpu")
    half = train(config, output=tmp_path / "parts", device="cpu", max_steps=2)
    assert half.stop_reason == "max_steps" and half.step == 2
    again = train(
        config, output=tmp_path / "parts", device="cpu", max_steps=2
    )  # nothing left below 2
    assert again.step == 2 and again.resumed_from == 2
    rest = train(config, output=tmp_path / "parts", device="cpu", resume=True)
    a, b = _weights(whole.weights), _weights(rest.weights)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert len(checkpoints(tmp_path / "parts")) <= 2  # keep_checkpoints


def test_checkpoint_round_trip_and_exported_weights_load_into_the_method(tmp_path):
    config = write_config(tmp_path, {"train.steps": 2})
    result = train(config, output=tmp_path / "run", device="cpu")
    record = torch.load(checkpoints(tmp_path / "run")[-1], weights_only=True)
    assert record["step"] == 2 and record["sampler"]["next_clip"] == 4
    assert {"model", "optimizer", "scheduler", "scaler", "rng"} <= set(record)
    assert record["optimizer"]["state"], "momentum buffers are saved"
    rgmp = get_method("rgmp")
    net = rgmp.build_network(make_config(rgmp.Config, {"size": "tiny"}), result.weights)
    exported = _weights(result.weights)
    assert all(torch.equal(net.state_dict()[k], exported[k]) for k in exported)
    assert all(torch.equal(record["model"][k], exported[k]) for k in exported)
    trained_bn = exported["Encoder.bn1.running_var"]
    assert not torch.equal(trained_bn, torch.ones_like(trained_bn)), (
        "BatchNorm statistics were learned"
    )
    with pytest.raises(WeightsError, match="checkpoint for 'rgmp', not 'fan'"):
        load_state_dict_file(
            get_method("fan").network_class(size="tiny"), result.weights, method="fan"
        )
    with pytest.raises(WeightsError, match="does not fit"):
        rgmp.build_network(rgmp.Config(), result.weights)  # the full-size network
    saved = torch.load(result.weights, weights_only=True)
    assert saved["training"]["method_config"]["size"] == "tiny" and saved["training"]["step"] == 2
    assert saved["architecture"] == {"size": "tiny", "align_corners": True}
    # initialising a full-size network from them names both sizes, not hundreds of keys
    full = write_config(
        tmp_path,
        {"train.steps": 1, "model": {"size": "full"}, "init": {"weights": str(result.weights)}},
        name="full.yaml",
    )
    with pytest.raises(ConfigError, match="holds weights for size=tiny .* model.size is full"):
        train(full, output=tmp_path / "full", device="cpu")


def test_a_folder_holding_another_run_is_refused(tmp_path):
    train(write_config(tmp_path, {"train.steps": 1}), output=tmp_path / "run", device="cpu")
    other = write_config(tmp_path, {"train.steps": 1, "optim.lr": 0.5}, name="other.yaml")
    with pytest.raises(ConfigError, match="another configuration"):
        train(other, output=tmp_path / "run", device="cpu")
    assert train(other, output=tmp_path / "run", device="cpu", force=True).step == 1
    with pytest.raises(ConfigError, match="nothing to resume"):
        train(other, output=tmp_path / "fresh", device="cpu", resume=True)
    same_but_logged_more = write_config(
        tmp_path, {"train.steps": 1, "optim.lr": 0.5, "train.log_every": 7}, name="other.yaml"
    )
    assert config_digest("rgmp", load_config(same_but_logged_more)[0]) == config_digest(
        "rgmp", load_config(other)[0]
    )


def test_a_non_finite_loss_stops_training_with_its_step(tmp_path):
    config = write_config(
        tmp_path, {"optim.lr": 1e30, "optim.clip_grad_norm": None, "train.steps": 3}
    )
    with pytest.raises(TrainingError, match="the loss is nan at step"):
        train(config, output=tmp_path / "run", device="cpu")


def test_bf16_autocast_trains_on_the_cpu_and_fp16_is_refused_there(tmp_path):
    result = train(
        write_config(tmp_path, {"train.steps": 1, "train.precision": "amp-bf16"}),
        output=tmp_path / "bf16",
        device="cpu",
    )
    assert result.step == 1 and np.isfinite(result.last_terms["loss"])
    fp16 = write_config(
        tmp_path, {"train.steps": 1, "train.precision": "amp-fp16"}, name="fp16.yaml"
    )
    with pytest.raises(
        ConfigError, match="fp16.yaml: train.precision: amp-fp16 trains on CUDA only"
    ):
        train(fp16, output=tmp_path / "fp16", device="cpu")


def test_time_budget_stops_early_with_weights(tmp_path):
    config = write_config(tmp_path, {"train.steps": 1000})
    result = train(config, output=tmp_path / "run", device="cpu", time_budget=1e-3)
    assert result.stop_reason == "time_budget" and result.step <= 1 and result.weights.is_file()


def test_validation_runs_the_method_through_the_runner(tmp_path):
    config = write_config(
        tmp_path,
        {
            "train.steps": 1,
            "validation": {
                "every": 1,
                "dataset": "synthetic",
                "split": "val",
                "options": {**SYNTH, "num_sequences": 1},
                "config": {"scales": [1.0]},
            },
        },
    )
    result = train(config, output=tmp_path / "run", device="cpu")
    record = result.validations[0]
    assert record["step"] == 1 and 0.0 <= record["validation"]["J-Mean"] <= 1.0
    assert (
        tmp_path / "run" / "validation" / "step-00000001" / "run" / "global_results-val.csv"
    ).is_file()
    lines = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert any("validation" in line for line in lines)


# -- the command line -------------------------------------------------------------------------


def test_cli_trains_two_steps_and_vosbench_run_loads_the_weights(tmp_path, capsys):
    config = write_config(tmp_path, {"train.steps": 10, "validation.config": {"scales": [1.0]}})
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--method",
                "rgmp",
                "--config",
                str(config),
                "--output",
                str(out),
                "--max-steps",
                "2",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    printed = capsys.readouterr()
    assert "2 steps, stopped: max_steps" in printed.err
    assert "-c size=tiny -c scales=1.0)" in printed.out  # the model options, then the test options
    assert (out / "weights.pth").is_file() and (out / "run.json").is_file()
    assert main(["synth", str(tmp_path / "data"), "--preset", "small"]) == 0
    assert (
        main(
            [
                "run",
                "--method",
                "rgmp",
                "-c",
                "scales=1.0",
                "--weights",
                str(out / "weights.pth"),
                "--dataset",
                "synthetic",
                "--root",
                str(tmp_path / "data"),
                "-s",
                "synth-000",
                "--warmup",
                "0",
                "--output",
                str(tmp_path / "masks"),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert "J&F-Mean" in capsys.readouterr().out  # no -c size=tiny: the checkpoint carries it
    manifest = json.loads((tmp_path / "masks" / "manifest.json").read_text())
    assert manifest["config"]["size"] == "tiny"
    assert (
        main(["train", "--config", str(config), "--output", str(tmp_path / "other"), "--resume"])
        == 1
    )
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["train", "--method", "ranet", "--config", str(config), "--output", str(out)]) == 1
    assert "the config is for 'rgmp', not 'ranet'" in capsys.readouterr().err


# -- COSNet: video pairs and saliency images ---------------------------------------------------


def _cosnet_batch():
    from vosbench.train.static import StaticClips

    video = VideoClips(
        "synthetic", split="train", frames=2, size=(41, 57), max_skip=3, options=SYNTH
    )
    image = StaticClips("synthetic", frames=2, size=(41, 57), options=SYNTH)
    return collate([video.sample(np.random.default_rng(0)), image.sample(np.random.default_rng(1))])


@pytest.mark.slow
def test_cosnet_trainer_learns_pairs_and_images_on_a_fixed_batch():
    method_class, trainer_class = get_method("cosnet"), get_trainer("cosnet")
    trainer = trainer_class(method_class, method_class.Config(), trainer_class.Options())
    torch.manual_seed(0)
    model = trainer.build_model().train()
    groups = trainer.parameter_groups(model)
    assert [g["name"] for g in groups] == ["encoder", "co-attention head"] and groups[1][
        "lr_scale"
    ] == 10.0
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(
        p.numel() for p in model.parameters() if p.requires_grad
    )
    optimizer = torch.optim.SGD(
        [{"params": g["params"], "lr": 1e-3 * g["lr_scale"]} for g in groups], momentum=0.9
    )
    batch = _cosnet_batch()
    assert batch.has_previous.tolist() == [False, True]  # one video pair, one image step
    losses = []
    for _ in range(4):
        terms = trainer.loss(model, batch)
        assert set(terms) == {"loss", "image", "x1", "x2"}
        optimizer.zero_grad()
        terms["loss"].backward()
        optimizer.step()
        losses.append(float(terms["loss"].detach()))
    assert losses[-1] < losses[0], losses


def test_cosnet_loss_and_gradient_scaling_by_hand():
    from vosbench_methods.cosnet.train import _bce_l1, _scale_gradient

    x = torch.tensor([2.0, -3.0], requires_grad=True)
    y = _scale_gradient(x, 0.01)
    (y * torch.tensor([1.0, 2.0])).sum().backward()
    assert torch.equal(y.detach(), x.detach()) and torch.allclose(
        x.grad, torch.tensor([0.01, 0.02])
    )
    p = torch.tensor([[[0.9, 0.2], [0.4, 0.7]]])
    truth = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    valid = torch.tensor([[[True, True], [True, False]]])  # one void pixel
    bce = -(np.log(0.9) + np.log(0.8) + np.log(0.6)) / 3
    l1 = (0.1 + 0.2 + 0.4) / 3
    assert float(_bce_l1(p, truth, valid)) == pytest.approx(bce / (1 / 3) + 0.8 * l1, rel=1e-6)
