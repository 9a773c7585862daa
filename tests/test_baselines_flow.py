"""The ``flow`` baseline on synthetic, textured scenes with known motion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from vosbench_methods.baselines.first_frame import FirstFrame
from vosbench_methods.baselines.flow import FlowConfig, FlowPropagation

from vosbench.runner.methods import get_method, make_config
from vosbench.runner.protocol import SequenceMeta

H, W = 144, 192
STEPS = 6


def _texture(seed: int, height: int, width: int) -> np.ndarray:
    """Smooth random RGB texture (random 6-pixel blocks, bilinearly interpolated), uint8."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 6 + 2, width // 6 + 2, 3), dtype=np.uint8)
    size = (coarse.shape[1] * 6, coarse.shape[0] * 6)
    return cv2.resize(coarse, size, interpolation=cv2.INTER_LINEAR)[:height, :width].copy()


def _scene(
    objects: list[tuple[int, int, int, int]], t: int, velocities: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Frame and id map at time ``t``: static background, textured squares moving rigidly.

    ``objects`` holds (y, x, size, seed) at t = 0; object k has id k + 1.
    """
    frame = _texture(0, H, W)
    ids = np.zeros((H, W), np.uint8)
    for k, ((y, x, size, seed), (vy, vx)) in enumerate(zip(objects, velocities)):
        y, x = y + vy * t, x + vx * t
        frame[y : y + size, x : x + size] = _texture(seed, size, size)
        ids[y : y + size, x : x + size] = k + 1
    return frame, ids


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()))


def _run(
    method,
    frames: list[np.ndarray],
    masks: dict[int, tuple[np.ndarray, list[int]]],
    object_ids: tuple[int, ...],
) -> list[torch.Tensor]:
    method.reset(SequenceMeta("synthetic", len(frames), (H, W), object_ids))
    answers = []
    for t, frame in enumerate(frames):
        mask, ids = masks.get(t, (None, None))
        answers.append(
            method.step(
                torch.from_numpy(frame), None if mask is None else torch.from_numpy(mask), ids
            )
        )
    return answers


def _ids(answer: torch.Tensor, ids: list[int]) -> np.ndarray:
    if answer.is_floating_point():
        return np.asarray([0, *ids])[answer.argmax(0).numpy()]
    return answer.numpy()


@pytest.fixture(scope="module")
def moving_square() -> tuple[list[np.ndarray], list[np.ndarray]]:
    scenes = [_scene([(40, 30, 48, 1)], t, [(1, 3)]) for t in range(STEPS)]
    return [f for f, _ in scenes], [m for _, m in scenes]


@pytest.mark.parametrize(
    "config",
    [
        FlowConfig(),
        FlowConfig(algorithm="farneback"),
        FlowConfig(soft=False),
        FlowConfig(downscale=0.5, smooth=1.0),
    ],
    ids=["default", "farneback", "hard", "downscale-smooth"],
)
def test_translating_square_is_tracked(moving_square, config: FlowConfig) -> None:
    frames, truth = moving_square
    flow = _run(FlowPropagation(config), frames, {0: (truth[0], [1])}, (1,))
    copy = _run(FirstFrame(), frames, {0: (truth[0], [1])}, (1,))
    last = STEPS - 1
    flow_iou = _iou(_ids(flow[last], [1]) == 1, truth[last] == 1)
    copy_iou = _iou(_ids(copy[last], [1]) == 1, truth[last] == 1)
    assert copy_iou < 0.5  # the square moved 15 px right, 5 px down: a copy is left behind
    assert flow_iou > 0.65 and flow_iou > copy_iou + 0.2, (flow_iou, copy_iou)
    # The sign of the flow: the mask's front edges moved right and down with the square (to
    # x = 30 + 47 + 15 = 92 from 77, y = 40 + 47 + 5 = 92 from 87); its centre lags (backward
    # warping leaves a trail where the background is uncovered) but moved the right way.
    ys, xs = np.nonzero(_ids(flow[last], [1]) == 1)
    assert 86 <= xs.max() <= 94 and 90 <= ys.max() <= 94, (xs.max(), ys.max())
    assert xs.mean() > 30 + 24 + 4 and ys.mean() > 40 + 24 + 1, (xs.mean(), ys.mean())


def test_answers_are_probabilities(moving_square) -> None:
    frames, truth = moving_square
    answers = _run(FlowPropagation(), frames, {0: (truth[0], [1])}, (1,))
    for answer in answers:
        assert answer.shape == (2, H, W)
        assert answer.dtype == torch.float32
        assert answer.device.type == "cpu"
        assert torch.all(answer >= 0) and torch.all(answer <= 1 + 1e-5)
        assert torch.allclose(answer.sum(0), torch.ones(H, W), atol=1e-4)
    # The first answer is the annotation itself.
    assert torch.equal(answers[0].argmax(0), torch.from_numpy(truth[0]).long())


def test_earlier_answers_are_never_modified(moving_square) -> None:
    frames, truth = moving_square
    method = FlowPropagation()
    method.reset(SequenceMeta("synthetic", STEPS, (H, W), (1,)))
    first = method.step(torch.from_numpy(frames[0]), torch.from_numpy(truth[0]), [1])
    kept = first.clone()
    for frame in frames[1:]:
        method.step(torch.from_numpy(frame))
    assert torch.equal(first, kept)


def test_two_objects_stay_separate() -> None:
    objects, velocities = [(30, 20, 40, 1), (76, 130, 40, 2)], [(0, 3), (0, -3)]
    scenes = [_scene(objects, t, velocities) for t in range(STEPS)]
    frames, truth = [f for f, _ in scenes], [m for _, m in scenes]
    answers = _run(FlowPropagation(), frames, {0: (truth[0], [1, 2])}, (1, 2))
    last = _ids(answers[-1], [1, 2])
    assert answers[-1].shape == (3, H, W)
    for obj in (1, 2):
        assert _iou(last == obj, truth[-1] == obj) > 0.6
    # Object 1 went right, object 2 left (15 px each): their front edges followed.
    assert abs(int(np.nonzero(last == 1)[1].max()) - (20 + 39 + 15)) <= 3
    assert abs(int(np.nonzero(last == 2)[1].min()) - (130 - 15)) <= 3


def test_object_handed_in_later_gets_its_own_channel() -> None:
    objects, velocities = [(30, 20, 40, 1), (90, 120, 40, 2)], [(0, 3), (0, 0)]
    scenes = [_scene(objects, t, velocities) for t in range(STEPS)]
    frames, truth = [f for f, _ in scenes], [m for _, m in scenes]
    first = np.where(truth[0] == 1, truth[0], 0).astype(np.uint8)
    later = np.where(truth[2] == 2, truth[2], 0).astype(np.uint8)
    answers = _run(FlowPropagation(), frames, {0: (first, [1]), 2: (later, [2])}, (1, 2))
    assert [a.shape[0] for a in answers] == [2, 2, 3, 3, 3, 3]
    assert torch.equal(answers[2][2] > 0.5, torch.from_numpy(truth[2] == 2))
    last = _ids(answers[-1], [1, 2])
    assert _iou(last == 1, truth[-1] == 1) > 0.7
    assert _iou(last == 2, truth[-1] == 2) > 0.95  # static: warped by a near-zero flow


def test_new_object_overwrites_earlier_ones() -> None:
    frames = [_texture(3, H, W)] * 3
    first = np.zeros((H, W), np.uint8)
    first[10:60, 10:60] = 1
    later = np.zeros((H, W), np.uint8)
    later[30:50, 30:50] = 2
    answers = _run(FlowPropagation(), frames, {0: (first, [1]), 1: (later, [2])}, (1, 2))
    labels = _ids(answers[1], [1, 2])
    assert np.all(labels[30:50, 30:50] == 2)
    assert (labels == 1).sum() == 50 * 50 - 20 * 20
    assert torch.allclose(answers[1].sum(0), torch.ones(H, W), atol=1e-5)


def test_frames_before_any_object_are_background() -> None:
    frames = [_texture(4, H, W)] * 3
    mask = np.zeros((H, W), np.uint8)
    mask[5:15, 5:15] = 3
    answers = _run(FlowPropagation(), frames, {1: (mask, [3])}, (3,))
    assert answers[0].shape == (1, H, W)
    assert torch.all(answers[0] == 1)
    assert answers[1].shape == answers[2].shape == (2, H, W)
    assert (_ids(answers[2], [3]) == 3).sum() == 100


def test_more_than_four_objects() -> None:
    """Several remap calls must agree with each other: six static objects stay put."""
    frames = [_texture(5, H, W)] * 3
    mask = np.zeros((H, W), np.uint8)
    for k in range(6):
        mask[10 + 12 * k : 20 + 12 * k, 10 + 15 * k : 25 + 15 * k] = k + 1
    ids = list(range(1, 7))
    answers = _run(FlowPropagation(), frames, {0: (mask, ids)}, tuple(ids))
    assert answers[-1].shape == (7, H, W)
    assert np.array_equal(_ids(answers[-1], ids), mask)


def test_config_validation_and_overrides() -> None:
    for bad in (
        {"algorithm": "lucas-kanade"},
        {"preset": "slow"},
        {"downscale": 0.0},
        {"downscale": 1.5},
        {"smooth": -1.0},
        {"border": "wrap"},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            FlowConfig(**bad)
    config = make_config(
        FlowPropagation.Config, {"algorithm": "farneback", "downscale": "0.5", "soft": "false"}
    )
    assert config == FlowConfig(algorithm="farneback", downscale=0.5, soft=False)


def test_registered_card() -> None:
    assert get_method("flow") is FlowPropagation
    card = FlowPropagation.card
    assert card.name == "flow" and card.task == "semi-supervised"
    assert not card.needs_weights and card.devices == ("cpu",)
