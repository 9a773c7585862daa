"""Static-image pretraining samples: image-set readers, transforms and the clip simulator."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from vosbench.errors import ConfigError, DatasetError, InputError, UnknownNameError
from vosbench.io import write_mask
from vosbench.train.augment import (
    StaticAugmentation,
    affine_matrix,
    backward_map,
    colour_jitter,
    control_grid,
    cover_matrix,
    deform_previous,
    fit_tps,
    mirror_matrix,
    node_grid,
    previous_displacement,
    remap_image,
    remap_labels,
    tps_field,
    upsample_nodes,
)
from vosbench.train.clips import Clip
from vosbench.train.static import (
    ConcatImageSet,
    ImageSet,
    PascalVOCObjects,
    SaliencyFolder,
    SaliencyLayout,
    StaticClipSampler,
    StaticImage,
    open_image_set,
    simulate_clip,
    synthetic_images,
)

SIZE = (96, 128)
RED, BLUE, GREEN = (200, 0, 0), (0, 0, 200), (0, 180, 0)


class ListImages(ImageSet):
    """An in-memory image set for the sampler tests."""

    def __init__(self, items, name="list"):
        self.items, self.name = list(items), name

    def __len__(self):
        return len(self.items)

    def key(self, index):
        return self.items[index].key

    def read(self, index):
        return self.items[index]


def smooth_image(shape, seed):
    noise = np.random.default_rng(seed).integers(0, 256, shape + (3,), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 4)


def scene(height=120, width=160, seed=0):
    """Textured image with objects 1 and 3, and a void band around object 1."""
    labels = np.zeros((height, width), np.uint8)
    cv2.ellipse(labels, (60, 60), (30, 22), 15, 0, 360, 1, -1)
    cv2.circle(labels, (120, 50), 16, 3, -1)
    band = cv2.dilate((labels == 1).view(np.uint8), np.ones((5, 5), np.uint8)) & (labels == 0)
    labels[band.view(bool)] = 255
    return StaticImage(smooth_image((height, width), seed), labels, f"scene{seed}")


def red_disc_on_blue(height=120, width=160):
    image = np.empty((height, width, 3), np.uint8)
    image[:] = BLUE
    labels = np.zeros((height, width), np.uint8)
    cv2.circle(labels, (80, 60), 30, 1, -1)
    image[labels == 1] = RED
    return StaticImage(image, labels, "disc")


def distance_to(mask):
    """Distance of every pixel to the nearest pixel of ``mask``."""
    return cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def assert_clips_equal(a: Clip, b: Clip):
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.masks, b.masks)
    np.testing.assert_array_equal(a.previous, b.previous)
    assert a.source == b.source


# --------------------------------------------------------------------------------------------
# The simulated clip


@pytest.mark.parametrize("length", [2, 4])
def test_clip_shapes_values_and_consistent_ids(length):
    item = scene()
    other = scene(seed=1)
    made = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        clip = simulate_clip(
            item, length, SIZE, StaticAugmentation(), rng, background=other, occluder=other
        )
        if clip is None:
            continue
        made += 1
        assert clip.frames.shape == (length,) + SIZE + (3,) and clip.frames.dtype == np.uint8
        assert clip.masks.shape == clip.previous.shape == (length,) + SIZE
        assert clip.masks.dtype == clip.previous.dtype == np.uint8
        assert set(np.unique(clip.masks)) <= {0, 1, 3, 255}
        assert set(np.unique(clip.previous)) <= {
            0,
            1,
            3,
        }  # a previous mask is a prediction: no void
        reference = set(clip.object_ids)
        assert reference and reference <= {1, 3}
        for t in range(length):
            assert set(np.unique(clip.masks[t])) - {0, 255} <= reference
            assert set(np.unique(clip.previous[t])) - {0} <= reference
        np.testing.assert_array_equal(
            clip.previous[0], np.where(clip.masks[0] == 255, 0, clip.masks[0])
        )
    assert made >= 4


def test_objects_missing_from_the_reference_become_void():
    """An object pushed out of the reference view is void in every frame, never a new id."""
    item = scene()
    seen_void_object = False
    for seed in range(40):
        params = StaticAugmentation(
            translation=0.45, rotation=0, tps_points=0, paste_probability=0, occluder_probability=0
        )
        clip = simulate_clip(item, 3, SIZE, params, np.random.default_rng(seed))
        if clip is None:
            continue
        for t in range(1, 3):
            assert set(np.unique(clip.masks[t])) - {0, 255} <= set(clip.object_ids)
        if len(clip.object_ids) == 1:
            missing = ({1, 3} - set(clip.object_ids)).pop()
            assert not (clip.masks == missing).any()
            seen_void_object = True
    assert seen_void_object


def test_max_objects_keeps_that_many():
    params = StaticAugmentation(max_objects=1, paste_probability=0, occluder_probability=0)
    clips = [
        simulate_clip(scene(), 3, SIZE, params, np.random.default_rng(seed)) for seed in range(8)
    ]
    clips = [clip for clip in clips if clip is not None]
    assert len(clips) >= 5
    for clip in clips:
        assert len(clip.object_ids) == 1
        assert len(set(np.unique(clip.masks)) - {0, 255}) == 1
    assert {clip.object_ids[0] for clip in clips} == {1, 3}  # the kept object is drawn at random


def test_no_augmentation_reproduces_the_image():
    """With every transform off and the source at the output size, frames are the image."""
    item = scene(*SIZE)
    clip = simulate_clip(item, 3, SIZE, StaticAugmentation.none(), np.random.default_rng(0))
    for t in range(3):
        np.testing.assert_array_equal(clip.frames[t], item.image)
        np.testing.assert_array_equal(clip.masks[t], item.labels)
        np.testing.assert_array_equal(
            clip.previous[t], np.where(item.labels == 255, 0, item.labels)
        )


def test_frames_differ_from_each_other_with_default_augmentation():
    clip = simulate_clip(scene(), 3, SIZE, StaticAugmentation(), np.random.default_rng(3))
    assert not np.array_equal(clip.frames[0], clip.frames[1])
    assert not np.array_equal(clip.masks[1], clip.masks[2])


def test_mirroring_flips_image_and_mask_together():
    item = scene(*SIZE)
    colour = dict(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05)
    plain = simulate_clip(
        item, 3, SIZE, StaticAugmentation.none(**colour), np.random.default_rng(7)
    )
    mirrored = simulate_clip(
        item,
        3,
        SIZE,
        StaticAugmentation.none(mirror_probability=1.0, **colour),
        np.random.default_rng(7),
    )
    np.testing.assert_array_equal(mirrored.frames, plain.frames[:, :, ::-1])
    np.testing.assert_array_equal(mirrored.masks, plain.masks[:, :, ::-1])
    np.testing.assert_array_equal(mirrored.previous, plain.previous[:, :, ::-1])
    assert not np.array_equal(plain.frames[0], plain.frames[1])  # the colour jitter did act


def test_pasting_puts_object_pixels_on_the_other_background():
    """Object pixels come from the source (red, never green); background pixels from the other
    image (green or black outside it, never the source's blue or red)."""
    item = red_disc_on_blue()
    green = StaticImage(
        np.full((90, 200, 3), GREEN, np.uint8), np.zeros((90, 200), np.uint8), "green"
    )
    params = StaticAugmentation(
        paste_probability=1.0,
        occluder_probability=0.0,
        brightness=0,
        contrast=0,
        saturation=0,
        hue=0,
    )
    made = 0
    for seed in range(5):
        clip = simulate_clip(item, 3, SIZE, params, np.random.default_rng(seed), background=green)
        if clip is None:
            continue
        made += 1
        objects, background = clip.masks == 1, clip.masks == 0
        assert objects.any() and background.any()
        assert (clip.frames[..., 1][objects] == 0).all()
        assert (clip.frames[..., 0][objects] > 0).all()
        assert (clip.frames[..., 0][background] == 0).all() and (
            clip.frames[..., 2][background] == 0
        ).all()
        assert (clip.frames[..., 1][background] > 0).mean() > 0.5
        assert "background green" in clip.source
    assert made >= 3


def test_occluder_pixels_are_background():
    item = red_disc_on_blue()
    occluder_image = np.zeros((120, 160, 3), np.uint8)
    occluder_labels = np.zeros((120, 160), np.uint8)
    cv2.rectangle(occluder_labels, (20, 20), (140, 100), 1, -1)
    occluder_image[occluder_labels == 1] = (255, 0, 255)
    occluder = StaticImage(occluder_image, occluder_labels, "square")
    params = StaticAugmentation.none(occluder_probability=1.0, occluder_scale=(0.6, 0.6))
    covered = 0
    for seed in range(5):
        clip = simulate_clip(item, 3, SIZE, params, np.random.default_rng(seed), occluder=occluder)
        if clip is None:
            continue
        magenta = (clip.frames == (255, 0, 255)).all(axis=-1)
        assert magenta.any() and (clip.masks[magenta] == 0).all()
        covered += int(magenta.sum())
        assert "occluder square" in clip.source
    assert covered


# --------------------------------------------------------------------------------------------
# The previous mask


def test_previous_mask_deformation_is_bounded():
    """Every previous-mask pixel lies within bound + morph + 1 px of its object in the target and
    vice versa (object away from the border), the overlap stays high, and it does deform."""
    params = StaticAugmentation()
    labels = np.zeros((192, 192), np.uint8)
    cv2.ellipse(labels, (90, 100), (45, 30), 20, 0, 360, 1, -1)
    cv2.circle(labels, (150, 45), 15, 2, -1)
    bound = params.previous_bound_px(labels.shape)
    assert bound == pytest.approx(0.05 * 192)
    limit = bound + params.previous_morph + 1
    ious = []
    for seed in range(30):
        previous = deform_previous(labels, np.random.default_rng(seed), params)
        for oid in (1, 2):
            moved, target = previous == oid, labels == oid
            assert moved.any()
            assert distance_to(target)[moved].max() <= limit
            assert distance_to(moved)[target].max() <= limit
            ious.append((moved & target).sum() / (moved | target).sum())
    assert min(ious) > 0.4
    assert np.mean(ious) < 0.95  # the deformation is real


def test_previous_displacement_field_respects_its_bound():
    params = StaticAugmentation(previous_translation=0.5, previous_tps_shift=0.4)
    for seed in range(10):
        field = previous_displacement(
            np.random.default_rng(seed), params, (20, 20, 60, 40), (80, 100), 7.5
        )
        length = np.hypot(field[..., 0], field[..., 1])
        assert length.max() <= 7.5 + 1e-4
        assert length.max() > 7.0  # large draws reach the bound and are clipped to it


def test_previous_mask_without_deformation_is_the_target():
    labels = scene().labels
    previous = deform_previous(labels, np.random.default_rng(0), StaticAugmentation.none())
    np.testing.assert_array_equal(previous, np.where(labels == 255, 0, labels))


# --------------------------------------------------------------------------------------------
# Transforms


def test_tps_with_zero_displacement_is_the_identity():
    height, width = 70, 90
    centres = control_grid(0, 0, width - 1, height - 1, 4)
    field = tps_field(centres, np.zeros_like(centres), height, width)
    assert field.shape == (height, width, 2) and not field.any()
    item = scene(height, width)
    maps = backward_map(np.eye(3), (height, width), field)
    np.testing.assert_array_equal(remap_image(item.image, maps), item.image)
    np.testing.assert_array_equal(remap_labels(item.labels, maps), item.labels)


def test_tps_interpolates_its_control_points_and_reproduces_affine_maps():
    rng = np.random.default_rng(0)
    centres = control_grid(0, 0, 200, 120, 4) + rng.uniform(-5, 5, (16, 2))
    shifts = rng.uniform(-20, 20, (16, 2))
    spline = fit_tps(centres, shifts)
    np.testing.assert_allclose(spline(centres), shifts, atol=1e-3)  # float32 evaluation
    # a displacement that is affine in the position is reproduced exactly everywhere
    affine = np.array([[0.1, -0.05], [0.02, 0.2]])
    linear = fit_tps(centres, centres @ affine + [3.0, -4.0])
    points = rng.uniform(-50, 250, (40, 2))
    np.testing.assert_allclose(linear(points), points @ affine + [3.0, -4.0], atol=1e-3)


@pytest.mark.parametrize("height, width", [(100, 150), (384, 384)])
def test_tps_field_matches_the_spline_at_every_pixel(height, width):
    """The node grid + bilinear upsampling stays within 1 px of the exact spline for RANet's
    15 % shifts, and is exact on the nodes (a misaligned upsampling would be off by px)."""
    rng = np.random.default_rng(1)
    centres = control_grid(0, 0, width - 1, height - 1, 4)
    shifts = rng.uniform(-1, 1, centres.shape) * [0.15 * width, 0.15 * height]
    field = tps_field(centres, shifts, height, width)
    ys, xs = np.mgrid[0:height, 0:width]
    exact = fit_tps(centres, shifts, unit=float(max(height, width)))(
        np.stack([xs.ravel(), ys.ravel()], axis=1)
    ).reshape(height, width, 2)
    assert np.abs(field - exact).max() < 1.0


@pytest.mark.parametrize("step", [2, 4, 8])
def test_node_interpolation_is_aligned_with_the_pixels(step):
    """Values affine in the node positions come out as the same affine function of the pixel
    position, at every pixel (a half-node misalignment would be off by several px)."""
    height, width = 37, 53
    nodes = node_grid(height, width, step)
    values = np.stack(
        [0.7 * nodes[..., 0] - 0.2 * nodes[..., 1] + 3, 0.1 * nodes[..., 0] + 1.3 * nodes[..., 1]],
        -1,
    )
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    expected = np.stack([0.7 * xs - 0.2 * ys + 3, 0.1 * xs + 1.3 * ys], -1)
    np.testing.assert_allclose(upsample_nodes(values, height, width, step), expected, atol=1e-3)


def test_affine_round_trip_and_conventions():
    forward = affine_matrix(scale=1.2, rotation=17, shear=6, translation=(5, -3), centre=(40, 30))
    np.testing.assert_allclose(forward @ np.linalg.inv(forward), np.eye(3), atol=1e-12)
    # +90° turns x towards y (image coordinates, y down) about the centre
    quarter = affine_matrix(rotation=90, centre=(10, 20))
    np.testing.assert_allclose(quarter @ [11, 20, 1], [10, 21, 1], atol=1e-12)
    np.testing.assert_allclose(affine_matrix(scale=2, centre=(10, 20)) @ [12, 21, 1], [14, 22, 1])
    np.testing.assert_allclose(mirror_matrix(100) @ mirror_matrix(100), np.eye(3))
    np.testing.assert_allclose(mirror_matrix(100) @ [0, 5, 1], [99, 5, 1])
    np.testing.assert_allclose(
        cover_matrix((50, 100), (100, 100)) @ [49.5, 24.5, 1], [49.5, 49.5, 1]
    )
    # warping an image forward and back returns it (interior; bilinear twice blurs a little)
    image = smooth_image((80, 100), 2)
    there = remap_image(image, backward_map(forward, (80, 100)))
    back = remap_image(there, backward_map(np.linalg.inv(forward), (80, 100)))
    interior = (slice(25, 55), slice(30, 70))
    difference = np.abs(back[interior].astype(int) - image[interior].astype(int))
    assert difference.max() <= 6 and difference.mean() < 1.5


def test_colour_jitter_factors():
    grey = np.full((8, 8, 3), 100, np.uint8)
    params = StaticAugmentation.none(saturation=0.5, hue=0.3)
    for seed in range(5):  # saturation and hue leave grey alone
        np.testing.assert_array_equal(
            colour_jitter(grey, np.random.default_rng(seed), params), grey
        )
    bright = StaticAugmentation.none(brightness=0.5)
    rng = np.random.default_rng(4)
    factor = np.random.default_rng(4).uniform(0.5, 1.5)
    image = smooth_image((16, 16), 0)
    expected = np.clip(np.floor(image * factor + 0.5), 0, 255)
    assert np.abs(colour_jitter(image, rng, bright).astype(int) - expected).max() <= 1
    # hue keeps the luma of a coloured pixel (up to rounding)
    red = np.full((2, 2, 3), (180, 40, 40), np.uint8)
    turned = colour_jitter(red, np.random.default_rng(1), StaticAugmentation.none(hue=0.25))
    luma = np.array([0.299, 0.587, 0.114])
    assert abs(turned[0, 0] @ luma - red[0, 0] @ luma) < 1.5 and not np.array_equal(turned, red)


def test_invalid_parameters_are_refused():
    with pytest.raises(ConfigError, match=r"rotation must lie in \[0, 180\], got -1"):
        StaticAugmentation(rotation=-1)
    with pytest.raises(ConfigError, match="scale"):
        StaticAugmentation(scale=(1.2, 0.8))
    with pytest.raises(ConfigError, match="paste_probability"):
        StaticAugmentation(paste_probability=1.5)


# --------------------------------------------------------------------------------------------
# The sampler


def test_sampler_is_deterministic_and_varies_with_the_seed():
    images = ListImages([scene(seed=s) for s in range(3)])
    first = StaticClipSampler(images, 3, SIZE, StaticAugmentation(), seed=11)
    again = StaticClipSampler(images, 3, SIZE, StaticAugmentation(), seed=11)
    other = StaticClipSampler(images, 3, SIZE, StaticAugmentation(), seed=12)
    stream, repeat, different = iter(first), iter(again), iter(other)
    clips = [next(stream) for _ in range(3)]
    for clip in clips:
        assert_clips_equal(clip, next(repeat))
    assert not np.array_equal(clips[0].frames, next(different).frames)
    assert not np.array_equal(clips[0].frames, clips[1].frames)
    assert_clips_equal(
        first.sample(np.random.default_rng(5)), again.sample(np.random.default_rng(5))
    )


def test_sampler_refuses_bad_settings_and_empty_masks():
    images = ListImages([scene()])
    with pytest.raises(ConfigError, match="at least 2 frames"):
        StaticClipSampler(images, 1, SIZE)
    empty = ListImages(
        [StaticImage(smooth_image((40, 40), 0), np.zeros((40, 40), np.uint8), "blank")]
    )
    with pytest.raises(DatasetError, match="no clip with an object"):
        StaticClipSampler(empty, 2, SIZE, max_attempts=3).sample(np.random.default_rng(0))


def test_sampler_over_synthetic_frames():
    source = synthetic_images(preset="small", num_sequences=2, num_frames=3)
    assert len(source) == 6 and source.name == "synthetic/train"
    item = source.read(4)
    assert item.image.shape == (96, 160, 3) and item.labels.shape == (96, 160)
    assert item.key == "synth-train-001/00001"
    clip = next(iter(StaticClipSampler(source, 2, SIZE, seed=0)))
    assert clip.source.startswith("synthetic/train:synth-train-") and clip.object_ids


# --------------------------------------------------------------------------------------------
# Readers


def write_jpeg(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(
        str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 98]
    )


def flat_image(height, width, colour):
    return np.full((height, width, 3), colour, np.uint8)


def make_voc(root: Path) -> Path:
    voc = root / "VOCdevkit" / "VOC2012"
    for stem, colour in (("2007_000032", RED), ("2008_000001", GREEN)):
        write_jpeg(voc / "JPEGImages" / f"{stem}.jpg", flat_image(30, 40, colour))
        labels = np.zeros((30, 40), np.uint8)
        labels[5:15, 5:15], labels[18:26, 20:35] = 1, 2
        labels[4, 4:16] = 255
        write_mask(voc / "SegmentationObject" / f"{stem}.png", labels)
    lists = voc / "ImageSets" / "Segmentation"
    lists.mkdir(parents=True)
    (lists / "train.txt").write_text("2007_000032\r\n2008_000001 \n\n")
    (lists / "val.txt").write_text("2008_000001")
    return voc


def test_voc_reader(tmp_path):
    voc = make_voc(tmp_path)
    for root in (tmp_path, tmp_path / "VOCdevkit", voc):
        images = PascalVOCObjects(root, "train")
        assert len(images) == 2 and images.key(1) == "2008_000001"
    item = images.read(0)
    assert item.image.shape == (30, 40, 3) and item.image.dtype == np.uint8
    assert np.abs(item.image[15, 20].astype(int) - RED).max() <= 3  # RGB order
    assert set(np.unique(item.labels)) == {0, 1, 2, 255}
    assert len(PascalVOCObjects(voc, "val")) == 1
    assert len(open_image_set("voc", tmp_path, split="train")) == 2


def test_voc_reader_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        PascalVOCObjects(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="not a Pascal VOC 2012 folder"):
        PascalVOCObjects(tmp_path)
    voc = make_voc(tmp_path)
    with pytest.raises(DatasetError, match="split list for 'test' is missing.*train, val"):
        PascalVOCObjects(voc, "test")
    (voc / "SegmentationObject" / "2008_000001.png").unlink()
    with pytest.raises(
        DatasetError, match=r"SegmentationObject/2008_000001.png: listed in train.txt but missing"
    ):
        PascalVOCObjects(voc, "train")
    write_mask(voc / "SegmentationObject" / "2008_000001.png", np.zeros((31, 40), np.uint8))
    with pytest.raises(DatasetError, match=r"2008_000001.png: mask is 40x31 but its image"):
        PascalVOCObjects(voc, "train").read(1)
    for path in (voc / "SegmentationObject").iterdir():
        path.unlink()
    (voc / "SegmentationObject").rmdir()
    with pytest.raises(DatasetError, match="SegmentationObject missing"):
        PascalVOCObjects(voc, "train")


def grey_mask(path: Path, values: np.ndarray, mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(values, "L")
    image.convert(mode).save(path)


def saliency_mask_values():
    values = np.zeros((30, 40), np.uint8)
    values[5:20, 5:20] = 255
    values[5:20, 20] = 200  # antialiased edge: above the threshold
    values[5:20, 21] = 100  # below it
    return values


def test_msra10k_layout(tmp_path):
    folder = tmp_path / "MSRA10K_Imgs_GT" / "Imgs"
    write_jpeg(folder / "75.jpg", flat_image(30, 40, BLUE))
    grey_mask(folder / "75.png", saliency_mask_values())
    write_jpeg(folder / "80.jpg", flat_image(30, 40, GREEN))
    grey_mask(folder / "80.png", saliency_mask_values(), "RGB")  # RGB with equal channels
    write_jpeg(folder / "9.jpg", flat_image(30, 40, RED))
    grey_mask(
        folder / "9.png", (saliency_mask_values() > 0).astype(np.uint8) * 255, "1"
    )  # bilevel PNG
    images = open_image_set("msra10k", folder)
    assert (
        len(images) == 3
        and images.name == "msra10k"
        and [images.key(i) for i in range(3)] == ["75", "80", "9"]
    )
    expected = (saliency_mask_values() >= 128).astype(np.uint8)
    for index in range(3):
        item = images.read(index)
        assert item.labels.dtype == np.uint8
        np.testing.assert_array_equal(
            item.labels, expected if index < 2 else (saliency_mask_values() > 0)
        )
    assert np.abs(images.read(0).image[10, 10].astype(int) - BLUE).max() <= 3


def test_ecssd_layout_and_custom_layouts(tmp_path):
    for stem in ("0001", "0002"):
        write_jpeg(tmp_path / "ECSSD" / "images" / f"{stem}.jpg", flat_image(30, 40, RED))
        grey_mask(tmp_path / "ECSSD" / "ground_truth_mask" / f"{stem}.png", saliency_mask_values())
    images = open_image_set("ecssd", tmp_path / "ECSSD")
    assert len(images) == 2 and images.key(0) == "0001"
    assert set(np.unique(images.read(1).labels)) == {0, 1}
    custom = SaliencyFolder(
        tmp_path / "ECSSD", SaliencyLayout("images", "ground_truth_mask"), name="mine"
    )
    assert custom.name == "mine" and len(custom) == 2
    both = ConcatImageSet([images, custom])
    assert len(both) == 4 and both.key(3) == "0002" and both.describe(3) == "mine:0002"
    assert both.read(2).key == "0001" and both.name == "ecssd+mine"
    clip = StaticClipSampler(
        both, 2, SIZE, StaticAugmentation(paste_probability=1.0), seed=3
    ).sample(np.random.default_rng(0))
    assert clip.source.startswith(("ecssd:000", "mine:000")) and " + background " in clip.source


def test_saliency_layout_errors(tmp_path):
    root = tmp_path / "MSRA10K_Imgs_GT"
    write_jpeg(root / "Imgs" / "1.jpg", flat_image(20, 20, RED))
    grey_mask(root / "Imgs" / "1.png", np.zeros((20, 20), np.uint8))
    with pytest.raises(
        DatasetError, match=r"holds no images.*MSRA10K_Imgs_GT/Imgs.*sub-folders here: Imgs"
    ):
        SaliencyFolder(root, "msra10k")  # the parent folder was given
    write_jpeg(root / "Imgs" / "2.jpg", flat_image(20, 20, RED))
    with pytest.raises(DatasetError, match=r"Imgs/2.jpg: image has no mask 2.png"):
        SaliencyFolder(root / "Imgs", "msra10k")
    with pytest.raises(DatasetError, match="ground_truth_mask: mask folder does not exist"):
        SaliencyFolder(root / "Imgs", SaliencyLayout(".", "ground_truth_mask"))
    with pytest.raises(ConfigError, match="unknown saliency layout 'duts'"):
        SaliencyFolder(root, "duts")
    with pytest.raises(DatasetError, match="does not exist"):
        open_image_set("ecssd", tmp_path / "ECSSD")
    (root / "Imgs" / "2.jpg").unlink()
    grey_mask(root / "Imgs" / "1.png", np.zeros((20, 21), np.uint8))
    with pytest.raises(DatasetError, match=r"1.png: mask is 21x20"):
        SaliencyFolder(root / "Imgs", "msra10k").read(0)
    (root / "Imgs" / "1.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match=r"1.png"):
        SaliencyFolder(root / "Imgs", "msra10k").read(0)


def test_image_set_registry_suggests_names():
    with pytest.raises(UnknownNameError, match="did you mean 'ecssd'"):
        open_image_set("ecsd", "/nowhere")


def test_previous_bound_formula_is_documented_value():
    assert math.isclose(StaticAugmentation().previous_bound_px((384, 384)), 19.2)
    assert math.isclose(StaticAugmentation().previous_bound_px((480, 864)), 24.0)


def test_previous_mask_of_tiny_and_thin_objects():
    """One-pixel and one-row objects deform without a singular TPS system and are never erased."""
    labels = np.zeros((64, 64), np.uint8)
    labels[10, 10] = 1
    labels[40, 5:60] = 2
    labels[20:50, 30] = 3
    for seed in range(10):
        previous = deform_previous(
            labels, np.random.default_rng(seed), StaticAugmentation(previous_morph=3)
        )
        assert set(np.unique(previous)) == {0, 1, 2, 3}
        for oid in (1, 2, 3):
            moved = previous == oid
            assert distance_to(labels == oid)[moved].max() <= 0.05 * 64 + 3 + 1


def test_annotated_frames_of_a_real_dataset(davis2016_root):
    """DAVIS-2016 frames as still images: 0/255 masks arrive as object 1, clips build from them."""
    images = open_image_set("frames", davis2016_root, dataset="davis2016", split="val", stride=40)
    assert images.name == "davis2016/val" and len(images) > 20
    item = images.read(0)
    assert item.image.shape[2] == 3 and item.labels.shape == item.image.shape[:2]
    assert set(np.unique(item.labels)) == {0, 1}
    assert images.describe(0) == f"davis2016/val:{images.key(0)}" and "/" in images.key(0)
    clip = StaticClipSampler(images, 2, SIZE, seed=0).sample(np.random.default_rng(0))
    assert clip.object_ids == (1,) and clip.source.startswith("davis2016/val:")


def test_static_source_of_a_training_config():
    from vosbench.train.config import SourceConfig
    from vosbench.train.sources import build_source, clip_rng

    entry = SourceConfig(
        "static",
        options={
            "images": "synthetic",
            "frames": 3,
            "size": [64, 96],
            "augmentation": {"rotation": 10.0},
            "options": {"num_sequences": 2, "num_frames": 4, "height": 60, "width": 100},
        },
    )
    source = build_source(entry, 0, "cfg.yaml", "data.sources[0]")
    clip = source.sample(clip_rng(0, 0))
    assert clip.frames.shape == (3, 64, 96, 3) and clip.previous is not None and clip.object_ids
    assert source.augmentation.rotation == 10.0
    assert_clips_equal(
        clip, build_source(entry, 0, "cfg.yaml", "data.sources[0]").sample(clip_rng(0, 0))
    )
    wrong = SourceConfig(
        "static", options={"images": "synthetic", "augmentation": {"rotations": 5}}
    )
    with pytest.raises(ConfigError, match=r"cfg.yaml: data.sources\[0\].*rotations"):
        build_source(wrong, 0, "cfg.yaml", "data.sources[0]")
